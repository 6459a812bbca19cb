"""axe-core (tests/e2e/vendor/axe.min.js, from the npm registry) run inside the page.

The script is evaluated through the DevTools protocol, so the page's CSP (script-src 'self')
does not have to be loosened for it, and nothing is fetched from a CDN.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_PATH = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")
# WCAG 2.0-2.2 A/AA and axe's best practices; impact decides what fails (BLOCKING).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def axe_source() -> str:
    return AXE_PATH.read_text(encoding="utf-8")


def axe_violations(page: Page, impacts: tuple[str, ...] = BLOCKING) -> list[dict[str, Any]]:
    """The page's violations of the given impacts, as axe reports them, once the page has
    loaded: a click that navigates returns before the new page's scripts ran, and without
    site.js a phone's menu is open (its links too small to tap), as it is meant to be then."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", TAGS)
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}"
                     f" ({violation['helpUrl']})")
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')[:300]}")
    return "\n".join(lines)
