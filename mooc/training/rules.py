"""Assignment rules as administrators change them: creating a rule (after its preview,
``assign.preview``), editing one and switching one off (each after its preview,
``preview_update`` and ``preview_deactivation``).

Each change re-applies the whole set of the course's active rules (``assign.apply_rules``
with the course), so a change to one rule never closes what another source still requires:
an open enrolment the changed rule no longer covers is adopted by another active rule that
covers the person (its due date unchanged); else it stays with a manager who enrolled the
person, or passes to a programme of theirs that holds the course (``holders``: its terms);
it closes only when nothing holds it any more.

An edit applies to the open enrolments of the rule as follows:

- people the rule now covers and who have no open enrolment are enrolled, due by the new
  terms counted from today;
- open enrolments nobody requires any more are closed (no longer required);
- open enrolments of the rule (not started or in progress) whose due date still follows the
  old terms get the due date the new terms give, counted from the day each was assigned; a
  due date changed by hand for one person is kept;
- a completion (the person's latest cycle, whatever its source) follows the renewing rules
  that cover the person now (``assign.renewing_rule``: the strictest): its expiry, and its
  certificate's, become the completion day + the period; one due for renewal by then gets its
  renewal cycle at once (docs/architecture.md, "Sources of a cycle").

A preview is the change itself, made in a savepoint and rolled back: it counts exactly what
confirming will do (the same ``apply_rules``), and the savepoint leaves nothing behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from mooc import events
from mooc.auth import audit
from mooc.auth.models import User
from mooc.database import chunked_in, chunks, update_rows
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.roster import scope
from mooc.roster.models import OrgUnit, Position, Staff
from mooc.training.assign import AssignReport, RuleDraft, apply_rules, due_date, sample_of, write_enrolments
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentSource, EnrolmentState, ProgramEnrolment
from mooc.training.programs import apply_program_rules

SAMPLE_SIZE = 20


class RuleError(DomainError):
    """Why a rule cannot be changed: ``inactive`` (already switched off), ``course`` (an
    edit cannot move a rule to another course: switch it off and create another)."""


def _write_terms(rule: AssignmentRule, draft: RuleDraft, note: str) -> None:
    rule.due_days = draft.due_days
    rule.due_on = draft.due_on
    rule.renew_months = draft.renew_months
    rule.all_units = draft.all_units
    rule.renewal = draft.renewal
    rule.note = note.strip()[:300]
    unit_ids = [] if draft.all_units else draft.unit_ids
    rule.units = list(db.session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_(unit_ids))))
    rule.positions = list(db.session.scalars(sa.select(Position).where(Position.id.in_(draft.position_ids))))


def create_rule(draft: RuleDraft, *, note: str = "",
                actor: User | None = None) -> tuple[AssignmentRule, AssignReport]:
    """Save the rule and enrol the people it covers (flush only; the caller commits). A scoped
    actor (a training officer) names units of their scope, and at least one."""
    _require_rule_scope(actor, draft)
    rule = AssignmentRule(course_id=draft.course_id, program_id=draft.program_id,
                          created_by_id=actor.id if actor else None)
    _write_terms(rule, draft, note)
    db.session.add(rule)
    db.session.flush()
    report = apply_to(rule)
    audit.record("training.rule_created", actor=actor, target=f"rule {rule.id}", course_id=rule.course_id,
                 program_id=rule.program_id, enrolled=report.enrolled, all_units=draft.all_units)
    return rule, report


def apply_to(rule: AssignmentRule) -> AssignReport:
    """Apply again the whole set of active rules of the rule's course, or of its programme."""
    if rule.program_id is not None:
        return apply_program_rules(program_ids={rule.program_id})
    return apply_rules(course_ids={rule.course_id} if rule.course_id is not None else set())


def _require_rule_scope(actor: User | None, draft: RuleDraft) -> None:
    """A rule for all units covers everyone: only the unscoped make, change or switch one off."""
    if (draft.all_units or not draft.unit_ids) and not scope.unscoped(actor):
        raise scope.ScopeError("all_units")
    scope.require_units(actor, draft.unit_ids)


