"""Programmes: a path of courses a person follows (docs/authoring.md, "Programmes"; how they
are required: docs/operations.md, "Programmes").

A programme enrolment (``ProgramEnrolment``) is opened by a rule whose target is a programme
(``assign.apply_rules``: the same units x positions, due date and renewal as a course's rule).
Its steps' progress is never stored twice: a step is *done* when the person holds enough
valid completions of its courses, read from their course enrolments:

- a completed cycle of the course (any source: a rule, by hand, joined, imported history, or
  the programme itself) whose certificate is not revoked and has not expired (``expires_on``
  null or today or later); or an exemption from the course (an open exempt cycle);
- in a renewal cycle of the programme (cycle 2+), only completions since the cycle began.

A step is *open* when it does not wait for the step before it (``after_previous``) or that step
is done; otherwise *locked*. ``advance()`` enrols the person in the courses of open steps as
they become available (source ``program``; one-course steps required and due with the
programme, the options of a choice optional), counts the steps done, and completes the
programme (with its certificate) when every step that is not optional is done. A course cycle
another source holds too is shared, never doubled (``holders``: a rule's or a manager's stays
theirs; a closed one the programme reopens becomes the programme's); a course the programme
lets go (its cycle closed, an option left untaken) passes to another programme of the person
that holds it, or closes.

Locking is enforced by the server: ``lock_reason()`` answers ``events.course_locked`` (the
lesson pages, mark-done and the quizzes ask it). A course is locked for a person only when
every programme of theirs that holds it has it in a locked step and nothing else requires it:
a direct requirement (a rule's, a manager's enrolment) or a completion is never locked.
"""

from __future__ import annotations

import functools
import secrets
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from mooc import clock, events
from mooc.auth.models import User
from mooc.courses.models import Course
from mooc.database import chunked_in, chunks, update_rows, write_changed
from mooc.extensions import db
from mooc.i18n import gettext as _
from mooc.progress import SILENT, Progress
from mooc.roster.models import Staff, StaffStatus
from mooc.training.assign import (
    OPEN_STATES,
    RENEWAL_LEAD_DAYS,
    AssignReport,
    RuleDraft,
    add_months,
    covered_by,
    due_date,
    named,
    rules_by_target,
    write_enrolments,
)
from mooc.training.holders import hand_to_programme, programme_holds, release
from mooc.training.models import (
    AssignmentRule,
    Certificate,
    Enrolment,
    EnrolmentSource,
    EnrolmentState,
    Program,
    ProgramCertificate,
    ProgramEnrolment,
    ProgramStep,
    RenewalMode,
    program_step_courses,
    supersede_earlier_of,
)
from mooc.training.steps import StepState, StepStatus, counts, ids_or_select, step_states, valid_completions

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as course certificates: no 0/O, 1/I


# --- rules: who must follow which programme ---------------------------------------------------------


def apply_program_rules(today: date | None = None, staff_ids: set[int] | None = None,
                        program_ids: set[int] | None = None, progress: Progress = SILENT) -> AssignReport:
    """What ``assign.apply_rules`` does for courses, for the rules whose target is a programme:
    first cycles for people newly covered, renewal cycles 30 days before a completed cycle
    expires, open cycles of people no active rule covers any more closed (with the courses the
    programme opened for them and they have not finished). Then ``advance`` the people touched.
    A programme's cycles always follow the whole set of its active rules."""
    today = today or clock.today()
    by_program = rules_by_target("program_id", ProgramEnrolment, program_ids, staff_ids)
    report = AssignReport()
    for program_id in sorted(by_program):
        report += _apply_program(program_id, by_program[program_id], today, staff_ids)
    db.session.flush()
    touched = set(report.enrolled_ids) | set(report.closed_ids)
    advance(staff_ids if staff_ids is not None else None, set(by_program) or None, today)
    events.touched(touched)
    return report


