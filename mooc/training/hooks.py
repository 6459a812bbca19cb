"""What the training domain answers to the domains below it (mooc.events): roster changes (a
new hire, a transfer, a change of position or status) re-apply the rules for the people
concerned, in the same transaction as the change; a merge asks which rules name a unit; a quiz
asks when the person's current cycle began."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from mooc import events
from mooc.auth.models import User
from mooc.extensions import db
from mooc.training.assign import apply_rules
from mooc.training.completion import cycle_start
from mooc.training.models import AssignmentRule, Enrolment, rule_units
from mooc.training.programs import apply_program_rules

MANY = 500  # past this many people, applying every rule to everyone is one set-based pass anyway


def _on_roster_changed(_sender: object, *, staff_ids: set[int] | None = None) -> None:
    if staff_ids is not None and not staff_ids:
        return
    people = None if staff_ids is None or len(staff_ids) > MANY else set(staff_ids)
    apply_rules(staff_ids=people)
    apply_program_rules(staff_ids=people)


def _rules_naming(_sender: object, *, unit_ids: set[int]) -> list[str]:
    """The active rules that name these units (a merge closes the unit: they then cover
    nobody there), as "course title (code): note"."""
    rules = db.session.scalars(
        sa.select(AssignmentRule).join(rule_units, rule_units.c.rule_id == AssignmentRule.id)
        .where(rule_units.c.unit_id.in_(unit_ids), AssignmentRule.active.is_(True))
        .order_by(AssignmentRule.id).distinct())
    return [f"{target.title} ({target.code})" + (f": {rule.note}" if rule.note else "")
            for rule in rules if (target := rule.course or rule.program) is not None]


def _cycle_start_of(_sender: object, *, user_id: int, course_id: int) -> datetime | None:
    """When the person's current cycle of the course began (None in a first cycle): their
    attempts and grants from then on are the ones its attempt limit counts."""
    enrolment = db.session.scalar(
        sa.select(Enrolment).join(User, User.staff_id == Enrolment.staff_id)
        .where(User.id == user_id, Enrolment.course_id == course_id, Enrolment.latest.is_(True)))
    return cycle_start(enrolment) if enrolment is not None else None


def connect() -> None:
    events.roster_changed.connect(_on_roster_changed)
    events.units_referenced.connect(_rules_naming)
    events.attempts_count_from.connect(_cycle_start_of)
