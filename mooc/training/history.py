"""Importing completions done elsewhere (before the platform, or in another system): the
same plan as the roster import (``roster.planning``: columns, cell text, dates, row issues
with translated messages), a dry run, then all or nothing."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from mooc import clock, events
from mooc.auth.models import User
from mooc.courses.models import Course
from mooc.database import alias, chunks
from mooc.extensions import db
from mooc.i18n import gettext as _
from mooc.i18n import lazy_gettext as _l
from mooc.progress import READING, SILENT, WRITING, Progress
from mooc.roster import planning, scope
from mooc.roster.models import Staff
from mooc.roster.planning import BadDate, PlanHasErrors, Table, parse_date, show_date
from mooc.roster.reader import Cell, NumberCell, cell_text, open_sheet
from mooc.training import programs
from mooc.training.activity import note_activities
from mooc.training.assign import OPEN_STATES, apply_rules
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


class Fate(enum.StrEnum):
    """What importing a completion does to the person's cycles of the course (docs/architecture.md,
    "Sources of a cycle"; the dry run says it row by row). A person keeps one open cycle of a
    course: an import never adds a second one next to it."""

    NEW = "new"  # a new completed cycle, the latest: no cycle yet, or the latest is finished or closed
    COMPLETES = "completes"  # completes the open cycle: on or after the day it began (its holders kept)
    EARLIER = "earlier"  # an earlier round: before the open cycle began, or before the latest completion;
    # kept as a completed cycle numbered before the latest one, which is left as it is


@dataclass(frozen=True)
class Completion:
    """A completion the file adds, and what it does (``decide``)."""

    row: int
    staff_id: int
    course_id: int
    day: date
    source: str = ""
    fate: Fate = Fate.NEW
    since: date | None = None  # the open cycle's first day, or the latest completion's (EARLIER, COMPLETES)
    open_cycle: bool = False  # ``since`` is an open cycle's first day (else a completion's)
    latest_id: int | None = None  # the person's latest cycle of the course when planned, and its number
    latest_cycle: int = 0

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
            "completes_open": self.count(Fate.COMPLETES),
            "earlier_rounds": self.count(Fate.EARLIER),
            "new_cycles": self.count(Fate.NEW),
            "unchanged": self.unchanged,
            "rows": [{"row": c.row, "fate": c.fate.value, "since": c.since.isoformat() if c.since else None,
                      "open_cycle": c.open_cycle} for c in self.to_add],
            "errors": [issue.as_dict() for issue in self.issues],
        }

    def count(self, fate: Fate) -> int:
        return sum(1 for completion in self.to_add if completion.fate == fate)


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
    plan.to_add = decide(plan.to_add)
    return plan


@dataclass(frozen=True)
class _Latest:
    """A person's latest cycle of a course, as ``decide`` reads it."""

    open: bool  # not finished (not started or in progress) and not closed
    assigned_on: date
    completed_on: date | None
    first_round: bool  # no completed cycle of the course before it
    id: int = 0
    cycle: int = 0


def decide(completions: list[Completion]) -> list[Completion]:
    """Each completion with its fate, against the person's latest cycle of the course
    (docs/architecture.md, "History imported next to an open cycle"):

    - an open cycle of a later round (a renewal, a refresher, an enrolment after a completion)
      is completed by the first completion (by day) made on or after the day it began; one made
      before is an earlier round, recorded before it, and the cycle stays open;
    - an open first round (no completion of the course before it) is completed by the first
      completion, whenever it was made: done before the requirement came, it meets it as it
      would have had it been recorded first (the renewing rule then renews it if it has lapsed);
    - a completed cycle stays the latest against an older completion (an earlier round).

    The rest are new cycles after it. A statement per ``database.CHUNK`` of people; returned in
    the file's order."""
    latest = _latest_of(completions)
    decided: list[Completion] = []
    by_pair: dict[tuple[int, int], list[Completion]] = defaultdict(list)
    for completion in completions:
        by_pair[(completion.staff_id, completion.course_id)].append(completion)
    for pair, rows in by_pair.items():
        cycle, completing = latest.get(pair), False
        for completion in sorted(rows, key=lambda c: (c.day, c.row)):
            fate, since = _fate(cycle, completion.day, completing)
            completing = completing or fate == Fate.COMPLETES
            decided.append(replace(completion, fate=fate, since=since,
                                   open_cycle=cycle is not None and cycle.open and fate != Fate.NEW,
                                   latest_id=cycle.id if cycle else None,
                                   latest_cycle=cycle.cycle if cycle else 0))
    return sorted(decided, key=lambda c: c.row)


