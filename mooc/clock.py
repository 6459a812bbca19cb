"""The platform's clock: every "now" and "today" goes through here, so tests can set the time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

_frozen: datetime | None = None
LOCAL_TZ: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today() -> date:
    """Today's date where the people are (Vietnam by default), not in UTC."""
    return day_of(now())


def start_of(day: date) -> datetime:
    """The moment ``day`` begins where the people are (local midnight), in UTC: what a stored
    date (a cycle's assigned_on) means when it is compared with stored moments (completed_at)."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ).astimezone(UTC)


def day_of(moment: datetime) -> date:
    """The local date on which ``moment`` (aware) fell: a completion at 01:00 in Hà Nội is on
    that day, not on the day before as its UTC date would say."""
    return moment.astimezone(LOCAL_TZ).date()


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at ``moment`` (aware), or unfreeze it with None. For tests and demos."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("set_now needs a timezone-aware datetime")
    _frozen = moment.astimezone(UTC) if moment is not None else None


def set_local_timezone(name: str) -> None:
    global LOCAL_TZ
    LOCAL_TZ = ZoneInfo(name)
