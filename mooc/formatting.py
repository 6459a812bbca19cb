"""How dates, times and numbers read on screen: dd/mm/yyyy, local time, Vietnamese digits grouping;
and where a long e-mail address, web address or code may wrap."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from markupsafe import Markup, escape

from mooc import clock
from mooc.i18n import request_locale


def format_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy, the way Vietnamese documents write dates (in local time for timestamps)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(clock.LOCAL_TZ) if value.tzinfo else value
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in local time."""
    if value is None:
        return ""
    if value.tzinfo:
        value = value.astimezone(clock.LOCAL_TZ)
    return value.strftime("%d/%m/%Y %H:%M")


def format_number(value: int | float | str | Decimal | None, decimals: int | None = 0,
                  locale: str | None = None) -> str:
    """A number as the language being written groups it and marks its decimals, from Babel's data
    for that locale: 12.345,6 in Vietnamese, 12,345.6 in English. The language is the request's,
    or the one a mail is being written in (``force_locale``: a mail sent by cron follows it too);
    Vietnamese outside an application.

    Babel's own ``format_decimal`` gives the same text (tests/test_numbers.py checks it; a tie
    such as 0.05 to one decimal aside: Python rounds the binary float) but costs 57 µs a number
    against 3 µs here, and a report page prints thousands.

    ``decimals=None`` keeps the decimals the value has ("2.5" -> "2,5", "45" -> "45"): for
    numbers stored as text, such as quiz answers. ``locale``: a document written in one language
    whatever the reader's (a certificate is Vietnamese)."""
    if value is None or value == "":
        return ""
    if decimals is None:
        value = Decimal(str(value))
        decimals = max(0, -int(value.normalize().as_tuple().exponent))
    return f"{value:,.{decimals}f}".translate(_separators(locale))


def format_percent(value: int | float | Decimal | None, decimals: int = 1, locale: str | None = None) -> str:
    """A percentage (``value`` in percent: 75 is 75 %) the one way every page, mail, PDF and chart
    writes it: the number as ``format_number`` writes it, then the sign as the language's CLDR
    pattern places it (Babel's data). Vietnamese and English both write the sign against the
    number ("75,0%", "75.0%": the pattern is ``#,##0%`` in both); a language whose pattern puts a
    space there (French: ``#,##0 %``) would get its own. ``None`` (nobody to count) is "—"."""
    if value is None:
        return "—"
    return format_number(value, decimals, locale) + _percent_sign(locale)


_SEPARATORS: dict[str, dict[int, str]] = {}
_PERCENT_SIGNS: dict[str, str] = {}


def _locale_name(name: str | None) -> str:
    if name is None:
        locale = request_locale()
        return str(locale) if locale is not None else "vi"
    return name


def _percent_sign(name: str | None) -> str:
    """What the locale's percent pattern writes after the number ("%" for vi and en)."""
    name = _locale_name(name)
    sign = _PERCENT_SIGNS.get(name)
    if sign is None:
        locale = Locale.parse(name)
        pattern = locale.percent_formats[None].pattern.split(";")[0]
        suffix = pattern[len(pattern.rstrip("%\u00a0\u202f ")):]
        sign = _PERCENT_SIGNS[name] = suffix.replace("%", locale.number_symbols["latn"]["percentSign"])
    return sign


def _separators(name: str | None) -> dict[int, str]:
    """The ``str.translate`` table from Python's "," and "." to the locale's group and decimal
    signs (Babel's CLDR data), kept per locale."""
    name = _locale_name(name)
    table = _SEPARATORS.get(name)
    if table is None:
        symbols = Locale.parse(name).number_symbols["latn"]
        table = _SEPARATORS[name] = str.maketrans({",": symbols["group"], ".": symbols["decimal"]})
    return table


# The joints of an e-mail, a web address or a code: after "@", "/" and "_", before ".", "?", "&",
# "=" and "#" (so that a line never ends on a dot, which would read as a full stop), but the last
# dot (a line never starts with ".vn" or ".csv" alone).
_JOINTS = re.compile(r"(?<=[@_])|(?<=/)(?!/)|(?=[.?&=#])")  # "https://" holds


def breakable(value: object) -> Markup:
    """``value`` (escaped) with a ``<wbr>`` at each joint: a long address wraps at its joints on a
    narrow screen ("nguyen.van.an@" / "thanhtra.gov.vn"), not at the last letter that fits
    ("...gov.v" / "n"); nothing changes where it fits, in what a screen reader says or in what is
    copied. The stylesheet's last resort (``overflow-wrap``) breaks a part still too long."""
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    parts = [part for part in _JOINTS.split(str(value)) if part]
    if len(parts) > 1 and parts[-1].startswith("."):  # the last dot holds: "gov.vn", "bo.csv"
        parts[-2:] = [parts[-2] + parts[-1]]
    return Markup("<wbr>").join(escape(part) for part in parts)


# A word of a sentence that long is an address, a code or a file name: no Vietnamese word is.
_LONG_WORD = 16
_WORDS = re.compile(r"\S+")
# What a sentence puts around a word: brackets and quotes before, and those and its punctuation
# after ("... to an@thanhtra.gov.vn." keeps its full stop on the address's last line).
_EDGES = re.compile(r"([(\[«\"'“‘]*)(.*?)([)\]»\"'”’.,;:!?…]*)", re.DOTALL)


def breakable_text(value: object) -> Markup:
    """A sentence (a flash, an error page's message, a form's error) escaped, its long words (an
    e-mail or web address, a staff code, a file name put into it by the view) breakable at their
    joints as ``breakable`` breaks a value shown alone; the words of the sentence, its numbers and
    dates ("06/12/2026", "1.234") and its punctuation stay whole. Text marked safe (``Markup``)
    is the template's own and is kept as it is."""
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    text = str(value)
    pieces: list[Markup] = []
    end = 0
    for word in _WORDS.finditer(text):
        pieces += [escape(text[end:word.start()]), _breakable_word(word.group())]
        end = word.end()
    pieces.append(escape(text[end:]))
    return Markup("").join(pieces)


def _breakable_word(word: str) -> Markup:
    edges = _EDGES.fullmatch(word)
    before, core, after = edges.groups() if edges else ("", word, "")
    if len(core) < _LONG_WORD:
        return escape(word)
    return escape(before) + breakable(core) + escape(after)
