"""The status of an enrolment, decided here and nowhere else.

One enum owns, for each status, the Python predicate (``EnrolmentStatus.of``), the SQL
condition (``condition``, ``expression``, ``any_of``) and the label people read (``label``).
Reports, reminders, the trainee's home and a person's record all ask it; nothing else
compares states and due dates to decide a status. ``tests/training/test_status.py`` checks
that the SQL and the Python agree on every case.

The rule, for one cycle of a course on ``today`` (the local date, ``clock.today()``):

- **completed** / **exempt**: its state says so (settled: it stays so when the cycle is
  closed or superseded, and an exemption after the due date is an exemption);
- **closed** ("no longer required"): a cycle not started or in progress that was closed
  (the person moved out of every rule's scope) or superseded by a later cycle of the same
  course (``latest`` false: e.g. a completion imported from elsewhere);
- **overdue**: otherwise, a cycle not started or in progress whose due date is before
  today (due today is not overdue), of a person held to their due dates
  (``held_to_due_dates``: not once they have left the roster);
- **in progress** / **not started**: otherwise, its stored state.

Overdue is computed, never stored. The statuses exclude one another and cover every cycle.
A programme cycle's status (``program_paths.ProgramStatus``) asks ``held_to_due_dates`` too.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from mooc import clock
from mooc.i18n import lazy_gettext as _l
from mooc.roster.models import StaffStatus
from mooc.training.models import Enrolment, EnrolmentState

_OPEN_STATES = (EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS)


def held_to_due_dates(staff_status: StaffStatus | str) -> bool:
    """Whether a person's due dates count, for courses and programmes alike: not once they have
    left the roster. Nothing is written when a person leaves (their cycles stay as they were, for
    their history), so every reader sees it at once, the day they leave, and their due dates
    count again the day they come back. ``held_to_due_dates_sql`` is the same rule in SQL."""
    return StaffStatus(staff_status) != StaffStatus.LEFT


def held_to_due_dates_sql(staff_status: Any) -> sa.ColumnElement[bool]:
    """``held_to_due_dates`` of a roster status column (``Staff.status``)."""
    return staff_status != StaffStatus.LEFT


class EnrolmentStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    OVERDUE = "overdue"
    EXEMPT = "exempt"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """What people read (in the request's language)."""
        return str(_LABELS[self])

    # --- Python ---------------------------------------------------------------------------------

    @classmethod
    def of(
        cls, enrolment: Any, today: date | None = None, staff_status: StaffStatus | str = StaffStatus.ACTIVE
    ) -> EnrolmentStatus:
        """The status of ``enrolment`` (an ``Enrolment`` or a row with its columns) on ``today``
        for a person whose roster status is ``staff_status``."""
        today = today or clock.today()
        state = EnrolmentState(enrolment.state)
        if state == EnrolmentState.COMPLETED:
            return cls.COMPLETED
        if state == EnrolmentState.EXEMPT:
            return cls.EXEMPT
        if enrolment.closed_at is not None or (enrolment.latest is not None and not enrolment.latest):
            return cls.CLOSED
        if held_to_due_dates(staff_status) and enrolment.due_on is not None and enrolment.due_on < today:
            return cls.OVERDUE
        return cls(state.value)

    def holds(
        self, enrolment: Any, today: date | None = None, staff_status: StaffStatus | str = StaffStatus.ACTIVE
    ) -> bool:
        return EnrolmentStatus.of(enrolment, today, staff_status) is self

    # --- SQL ------------------------------------------------------------------------------------

    def condition(
        self,
        today: date | sa.BindParameter[date] | None = None,
        enrolment: Any = Enrolment,
        staff_status: Any = None,
        *,
        current: bool = False,
    ) -> sa.ColumnElement[bool]:
        """Whether a row of ``enrolment`` (the entity or an alias) has this status on ``today``.

        ``staff_status``: the person's roster status column (``Staff.status``), when the
        statement may hold people who left; None when it keeps only people who have not.
        ``current``: the statement keeps only open, latest cycles (the reports' obligations):
        the closed test is left out, so the condition reads only state and due date (the
        obligations index holds them) and ``CLOSED`` is never true.
        """
        if today is None:  # (not ``today or``: a bound parameter has no truth value)
            today = clock.today()
        state = enrolment.state
        past_due = sa.and_(enrolment.due_on.is_not(None), enrolment.due_on < today)
        if staff_status is not None:
            past_due = sa.and_(held_to_due_dates_sql(staff_status), past_due)
        live: list[sa.ColumnElement[bool]] = (
            [] if current else [enrolment.closed_at.is_(None), enrolment.latest.is_(True)]
        )
        if self is EnrolmentStatus.COMPLETED:
            return state == EnrolmentState.COMPLETED
        if self is EnrolmentStatus.EXEMPT:
            return state == EnrolmentState.EXEMPT
        if self is EnrolmentStatus.CLOSED:
            if current:
                return sa.false()
            return sa.and_(
                state.in_(_OPEN_STATES), sa.or_(enrolment.closed_at.is_not(None), enrolment.latest.is_(False))
            )
        if self is EnrolmentStatus.OVERDUE:
            return sa.and_(state.in_(_OPEN_STATES), past_due, *live)
        return sa.and_(state == EnrolmentState(self.value), sa.not_(past_due), *live)

    @classmethod
    def any_of(
        cls,
        statuses: Iterable[EnrolmentStatus],
        today: date | sa.BindParameter[date] | None = None,
        enrolment: Any = Enrolment,
        staff_status: Any = None,
        *,
        current: bool = False,
    ) -> sa.ColumnElement[bool]:
        """Whether a row has one of ``statuses`` (see ``condition``)."""
        return sa.or_(*(s.condition(today, enrolment, staff_status, current=current) for s in statuses))

    @classmethod
    def expression(
        cls,
        today: date | None = None,
        enrolment: Any = Enrolment,
        staff_status: Any = None,
        *,
        current: bool = False,
    ) -> sa.ColumnElement[str]:
        """The status of a row as an SQL value (its ``.value``), from the conditions above."""
        statuses = [s for s in cls if not (current and s is cls.CLOSED)]
        return sa.case(
            *((s.condition(today, enrolment, staff_status, current=current), s.value) for s in statuses)
        )


# What a person still has to do: reminders go out for these, digests list them.
TO_DO = (EnrolmentStatus.OVERDUE, EnrolmentStatus.IN_PROGRESS, EnrolmentStatus.NOT_STARTED)
STILL_TO_DO = "to_do"  # the lists' filter for any of TO_DO ("overdue, in progress or not started")


def status_label(status: str) -> str:
    """What a status, or the lists' STILL_TO_DO filter, is called (for pages, files and mails)."""
    if status == STILL_TO_DO:
        return str(_l("Still to finish"))
    try:
        return str(EnrolmentStatus(status).label)
    except ValueError:
        return status

_LABELS = {
    EnrolmentStatus.NOT_STARTED: _l("Not started"),
    EnrolmentStatus.IN_PROGRESS: _l("In progress"),
    EnrolmentStatus.COMPLETED: _l("Completed"),
    EnrolmentStatus.OVERDUE: _l("Overdue"),
    EnrolmentStatus.EXEMPT: _l("Exempt"),
    EnrolmentStatus.CLOSED: _l("No longer required"),
}


def end_of_day(day: date) -> datetime:
    """The first moment after ``day`` in Vietnam (the configured timezone), in UTC."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=clock.LOCAL_TZ).astimezone(UTC)


def in_order_on(day: date, enrolment: Any = Enrolment) -> sa.ColumnElement[bool]:
    """Whether a cycle was in order on ``day`` (a past or present local date), for compliance
    as of a date: completed by the end of that day and still valid then, exempt, closed by
    then, or not yet overdue on that day (the rule above: due that day is not overdue). A
    course is in order when any of its cycles assigned by then is."""
    day_end = end_of_day(day)
    return sa.or_(
        sa.and_(
            enrolment.state == EnrolmentState.COMPLETED,
            enrolment.completed_at.is_not(None),
            enrolment.completed_at < day_end,
            sa.or_(enrolment.expires_on.is_(None), enrolment.expires_on > day),
        ),
        enrolment.state == EnrolmentState.EXEMPT,
        sa.and_(enrolment.closed_at.is_not(None), enrolment.closed_at < day_end),
        enrolment.due_on.is_(None),
        enrolment.due_on >= day,
    )