def _fate(cycle: _Latest | None, day: date, completing: bool) -> tuple[Fate, date | None]:
    if cycle is not None and cycle.open:
        if day < cycle.assigned_on and not cycle.first_round:
            return Fate.EARLIER, cycle.assigned_on
        return (Fate.NEW, None) if completing else (Fate.COMPLETES, cycle.assigned_on)
    if cycle is not None and cycle.completed_on is not None and day < cycle.completed_on:
        return Fate.EARLIER, cycle.completed_on
    return Fate.NEW, None


def _latest_of(completions: list[Completion]) -> dict[tuple[int, int], _Latest]:
    """(staff id, course id) -> the person's latest cycle of the course, with whether a completed
    cycle comes before it: a statement per ``database.CHUNK`` of people."""
    pairs = {(c.staff_id, c.course_id) for c in completions}
    earlier = alias(Enrolment, "earlier")
    done_before = sa.exists().where(
        earlier.staff_id == Enrolment.staff_id, earlier.course_id == Enrolment.course_id,
        earlier.latest.is_(False), earlier.state == EnrolmentState.COMPLETED)
    stmt = (sa.select(Enrolment.staff_id, Enrolment.course_id, Enrolment.state, Enrolment.closed_at,
                      Enrolment.assigned_on, Enrolment.completed_at, done_before, Enrolment.id,
                      Enrolment.cycle)
            .where(Enrolment.latest.is_(True), Enrolment.course_id.in_(sorted({c for _s, c in pairs}))))
    found: dict[tuple[int, int], _Latest] = {}
    for chunk in chunks(sorted({staff for staff, _c in pairs})):
        for staff_id, course_id, state, closed_at, assigned_on, completed_at, before, id_, number in (
                db.session.execute(stmt.where(Enrolment.staff_id.in_(chunk)))):
            if (staff_id, course_id) in pairs:
                finished = state == EnrolmentState.COMPLETED and completed_at is not None
                found[(staff_id, course_id)] = _Latest(
                    state in OPEN_STATES and closed_at is None, assigned_on,
                    clock.day_of(completed_at) if finished and completed_at else None, not before, id_,
                    number)
    return found


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


def said(completion: Completion) -> str:
    """What importing the row does, as the dry run says it (the page and the command)."""
    day = show_date(completion.since) if completion.since else ""
    if completion.fate == Fate.COMPLETES and completion.since and completion.day < completion.since:
        return _("completes the open first cycle, assigned on %(day)s: done before it, it meets it", day=day)
    if completion.fate == Fate.COMPLETES:
        return _("completes the open cycle that began on %(day)s", day=day)
    if completion.fate == Fate.EARLIER and completion.open_cycle:
        return _("kept as an earlier round: the open cycle began on %(day)s and stays open", day=day)
    if completion.fate == Fate.EARLIER:
        return _("kept as an earlier round: the completion of %(day)s stays the latest", day=day)
    return _("adds a completed cycle")


def shown(plan: HistoryPlan, limit: int = 300) -> list[tuple[int, str, str, str, date, str]]:
    """The first completions the plan adds, for its preview: (row, staff code, full name,
    course title, day, what it does)."""
    first = plan.to_add[:limit]
    staff = {row.id: row for row in db.session.execute(sa.select(Staff.id, Staff.staff_code, Staff.full_name)
                                                       .where(Staff.id.in_({c.staff_id for c in first})))}
    titles = dict(db.session.execute(sa.select(Course.id, Course.title)).all())
    return [(c.row, staff[c.staff_id].staff_code, staff[c.staff_id].full_name, titles.get(c.course_id, ""),
             c.day, said(c)) for c in first]


def apply_history(plan: HistoryPlan, *, progress: Progress = SILENT) -> int:
    """Record the completions (all or nothing: the caller commits). Returns how many.

    Each as the plan decided (``decide``; the command plans and applies in one transaction, the
    web plans again when applying and refuses a plan other than the one it showed, by its
    fingerprint): a completion on or after the day the person's open cycle began
    completes that cycle; an earlier round is a completed cycle numbered before the latest; the
    others are new cycles after it (by day, the last one the latest). Set-based, whatever the
    number of rows: per course, the people's latest cycles read and superseded a
    ``database.CHUNK`` at a time, the new cycles inserted by one flush; the people's latest
    training dates moved on (``activity.note_activities``); then their programmes, and the rules
    of the courses for them (``assign.apply_rules``: an expiry, a renewal due)."""
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
    # a completion imported counts for the programmes the people follow (docs/authoring.md,
    # "What trainees see")
    programs.advance({completion.staff_id for completion in plan.to_add})
    # a renewing rule that covers the people gives these completions its expiry now, and opens
    # the renewals already due (docs/architecture.md, "Sources of a cycle")
    apply_rules(staff_ids={completion.staff_id for completion in plan.to_add}, course_ids=set(by_course))
    return len(plan.to_add)


