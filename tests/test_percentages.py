"""A percentage is written one way wherever it is read: pages, charts, report mails, PDFs. The
mails wrote "75,0 %" where the pages wrote "75,0%"; now every one goes through
``formatting.format_percent`` (the ``percent`` filter in templates), which places the sign as the
language's CLDR pattern does: ``#,##0%`` in Vietnamese and in English, so "75,0%" and "75.0%".

The sweep below fails for a percentage written by hand (a number, then "%") in a template, in
Python or in a message of the catalogue, which is how the two ways came about. Spreadsheets and
CSV files carry a rate as a number under a header that says "(%)", so a spreadsheet can sum it.
The read API gives numbers too."""

from __future__ import annotations

import re

from flask_babel import force_locale

from mooc.formatting import format_percent
from mooc.i18n import LANG_COOKIE
from tests.conftest import ROOT

# A number written, then "%" by hand: ``{{ x|number(1) }}%``, ``~ '%'``, ``{% endif %}%``.
TEMPLATE_HANDMADE = re.compile(r"\}\}\s?%|~\s?['\"]\s?%['\"]|%\}\s?%(?!\})")
# In Python: ``f"{rate}%"`` (not a LIKE pattern's ``f"%{word}%"``), ``f"{x:.0%}"``, ``+ "%"``,
# ``"...%d%%"`` and ``"%(p)s%%"``.
PYTHON_HANDMADE = re.compile(r"(?<!%)\{[^{}\n]*\}\s?%[^(%\w]|:\.?\d*%\}|\+\s?['\"]\s?%['\"]"
                             r"|%(?:\(\w+\))?[ds]\s?%%")
# A message of the catalogue that writes "%" after a placeholder: "%(p)d%%", "%(p)s %%".
MESSAGE_HANDMADE = re.compile(r"%(?:\(\w+\))?[dsf]\s?%%")
# Files that may: the formatter itself; the GIFT importer, which quotes Moodle's weights as the
# source file wrote them ("%50%") for the author to find them there.
ALLOWED = {"mooc/formatting.py", "mooc/formats/gift.py"}


def _sources(pattern: str):
    for path in sorted((ROOT / "mooc").rglob(pattern)):
        name = str(path.relative_to(ROOT))
        if name not in ALLOWED:
            yield name, path.read_text(encoding="utf-8")


def _hits(pattern: re.Pattern, files) -> list[str]:
    return [f"{name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group()!r}"
            for name, text in files for match in pattern.finditer(text)]


def test_no_percentage_is_written_by_hand():
    """Every percentage goes through format_percent: none in a template, in Python or in the
    catalogue is a number followed by a hand-written "%" (the mails' "75,0 %" was one)."""
    templates = [*_sources("*.html"), *_sources("*.txt")]
    assert _hits(TEMPLATE_HANDMADE, templates) == [], "write {{ value|percent }} (mooc/formatting.py)"
    assert _hits(PYTHON_HANDMADE, _sources("*.py")) == [], "write format_percent(value) (mooc/formatting.py)"
    catalogue = (ROOT / "mooc/translations/vi/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    assert _hits(MESSAGE_HANDMADE, [("messages.po", catalogue)]) == [], \
        "pass the written percentage (format_percent) into the message as %(p)s"


def test_the_sweep_finds_the_old_ways():
    """The patterns catch what the code wrote before (so the sweep above is not empty by accident)."""
    old_templates = ["{{ row.percent|number(1) }}%", "{{ (row.rate|number(1) ~ '%') if row.rate }}",
                     "{{ row.rate|number(1) }}{% if row.rate is not none %}%{% endif %}"]
    assert all(TEMPLATE_HANDMADE.search(line) for line in old_templates)
    assert not TEMPLATE_HANDMADE.search('<svg width="100%">{% if a %}x{% endif %}')
    old_python = ['f"{format_number(value, 1)} %"', 'format_number(score, 1) + "%"', 'f"about {risk:.0%} of"',
                  '"(more than %(percent)d%%)."', '"Best score: %(p)s%%"']
    assert all(PYTHON_HANDMADE.search(line) for line in old_python)
    assert not PYTHON_HANDMADE.search('like(f"%{escaped}%", escape="\\\\")')
    assert MESSAGE_HANDMADE.search('msgid "Pass mark: %(p)d%%"')
    assert not MESSAGE_HANDMADE.search('msgid "Completion rate (%% of people)"')


def test_one_way_per_language_from_the_cldr_pattern(app):
    """Vietnamese: decimal comma, the sign against the number (CLDR vi ``#,##0%``); English: a
    decimal point, the same; the language of the request or of the mail being written; a
    language whose pattern spaces the sign (French ``#,##0 %``) would get its space."""
    with app.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}=vi"}):
        assert [format_percent(v) for v in (75, 66.666, 0, 1234.5)] == ["75,0%", "66,7%", "0,0%", "1.234,5%"]
        assert format_percent(80, 0) == "80%" and format_percent(None) == "—"
    with app.app_context(), force_locale("en"):
        assert [format_percent(v) for v in (75, 66.666)] == ["75.0%", "66.7%"]
    assert format_percent(75, 1, "vi") == "75,0%" and format_percent(75, 1, "en") == "75.0%"
    assert format_percent(75, 1, "fr") == "75,0\u00a0%"


def test_the_template_filter_is_the_formatter(app):
    with app.test_request_context("/"):
        template = app.jinja_env.from_string("{{ 66.666|percent }} {{ 80|percent(0) }} {{ none|percent }}")
        rendered = template.render()
    assert rendered == "66,7% 80% —"