def in_scope(actor: User, rule: AssignmentRule) -> bool:
    """Whether ``actor`` may change ``rule`` (the rules list shows the others read-only)."""
    units = [unit.id for unit in rule.units]
    return scope.unscoped(actor) or (not rule.all_units and bool(units)
                                     and all(scope.in_scope(actor, unit) for unit in units))


def _terms(draft: RuleDraft) -> dict:
    return {"units": "all" if draft.all_units else sorted(draft.unit_ids),
            "positions": sorted(draft.position_ids), "due_days": draft.due_days,
            "due_on": str(draft.due_on or ""), "renew_months": draft.renew_months,
            "renewal": draft.renewal.value}


def update_rule(rule: AssignmentRule, draft: RuleDraft, *, note: str = "",
                actor: User | None = None) -> AssignReport:
    """Change the rule's units, positions, due terms, renewal and note, and apply the course's
    rules again (see the module's text for what happens to open enrolments). Flush only."""
    before = RuleDraft.of(rule)
    _require_rule_scope(actor, before)
    _require_rule_scope(actor, draft)
    if not rule.active:
        raise RuleError("inactive")
    if draft.course_id != rule.course_id or draft.program_id != rule.program_id:
        raise RuleError("course")
    _write_terms(rule, draft, note)
    db.session.flush()
    report = apply_to(rule)
    report.due_changed = _follow_due_terms(rule, before, draft)
    db.session.flush()
    audit.record("training.rule_updated", actor=actor, target=f"rule {rule.id}", course_id=rule.course_id,
                 before=_terms(before), after=_terms(draft), enrolled=report.enrolled,
                 closed=report.closed, due_changed=report.due_changed)
    return report


def _follow_due_terms(rule: AssignmentRule, before: RuleDraft, after: RuleDraft) -> int:
    """Open enrolments of the rule whose due date followed the old terms take the new terms'
    date (from the day each was assigned). Returns how many changed. (A programme's rule: its
    open cycles, and the courses their steps opened.)"""
    if (before.due_days, before.due_on) == (after.due_days, after.due_on):
        return 0
    if rule.program_id is not None:
        return _follow_due_terms_of_program(rule, before, after)
    following: dict[Enrolment, set[str]] = {}
    stmt = sa.select(Enrolment).where(
        Enrolment.rule_id == rule.id, Enrolment.closed_at.is_(None),
        Enrolment.source == EnrolmentSource.RULE,
        Enrolment.state.in_([EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS]))
    for enrolment in db.session.scalars(stmt):
        if enrolment.due_on != due_date(before, enrolment.assigned_on):
            continue  # changed by hand (an extension), or a renewal cycle: kept
        new_due = due_date(after, enrolment.assigned_on)
        if new_due != enrolment.due_on:
            enrolment.due_on = new_due
            following[enrolment] = {"due_on"}
    write_enrolments(following)  # one UPDATE per new due date and chunk of enrolments
    return len(following)


def _follow_due_terms_of_program(rule: AssignmentRule, before: RuleDraft, after: RuleDraft) -> int:
    """The rule's open first cycles whose due date followed the old terms, and the required
    courses their steps opened (due with them): one UPDATE per old and new due date and
    ``database.CHUNK`` of people, not one per person."""
    moving: dict[tuple[date, date], list[ProgramEnrolment]] = defaultdict(list)
    for cycle in db.session.scalars(sa.select(ProgramEnrolment).where(
            ProgramEnrolment.rule_id == rule.id, ProgramEnrolment.closed_at.is_(None),
            ProgramEnrolment.completed_at.is_(None), ProgramEnrolment.cycle == 1)):
        old_due, new_due = cycle.due_on, due_date(after, cycle.assigned_on)
        if old_due is None or old_due != due_date(before, cycle.assigned_on) or new_due == old_due:
            continue  # changed by hand, or unchanged
        moving[(old_due, new_due)].append(cycle)
    for (old_due, new_due), cycles in sorted(moving.items()):
        update_rows(db.session, ProgramEnrolment, cycles, {"due_on": new_due})
        people = sorted({cycle.staff_id for cycle in cycles})
        for program_id in sorted({cycle.program_id for cycle in cycles}):
            for whose in chunked_in(Enrolment.staff_id, people):
                db.session.execute(  # the required courses its steps opened, due with it
                    sa.update(Enrolment).where(
                        whose, Enrolment.program_id == program_id,
                        Enrolment.source == EnrolmentSource.PROGRAM, Enrolment.closed_at.is_(None),
                        Enrolment.due_on == old_due,
                        Enrolment.state.in_([EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS]))
                    .values(due_on=new_due), execution_options={"synchronize_session": "fetch"})
        events.touched(people)
    return sum(len(cycles) for cycles in moving.values())