def _apply_program(program_id: int, rules: list[AssignmentRule], today: date,
                   staff_ids: set[int] | None) -> AssignReport:
    report = AssignReport()
    covered = covered_by(rules, staff_ids)
    stmt = (sa.select(ProgramEnrolment, Staff.status).join(Staff, Staff.id == ProgramEnrolment.staff_id)
            .where(ProgramEnrolment.program_id == program_id, ProgramEnrolment.latest.is_(True)))
    latest: dict[int, ProgramEnrolment] = {}
    left: set[int] = set()
    for whose in chunked_in(ProgramEnrolment.staff_id, named(staff_ids)):
        for enrolment, status in db.session.execute(stmt.where(whose)):
            latest[enrolment.staff_id] = enrolment
            if status == StaffStatus.LEFT:
                left.add(enrolment.staff_id)
    changed: dict[ProgramEnrolment, set[str]] = {}
    renewing: list[tuple[ProgramEnrolment, AssignmentRule]] = []
    for staff_id, covering in covered.items():
        _cover(report, staff_id, program_id, covering, latest.get(staff_id), today, changed, renewing)
    write_changed(db.session, ProgramEnrolment, changed)
    _renew(report, program_id, renewing, today)
    _close_uncovered(report, [e for staff_id, e in latest.items() if staff_id not in covered
                              and e.source == EnrolmentSource.RULE and e.closed_at is None
                              and e.completed_at is None], left)
    return report


def _close_uncovered(report: AssignReport, closing: list[ProgramEnrolment], left: set[int]) -> None:
    """Open rule cycles nobody requires any more close (not of people who left, ``left``: their
    history stays), with the courses the programme opened and the person has not finished."""
    closing = [e for e in closing if e.staff_id not in left]  # people who left keep their history
    if not closing:
        return
    now = clock.now()
    update_rows(db.session, ProgramEnrolment, closing, {"closed_at": now})
    report.closed_ids += [enrolment.staff_id for enrolment in closing]
    report.closed += len(closing)
    close_program_courses(closing, now)


def _cover(report: AssignReport, staff_id: int, program_id: int, covering: list[AssignmentRule],
           current: ProgramEnrolment | None, today: date, changed: dict[ProgramEnrolment, set[str]],
           renewing: list[tuple[ProgramEnrolment, AssignmentRule]]) -> None:
    """One person the rules ``covering`` cover: open, reopen or renew their cycle (by the first
    rule). Changes to their latest cycle are noted in ``changed`` (written set-based by the
    caller); a renewal is left to ``_renew``."""
    rule = covering[0]
    if current is not None and current.closed_at is None and current.rule_id not in {r.id for r in covering}:
        current.rule_id = rule.id  # another rule that covers the person adopts the cycle
        changed.setdefault(current, set()).add("rule_id")
    if current is None:
        _open_program(staff_id, program_id, 1, rule, today, due_date(RuleDraft.of(rule), today))
        report.enrolled += 1
        report.enrolled_ids.append(staff_id)
    elif current.closed_at is not None and current.completed_at is None:
        current.closed_at, current.rule_id = None, rule.id  # covered again: that cycle reopens
        changed.setdefault(current, set()).update(("closed_at", "rule_id"))
    elif (current.completed_at is not None and rule.renew_months and current.expires_on
          and today >= current.expires_on - timedelta(days=RENEWAL_LEAD_DAYS)):
        renewing.append((current, rule))


def _renew(report: AssignReport, program_id: int, renewing: list[tuple[ProgramEnrolment, AssignmentRule]],
           today: date) -> None:
    """Renewal cycles: the completed cycles stop being latest together (before the new ones are
    flushed: one latest cycle per person and programme), then the new ones are added."""
    if not renewing:
        return
    update_rows(db.session, ProgramEnrolment, [current for current, _rule in renewing], {"latest": False})
    for current, rule in renewing:
        assert current.expires_on is not None
        _open_program(current.staff_id, program_id, current.cycle + 1, rule, today,
                      max(current.expires_on, today))
        report.renewed += 1


