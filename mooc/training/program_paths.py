"""What a trainee and the reports read of programmes: a person's path (steps done, the current
one, locked ones and why, the due date, the certificate), the programme cycles of a person's
training record, and the status of a programme cycle (completed, on track, behind, overdue;
left before completing), decided here only."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from functools import cache

import sqlalchemy as sa

from mooc import clock
from mooc.extensions import db
from mooc.i18n import lazy_gettext as _l
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import Program, ProgramCertificate, ProgramEnrolment
from mooc.training.status import held_to_due_dates
from mooc.training.steps import StepState, StepStatus, step_states, valid_completions


class ProgramStatus(enum.StrEnum):
    """A programme cycle's status. Behind: on time, but fewer of its required steps are done
    than the share of the time from assignment to the due date that has passed (half the time
    gone, under half the steps done). Overdue: not completed and its due date is past. Left:
    not completed, of a person who has left the roster: held to no due date, so neither on
    track, behind nor overdue (``status.held_to_due_dates``, the rule a course's cycle follows;
    nothing is written when they leave, so it reads so at once, and as before if they return)."""

    COMPLETED = "completed"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    OVERDUE = "overdue"
    LEFT = "left"

    @classmethod
    def of(cls, enrolment: ProgramEnrolment, today: date | None = None, *,
           staff_status: StaffStatus | str) -> ProgramStatus:
        return cls.of_values(enrolment.completed_at is not None, enrolment.assigned_on, enrolment.due_on,
                             enrolment.steps_done, enrolment.steps_required, today or clock.today(),
                             staff_status=staff_status)

    @classmethod
    def of_values(cls, completed: bool, assigned_on: date, due_on: date | None, done: int, required: int,
                  today: date, *, staff_status: StaffStatus | str) -> ProgramStatus:
        if completed:
            return cls.COMPLETED
        if not held_to_due_dates(staff_status):
            return cls.LEFT
        if due_on is not None and due_on < today:
            return cls.OVERDUE
        if due_on is not None and required and due_on > assigned_on:
            elapsed = (today - assigned_on).days / (due_on - assigned_on).days
            if done / required < elapsed:
                return cls.BEHIND
        return cls.ON_TRACK

    @property
    def label(self) -> str:
        return str(LABELS[self])


LABELS = {
    ProgramStatus.COMPLETED: _l("Completed"),
    ProgramStatus.ON_TRACK: _l("On track"),
    ProgramStatus.BEHIND: _l("Behind schedule"),
    ProgramStatus.OVERDUE: _l("Overdue"),
    ProgramStatus.LEFT: _l("Left before completing"),
}
NO_LONGER_REQUIRED = _l("No longer required")  # a cycle closed or renewed before it was completed


@dataclass
class Path:
    """A programme as one person sees it."""

    program: Program
    enrolment: ProgramEnrolment | None  # their latest cycle (None: not assigned to them)
    states: list[StepState]
    status: ProgramStatus | None
    certificate: ProgramCertificate | None

    @property
    def current(self) -> StepState | None:
        """The first open step not done: where the person goes next."""
        return next((s for s in self.states if s.status == StepStatus.OPEN), None)

    def waits_for(self, state: StepState) -> StepState | None:
        return self.states[state.number - 2] if state.status == StepStatus.LOCKED else None


def path_of(program: Program, staff_id: int | None, today: date | None = None) -> Path:
    today = today or clock.today()
    enrolment, staff_status = None, StaffStatus.ACTIVE
    if staff_id is not None:
        found = db.session.execute(
            sa.select(ProgramEnrolment, Staff.status).join(Staff, Staff.id == ProgramEnrolment.staff_id)
            .where(ProgramEnrolment.staff_id == staff_id, ProgramEnrolment.program_id == program.id,
                   ProgramEnrolment.latest.is_(True))).first()
        if found is not None:
            enrolment, staff_status = found
    course_ids = {course.id for step in program.steps for course in step.courses}
    completions = valid_completions({staff_id}, course_ids, today).get(staff_id or 0, []) \
        if staff_id is not None else []
    states = step_states(program, enrolment, completions)
    certificate = None
    if enrolment is not None and enrolment.completed_at is not None:
        certificate = db.session.scalar(sa.select(ProgramCertificate).where(
            ProgramCertificate.program_enrolment_id == enrolment.id))
    status = None
    if enrolment is not None and enrolment.closed_at is None:
        status = ProgramStatus.of(enrolment, today, staff_status=staff_status)
    return Path(program, enrolment, states, status, certificate)


def paths_of(staff_id: int | None, today: date | None = None) -> list[Path]:
    """The person's programmes (their open or completed latest cycles), by title."""
    if staff_id is None:
        return []
    programs = db.session.scalars(_programs_followed(), {"staff_id": staff_id})
    return [path_of(program, staff_id, today) for program in programs]


@cache
def _programs_followed() -> sa.Select[Program]:
    """``paths_of``' statement, built once per process (the home page asks it on every view)."""
    return (sa.select(Program).join(ProgramEnrolment, ProgramEnrolment.program_id == Program.id)
            .where(ProgramEnrolment.staff_id == sa.bindparam("staff_id"), ProgramEnrolment.latest.is_(True),
                   ProgramEnrolment.closed_at.is_(None), Program.archived.is_(False))
            .order_by(Program.title))


def open_program(key: str) -> Program | None:
    return db.session.scalar(sa.select(Program).where(Program.key == key, Program.archived.is_(False)))


def certificate_by_code(code: str) -> ProgramCertificate | None:
    return db.session.scalar(sa.select(ProgramCertificate).where(ProgramCertificate.code == code))


@dataclass
class RecordRow:
    """One programme cycle on a person's training record."""

    enrolment: ProgramEnrolment
    program_title: str
    program_code: str
    status: ProgramStatus | None  # None: no longer required (closed, or renewed, unfinished)
    certificate: ProgramCertificate | None

    @property
    def status_label(self) -> str:
        return self.status.label if self.status is not None else str(NO_LONGER_REQUIRED)

    @property
    def steps(self) -> str:
        """"2/3": required steps done, of the required steps (as ``programs.advance`` counted)."""
        return f"{self.enrolment.steps_done}/{self.enrolment.steps_required}"


def record_of(staff: Staff, today: date | None = None) -> list[RecordRow]:
    """Every cycle of every programme of the person, by title, newest first (one query), as
    ``queries.record`` lists their courses (their roster status: a person who left is held to
    no due date, for programmes as for courses)."""
    today = today or clock.today()
    rows = db.session.execute(
        sa.select(ProgramEnrolment, Program.title, Program.code, ProgramCertificate)
        .join(Program, Program.id == ProgramEnrolment.program_id)
        .outerjoin(ProgramCertificate, ProgramCertificate.program_enrolment_id == ProgramEnrolment.id)
        .where(ProgramEnrolment.staff_id == staff.id)
        .order_by(Program.title, ProgramEnrolment.cycle.desc())
    ).all()
    return [RecordRow(e, title, code, _record_status(e, today, staff.status), certificate)
            for e, title, code, certificate in rows]


def _record_status(enrolment: ProgramEnrolment, today: date,
                   staff_status: StaffStatus) -> ProgramStatus | None:
    if enrolment.completed_at is None and (enrolment.closed_at is not None or not enrolment.latest):
        return None
    return ProgramStatus.of(enrolment, today, staff_status=staff_status)
