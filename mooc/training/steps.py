"""The steps of a programme as one person stands in them, read from their course cycles
(docs/architecture.md, Programmes): which of their completions are still valid, and from
them each step's state (done, open or locked). Read only: ``programs`` acts on it (enrolling
the courses of open steps, counting, locking) and ``holders`` asks it which programme still
holds a course when a rule or another programme lets it go."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from mooc import clock
from mooc.database import chunked_in
from mooc.extensions import db
from mooc.training.models import (
    Certificate,
    Enrolment,
    EnrolmentState,
    Program,
    ProgramEnrolment,
    ProgramStep,
)


class StepStatus(enum.StrEnum):
    DONE = "done"
    OPEN = "open"
    LOCKED = "locked"


@dataclass
class StepState:
    number: int  # 1, 2...
    step: ProgramStep
    status: StepStatus
    done_course_ids: set[int] = field(default_factory=set)

    @property
    def course_ids(self) -> list[int]:
        return [course.id for course in self.step.courses]


def cycle_start(enrolment: ProgramEnrolment) -> datetime | None:
    """A renewal cycle counts only the completions since it began; a first cycle, any valid one."""
    if enrolment.cycle <= 1:
        return None
    return clock.start_of(enrolment.assigned_on)


def valid_completions(staff_ids: Collection[int] | sa.Select, course_ids: set[int],
                      today: date | None = None) -> dict[int, list[tuple[int, datetime]]]:
    """staff id -> [(course id, completed at)] of their completions still valid today, for
    ``staff_ids``: ids (one query per ``database.CHUNK`` of them) or a select of staff ids (one
    query: everyone it names, never sent as a list)."""
    if not course_ids:
        return {}
    today = today or clock.today()
    completed = sa.and_(Enrolment.state == EnrolmentState.COMPLETED, Enrolment.completed_at.is_not(None),
                        sa.or_(Enrolment.expires_on.is_(None), Enrolment.expires_on >= today),
                        Certificate.revoked_at.is_(None))
    exempt = sa.and_(Enrolment.state == EnrolmentState.EXEMPT, Enrolment.closed_at.is_(None))
    statement = (
        sa.select(Enrolment.staff_id, Enrolment.course_id,
                  sa.func.coalesce(Enrolment.completed_at, Enrolment.updated_at))
        .outerjoin(Certificate, Certificate.enrolment_id == Enrolment.id)
        .where(Enrolment.course_id.in_(course_ids), sa.or_(completed, exempt)))
    out: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for whose in chunked_in(Enrolment.staff_id, ids_or_select(staff_ids)):
        for staff_id, course_id, completed_at in db.session.execute(statement.where(whose)):
            if completed_at is not None:
                out[staff_id].append((course_id, completed_at))
    return out


def ids_or_select(staff_ids: Collection[int] | sa.Select) -> list[int] | sa.Select:
    """People named by id (in order, for ``database.chunked_in``), or by a select as it is."""
    return staff_ids if isinstance(staff_ids, sa.Select) else sorted(staff_ids)


def step_states(program: Program, enrolment: ProgramEnrolment | None,
                completions: list[tuple[int, datetime]]) -> list[StepState]:
    """Each step of ``program`` for a person with these valid completions (``enrolment``: their
    cycle, for a renewal's start; None: any completion counts)."""
    since = cycle_start(enrolment) if enrolment is not None else None
    done = {course_id for course_id, at in completions if since is None or at >= since}
    states: list[StepState] = []
    previous_done = True
    for number, step in enumerate(program.steps, start=1):
        have = {course.id for course in step.courses} & done
        if len(have) >= step.pick:
            status = StepStatus.DONE
        elif step.after_previous and not previous_done:
            status = StepStatus.LOCKED
        else:
            status = StepStatus.OPEN
        previous_done = status == StepStatus.DONE
        states.append(StepState(number, step, status, have))
    return states


def counts(states: list[StepState]) -> tuple[int, int]:
    """(required steps done, required steps)."""
    required = [state for state in states if not state.step.optional]
    return sum(state.status == StepStatus.DONE for state in required), len(required)