def _open_program(staff_id: int, program_id: int, cycle: int, rule: AssignmentRule | None, today: date,
                  due_on: date | None, source: EnrolmentSource = EnrolmentSource.RULE) -> ProgramEnrolment:
    enrolment = ProgramEnrolment(staff_id=staff_id, program_id=program_id, cycle=cycle, latest=True,
                                 source=source, rule_id=rule.id if rule else None, assigned_on=today,
                                 due_on=due_on)
    db.session.add(enrolment)
    return enrolment


# --- advancing: enrol in the courses of open steps, count, complete --------------------------------


def advance(staff_ids: set[int] | None = None, program_ids: set[int] | None = None,
            today: date | None = None) -> int:
    """Bring the open programme cycles of these people (of these programmes) up to date.
    Returns how many programme cycles completed. A few queries whatever the number of people:
    everyone (None, the nightly run) is named to the database by a subquery, never by a list of
    their ids; people named go a ``database.CHUNK`` at a time."""
    today = today or clock.today()
    enrolments, left = _open_cycles(staff_ids, program_ids)
    if not enrolments:
        return 0
    programs = {p.id: p for p in db.session.scalars(
        sa.select(Program).where(Program.id.in_({e.program_id for e in enrolments})))}
    course_ids = {c.id for p in programs.values() for s in p.steps for c in s.courses}
    people = {e.staff_id for e in enrolments}
    whose = _whose(staff_ids, people, program_ids)
    completions = valid_completions(whose, course_ids, today)
    latest = _latest_course_cycles(whose, course_ids)
    refreshing = _refreshing_rules({e.rule_id for e in enrolments if e.cycle > 1 and e.rule_id})
    writes = _Writes()
    completing: list[tuple[ProgramEnrolment, Program]] = []
    for enrolment in enrolments:
        program = programs[enrolment.program_id]
        if not program.archived and _advance_one(
                enrolment, program, completions.get(enrolment.staff_id, []), latest, today, writes,
                refresher=enrolment.rule_id in refreshing, opens=enrolment.staff_id not in left):
            completing.append((enrolment, program))
    writes.send()
    complete_all(completing)
    db.session.flush()
    events.touched(people)
    return len(completing)


@dataclass
class _Writes:
    """What ``advance`` changes, gathered while every cycle is worked out (the objects changed
    as usual, so a later cycle of the same person sees them) and then sent set-based: a few
    statements per ``database.CHUNK`` of people, not one per cycle and course."""

    courses: dict[Enrolment, set[str]] = field(default_factory=dict)  # loaded course cycles changed
    cycles: dict[ProgramEnrolment, set[str]] = field(default_factory=dict)  # loaded programme cycles
    superseded: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # course -> people
    new: list[Enrolment] = field(default_factory=list)  # course cycles opened
    untaken: list[tuple[Enrolment, int]] = field(default_factory=list)  # options a done step lets go
    now: datetime = field(default_factory=clock.now)  # when options left untaken close

    def course(self, enrolment: Enrolment, *keys: str) -> None:
        self.courses.setdefault(enrolment, set()).update(keys)

    def send(self) -> None:
        """The changes, then the options let go (asking what the database holds, so after the
        changes: nothing left for a flush to send row by row), then the earlier cycles
        superseded, then the new cycles added (flushed after: one latest cycle per person and
        course)."""
        write_enrolments(self.courses)
        write_changed(db.session, ProgramEnrolment, self.cycles)
        self._let_untaken_go()
        for course_id, staff_ids in sorted(self.superseded.items()):
            supersede_earlier_of(course_id, staff_ids)
        db.session.add_all(self.new)

    def _let_untaken_go(self) -> None:
        """The options let go that are still the programme's untouched option (no other programme
        of the person took them meanwhile): each passes to another programme that holds it
        (``holders.release``), or closes."""
        going = [option for option, program_id in self.untaken
                 if option.source == EnrolmentSource.PROGRAM and option.program_id == program_id
                 and not option.required and option.closed_at is None]
        changed: dict[Enrolment, set[str]] = {}
        for option in release(going, clock.today(), changed):
            option.closed_at = self.now
            changed.setdefault(option, set()).add("closed_at")
        write_enrolments(changed)


