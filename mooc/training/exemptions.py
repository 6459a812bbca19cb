"""Exemptions: an administrator excuses a person from one cycle of a course, with a reason."""

from __future__ import annotations

from mooc.auth import audit
from mooc.auth.models import User
from mooc.errors import DomainError
from mooc.roster import scope
from mooc.training import programs
from mooc.training.models import Enrolment, EnrolmentState


class ExemptionError(DomainError):
    """Why an enrolment cannot be exempted: ``completed`` (the course is already done)."""


def exempt(enrolment: Enrolment, reason: str, *, actor: User) -> None:
    """Mark the cycle exempt (counted as in order, like a completion); refused when it is
    already completed. A scoped actor exempts the people of their units only."""
    scope.require_staff(actor, enrolment.staff)
    if enrolment.state == EnrolmentState.COMPLETED:
        raise ExemptionError("completed")
    enrolment.state = EnrolmentState.EXEMPT
    enrolment.exempt_reason = reason.strip()
    enrolment.exempted_by_id = actor.id
    programs.advance({enrolment.staff_id})  # an exemption counts as the step's course done
    audit.record("training.exempted", actor=actor, target=enrolment.staff.staff_code,
                 enrolment_id=enrolment.id, reason=enrolment.exempt_reason)
