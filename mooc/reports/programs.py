"""The programme report: per unit (the children of the unit shown, within the viewer's scope,
as the dashboard), the people following a programme and how they stand: completed, on track,
behind, overdue (``training.program_paths.ProgramStatus``, decided there only). One query for
the tree, one for the people; sub-units roll up into the unit shown in Python, as the dashboard."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from mooc.auth.models import User
from mooc.extensions import db
from mooc.reports.queries import drill_down
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from mooc.roster.scope import children_map, subtree_ids, visible_units
from mooc.roster.tree import TreeUnit
from mooc.roster.units import unit_labels
from mooc.training.models import Program, ProgramEnrolment
from mooc.training.program_paths import ProgramStatus

STATUSES = (ProgramStatus.COMPLETED, ProgramStatus.ON_TRACK, ProgramStatus.BEHIND, ProgramStatus.OVERDUE)


@dataclass
class ProgramRow:
    unit: OrgUnit | TreeUnit | None  # None: the total; a unit shown: the tree's plain row
    label: str = ""
    has_children: bool = False
    counts: dict[str, int] = field(default_factory=lambda: {status.value: 0 for status in STATUSES})

    @property
    def people(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float | None:
        """Share of the programme's people who completed it; None (shown "—", an empty cell in
        the exports) for a unit with nobody in it, as the dashboard's rate."""
        return round(100 * self.counts["completed"] / self.people, 1) if self.people else None


@dataclass
class ProgramRollup:
    program: Program
    parent: OrgUnit | None
    rows: list[ProgramRow]
    total: ProgramRow


def _members(program_id: int, counted: set[int] | None) -> sa.Select:
    """The people following the programme (their latest cycle, open or completed, not closed),
    who have not left, in the units counted (None: every unit)."""
    stmt = (sa.select(Staff.id, Staff.unit_id, Staff.staff_code, Staff.full_name, Staff.sort_key,
                      Staff.status, ProgramEnrolment.completed_at, ProgramEnrolment.assigned_on,
                      ProgramEnrolment.due_on, ProgramEnrolment.steps_done, ProgramEnrolment.steps_required)
            .join(Staff, Staff.id == ProgramEnrolment.staff_id)
            .where(ProgramEnrolment.program_id == program_id, ProgramEnrolment.latest.is_(True),
                   ProgramEnrolment.closed_at.is_(None), Staff.status != StaffStatus.LEFT))
    if counted is not None:
        stmt = stmt.where(Staff.unit_id.in_(sorted(counted)))
    return stmt


def status_of(row: Any, today: date) -> ProgramStatus:
    return ProgramStatus.of_values(row.completed_at is not None, row.assigned_on, row.due_on,
                                   row.steps_done, row.steps_required, today, staff_status=row.status)


def program_rollup(user: User, program: Program, parent_id: int | None, today: date) -> ProgramRollup:
    """One row per child of ``parent_id`` (the top level when None) and the parent's own people,
    plus the total. Raises ``queries.OutOfScope`` for a unit the viewer may not see."""
    drill = drill_down(user, parent_id)
    children, shown_rows, owner, counted, loaded = (drill.children, drill.shown_rows, drill.owner,
                                                    drill.counted, drill.loaded)
    labels = unit_labels(loaded)
    rows = {u.id: ProgramRow(loaded[u.id], labels[u.id], bool(children.get(u.id))) for u in shown_rows}
    if parent_id is not None:
        rows[parent_id] = ProgramRow(loaded[parent_id], labels[parent_id])
    total = ProgramRow(None)
    for member in db.session.execute(_members(program.id, counted)):
        target = owner.get(member.unit_id)
        if target is None:
            continue
        status = status_of(member, today).value
        rows[target].counts[status] += 1
        total.counts[status] += 1
    ordered = [rows[u.id] for u in shown_rows]
    if parent_id is not None and rows[parent_id].people:
        ordered.append(rows[parent_id])
    return ProgramRollup(program, drill.parent, ordered, total)


@dataclass
class ProgramPerson:
    staff_code: str
    full_name: str
    unit: str
    status: ProgramStatus
    steps_done: int
    steps_required: int
    due_on: date | None


def program_people(user: User, program: Program, parent_id: int | None,
                   today: date) -> Iterator[ProgramPerson]:
    """The people counted by ``program_rollup`` with the same arguments, in name order (read
    while an export is sent: everything about the viewer is read before)."""
    children = children_map()
    scope = visible_units(user, children)
    counted = scope
    if parent_id is not None:
        under = subtree_ids(parent_id, children)
        counted = under if scope is None else under & scope
    names = dict(db.session.execute(sa.select(OrgUnit.id, OrgUnit.name)).all())
    return _people(program.id, counted, names, today)  # the scope is read now, the rows as sent


def _people(program_id: int, counted: set[int] | None, names: dict[int, str],
            today: date) -> Iterator[ProgramPerson]:
    for member in db.session.execute(_members(program_id, counted).order_by(Staff.sort_key)):
        yield ProgramPerson(member.staff_code, member.full_name, names.get(member.unit_id, ""),
                            status_of(member, today), member.steps_done, member.steps_required, member.due_on)


def live_programs() -> list[Program]:
    return list(db.session.scalars(_live_programs()))


@functools.cache
def _live_programs() -> sa.Select[Program]:
    return sa.select(Program).where(Program.archived.is_(False)).order_by(Program.title)
