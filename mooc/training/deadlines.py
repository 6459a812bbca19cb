"""Extending a due date: a manager or training officer gives a person more time for one
cycle of a course, with a reason (audited). The status follows from the new date
(``status.py``): an overdue cycle given a later date is no longer overdue."""

from __future__ import annotations

from datetime import date

from mooc import clock
from mooc.auth import audit
from mooc.auth.models import User
from mooc.errors import DomainError
from mooc.training.models import Enrolment
from mooc.training.status import TO_DO, EnrolmentStatus, held_to_due_dates


class DeadlineError(DomainError):
    """Why a due date cannot be extended: ``left`` (the person left the roster: no due date of
    theirs counts), ``settled`` (completed, exempt or no longer required), ``no_due_date``
    (nothing to extend), ``not_later`` (the new date is not after
    the current one), ``past`` (the new date is before today)."""


def extend(enrolment: Enrolment, new_due_on: date, reason: str, *, actor: User) -> date:
    """Move the cycle's due date to ``new_due_on``; returns the old one. Refused (before any
    change) unless the cycle is still to do and the new date is later and not in the past."""
    today = clock.today()
    if not held_to_due_dates(enrolment.staff.status):
        raise DeadlineError("left")
    if EnrolmentStatus.of(enrolment, today, enrolment.staff.status) not in TO_DO:
        raise DeadlineError("settled")
    old = enrolment.due_on
    if old is None:
        raise DeadlineError("no_due_date")
    if new_due_on <= old:
        raise DeadlineError("not_later", due_on=old)
    if new_due_on < today:
        raise DeadlineError("past")
    enrolment.due_on = new_due_on
    audit.record("training.due_extended", actor=actor, target=enrolment.staff.staff_code,
                 enrolment_id=enrolment.id, old=old.isoformat(), new=new_due_on.isoformat(),
                 reason=reason.strip())
    return old
