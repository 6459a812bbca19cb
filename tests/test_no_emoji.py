"""No page relies on an emoji font: a pictograph such as the lock (U+1F512) shows as an empty box
on a machine without one (many Linux desktops, the test machine's Chromium). Icons are drawn
inline (mooc/templates/_icons.html), with their meaning in the words beside them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pictographs(text: str) -> set[str]:
    return {ch for ch in text if ord(ch) >= 0x1F000}  # emoji; ☐ ☑ ☰ are in common fonts (DejaVu)


def test_no_template_or_message_shows_a_pictograph():
    files = [*(ROOT / "mooc").rglob("*.html"), *(ROOT / "mooc").rglob("*.po"), *(ROOT / "mooc").rglob("*.py")]
    found = {f"{path.relative_to(ROOT)}: {''.join(sorted(chars))}"
             for path in files if (chars := _pictographs(path.read_text(encoding="utf-8")))}
    assert not found, sorted(found)