def _advance_one(enrolment: ProgramEnrolment, program: Program, completions: list[tuple[int, datetime]],
                 latest: dict[tuple[int, int], Enrolment], today: date, writes: _Writes, *, refresher: bool,
                 opens: bool = True) -> bool:
    """One cycle: its open steps' courses opened, its done choices' untaken options closed, its
    steps counted; True when that completes it (``complete_all`` then completes it).
    ``refresher``: its rule renews changed-only. ``opens`` False (a person who left): no course
    opens for them, as no rule enrols a person who left (``assign.matching_staff_query``); their
    steps are still counted, and a completion recorded for them (history) still completes it.
    If they come back, the roster change advances them again (``hooks``) and the courses open
    then. What changes is noted in ``writes``."""
    states = step_states(program, enrolment, completions)
    for state in states:
        if state.status == StepStatus.OPEN and opens:
            _enrol_step(enrolment, state, latest, today, writes, refresher=refresher and enrolment.cycle > 1)
        elif state.status == StepStatus.DONE:
            _close_untaken_options(enrolment, state, latest, writes)
    done, required = counts(states)
    if (done, required) != (enrolment.steps_done, enrolment.steps_required):
        enrolment.steps_done, enrolment.steps_required = done, required
        writes.cycles.setdefault(enrolment, set()).update(("steps_done", "steps_required"))
    return bool(required) and done >= required


def _open_cycles(staff_ids: set[int] | None,
                 program_ids: set[int] | None) -> tuple[list[ProgramEnrolment], set[int]]:
    """The open latest cycles (of these people, of these programmes), and who of their people
    has left the roster (one query; one per chunk of the people named)."""
    stmt = (sa.select(ProgramEnrolment, Staff.status).join(Staff, Staff.id == ProgramEnrolment.staff_id)
            .where(*_open_cycle(program_ids)))
    rows = [row for whose in chunked_in(ProgramEnrolment.staff_id, named(staff_ids))
            for row in db.session.execute(stmt.where(whose))]
    return [e for e, _status in rows], {e.staff_id for e, status in rows if status == StaffStatus.LEFT}


def _open_cycle(program_ids: set[int] | None) -> list[sa.ColumnElement[bool]]:
    """An open latest programme cycle (of these programmes)."""
    conditions: list[sa.ColumnElement[bool]] = [
        ProgramEnrolment.latest.is_(True), ProgramEnrolment.closed_at.is_(None),
        ProgramEnrolment.completed_at.is_(None)]
    if program_ids is not None:
        conditions.append(ProgramEnrolment.program_id.in_(program_ids))
    return conditions


def _whose(staff_ids: set[int] | None, people: set[int],
           program_ids: set[int] | None) -> set[int] | sa.Select:
    """Whose course enrolments ``advance`` reads: the people of the cycles of the people named
    (sent a ``database.CHUNK`` at a time), or, when the caller means everyone (the nightly run:
    the whole ministry), everyone following these programmes, as a subquery."""
    return people if staff_ids is not None else _following(program_ids)


def _following(program_ids: set[int] | None) -> sa.Select:
    """Everyone with an open cycle (of these programmes), as a select of staff ids: the people
    of ``_open_cycles(None, program_ids)``, named to the database without a list of ids."""
    return (sa.select(ProgramEnrolment.staff_id).join(Staff, Staff.id == ProgramEnrolment.staff_id)
            .where(*_open_cycle(program_ids)))


