"""Assignment rules as administrators change them: creating a rule (after its preview,
``assign.preview``) and switching one off.

Both re-apply the whole set of the course's active rules (``assign.apply_rules`` with the
course), so a change to one rule never closes what another rule still requires.
"""

from __future__ import annotations

import sqlalchemy as sa

from mooc.auth import audit
from mooc.auth.models import User
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.roster import scope
from mooc.roster.models import OrgUnit, Position
from mooc.training.assign import AssignReport, RuleDraft, apply_rules
from mooc.training.models import AssignmentRule


class RuleError(DomainError):
    """Why a rule cannot be changed: ``inactive`` (already switched off)."""


def create_rule(draft: RuleDraft, *, note: str = "",
                actor: User | None = None) -> tuple[AssignmentRule, AssignReport]:
    """Save the rule and enrol the people it covers (flush only; the caller commits). A scoped
    actor (a training officer) names units of their scope, and at least one."""
    _require_rule_scope(actor, draft.unit_ids)
    rule = AssignmentRule(
        course_id=draft.course_id,
        due_days=draft.due_days,
        due_on=draft.due_on,
        renew_months=draft.renew_months,
        note=note.strip()[:300],
        created_by_id=actor.id if actor else None,
    )
    rule.units = list(db.session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(draft.unit_ids))))
    rule.positions = list(db.session.scalars(sa.select(Position).where(Position.id.in_(draft.position_ids))))
    db.session.add(rule)
    db.session.flush()
    report = apply_rules(course_ids={rule.course_id})
    audit.record("training.rule_created", actor=actor, target=f"rule {rule.id}", course_id=rule.course_id,
                 enrolled=report.enrolled)
    return rule, report


def _require_rule_scope(actor: User | None, unit_ids: list[int]) -> None:
    """A rule with no units covers everyone: only the unscoped make or switch one off."""
    if not unit_ids and not scope.unscoped(actor):
        raise scope.ScopeError("all_units")
    scope.require_units(actor, unit_ids)


def in_scope(actor: User, rule: AssignmentRule) -> bool:
    """Whether ``actor`` may change ``rule`` (the rules list shows the others read-only)."""
    units = [unit.id for unit in rule.units]
    return scope.unscoped(actor) or (bool(units) and all(scope.in_scope(actor, unit) for unit in units))


def deactivate_rule(rule: AssignmentRule, *, actor: User | None = None) -> AssignReport:
    """Switch the rule off. The course's other active rules are applied again: people they
    cover keep the course (their enrolments now belong to the rule that covers them); open
    enrolments nobody requires any more are closed (``report.closed``)."""
    _require_rule_scope(actor, [unit.id for unit in rule.units])
    if not rule.active:
        raise RuleError("inactive")
    rule.active = False
    db.session.flush()
    report = apply_rules(course_ids={rule.course_id})
    audit.record("training.rule_deactivated", actor=actor, target=f"rule {rule.id}", closed=report.closed)
    return report