def deactivate_rule(rule: AssignmentRule, *, actor: User | None = None) -> AssignReport:
    """Switch the rule off. The course's other active rules are applied again: people they
    cover keep the course (their enrolments now belong to the rule that covers them); open
    enrolments nobody requires any more are closed (``report.closed``)."""
    _require_rule_scope(actor, RuleDraft.of(rule))
    if not rule.active:
        raise RuleError("inactive")
    rule.active = False
    db.session.flush()
    report = apply_to(rule)
    audit.record("training.rule_deactivated", actor=actor, target=f"rule {rule.id}", closed=report.closed)
    return report


# --- previews: the change made in a savepoint, then rolled back ---------------------------------


@dataclass
class ChangePreview:
    """What a change to a rule will do, counted by doing it (and rolling it back)."""

    report: AssignReport
    open_before: int  # open enrolments of the rule before the change
    kept_by_others: int  # of them, open enrolments another active rule will keep
    enrolled_sample: list[Staff]
    closed_sample: list[Staff]


def _open_of_rule(rule: AssignmentRule) -> set[int]:
    """The rule's open enrolments not finished (of a programme's rule: its open cycles)."""
    if rule.program_id is not None:
        return set(db.session.scalars(sa.select(ProgramEnrolment.id).where(
            ProgramEnrolment.rule_id == rule.id, ProgramEnrolment.closed_at.is_(None),
            ProgramEnrolment.completed_at.is_(None))))
    return set(db.session.scalars(sa.select(Enrolment.id).where(
        Enrolment.rule_id == rule.id, Enrolment.closed_at.is_(None),
        Enrolment.state.in_([EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS]))))


def _kept_by_others(rule: AssignmentRule, rule_id: int, before: set[int]) -> set[int]:
    """Of ``before`` (the rule's open enrolments before the change: a ministry-wide rule's are
    everyone's), those still open and no longer the rule's: another rule's, or (a course's)
    still held by a manager or a programme (``holders``)."""
    model: Any = ProgramEnrolment if rule.program_id is not None else Enrolment
    kept: set[int] = set()
    for chunk in chunks(sorted(before)):
        kept.update(db.session.scalars(sa.select(model.id).where(
            model.id.in_(chunk), model.closed_at.is_(None),
            sa.or_(model.rule_id.is_(None), model.rule_id != rule_id))))
    return kept


def _sample(staff_ids: list[int]) -> list[Staff]:
    return sample_of(staff_ids, SAMPLE_SIZE)


def _rehearse(rule: AssignmentRule, change: Callable[[], AssignReport]) -> ChangePreview:
    rule_id = rule.id
    savepoint = db.session.begin_nested()
    try:
        before = _open_of_rule(rule)
        report = change()
        after_open = _kept_by_others(rule, rule_id, before)
    finally:
        savepoint.rollback()
    return ChangePreview(report, len(before), len(after_open), _sample(report.enrolled_ids),
                         _sample(report.closed_ids))


def preview_create(draft: RuleDraft) -> AssignReport:
    """What ``create_rule`` would do now to the people's cycles (first cycles, completions given
    an expiry or a new one, renewals opened), counted by doing it; nothing is kept."""
    savepoint = db.session.begin_nested()
    try:
        _rule, report = create_rule(draft)
    finally:
        savepoint.rollback()
    return report


def preview_update(rule: AssignmentRule, draft: RuleDraft, *, note: str = "") -> ChangePreview:
    """What ``update_rule`` would do now; nothing is kept."""
    return _rehearse(rule, lambda: update_rule(rule, draft, note=note))


def preview_deactivation(rule: AssignmentRule) -> ChangePreview:
    """What ``deactivate_rule`` would do now; nothing is kept. ``kept_by_others``: open
    enrolments of the rule that another active rule keeps required."""
    return _rehearse(rule, lambda: deactivate_rule(rule))