def _latest_course_cycles(staff_ids: Collection[int] | sa.Select,
                          course_ids: set[int]) -> dict[tuple[int, int], Enrolment]:
    if not course_ids:
        return {}
    stmt = sa.select(Enrolment).where(Enrolment.course_id.in_(course_ids), Enrolment.latest.is_(True))
    return {(e.staff_id, e.course_id): e for whose in chunked_in(Enrolment.staff_id, ids_or_select(staff_ids))
            for e in db.session.scalars(stmt.where(whose))}


def _refreshing_rules(rule_ids: set[int]) -> set[int]:
    """Those of ``rule_ids`` whose renewal asks only what changed (``changed-only``)."""
    if not rule_ids:
        return set()
    return set(db.session.scalars(sa.select(AssignmentRule.id).where(
        AssignmentRule.id.in_(rule_ids), AssignmentRule.renewal == RenewalMode.CHANGED_ONLY)))


def _enrol_step(enrolment: ProgramEnrolment, state: StepState, latest: dict[tuple[int, int], Enrolment],
                today: date, writes: _Writes, *, refresher: bool = False) -> None:
    """Open the step's courses for the person (those not done and not already open). In a
    renewal of a ``changed-only`` rule (``refresher``), a course they completed before asks
    only what changed since the edition they completed (``mooc.training.refreshers``)."""
    required = not state.step.optional and len(state.step.courses) == 1
    for course in state.step.courses:
        if course.id in state.done_course_ids or course.archived:
            continue
        current = latest.get((enrolment.staff_id, course.id))
        if current is not None and current.state != EnrolmentState.COMPLETED:
            _take_over(current, enrolment, required, writes)
            continue
        cycle = 1 if current is None else current.cycle + 1
        if current is not None:
            writes.superseded[course.id].add(enrolment.staff_id)
        new = Enrolment(staff_id=enrolment.staff_id, course_id=course.id, cycle=cycle,
                        source=EnrolmentSource.PROGRAM, program_id=enrolment.program_id,
                        assigned_on=today, due_on=enrolment.due_on, required=required,
                        state=EnrolmentState.NOT_STARTED)
        if refresher and current is not None and current.state == EnrolmentState.COMPLETED:
            new.refresher_of = current.completed_version
        writes.new.append(new)
        latest[(enrolment.staff_id, course.id)] = new


def _take_over(current: Enrolment, enrolment: ProgramEnrolment, required: bool, writes: _Writes) -> None:
    """A cycle of the course not completed: an open one stays (the programme now needs one the
    trainee joined); one closed earlier opens again, as the programme's."""
    if current.closed_at is None:
        if required and not current.required:  # joined by the trainee: now the programme needs it
            current.required, current.due_on = True, enrolment.due_on
            current.source, current.program_id = EnrolmentSource.PROGRAM, enrolment.program_id
            writes.course(current, "required", "due_on", "source", "program_id")
        return
    current.closed_at = None  # a cycle closed earlier: the programme opens it again
    current.source, current.program_id = EnrolmentSource.PROGRAM, enrolment.program_id
    current.required, current.due_on, current.rule_id = required, enrolment.due_on, None
    writes.course(current, "closed_at", "source", "program_id", "required", "due_on", "rule_id")


def _close_untaken_options(enrolment: ProgramEnrolment, state: StepState,
                           latest: dict[tuple[int, int], Enrolment], writes: _Writes) -> None:
    """A choice step done ("1 of: A, B", A completed): the options the programme opened that the
    person never started are let go (``_Writes.send``: they close, so they leave their list,
    unless another programme of theirs holds them); one they started stays theirs."""
    if len(state.step.courses) <= state.step.pick:
        return
    for course in state.step.courses:
        option = latest.get((enrolment.staff_id, course.id))
        if (course.id not in state.done_course_ids and option is not None and option.closed_at is None
                and option.source == EnrolmentSource.PROGRAM and option.program_id == enrolment.program_id
                and not option.required and option.state == EnrolmentState.NOT_STARTED):
            writes.untaken.append((option, enrolment.program_id))


