"""Function size and complexity in mooc/, measured with radon (issue 18).

No function or method may be over cyclomatic complexity 15 or over 60 lines (from its `def`
to its last line), unless it is listed, with its reason, in the table "Functions allowed
past the limits" of docs/architecture.md. That table is the one source of truth: this test
reads it, fails on any function past a limit that is not in it, and fails on any row whose
function no longer exists or is back within the limits, so the list cannot go stale.
"""

from __future__ import annotations

import re
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mooc"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
MAX_COMPLEXITY = 15
MAX_LINES = 60
TABLE_HEADING = "## Functions allowed past the limits"
ROW = re.compile(r"^\|\s*`(?P<name>[\w.]+)`\s*\|\s*(?P<reason>.*?)\s*\|\s*$")


def _measure() -> dict[str, tuple[int, int]]:
    """Qualified name (mooc.module.Class.method) -> (complexity, lines), every function."""
    measured = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for block in cc_visit(path.read_text(encoding="utf-8")):
            if isinstance(block, Class):
                continue  # its methods are blocks of their own
            name = f"{block.classname}.{block.name}" if block.classname else block.name
            measured[f"{module}.{name}"] = (block.complexity, block.endline - block.lineno + 1)
    return measured


def _allowed() -> dict[str, str]:
    """The table of docs/architecture.md: qualified name -> reason."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert TABLE_HEADING in text, f"docs/architecture.md has no section {TABLE_HEADING!r}"
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    allowed = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            assert match["name"] not in allowed, f"{match['name']} is listed twice"
            assert match["reason"], f"{match['name']} is listed without a reason"
            allowed[match["name"]] = match["reason"]
    return allowed


def _past_limits(measured: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {name: shape for name, shape in measured.items()
            if shape[0] > MAX_COMPLEXITY or shape[1] > MAX_LINES}


def test_the_measure_sees_functions_methods_and_their_size():
    measured = _measure()
    # A method is named with its class, a module function with its module.
    assert "mooc.text.fold" in measured and "mooc.config.build_settings" in measured
    assert any(re.match(r"mooc\.formats\.quiz\._Parser\.\w+$", n) for n in measured)
    assert all(complexity >= 1 and lines >= 1 for complexity, lines in measured.values())


def test_no_function_past_the_limits_unless_listed_with_a_reason():
    past = _past_limits(_measure())
    allowed = _allowed()
    unlisted = [f"{name}: complexity {c}, {n} lines" for name, (c, n) in sorted(past.items())
                if name not in allowed]
    assert not unlisted, (
        f"over complexity {MAX_COMPLEXITY} or {MAX_LINES} lines; split them, or list them with "
        f"their reason under {TABLE_HEADING!r} in docs/architecture.md:\n" + "\n".join(unlisted))


def test_the_allow_list_is_not_stale():
    measured = _measure()
    past = _past_limits(measured)
    stale = []
    for name in sorted(_allowed()):
        if name not in measured:
            stale.append(f"{name}: no such function in mooc/")
        elif name not in past:
            complexity, lines = measured[name]
            stale.append(f"{name}: now complexity {complexity}, {lines} lines, within the limits")
    assert not stale, ("remove these rows from the table in docs/architecture.md:\n"
                       + "\n".join(stale))
