"""Numbers read as the language being written writes them (Babel's CLDR data): 57.000 and 12,5
in Vietnamese, 57,000 and 12.5 in English; a certificate, a Vietnamese document, always in
Vietnamese."""

from __future__ import annotations

import pytest
from babel.numbers import format_decimal
from flask_babel import force_locale

from mooc.formatting import format_number
from mooc.i18n import LANG_COOKIE

VALUES = [0, 7, 999, 1000, 57000, 1234567, -1234.5, 12.375, 66.66666, 0.04]  # no ties: Python rounds the
# binary float (0.05 -> 0.1), Babel the decimal text (0.05 -> 0.0)


def _babels(lang: str) -> list[list[str]]:
    return [[format_decimal(v, format="#,##0" + ("." + "0" * d if d else ""), locale=lang) for v in VALUES]
            for d in (0, 1, 2)]


def _ours() -> list[list[str]]:
    return [[format_number(v, d) for v in VALUES] for d in (0, 1, 2)]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_babels_text_for_the_language_of_a_page_or_of_a_mail(app, lang):
    """format_number takes the locale's signs from Babel (a page prints thousands of numbers:
    Babel's own function costs 20 times as much) and writes what Babel writes, in a request in
    that language and in a mail written in it by cron (no request: ``force_locale``), where the
    English site's mails said 57.000."""
    with app.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}={lang}"}):
        assert _ours() == _babels(lang)
    with app.app_context(), force_locale(lang):
        assert _ours() == _babels(lang)


def test_a_vietnamese_document_and_no_app_at_all():
    """A certificate is Vietnamese whoever prints it; outside an app, Vietnamese."""
    assert format_number(1.5, 1, locale="vi") == "1,5"
    assert format_number(57000) == "57.000"