def complete(enrolment: ProgramEnrolment, program: Program) -> ProgramCertificate:
    """Complete the cycle (renewed after the rule's months, if it renews) and issue its certificate."""
    return complete_all([(enrolment, program)])[0]


def complete_all(completing: list[tuple[ProgramEnrolment, Program]]) -> list[ProgramCertificate]:
    """Complete these cycles (each renewed after its rule's months, if it renews) and issue
    their certificates, in order: a few statements per ``database.CHUNK`` of cycles (their
    completion written set-based, the certificates they may hold already, the holders' names,
    the new codes checked free), then one flush inserts the certificates."""
    if not completing:
        return []
    db.session.flush()  # what is pending goes first (cycles opened in this transaction get their ids)
    now = clock.now()
    local_day = now.astimezone(clock.LOCAL_TZ).date()
    for enrolment, _program in completing:
        enrolment.completed_at = now
        renew = enrolment.rule.renew_months if enrolment.rule is not None else None
        enrolment.expires_on = add_months(local_day, renew) if renew else None
    write_changed(db.session, ProgramEnrolment,
                  {enrolment: ("completed_at", "expires_on") for enrolment, _program in completing})
    ids = [enrolment.id for enrolment, _program in completing]
    existing = _certificates_of(ids)
    names = _full_names({enrolment.staff_id for enrolment, _program in completing})
    missing = [(e, p) for e, p in completing if e.id not in existing]
    codes = iter(new_codes(len(missing)))
    for enrolment, program in missing:
        existing[enrolment.id] = ProgramCertificate(
            program_enrolment_id=enrolment.id, code=next(codes), issued_at=now,
            expires_on=enrolment.expires_on, holder_name=names[enrolment.staff_id],
            program_title=program.title)
        db.session.add(existing[enrolment.id])
    return [existing[enrolment_id] for enrolment_id in ids]


def _certificates_of(cycle_ids: list[int]) -> dict[int, ProgramCertificate]:
    """Programme cycle id -> its certificate, of those that have one."""
    return {certificate.program_enrolment_id: certificate for chunk in chunks(sorted(cycle_ids))
            for certificate in db.session.scalars(sa.select(ProgramCertificate).where(
                ProgramCertificate.program_enrolment_id.in_(chunk)))}


def _full_names(staff_ids: set[int]) -> dict[int, str]:
    return {staff_id: name for chunk in chunks(sorted(staff_ids)) for staff_id, name in db.session.execute(
        sa.select(Staff.id, Staff.full_name).where(Staff.id.in_(chunk)))}


def new_code() -> str:
    """A code no course or programme certificate has."""
    return new_codes(1)[0]


def new_codes(count: int) -> list[str]:
    """``count`` distinct codes no course or programme certificate has: one statement per
    ``database.CHUNK`` of them (and again for the rare code already taken)."""
    codes: list[str] = []
    while len(codes) < count:
        drawn = sorted({_draw_code() for _ in range(count - len(codes))} - set(codes))
        taken: set[str] = set()
        for chunk in chunks(drawn):
            taken.update(db.session.scalars(sa.union_all(
                sa.select(Certificate.code).where(Certificate.code.in_(chunk)),
                sa.select(ProgramCertificate.code).where(ProgramCertificate.code.in_(chunk)))))
        codes += [code for code in drawn if code not in taken]
    return codes


def _draw_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def close_program_courses(enrolments: list[ProgramEnrolment], now: datetime | None = None) -> None:
    """Programme cycles closed (nobody requires them any more): the courses they opened and the
    person has not finished are let go: those another programme of the person holds pass to it
    (``holders``), the others close at ``now`` (by default, now). A few statements per
    programme and ``database.CHUNK`` of people, whatever their number."""
    now = now or clock.now()
    people: dict[int, set[int]] = defaultdict(set)
    for enrolment in enrolments:
        people[enrolment.program_id].add(enrolment.staff_id)
    _hand_over_held(people)
    for program_id, staff_ids in sorted(people.items()):
        for whose in chunked_in(Enrolment.staff_id, sorted(staff_ids)):
            db.session.execute(
                sa.update(Enrolment).where(whose, *_opened_by(program_id))
                .values(closed_at=now), execution_options={"synchronize_session": "fetch"})
    events.touched({e.staff_id for e in enrolments})


