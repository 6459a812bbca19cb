"""Every query parameter and every number in a URL is read here, typed and bounded, so that no
value a person (or an attacker) can type into the address bar reaches Python or the database
in a shape that fails: ``str.isdigit()`` accepts "²" and "৩", ``int()`` of twenty digits does not
fit a database integer, ``date(9999, 12, 31) + timedelta(1)`` overflows, and PostgreSQL refuses
text holding a NUL byte.

A value that is present but not valid is ignored, and the page says so (a flash message naming
the parameter, or for a date the field it was typed in); an empty value is the same as no value
(a form's "all" choice sends ``unit=``). Dates are typed ``dd/mm/yyyy`` in text boxes, never an
``<input type=date>`` (which shows the browser's order: mm/dd/yyyy in an English Chromium).
Below every domain: it imports Flask only, and every view may use it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

from flask import Flask, abort, flash, g, request, session
from werkzeug.routing import BaseConverter, IntegerConverter, UnicodeConverter

from mooc.i18n import gettext as _

# Ids are PostgreSQL ``integer`` (and SQLite takes at most 2**63 - 1): anything larger is no row.
MAX_ID = 2**31 - 1
# Dates a person may ask about; far outside, date arithmetic in the queries overflows.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
MAX_TEXT = 200
MAX_DAY_TYPED = 40  # what a date field shows back of a value that was not a date


def parse_int(text: str | None, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """ASCII digits only (no sign, no "²", no spaces), between ``low`` and ``high``; else None."""
    if not text or len(text) > len(str(high)) or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_date(text: str | None) -> date | None:
    """An ISO date ``yyyy-mm-dd`` from 1900 to 2200; else None."""
    if not text or len(text) != 10 or not text.isascii():
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None
    return value if FIRST_DAY <= value <= LAST_DAY else None


# A date as people type it, day first: 31/12/2026, 1/3/2026, 31.12.2026, 31-12-2026, or the eight
# digits 31122026 (a phone's number pad, which ``inputmode=numeric`` opens, may have no "/").
_DAY_FIRST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})|(\d{2})(\d{2})(\d{4})", re.ASCII)


def parse_day(text: str | None) -> date | None:
    """A date as people write it, day first (``dd/mm/yyyy``, see ``_DAY_FIRST``), or ISO
    ``yyyy-mm-dd`` (the links, bookmarks and calls made when the pages had ``<input type=date>``),
    within :func:`parse_date`'s bounds; else None."""
    text = (text or "").strip()
    found = _DAY_FIRST.fullmatch(text)
    if found:
        day, month, year = (found[1], found[3], found[4]) if found[1] else (found[5], found[6], found[7])
        text = f"{year}-{int(month):02d}-{int(day):02d}"
    return parse_date(text)


def say_ignored(name: str) -> None:
    """Say once per page that a parameter's value was not used (never echo the value itself)."""
    _say_once(_("The value of “%(name)s” in the address is not valid and was ignored.", name=name))


def say_not_a_day(name: str, label: str, text: str) -> None:
    """A date typed in a filter that is not one (31/02/2026): say which field and how dates are
    written (not the value: the address is anyone's to write), and keep what was typed for the
    field to show back, marked invalid (:func:`not_a_day`)."""
    g.setdefault("days_not_read", {})[name] = text[:MAX_DAY_TYPED].replace("\x00", "")
    _say_once(_("“%(field)s” is not a date: write dates as dd/mm/yyyy, for example 31/12/2026. "
                "It was ignored.", field=label))


def not_a_day(name: str) -> str | None:
    """What was typed in the date field ``name`` of this request's address, if it was not a date."""
    return g.get("days_not_read", {}).get(name)


def _say_once(message: str) -> None:
    if message not in (text for _category, text in session.get("_flashes", [])):
        flash(message, "warning")


def int_arg(name: str, *, low: int = 1, high: int = MAX_ID) -> int | None:
    text = request.args.get(name, "")
    value = parse_int(text, low=low, high=high)
    if value is None and text:
        say_ignored(name)
    return value


def day_arg(name: str, label: str) -> date | None:
    """A date in the address, typed as ``dd/mm/yyyy`` (or ISO: older links); a bad one is ignored,
    and said (naming the field: ``label``)."""
    text = request.args.get(name, "")
    value = parse_day(text)
    if value is None and text:
        say_not_a_day(name, label, text)
    return value


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
    app.jinja_env.globals["not_a_day"] = not_a_day
    app.before_request(refuse_nul_in_forms)


def refuse_nul_in_forms() -> None:
    """No text a person types holds a NUL byte; PostgreSQL refuses one in any text value (a 500
    wherever a field reaches a query), so a form that carries one is a bad request."""
    if request.method in ("POST", "PUT", "PATCH") and any(
            "\x00" in value for values in request.form.listvalues() for value in values):
        abort(400)
