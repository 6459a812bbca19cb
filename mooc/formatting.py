"""How dates, times and numbers read on screen: dd/mm/yyyy, local time, Vietnamese digits grouping."""

from __future__ import annotations

from datetime import date, datetime

from mooc import clock


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


def format_number(value: int | float | None, decimals: int = 0) -> str:
    """Thousands grouped with dots and decimals after a comma: 12.345,6 (Vietnamese usage)."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")