def _opened_by(program_id: int) -> list[sa.ColumnElement[bool]]:
    """A course cycle the programme opened that is open and not finished."""
    return [Enrolment.program_id == program_id, Enrolment.source == EnrolmentSource.PROGRAM,
            Enrolment.closed_at.is_(None), Enrolment.state.in_(OPEN_STATES)]


def _hand_over_held(people: dict[int, set[int]]) -> None:
    """Of the courses these programmes (id -> their people) opened, those another programme of
    the person holds pass to it, on its terms. Read as columns (a switch-off closes thousands,
    of which few are held elsewhere); only those held are loaded and written."""
    rows = [row for program_id, staff_ids in sorted(people.items())
            for whose in chunked_in(Enrolment.staff_id, sorted(staff_ids))
            for row in db.session.execute(sa.select(Enrolment.id, Enrolment.staff_id, Enrolment.course_id)
                                          .where(whose, *_opened_by(program_id)))]
    holds = programme_holds({(row.staff_id, row.course_id) for row in rows}, clock.today())
    held = sorted(row.id for row in rows if (row.staff_id, row.course_id) in holds)
    changed: dict[Enrolment, set[str]] = {}
    for chunk in chunks(held):
        for course in db.session.scalars(sa.select(Enrolment).where(Enrolment.id.in_(chunk))):
            hand_to_programme(course, holds[(course.staff_id, course.course_id)], changed)
    write_enrolments(changed)


# --- locking ---------------------------------------------------------------------------------------


def lock_reason(staff_id: int, course_id: int, today: date | None = None) -> str | None:
    """Why ``course_id`` is locked for the person (a sentence), or None when it is not. One
    statement for a person who follows no programme holding the course (most pages)."""
    return _lock_reason(list(db.session.scalars(_holding(course_id).where(
        ProgramEnrolment.staff_id == staff_id))), staff_id, course_id, today)


def _holding(course_id: int) -> sa.Select[ProgramEnrolment]:
    """The open programme cycles (of whom the caller says) that have the course in a step."""
    return (sa.select(ProgramEnrolment)
            .join(ProgramStep, ProgramStep.program_id == ProgramEnrolment.program_id)
            .join(program_step_courses, program_step_courses.c.step_id == ProgramStep.id)
            .where(ProgramEnrolment.latest.is_(True), ProgramEnrolment.closed_at.is_(None),
                   ProgramEnrolment.completed_at.is_(None), program_step_courses.c.course_id == course_id)
            .distinct())


def _lock_reason(holding: list[ProgramEnrolment], staff_id: int, course_id: int,
                 today: date | None) -> str | None:
    return _locks(holding, staff_id, today, only=course_id).get(course_id)


