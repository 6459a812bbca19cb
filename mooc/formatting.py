"""How dates, times and numbers read on screen: dd/mm/yyyy, local time, Vietnamese digits grouping."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import has_request_context

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


def format_number(value: int | float | str | Decimal | None, decimals: int | None = 0) -> str:
    """Thousands grouped with dots and decimals after a comma: 12.345,6 (Vietnamese usage);
    12,345.6 when the interface of the request is English.

    ``decimals=None`` keeps the decimals the value has ("2.5" -> "2,5", "45" -> "45"): for
    numbers stored as text, such as quiz answers."""
    if value is None or value == "":
        return ""
    if decimals is None:
        value = Decimal(str(value))
        decimals = max(0, -int(value.normalize().as_tuple().exponent))
    text = f"{value:,.{decimals}f}"
    if _english():
        return text
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def _english() -> bool:
    """Whether this request reads English (outside a request: the Vietnamese default)."""
    if not has_request_context():
        return False
    locale = request_locale()
    return locale is not None and locale.language == "en"
