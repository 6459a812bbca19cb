"""Dates are typed and read dd/mm/yyyy everywhere: no page asks for a date in a box whose order is
the browser's language (an <input type=date> shows mm/dd/yyyy in an English Chromium, whatever the
page's language). Forms use mooc.fields.DayField; hand-written forms templates/_forms.html's
day_input (tests/e2e/test_typed_dates.py types one in an English browser)."""

from __future__ import annotations

import re
from pathlib import Path

MOOC = Path(__file__).resolve().parent.parent / "mooc"
BROWSER_ORDER = re.compile(r"""type\s*=\s*["']?(date|datetime-local|month|week)\b""", re.IGNORECASE)
WTFORMS_DATES = re.compile(r"\b(DateField|DateTimeField|DateTimeLocalField|MonthField|WeekField)\b")


def test_no_page_asks_for_a_date_in_the_browsers_order():
    found = [f"{path.relative_to(MOOC)}:{number}: {line.strip()}"
             for path in sorted(MOOC.rglob("*.html"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if BROWSER_ORDER.search(line)]
    found += [f"{path.relative_to(MOOC)}:{number}: {line.strip()}"
              for path in sorted(MOOC.rglob("*.py"))
              for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if WTFORMS_DATES.search(line)]
    assert found == [], "use fields.DayField or _forms.html day_input:\n" + "\n".join(found)
