"""Importing completions done elsewhere (before the platform, or in another system): the
same plan as the roster import (``roster.planning``: columns, cell text, dates, row issues
with translated messages), a dry run, then all or nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import User
from mooc.courses.models import Course
from mooc.database import chunks
from mooc.extensions import db
from mooc.i18n import lazy_gettext as _l
from mooc.progress import READING, SILENT, WRITING, Progress
from mooc.roster import planning, scope
from mooc.roster.models import Staff
from mooc.roster.planning import BadDate, PlanHasErrors, Table, parse_date, show_date
from mooc.roster.reader import Cell, NumberCell, cell_text, open_sheet
from mooc.training import programs
from mooc.training.activity import note_activities
from mooc.training.assign import apply_rules
from mooc.training.models import Enrolment, EnrolmentSource, EnrolmentState, supersede_earlier_of

FIELDS: dict[str, tuple[str, ...]] = {
    "staff_code": ("ma can bo", "staff code", "ma cb", "ma nhan vien"),
    "course": ("khoa hoc", "course", "ma khoa hoc", "course code"),
    "completed_on": ("ngay hoan thanh", "completed on", "completion date", "ngay"),
    "source": ("nguon", "source", "noi dao tao", "ghi chu"),
}
REQUIRED = ("staff_code", "course", "completed_on")
# field -> header spellings as people write them (messages list them; the first is the usual one)
HEADERS_SHOWN: dict[str, tuple[str, ...]] = {
    "staff_code": ("Mã cán bộ", "Mã CB", "Mã nhân viên", "Staff code"),
    "course": ("Khóa học", "Mã khóa học", "Course", "Course code"),
    "completed_on": ("Ngày hoàn thành", "Ngày", "Completed on", "Completion date"),
    "source": ("Nguồn", "Nơi đào tạo", "Ghi chú", "Source"),
}

MESSAGES = {
    "unknown_staff": _l("Unknown staff code “%(value)s”."),
    "staff_out_of_scope": _l("“%(value)s” is not a person of your units: their training officer records it."),
    "unknown_course": _l("Unknown course “%(value)s”. Give the course's code or key."),
    "completed_in_future": _l("The completion date %(value)s is in the future."),
    "duplicate_completion": _l("The same completion is also in row %(other)d."),
}


@dataclass(frozen=True)
class HistoryIssue(planning.Issue):
    """A problem in a row (and column) of a completions file."""

    messages: ClassVar[Mapping[str, Any]] = {**planning.MESSAGES, **MESSAGES}


@dataclass(frozen=True)
class Completion:
    """A completion the file adds."""

    row: int
    staff_id: int
    course_id: int
    day: date
    source: str = ""

    @property
    def key(self) -> tuple[int, int, date]:
        return self.staff_id, self.course_id, self.day


@dataclass
class HistoryPlan:
    to_add: list[Completion] = field(default_factory=list)
    unchanged: int = 0
    issues: list[HistoryIssue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.to_add),
            "unchanged": self.unchanged,
            "errors": [issue.as_dict() for issue in self.issues],
        }


@dataclass
class _Known:
    """What the rows are checked against, loaded in three queries."""

    staff: dict[str, int]                  # staff code -> id
    courses: dict[str, int]                # course code or key, lower case -> id
    completed: set[tuple[int, int, date]]  # (staff, course, day) already recorded
    outside: frozenset[str] = frozenset()  # staff codes outside the acting officer's units

    @classmethod
    def load(cls, actor: User | None = None) -> _Known:
        courses: dict[str, int] = {}
        for course_id, key, code in db.session.execute(sa.select(Course.id, Course.key, Course.code)):
            courses[key.lower()] = course_id
            courses[code.lower()] = course_id
        done = sa.select(Enrolment.staff_id, Enrolment.course_id, Enrolment.completed_at).where(
            Enrolment.completed_at.is_not(None))
        completed = {(staff_id, course_id, clock.day_of(moment))
                     for staff_id, course_id, moment in db.session.execute(done) if moment is not None}
        people = db.session.execute(sa.select(Staff.staff_code, Staff.id, Staff.unit_id)).all()
        outside = frozenset(code for code, _id, unit_id in people if not scope.in_scope(actor, unit_id))
        return cls({code: staff_id for code, staff_id, _unit in people}, courses, completed, outside)


def plan_history(source: Path | bytes, today: date, actor: User | None = None, *,
                 progress: Progress = SILENT) -> HistoryPlan:
    """Read a completions file and say what importing it would add. A scoped ``actor`` (a
    training officer) records completions of the people of their units only: a row for
    anyone else is an error of that row."""
    sheet = open_sheet(source, FIELDS)
    table = planning.read_table(sheet, REQUIRED, HEADERS_SHOWN)
    plan = HistoryPlan(issues=table.missing(REQUIRED, HistoryIssue))
    if plan.issues:
        return plan
    known = _Known.load(actor)
    seen: dict[tuple[int, int, date], int] = {}
    progress.phase(READING, sheet.rows_hint)
    for number, cells in table.rows:
        progress.advance()
        checked = validate_row(number, cells, known, today, table)
        if isinstance(checked, list):
            plan.issues += checked
        elif checked.key in seen:
            plan.issues.append(HistoryIssue(number, table.label("staff_code"), "duplicate_completion",
                                            {"other": seen[checked.key]}))
        elif diff(checked, known) is None:
            plan.unchanged += 1
        else:
            seen[checked.key] = number
            plan.to_add.append(checked)
    return plan


def validate_row(number: int, cells: dict[str, Cell], known: _Known, today: date,
                 table: Table) -> Completion | list[HistoryIssue]:
    """The completion a row gives, or its issues."""
    issues: list[HistoryIssue] = []

    def problem(name: str, code: str, **params: Any) -> None:
        issues.append(HistoryIssue(number, table.label(name), code, params))

    raw, code = cells.get("staff_code"), cell_text(cells.get("staff_code"))
    staff_id = known.staff.get(code)
    if isinstance(raw, NumberCell) and "E" in code.upper():
        problem("staff_code", "scientific_code", value=code)
    elif not code:
        problem("staff_code", "required")
    elif staff_id is None:
        problem("staff_code", "unknown_staff", value=code)
    elif code in known.outside:
        problem("staff_code", "staff_out_of_scope", value=code)
    course = cell_text(cells.get("course"))
    course_id = known.courses.get(course.lower())
    if not course:
        problem("course", "required")
    elif course_id is None:
        problem("course", "unknown_course", value=course)
    day = _completed_on(cells.get("completed_on"), today, problem)
    if issues:
        return issues
    assert staff_id is not None and course_id is not None and day is not None
    return Completion(number, staff_id, course_id, day, cell_text(cells.get("source"))[:200])


def _completed_on(cell: Cell, today: date, problem: Any) -> date | None:
    try:
        day = parse_date(cell)
    except BadDate as bad:
        problem("completed_on", bad.code, value=str(bad))
        return None
    if day is None:
        problem("completed_on", "required")
    elif day > today:
        problem("completed_on", "completed_in_future", value=show_date(day))
    return day


def diff(completion: Completion, known: _Known) -> Completion | None:
    """The completion to add, or None when it is already recorded (same person, course and day)."""
    return None if completion.key in known.completed else completion


def shown(plan: HistoryPlan, limit: int = 300) -> list[tuple[int, str, str, str, date]]:
    """The first completions the plan adds, for its preview: (row, staff code, full name,
    course title, day)."""
    first = plan.to_add[:limit]
    staff = {row.id: row for row in db.session.execute(sa.select(Staff.id, Staff.staff_code, Staff.full_name)
                                                       .where(Staff.id.in_({c.staff_id for c in first})))}
    titles = dict(db.session.execute(sa.select(Course.id, Course.title)).all())
    return [(c.row, staff[c.staff_id].staff_code, staff[c.staff_id].full_name, titles.get(c.course_id, ""),
             c.day) for c in first]


def apply_history(plan: HistoryPlan, *, progress: Progress = SILENT) -> int:
    """Record the completions (all or nothing: the caller commits). Returns how many.

    Set-based, whatever the number of rows: per course, the people's highest cycles read and
    their latest cycles superseded a ``database.CHUNK`` at a time; each completion a new cycle
    after them (in file order, the last one the latest), all inserted by one flush; the people's
    latest training dates moved on (``activity.note_activities``); then their programmes, and
    the rules of the courses for them (``assign.apply_rules``: an expiry, a renewal due)."""
    if plan.issues:
        raise PlanHasErrors(len(plan.issues))
    progress.phase(WRITING, len(plan.to_add))
    by_course: dict[int, list[Completion]] = defaultdict(list)
    for completion in plan.to_add:
        by_course[completion.course_id].append(completion)
    trained: dict[int, datetime] = {}
    for course_id, completions in sorted(by_course.items()):
        _add_completions(course_id, completions, trained, progress)
    note_activities(trained)
    # a completion imported counts for the programmes the people follow (docs/programs.md)
    programs.advance({completion.staff_id for completion in plan.to_add})
    # a renewing rule that covers the people gives these completions its expiry now, and opens
    # the renewals already due (docs/architecture.md, "Sources of a cycle")
    apply_rules(staff_ids={completion.staff_id for completion in plan.to_add}, course_ids=set(by_course))
    return len(plan.to_add)


def _add_completions(course_id: int, completions: list[Completion], trained: dict[int, datetime],
                     progress: Progress) -> None:
    """The completions of one course, as new cycles after each person's highest (in file order);
    ``trained``: each person's latest moment so far, kept up."""
    people = sorted({completion.staff_id for completion in completions})
    cycles = _highest_cycles(course_id, people)
    supersede_earlier_of(course_id, people)
    last = {completion.staff_id: completion for completion in completions}  # the file's last row
    for completion in completions:
        progress.advance()
        staff_id = completion.staff_id
        cycles[staff_id] = cycles.get(staff_id, 0) + 1
        moment = datetime.combine(completion.day, time(12), tzinfo=clock.LOCAL_TZ).astimezone(UTC)  # midday
        trained[staff_id] = max(trained.get(staff_id, moment), moment)
        db.session.add(Enrolment(
            staff_id=staff_id, course_id=course_id, cycle=cycles[staff_id],
            latest=last[staff_id] is completion, source=EnrolmentSource.IMPORT, required=True,
            assigned_on=completion.day,
            state=EnrolmentState.COMPLETED, started_at=moment, completed_at=moment,
            note=completion.source or "imported"))
    db.session.flush()


def _highest_cycles(course_id: int, staff_ids: list[int]) -> dict[int, int]:
    """Staff id -> their highest cycle of the course (people without one are left out)."""
    stmt = (sa.select(Enrolment.staff_id, sa.func.max(Enrolment.cycle))
            .where(Enrolment.course_id == course_id).group_by(Enrolment.staff_id))
    return {staff_id: cycle for chunk in chunks(staff_ids)
            for staff_id, cycle in db.session.execute(stmt.where(Enrolment.staff_id.in_(chunk)))}
