"""Whose a person's cycle of a course is when several sources want it, and where it goes when
one of them lets it go (docs/architecture.md, "Sources of a cycle").

A person has one open cycle of a course at a time, shared by every source that wants it. Its
holders are:

- a manager who enrolled the person (source ``manual``): never let go by itself;
- a rule that covers the person (``rule_id``, whatever the source: the completion's expiry
  and the renewal follow that rule), kept by ``assign.apply_rules``;
- a programme of theirs whose open step names the course (an open, uncompleted cycle of a
  live programme: ``programme_holds``), the rule of ``programs.advance``;
- the trainee who joined it (source ``self``): optional, not a requirement.

``source`` names the strongest holder, in that order (``STRENGTH``); ``program_id`` is set only
while the cycle is the programme's; ``required`` and the due date are the strongest holder's.
A stronger holder takes a cycle over (the earlier of the two due dates; a weaker one joining
changes nothing but a rule's ``rule_id``). When the holder it is attributed to goes, the cycle
passes to the next holder left, on its terms (``release``); it closes only when none is left.
A closed cycle that a source reopens is that source's alone, as a new cycle would be.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from mooc.database import chunked_in
from mooc.extensions import db
from mooc.training.models import (
    Enrolment,
    EnrolmentSource,
    Program,
    ProgramEnrolment,
    ProgramStep,
    program_step_courses,
)
from mooc.training.steps import StepState, StepStatus, step_states, valid_completions

STRENGTH = {EnrolmentSource.MANUAL: 3, EnrolmentSource.RULE: 2, EnrolmentSource.PROGRAM: 1,
            EnrolmentSource.SELF: 0, EnrolmentSource.IMPORT: 0}

Changed = dict[Enrolment, set[str]]


def stronger(source: EnrolmentSource, than: EnrolmentSource) -> bool:
    return STRENGTH[source] > STRENGTH[than]


@dataclass(frozen=True)
class ProgramHold:
    """A programme that holds a person's course: its cycle's due date, and whether its step
    requires the course (a one-course step not optional) or offers it as an option."""

    program_id: int
    due_on: date | None
    required: bool


def programme_holds(wanted: Collection[tuple[int, int]], today: date) -> dict[tuple[int, int], ProgramHold]:
    """(staff id, course id) -> the programme that holds it, of the pairs ``wanted``: the first
    open cycle of the person (by id) of a live programme with the course in an open step, not
    done; a step that requires it before one that offers it. A few statements per
    ``database.CHUNK`` of people, none when no programme names the courses."""
    wanted = set(wanted)
    if not wanted:
        return {}
    cycles = _open_cycles_naming({staff for staff, _course in wanted}, {course for _staff, course in wanted})
    if not cycles:
        return {}
    programs = {program.id: program for program in db.session.scalars(
        sa.select(Program).where(Program.id.in_({cycle.program_id for cycle in cycles}))
        .options(selectinload(Program.steps).selectinload(ProgramStep.courses)))}
    course_ids = {course.id for program in programs.values() for step in program.steps
                  for course in step.courses}
    completions = valid_completions({cycle.staff_id for cycle in cycles}, course_ids, today)
    holds: dict[tuple[int, int], ProgramHold] = {}
    for cycle in cycles:
        for state in step_states(programs[cycle.program_id], cycle, completions.get(cycle.staff_id, [])):
            _note_holds(holds, wanted, cycle, state)
    return holds


def _open_cycles_naming(staff_ids: set[int], course_ids: set[int]) -> list[ProgramEnrolment]:
    """The people's open, uncompleted latest cycles of live programmes with a step naming one
    of the courses, by id."""
    naming = (sa.select(ProgramStep.program_id)
              .join(program_step_courses, program_step_courses.c.step_id == ProgramStep.id)
              .where(program_step_courses.c.course_id.in_(sorted(course_ids))))
    stmt = (sa.select(ProgramEnrolment).join(Program, Program.id == ProgramEnrolment.program_id)
            .where(ProgramEnrolment.latest.is_(True), ProgramEnrolment.closed_at.is_(None),
                   ProgramEnrolment.completed_at.is_(None), Program.archived.is_(False),
                   ProgramEnrolment.program_id.in_(naming)))
    cycles = [cycle for whose in chunked_in(ProgramEnrolment.staff_id, sorted(staff_ids))
              for cycle in db.session.scalars(stmt.where(whose))]
    return sorted(cycles, key=lambda cycle: cycle.id)


def _note_holds(holds: dict[tuple[int, int], ProgramHold], wanted: set[tuple[int, int]],
                cycle: ProgramEnrolment, state: StepState) -> None:
    if state.status != StepStatus.OPEN:
        return  # a locked step holds nothing yet; a step done needs nothing more
    required = not state.step.optional and len(state.step.courses) == 1
    for course_id in state.course_ids:
        key = (cycle.staff_id, course_id)
        wants = key in wanted and course_id not in state.done_course_ids
        if wants and (key not in holds or (required and not holds[key].required)):
            holds[key] = ProgramHold(cycle.program_id, cycle.due_on, required)


def release(going: list[Enrolment], today: date, changed: Changed) -> list[Enrolment]:
    """These open cycles lose the holder they are attributed to (a rule or a programme): each
    passes to the next holder left (a manager: only the rule is forgotten; else a programme
    whose open step holds it, on its terms), noted in ``changed``. Returns the others, which
    nothing holds any more: the caller closes them."""
    holds = programme_holds([(e.staff_id, e.course_id) for e in going if e.source != EnrolmentSource.MANUAL],
                            today)
    closing = []
    for enrolment in going:
        hold = holds.get((enrolment.staff_id, enrolment.course_id))
        if enrolment.source == EnrolmentSource.MANUAL:
            enrolment.rule_id = None
            changed.setdefault(enrolment, set()).add("rule_id")
        elif hold is not None:
            hand_to_programme(enrolment, hold, changed)
        else:
            closing.append(enrolment)
    return closing


@dataclass(frozen=True)
class Joined:
    """Whose an open cycle was when a manager enrolled the person in it (``manager_joins``): the
    holder it was attributed to, its rule, its programme, its due date and whether it was
    required, as they were before."""

    source: EnrolmentSource
    rule_id: int | None
    program_id: int | None
    due_on: date | None
    required: bool


def earlier(first: date | None, second: date | None) -> date | None:
    """The earlier of two due dates, None being "no due date" (any date is earlier)."""
    if first is None or second is None:
        return first if second is None else second
    return min(first, second)


def manager_joins(current: Enrolment, due_on: date | None) -> Joined:
    """A manager enrols the person in a course whose open, unfinished cycle another source holds:
    the manager becomes a holder of that same cycle, the strongest (``source`` manual, required,
    ``program_id`` cleared; ``rule_id`` kept: the rule still requires it, its expiry and renewal
    follow the rule). A requirement keeps the earlier of its due date and the manager's: a
    manager never moves a rule's or a programme's deadline later; an option (joined by the
    trainee, a programme's choice) had no deadline to keep and takes the manager's. Returns
    whose it was."""
    joined = Joined(current.source, current.rule_id, current.program_id, current.due_on, current.required)
    current.source, current.program_id = EnrolmentSource.MANUAL, None
    current.due_on = earlier(due_on, current.due_on) if current.required else due_on
    current.required = True
    return joined


def hand_to_programme(enrolment: Enrolment, hold: ProgramHold, changed: Changed) -> None:
    """The cycle is the programme's now, on its terms (due with its cycle, required as its step says)."""
    enrolment.source, enrolment.program_id, enrolment.rule_id = EnrolmentSource.PROGRAM, hold.program_id, None
    enrolment.due_on, enrolment.required = hold.due_on, hold.required
    changed.setdefault(enrolment, set()).update(("source", "program_id", "rule_id", "due_on", "required"))
