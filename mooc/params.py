"""Every query parameter and every number in a URL is read here, typed and bounded, so that no
value a person (or an attacker) can type into the address bar reaches Python or the database
in a shape that fails: ``str.isdigit()`` accepts "²" and "৩", ``int()`` of twenty digits does not
fit a database integer, ``date(9999, 12, 31) + timedelta(1)`` overflows, and PostgreSQL refuses
text holding a NUL byte.

A value that is present but not valid is ignored, and the page says so (a flash message naming
the parameter); an empty value is the same as no value (a form's "all" choice sends ``unit=``).
Below every domain: it imports Flask only, and every view may use it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date

from flask import Flask, abort, flash, request, session
from werkzeug.routing import BaseConverter, IntegerConverter, UnicodeConverter

from mooc.i18n import gettext as _

# Ids are PostgreSQL ``integer`` (and SQLite takes at most 2**63 - 1): anything larger is no row.
MAX_ID = 2**31 - 1
# Dates a person may ask about; far outside, date arithmetic in the queries overflows.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
MAX_TEXT = 200


def parse_int(text: str | None, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """ASCII digits only (no sign, no "²", no spaces), between ``low`` and ``high``; else None."""
    if not text or len(text) > len(str(high)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_date(text: str | None) -> date | None:
    """An ISO date ``yyyy-mm-dd`` (what ``<input type=date>`` sends) from 1900 to 2200; else None."""
    if not text or len(text) != 10 or not text.isascii():
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None
    return value if FIRST_DAY <= value <= LAST_DAY else None


def parse_day(text: str | None) -> date | None:
    """``dd/mm/yyyy`` (as people write dates, in a text field) or ISO, within :func:`parse_date`'s
    bounds; else None."""
    if text and len(text) == 10 and text.isascii() and text[2] == "/" and text[5] == "/":
        text = f"{text[6:]}-{text[3:5]}-{text[:2]}"
    return parse_date(text)


def say_ignored(name: str) -> None:
    """Say once per page that a parameter's value was not used (never echo the value itself)."""
    message = _("The value of “%(name)s” in the address is not valid and was ignored.", name=name)
    if message not in (text for _category, text in session.get("_flashes", [])):
        flash(message, "warning")


def int_arg(name: str, *, low: int = 1, high: int = MAX_ID) -> int | None:
    text = request.args.get(name, "")
    value = parse_int(text, low=low, high=high)
    if value is None and text:
        say_ignored(name)
    return value


def _date_from(name: str, parse: Callable[[str], date | None]) -> date | None:
    text = request.args.get(name, "")
    value = parse(text)
    if value is None and text:
        say_ignored(name)
    return value


def date_arg(name: str) -> date | None:
    return _date_from(name, parse_date)


def day_arg(name: str) -> date | None:
    """A date typed as ``dd/mm/yyyy`` (or ISO) in the address; a bad one is ignored, as date_arg."""
    return _date_from(name, parse_day)


def choice_arg(name: str, choices: Collection[str]) -> str | None:
    text = request.args.get(name, "")
    if text in choices:
        return text
    if text:
        say_ignored(name)
    return None


def text_arg(name: str, max_length: int = MAX_TEXT) -> str:
    """Free text (a search box), cut to ``max_length``, without NUL bytes."""
    return request.args.get(name, "")[:max_length].replace("\x00", "")


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: ASCII digits within a database integer, else 404 (not 500)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """``<key>``, ``<code>``: a path segment without NUL bytes (PostgreSQL cannot compare one)."""

    def __init__(self, map, *args, **kwargs) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


class PathConverter(BaseConverter):
    """``<path:...>``: like Werkzeug's, without NUL bytes."""

    regex = "[^/\\x00][^\\x00\\n]*?"  # Werkzeug: "[^/].*?" ("." stops at a line break)
    weight = 200
    part_isolating = False


def install(app: Flask) -> None:
    """Before any blueprint is registered: every ``<int:>`` id bounded, and no NUL byte in any
    other part of a URL (a URL with one matches no route: 404), nor in any form field (400)."""
    app.url_map.converters.update(int=IdConverter, default=TextConverter, string=TextConverter,
                                  path=PathConverter)
    app.before_request(refuse_nul_in_forms)


def refuse_nul_in_forms() -> None:
    """No text a person types holds a NUL byte; PostgreSQL refuses one in any text value (a 500
    wherever a field reaches a query), so a form that carries one is a bad request."""
    if request.method in ("POST", "PUT", "PATCH") and any(
            "\x00" in value for values in request.form.listvalues() for value in values):
        abort(400)