def _locks(holding: list[ProgramEnrolment], staff_id: int, today: date | None,
           only: int | None = None) -> dict[int, str]:
    """The lock rule, for ``lock_reason`` (``only`` that course) and ``locked_courses`` (every
    course of ``holding``, the person's open programme cycles): course id -> why. A course is
    locked when every cycle that holds it has it in a locked step (its first step that names it)
    and nothing else requires it: a direct requirement or a completion is never locked."""
    course_ids = {c.id for e in holding for s in e.program.steps for c in s.courses}
    asked = course_ids if only is None else {only} & course_ids
    if not asked:
        return {}
    direct = set(db.session.scalars(sa.select(Enrolment.course_id).where(
        Enrolment.staff_id == staff_id, Enrolment.course_id.in_(sorted(asked)),
        sa.or_(Enrolment.state.in_([EnrolmentState.COMPLETED, EnrolmentState.EXEMPT]),
               sa.and_(Enrolment.closed_at.is_(None), Enrolment.source != EnrolmentSource.PROGRAM)))))
    if asked <= direct:
        return {}
    completions = valid_completions({staff_id}, course_ids, today).get(staff_id, [])
    reasons: dict[int, list[str]] = defaultdict(list)
    open_somewhere: set[int] = set(direct)
    for enrolment in holding:
        states = step_states(enrolment.program, enrolment, completions)
        seen: set[int] = set()
        for state in states:
            for course_id in (set(state.course_ids) & asked) - seen:  # its first step counts
                seen.add(course_id)
                if state.status == StepStatus.LOCKED:
                    reasons[course_id].append(_locked_step_reason(enrolment.program, states, state))
                else:
                    open_somewhere.add(course_id)
    return {course_id: " ".join(found) for course_id, found in reasons.items()
            if course_id not in open_somewhere}


def _locked_step_reason(program: Program, states: list[StepState], state: StepState) -> str:
    before = states[state.number - 2]
    titles = ", ".join(c.title for c in before.step.courses)
    return _("Step %(number)d of the programme “%(program)s”: it opens when you finish step "
             "%(before)d (%(titles)s).", number=state.number, program=program.title,
             before=before.number, titles=titles)


def locked_courses(staff_id: int | None, today: date | None = None) -> dict[int, str]:
    """Every course locked for the person (course id -> why, as ``lock_reason`` says it), in a
    fixed number of statements whatever the number of courses and programmes: one for a person
    who follows no programme (most people), six at most. For a page that lists many courses'
    content at once (search results): ask once per request, not once per course."""
    if staff_id is None:
        return {}
    holding = list(db.session.scalars(
        sa.select(ProgramEnrolment)
        .where(ProgramEnrolment.staff_id == staff_id, ProgramEnrolment.latest.is_(True),
               ProgramEnrolment.closed_at.is_(None), ProgramEnrolment.completed_at.is_(None))
        .options(selectinload(ProgramEnrolment.program).selectinload(Program.steps)
                 .selectinload(ProgramStep.courses))
        .order_by(ProgramEnrolment.id)))
    return _locks(holding, staff_id, today)


@functools.cache
def _holding_for_account() -> sa.Select[ProgramEnrolment]:
    """``_holding`` for the person of an account, built once per process (a lesson page asks it
    on every view): the course and the account are parameters."""
    return _holding(sa.bindparam("course_id")).join(  # type: ignore[arg-type]
        User, User.staff_id == ProgramEnrolment.staff_id).where(User.id == sa.bindparam("user_id"))


def _course_locked(_sender: object, *, user_id: int, course_id: int) -> str | None:
    """The question of ``events.course_locked``, asked by a page with the account's id: one
    statement when the person follows no programme holding the course."""
    holding = list(db.session.scalars(_holding_for_account(), {"course_id": course_id, "user_id": user_id}))
    return _lock_reason(holding, holding[0].staff_id, course_id, None) if holding else None


def _lock_possible(_sender: object, *, user_id: Any, course_id: Any) -> sa.ColumnElement[bool]:
    """``events.course_lock_possible``: the person holds an open programme cycle that has the
    course in a step (what ``_course_locked`` reads before it can answer anything)."""
    return (_holding(course_id).join(User, User.staff_id == ProgramEnrolment.staff_id)
            .where(User.id == user_id).exists())


def connect() -> None:
    events.course_locked.connect(_course_locked)
    events.course_lock_possible.connect(_lock_possible)


def courses_of(program: Program) -> list[Course]:
    return [course for step in program.steps for course in step.courses]


def renewal_due(enrolment: ProgramEnrolment, today: date, lead_days: int) -> bool:
    return (enrolment.completed_at is not None and enrolment.expires_on is not None
            and today >= enrolment.expires_on - timedelta(days=lead_days))
