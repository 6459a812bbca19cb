"""Importing completions done elsewhere (before the platform, or in another system):
the same dry run and row errors as the roster import, then all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mooc.courses.models import Course
from mooc.extensions import db
from mooc.roster.models import Staff
from mooc.roster.reader import Cell, NumberCell, open_sheet
from mooc.text import clean
from mooc.training.activity import note_activity
from mooc.training.models import Enrolment, EnrolmentSource, EnrolmentState, supersede_earlier

FIELDS: dict[str, tuple[str, ...]] = {
    "staff_code": ("ma can bo", "staff code", "ma cb", "ma nhan vien"),
    "course": ("khoa hoc", "course", "ma khoa hoc", "course code"),
    "completed_on": ("ngay hoan thanh", "completed on", "completion date", "ngay"),
    "source": ("nguon", "source", "noi dao tao", "ghi chu"),
}
REQUIRED = ("staff_code", "course", "completed_on")


@dataclass
class HistoryError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class HistoryPlan:
    to_add: list[tuple[int, int, int, date, str]] = field(
        default_factory=list
    )  # row, staff, course, day, source
    unchanged: int = 0
    errors: list[HistoryError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.to_add),
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }


def _text(cell: Cell) -> str:
    if isinstance(cell, NumberCell):
        return cell.as_text()
    return clean(str(cell)) if cell is not None else ""


def _day(cell: Cell) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = _text(cell)
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def plan_history(source: Path | bytes, today: date) -> HistoryPlan:
    sheet = open_sheet(source, FIELDS)
    labels = sheet.labels
    plan = HistoryPlan()
    missing = [name for name in REQUIRED if name not in sheet.mapping.values()]
    for name in missing:
        plan.errors.append(HistoryError(sheet.header_row, name, f"no column for {name}"))
    if missing:
        return plan
    staff_by_code = dict(db.session.execute(sa.select(Staff.staff_code, Staff.id)).all())
    courses: dict[str, int] = {}
    for course_id, key, code in db.session.execute(sa.select(Course.id, Course.key, Course.code)):
        courses[key.lower()] = course_id
        courses[code.lower()] = course_id
    existing = {
        (s, c, d)
        for s, c, d in db.session.execute(
            sa.select(Enrolment.staff_id, Enrolment.course_id, Enrolment.completed_at).where(
                Enrolment.completed_at.is_not(None)
            )
        )
    }
    existing_days = {(s, c, d.date()) for s, c, d in existing}
    seen: dict[tuple[int, int, date], int] = {}
    for number, cells in sheet.rows():
        code = _text(cells.get("staff_code"))
        staff_id = staff_by_code.get(code)
        course_id = courses.get(_text(cells.get("course")).lower())
        day = _day(cells.get("completed_on"))
        errors_before = len(plan.errors)
        if isinstance(cells.get("staff_code"), NumberCell) and "E" in code.upper():
            plan.errors.append(
                HistoryError(number, labels["staff_code"], f"staff code {code} became a number")
            )
        elif staff_id is None:
            plan.errors.append(HistoryError(number, labels["staff_code"], f"unknown staff code '{code}'"))
        if course_id is None:
            plan.errors.append(
                HistoryError(number, labels["course"], f"unknown course '{_text(cells.get('course'))}'")
            )
        if day is None:
            plan.errors.append(HistoryError(number, labels["completed_on"], "not a date (dd/mm/yyyy)"))
        elif day > today:
            plan.errors.append(HistoryError(number, labels["completed_on"], "a completion in the future"))
        if len(plan.errors) > errors_before:
            continue
        key = (staff_id, course_id, day)
        if key in seen:
            plan.errors.append(
                HistoryError(number, labels["staff_code"], f"the same completion is in row {seen[key]}")
            )
        elif key in existing_days:
            plan.unchanged += 1
        else:
            seen[key] = number
            plan.to_add.append((number, staff_id, course_id, day, _text(cells.get("source"))[:200]))
    return plan


def apply_history(plan: HistoryPlan) -> int:
    """Record the completions (all or nothing: the caller commits). Returns how many."""
    if plan.errors:
        raise ValueError("a plan with errors cannot be applied")
    for _row, staff_id, course_id, day, source in plan.to_add:
        cycle = (
            db.session.scalar(
                sa.select(sa.func.max(Enrolment.cycle)).where(
                    Enrolment.staff_id == staff_id, Enrolment.course_id == course_id
                )
            )
            or 0
        ) + 1
        moment = datetime.combine(day, time(12), tzinfo=UTC)
        supersede_earlier(staff_id, course_id)
        note_activity(staff_id, moment)
        db.session.add(
            Enrolment(
                staff_id=staff_id,
                course_id=course_id,
                cycle=cycle,
                source=EnrolmentSource.IMPORT,
                required=True,
                assigned_on=day,
                state=EnrolmentState.COMPLETED,
                started_at=moment,
                completed_at=moment,
                note=source or "imported",
            )
        )
        db.session.flush()
    return len(plan.to_add)
