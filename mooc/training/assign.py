"""Who must take what: matching rules against the roster and opening enrolments.

Idempotent: applying the rules twice enrols nobody twice (and the unique
(staff, course, cycle) constraint would refuse it anyway). A few set-based queries per
rule, never one per person.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from mooc import clock, events
from mooc.auth.models import User
from mooc.database import chunked_in, chunks, write_changed, write_each
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.progress import ASSIGNING, SILENT, Progress
from mooc.roster.models import Staff, StaffStatus
from mooc.roster.scope import require_staff
from mooc.roster.units import subtrees
from mooc.training.holders import Joined, manager_joins, release, stronger
from mooc.training.models import (
    AssignmentRule,
    Certificate,
    Enrolment,
    EnrolmentSource,
    EnrolmentState,
    ProgramEnrolment,
    RenewalMode,
    supersede_earlier,
    supersede_earlier_of,
)

RENEWAL_LEAD_DAYS = 30  # a renewal cycle opens this long before the certificate expires
OPEN_STATES = (EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS)  # a cycle not finished


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry_of(completed_at: datetime, months: int) -> date:
    """When a completion renewed every ``months`` expires: that many months after its day (local)."""
    return add_months(completed_at.astimezone(clock.LOCAL_TZ).date(), months)


def renewing_rule(covering: Collection[AssignmentRule]) -> AssignmentRule | None:
    """Of the active rules that cover a person for a course, the one their completion's expiry
    and renewal follow (docs/architecture.md, "Sources of a cycle"): the renewing rule with the
    shortest period (the strictest), the first by id among equals; None when none renews."""
    renewing = [rule for rule in covering if rule.renew_months]
    return min(renewing, key=lambda rule: (rule.renew_months or 0, rule.id)) if renewing else None


@dataclass
class RuleDraft:
    """A rule as an administrator is writing it (before it is saved)."""

    course_id: int | None  # the course required, or None for a programme's rule
    unit_ids: list[int]
    position_ids: list[int] = field(default_factory=list)  # empty: every position
    due_days: int | None = None
    due_on: date | None = None
    renew_months: int | None = None
    all_units: bool = False  # every unit, chosen as such (``unit_ids`` is then ignored)
    renewal: RenewalMode = RenewalMode.FULL  # what a renewal cycle asks (mooc.training.refreshers)
    program_id: int | None = None  # the programme required (mooc.training.programs), instead of a course

    @classmethod
    def of(cls, rule: AssignmentRule) -> RuleDraft:
        return cls(
            rule.course_id,
            [u.id for u in rule.units],
            [p.id for p in rule.positions],
            rule.due_days,
            rule.due_on,
            rule.renew_months,
            bool(rule.all_units),
            RenewalMode(rule.renewal or RenewalMode.FULL),
            rule.program_id,
        )


def matching_staff_query(draft: RuleDraft) -> sa.Select:
    """Staff the rule covers: in the units' subtrees (every unit for ``all_units``), in the
    positions (if any), not gone."""
    stmt = sa.select(Staff.id).where(Staff.status != StaffStatus.LEFT)
    if not draft.all_units:
        stmt = stmt.where(Staff.unit_id.in_(subtrees(draft.unit_ids)))
    if draft.position_ids:
        stmt = stmt.where(Staff.position_id.in_(draft.position_ids))
    return stmt


def due_date(draft: RuleDraft, assigned_on: date) -> date:
    if draft.due_on is not None:
        return max(draft.due_on, assigned_on)
    return assigned_on + timedelta(days=draft.due_days or 0)


@dataclass
class Preview:
    matched: int  # people the rule covers
    to_enrol: int  # of them, not enrolled in the course yet
    sample: list[Staff]  # the first people to enrol, in Vietnamese name order
    due_on: date


def preview(draft: RuleDraft, today: date | None = None, sample_size: int = 20) -> Preview:
    """The effect of a rule before it is saved: how many people, and who."""
    today = today or clock.today()
    matched = matching_staff_query(draft).subquery()
    enrolled = sa.select(Enrolment.staff_id).where(
        Enrolment.course_id == draft.course_id, Enrolment.closed_at.is_(None)
    ) if draft.program_id is None else sa.select(ProgramEnrolment.staff_id).where(
        ProgramEnrolment.program_id == draft.program_id, ProgramEnrolment.closed_at.is_(None))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(matched)) or 0
    new_ids = sa.select(matched.c.id).where(matched.c.id.not_in(enrolled))
    to_enrol = db.session.scalar(sa.select(sa.func.count()).select_from(new_ids.subquery())) or 0
    sample = list(
        db.session.scalars(
            sa.select(Staff).where(Staff.id.in_(new_ids)).order_by(Staff.sort_key).limit(sample_size)
        )
    )
    return Preview(count, to_enrol, sample, due_date(draft, today))


SAMPLE_FROM = 5000  # a preview's sample of people is drawn from the first ids of its list


def sample_of(staff_ids: Sequence[int], size: int) -> list[Staff]:
    """The first ``size`` people in Vietnamese name order among the first ``SAMPLE_FROM`` of
    ``staff_ids`` (a preview's sample): a statement per ``database.CHUNK`` of them."""
    found: dict[int, Staff] = {}
    for chunk in chunks(list(dict.fromkeys(staff_ids[:SAMPLE_FROM]))):
        found.update((staff.id, staff) for staff in db.session.scalars(
            sa.select(Staff).where(Staff.id.in_(chunk)).order_by(Staff.sort_key).limit(size)))
    return sorted(found.values(), key=lambda staff: staff.sort_key)[:size]


@dataclass
class AssignReport:
    enrolled: int = 0  # first cycles opened
    renewed: int = 0  # renewal cycles opened
    closed: int = 0  # open enrolments no longer required (moved out of scope)
    due_changed: int = 0  # open enrolments whose due date a rule's edit changed (rules.update_rule)
    expiry_given: int = 0  # completions without an expiry that a renewing rule now covers
    expiry_changed: int = 0  # completions whose expiry a renewing rule's period moved
    # who: the staff enrolled (first cycles) and those whose enrolment closed, for previews
    enrolled_ids: list[int] = field(default_factory=list, repr=False)
    closed_ids: list[int] = field(default_factory=list, repr=False)

    def __iadd__(self, other: AssignReport) -> AssignReport:
        self.enrolled += other.enrolled
        self.renewed += other.renewed
        self.closed += other.closed
        self.due_changed += other.due_changed
        self.expiry_given += other.expiry_given
        self.expiry_changed += other.expiry_changed
        self.enrolled_ids += other.enrolled_ids
        self.closed_ids += other.closed_ids
        return self


def named(staff_ids: Collection[int] | None) -> list[int] | None:
    """The people a caller named, in id order, for ``database.chunked_in`` (one statement per
    chunk of them); None: everyone (one statement, no list)."""
    return None if staff_ids is None else sorted(staff_ids)


def _latest_cycles(course_id: int, staff_ids: Collection[int] | None) -> dict[int, Enrolment]:
    stmt = sa.select(Enrolment).where(Enrolment.course_id == course_id)
    latest: dict[int, Enrolment] = {}
    for whose in chunked_in(Enrolment.staff_id, named(staff_ids)):
        for enrolment in db.session.scalars(stmt.where(whose)):
            current = latest.get(enrolment.staff_id)
            if current is None or enrolment.cycle > current.cycle:
                latest[enrolment.staff_id] = enrolment
    return latest


def rules_by_target(target: str, enrolments: Any, target_ids: set[int] | None,
                    staff_ids: set[int] | None) -> dict[int, list[AssignmentRule]]:
    """Target id -> its active rules, for the rules whose ``target`` ("course_id" or
    "program_id") is set (only ``target_ids``, if given); a target with open enrolments a rule
    holds (rows of ``enrolments``, of ``staff_ids`` if given: the rule's, or a manager's the
    rule also requires) but no active rule any more is listed with none, so that what is left
    of it is let go."""
    rule_target = getattr(AssignmentRule, target)
    enrolment_target = getattr(enrolments, target)
    active = sa.select(AssignmentRule).where(AssignmentRule.active.is_(True), rule_target.is_not(None))
    open_targets = sa.select(enrolment_target).distinct().where(
        sa.or_(enrolments.source == EnrolmentSource.RULE, enrolments.rule_id.is_not(None)),
        enrolments.closed_at.is_(None))
    if target_ids is not None:
        active = active.where(rule_target.in_(target_ids))
        open_targets = open_targets.where(enrolment_target.in_(target_ids))
    by_target: dict[int, list[AssignmentRule]] = defaultdict(list)
    for rule in db.session.scalars(active):
        by_target[getattr(rule, target) or 0].append(rule)
    for whose in chunked_in(enrolments.staff_id, named(staff_ids)):
        for target_id in db.session.scalars(open_targets.where(whose)):
            by_target.setdefault(target_id, [])  # no active rule any more: its enrolments close
    return by_target


def apply_rules(
    today: date | None = None, staff_ids: set[int] | None = None, course_ids: set[int] | None = None,
    progress: Progress = SILENT,
) -> AssignReport:
    """Open the enrolments the active rules call for (for ``staff_ids`` only, if given; for
    the courses ``course_ids`` only, if given): first cycles for people newly covered,
    renewal cycles for certificates about to expire, and close open rule enrolments of
    people no active rule covers any more.

    A course's enrolments always follow the whole set of its active rules, never a part of
    it: a person covered by two rules keeps the course when one of them is switched off, and
    a course left with no active rule closes what is left.
    """
    today = today or clock.today()
    by_course = rules_by_target("course_id", Enrolment, course_ids, staff_ids)
    report = AssignReport()
    progress.phase(ASSIGNING, len(by_course))
    for course_id in sorted(by_course):
        report += _apply_course(course_id, by_course[course_id], today, staff_ids)
        progress.advance()
    return report


def _apply_course(
    course_id: int, rules: list[AssignmentRule], today: date, staff_ids: set[int] | None
) -> AssignReport:
    report = AssignReport()
    covered = covered_by(rules, staff_ids)
    latest = _latest_cycles(course_id, staff_ids)
    writes = _Writes()
    for staff_id, covering in covered.items():
        _cover(report, staff_id, course_id, covering, latest.get(staff_id), today, writes)
    write_enrolments(writes.changed)
    write_expiries(report, writes.expiring)
    _renew(report, course_id, writes.renewing, today)
    if staff_ids is None or staff_ids:
        report.closed_ids = _release_uncovered(course_id, staff_ids, covered, today)
        report.closed += len(report.closed_ids)
    db.session.flush()
    return report


def write_enrolments(changed: dict[Enrolment, set[str]]) -> None:
    """Write what a bulk path changed on loaded enrolments, set-based (``database.write_changed``),
    and name their people to the reports' summary."""
    if changed:
        write_changed(db.session, Enrolment, changed)
        events.touched({enrolment.staff_id for enrolment in changed})


@dataclass
class _Writes:
    """What a pass over a course's people changes, written set-based after it: attributes of
    loaded cycles (``changed``), completions' new expiry dates (``expiring``), and the completed
    cycles to renew, each with the rule that renews it (``renewing``)."""

    changed: dict[Enrolment, set[str]] = field(default_factory=dict)
    expiring: dict[Enrolment, date] = field(default_factory=dict)
    renewing: list[tuple[Enrolment, AssignmentRule]] = field(default_factory=list)


def _cover(
    report: AssignReport,
    staff_id: int,
    course_id: int,
    covering: list[AssignmentRule],
    current: Enrolment | None,
    today: date,
    writes: _Writes,
) -> None:
    """One person the rules ``covering`` cover (in id order): enrol, hold, reopen or renew as
    their latest cycle needs, by the first of them (``holders``: whose a shared cycle is); a
    completion's expiry and renewal follow the strictest renewing rule (``renewing_rule``).
    What changes is noted in ``writes`` (written set-based by the caller)."""
    rule, changed = covering[0], writes.changed
    if current is None:
        _open(staff_id, course_id, 1, rule, today, due_date(RuleDraft.of(rule), today))
        report.enrolled += 1
        report.enrolled_ids.append(staff_id)
        return
    if current.closed_at is None:
        _hold(current, covering, today, changed)
    elif current.state != EnrolmentState.COMPLETED:  # covered again (moved back, or another source closed it)
        _take(current, rule, today, changed, reopening=True)
        return
    renewer = renewing_rule(covering)
    if current.state == EnrolmentState.COMPLETED and current.completed_at is not None and renewer is not None:
        _follow_renewal(current, current.completed_at, renewer, today, writes)


def _follow_renewal(current: Enrolment, completed_at: datetime, rule: AssignmentRule, today: date,
                    writes: _Writes) -> None:
    """A completion a renewing rule covers expires as that rule says, counted from its day
    (whenever the rule came to cover it: an imported, joined or manager's completion, a rule
    that renews since an edit, a period changed); renewed from 30 days before then."""
    assert rule.renew_months
    expires = expiry_of(completed_at, rule.renew_months)
    if current.expires_on != expires:
        writes.expiring[current] = expires
    if today >= expires - timedelta(days=RENEWAL_LEAD_DAYS):
        writes.renewing.append((current, rule))


def write_expiries(report: AssignReport, expiring: dict[Enrolment, date]) -> None:
    """Completions' new expiry dates, set-based (``database.write_each``), and their
    certificates' with them (what /verify and the PDF say): a few statements per
    ``database.CHUNK`` of completions."""
    if not expiring:
        return
    report.expiry_given += sum(1 for enrolment in expiring if enrolment.expires_on is None)
    report.expiry_changed += sum(1 for enrolment in expiring if enrolment.expires_on is not None)
    write_each(db.session, Enrolment, "expires_on", expiring)
    expiring_ids = {enrolment.id: day for enrolment, day in expiring.items()}
    for chunk in chunks(sorted(enrolment.id for enrolment in expiring)):
        db.session.execute(
            sa.update(Certificate).where(Certificate.enrolment_id.in_(chunk)).values(
                expires_on=sa.select(Enrolment.expires_on).where(Enrolment.id == Certificate.enrolment_id)
                .scalar_subquery()),
            execution_options={"synchronize_session": False})
    for loaded in db.session.identity_map.values():  # certificates the session holds say it too
        if isinstance(loaded, Certificate) and loaded.enrolment_id in expiring_ids:
            set_committed_value(loaded, "expires_on", expiring_ids[loaded.enrolment_id])
    events.touched({enrolment.staff_id for enrolment in expiring})


def _hold(current: Enrolment, covering: list[AssignmentRule], today: date,
          changed: dict[Enrolment, set[str]]) -> None:
    """A rule of ``covering`` holds the person's open cycle: one the trainee joined or a programme
    opened becomes the rule's (``_take``); a manager's stays theirs and notes the rule; a rule's
    that another rule no longer holds (switched off, or edited so that it no longer covers the
    person) is adopted by the first that does (due date unchanged). A rule's is required (one an
    earlier version left optional: a programme's option a rule reopened, migration a1e7c3b5d9f2)."""
    rule, unfinished = covering[0], current.state in OPEN_STATES
    holds = current.source == EnrolmentSource.RULE or current.source == EnrolmentSource.MANUAL and unfinished
    if unfinished and stronger(EnrolmentSource.RULE, current.source):
        _take(current, rule, today, changed)
        return
    if holds and current.rule_id not in {other.id for other in covering}:
        current.rule_id = rule.id
        changed.setdefault(current, set()).add("rule_id")
    if current.source == EnrolmentSource.RULE and not current.required:
        current.required = True
        changed.setdefault(current, set()).add("required")


def _take(current: Enrolment, rule: AssignmentRule, today: date, changed: dict[Enrolment, set[str]], *,
          reopening: bool = False) -> None:
    """The cycle is the rule's: required (a direct requirement is never locked by a programme's
    order), due by the rule from today; an open one taken over keeps its due date if earlier."""
    rule_due = due_date(RuleDraft.of(rule), today)
    keeps = not reopening and current.due_on is not None and current.due_on < rule_due
    current.source, current.rule_id, current.program_id = EnrolmentSource.RULE, rule.id, None
    current.required, current.due_on = True, current.due_on if keeps else rule_due
    keys = changed.setdefault(current, set())
    keys.update(("source", "rule_id", "program_id", "required", "due_on"))
    if reopening:
        current.closed_at = None
        keys.add("closed_at")


def _renew(report: AssignReport, course_id: int, renewing: list[tuple[Enrolment, AssignmentRule]],
           today: date) -> None:
    """Renewal cycles for the completed cycles about to expire: the earlier cycles superseded
    together, then the new ones added (one flush inserts them)."""
    if not renewing:
        return
    supersede_earlier_of(course_id, [current.staff_id for current, _rule in renewing])
    for current, rule in renewing:
        renewal = _new_cycle(current.staff_id, course_id, current.cycle + 1, rule, today,
                             renewal_due(current.expires_on, rule, today))
        if rule.renewal == RenewalMode.CHANGED_ONLY:  # a refresher: what changed since their edition
            renewal.refresher_of = current.completed_version
        db.session.add(renewal)
        report.renewed += 1


def renewal_due(expires_on: date | None, rule: AssignmentRule, today: date) -> date:
    """A renewal cycle is due when the completion expires; one that expired already when the
    renewal opens (a completion the rule came to cover after it lapsed) is due by the rule's
    terms from today, as a first cycle would be."""
    if expires_on is not None and expires_on >= today:
        return expires_on
    return due_date(RuleDraft.of(rule), today)


def renewal_months(staff_id: int, course_id: int) -> int | None:
    """The period a completion of the course by this person expires after, now: the strictest
    renewing active rule's that covers them (``renewing_rule``), whatever the cycle's source;
    None when none does. A statement per renewing rule of the course (one person's completion)."""
    rules = list(db.session.scalars(sa.select(AssignmentRule).where(
        AssignmentRule.active.is_(True), AssignmentRule.course_id == course_id,
        AssignmentRule.renew_months.is_not(None))))
    renewer = renewing_rule(covered_by(rules, {staff_id}).get(staff_id, [])) if rules else None
    return renewer.renew_months if renewer is not None else None


def covered_by(rules: list[AssignmentRule],
               staff_ids: Collection[int] | None) -> dict[int, list[AssignmentRule]]:
    """Staff id -> the rules that cover them, in id order (the first one enrols them); of
    ``staff_ids`` only, if given. (A course's rules and a programme's alike.)"""
    covered: dict[int, list[AssignmentRule]] = {}
    for rule in sorted(rules, key=lambda r: r.id):
        stmt = matching_staff_query(RuleDraft.of(rule))
        for whose in chunked_in(Staff.id, named(staff_ids)):
            for staff_id in db.session.scalars(stmt.where(whose)):
                covered.setdefault(staff_id, []).append(rule)
    return covered


def _release_uncovered(course_id: int, staff_ids: set[int] | None,
                       covered: dict[int, list[AssignmentRule]], today: date) -> list[int]:
    """The open, unfinished cycles a rule held for people no active rule covers any more (moved
    out, or the rule was switched off or narrowed) let the rule go (``holders.release``): a
    manager's stays theirs, one a programme of the person still holds becomes the programme's,
    and the others close: no longer required. People who left are not touched: their history
    stays, and reports leave them out. Returns whose were closed."""
    stmt = (
        sa.select(Enrolment)
        .join(Staff, Staff.id == Enrolment.staff_id)
        .where(
            Enrolment.course_id == course_id,
            sa.or_(Enrolment.source == EnrolmentSource.RULE,
                   sa.and_(Enrolment.source == EnrolmentSource.MANUAL, Enrolment.rule_id.is_not(None))),
            Enrolment.closed_at.is_(None),
            Staff.status != StaffStatus.LEFT,
            Enrolment.state.in_(OPEN_STATES),
        )
    )
    going = [enrolment for whose in chunked_in(Enrolment.staff_id, named(staff_ids))
             for enrolment in db.session.scalars(stmt.where(whose)) if enrolment.staff_id not in covered]
    changed: dict[Enrolment, set[str]] = {}
    closing = release(going, today, changed)
    now = clock.now()
    for enrolment in closing:
        enrolment.closed_at = now
        changed.setdefault(enrolment, set()).add("closed_at")
    write_enrolments(changed)
    return [enrolment.staff_id for enrolment in closing]


def _open(
    staff_id: int,
    course_id: int,
    cycle: int,
    rule: AssignmentRule | None,
    today: date,
    due_on: date | None,
    source: EnrolmentSource = EnrolmentSource.RULE,
) -> Enrolment:
    """Open a cycle for one person (the earlier one superseded), added to the session."""
    if cycle > 1:
        supersede_earlier(staff_id, course_id)
    enrolment = _new_cycle(staff_id, course_id, cycle, rule, today, due_on, source)
    db.session.add(enrolment)
    return enrolment


def _new_cycle(
    staff_id: int,
    course_id: int,
    cycle: int,
    rule: AssignmentRule | None,
    today: date,
    due_on: date | None,
    source: EnrolmentSource = EnrolmentSource.RULE,
) -> Enrolment:
    """A new cycle, not added yet: a bulk path supersedes the earlier ones of everyone first
    (``supersede_earlier_of``), then adds theirs."""
    return Enrolment(
        staff_id=staff_id,
        course_id=course_id,
        cycle=cycle,
        source=source,
        rule_id=rule.id if rule else None,
        assigned_on=today,
        due_on=due_on,
        required=source != EnrolmentSource.SELF,
        state=EnrolmentState.NOT_STARTED,
    )


class EnrolError(DomainError):
    """Why a person cannot be enrolled: ``left``, ``already`` (the same source holds their open
    cycle: a manager's enrolment, or a trainee joining a course they have), ``exempt``."""


@dataclass(frozen=True)
class Enrolled:
    """What ``enrol`` did: the person's cycle, and whose it was when a manager joined an open
    cycle another source held (``holders.manager_joins``; None: a new or reopened cycle)."""

    enrolment: Enrolment
    joined: Joined | None = None


def enrol(
    staff: Staff,
    course_id: int,
    source: EnrolmentSource,
    due_on: date | None = None,
    today: date | None = None,
    actor: User | None = None,
) -> Enrolment:
    """``enrol_explained``, for callers that need only the person's cycle."""
    return enrol_explained(staff, course_id, source, due_on, today, actor).enrolment


def enrol_explained(
    staff: Staff,
    course_id: int,
    source: EnrolmentSource,
    due_on: date | None = None,
    today: date | None = None,
    actor: User | None = None,
) -> Enrolled:
    """Enrol one person by hand (manager, officer, admin: ``actor``, within their scope) or
    join an optional course (the trainee). A manager enrolling a person in a course whose open
    cycle a rule, a programme or the trainee holds becomes a holder of that same cycle
    (docs/architecture.md, "Sources of a cycle"); only a manager's own is "already"."""
    require_staff(actor, staff)
    today = today or clock.today()
    if staff.status == StaffStatus.LEFT:
        raise EnrolError("left")
    current = _latest_cycles(course_id, {staff.id}).get(staff.id)
    if current is not None and current.closed_at is None and current.state != EnrolmentState.COMPLETED:
        if current.state == EnrolmentState.EXEMPT:
            raise EnrolError("exempt")
        if source == EnrolmentSource.MANUAL and current.source != EnrolmentSource.MANUAL:
            joined = manager_joins(current, due_on)
            db.session.flush()
            return Enrolled(current, joined)
        raise EnrolError("already")
    cycle = 1 if current is None else current.cycle + 1
    if current is not None and current.closed_at is not None and current.state != EnrolmentState.COMPLETED:
        current.closed_at, current.rule_id, current.program_id = None, None, None  # reopened: theirs alone
        current.source, current.required, current.due_on = source, source != EnrolmentSource.SELF, due_on
        return Enrolled(current)
    enrolment = _open(staff.id, course_id, cycle, None, today, due_on, source)
    db.session.flush()
    return Enrolled(enrolment)