def _moment(completion: Completion) -> datetime:
    return datetime.combine(completion.day, time(12), tzinfo=clock.LOCAL_TZ).astimezone(UTC)  # midday


def _add_completions(course_id: int, completions: list[Completion], trained: dict[int, datetime],
                     progress: Progress) -> None:
    """The completions of one course, as ``Completion.fate`` says, on the latest cycles the plan
    read (``latest_id``, ``latest_cycle``); ``trained``: each person's latest moment so far, kept
    up. The open cycles completed and the latest cycles renumbered set-based: a statement per
    ``database.CHUNK`` of them that share the values."""
    rows: dict[int, dict[Fate, list[Completion]]] = defaultdict(lambda: defaultdict(list))
    for completion in sorted(completions, key=lambda c: (c.day, c.row)):
        progress.advance()
        rows[completion.staff_id][completion.fate].append(completion)
        trained[completion.staff_id] = max(trained.get(completion.staff_id, _moment(completion)),
                                           _moment(completion))
    moved: dict[int, list[int]] = defaultdict(list)  # earlier rounds: the latest cycle moves up to make room
    completing: dict[tuple[datetime, str], list[int]] = defaultdict(list)
    for fates in rows.values():
        if fates[Fate.EARLIER]:
            moved[len(fates[Fate.EARLIER])].append(fates[Fate.EARLIER][0].latest_id or 0)
        for completion in fates[Fate.COMPLETES]:
            completing[(_moment(completion), (completion.source or "imported")[:300])].append(
                completion.latest_id or 0)
    _write(moved, completing, rows)
    for fates in rows.values():
        earlier = fates[Fate.EARLIER]
        for number, completion in enumerate(earlier, start=earlier[0].latest_cycle if earlier else 0):
            db.session.add(_completed_cycle(completion, number, latest=False))
    superseding = [staff_id for staff_id, fates in rows.items() if fates[Fate.NEW]]
    supersede_earlier_of(course_id, superseding)
    for staff_id in superseding:
        new, shift = rows[staff_id][Fate.NEW], len(rows[staff_id][Fate.EARLIER])
        for number, completion in enumerate(new, start=new[0].latest_cycle + shift + 1):
            db.session.add(_completed_cycle(completion, number, latest=completion is new[-1]))
    db.session.flush()


def _write(moved: dict[int, list[int]], completing: dict[tuple[datetime, str], list[int]],
           staff_ids: Iterable[int]) -> None:
    """Renumber the latest cycles (``moved``: shift -> their ids) and complete the open ones
    (``completing``: (moment, note) -> their ids), before the new cycles take the numbers freed;
    the reports' summary is told which people's cycles changed (``staff_ids``)."""
    events.touched(staff_ids)
    table = Enrolment.__table__.c
    for shift, ids in moved.items():
        for chunk in chunks(sorted(ids)):
            db.session.execute(sa.update(Enrolment).where(Enrolment.id.in_(chunk))
                               .values(cycle=Enrolment.cycle + shift),
                               execution_options={"synchronize_session": False})
    for (moment, note), ids in completing.items():
        at = sa.literal(moment, type_=table.completed_at.type)
        for chunk in chunks(sorted(ids)):
            db.session.execute(
                sa.update(Enrolment).where(Enrolment.id.in_(chunk)).values(
                    state=EnrolmentState.COMPLETED, completed_at=at, note=note,
                    started_at=sa.case(
                        (sa.or_(Enrolment.started_at.is_(None), Enrolment.started_at > at), at),
                        else_=Enrolment.started_at)),
                execution_options={"synchronize_session": False})


def _completed_cycle(completion: Completion, number: int, *, latest: bool) -> Enrolment:
    moment = _moment(completion)
    return Enrolment(
        staff_id=completion.staff_id, course_id=completion.course_id, cycle=number, latest=latest,
        source=EnrolmentSource.IMPORT, required=True, assigned_on=completion.day,
        state=EnrolmentState.COMPLETED, started_at=moment, completed_at=moment,
        note=completion.source or "imported")
