"""Completion reports: a handful of aggregate queries, never one per person or per unit.

Counts are of obligations: each person's current (latest) cycle of each required course,
not closed, for people who have not left. Units roll up by the current tree: every count
is grouped by the person's unit in SQL, then summed into the unit being shown in Python
(the tree is small; the roster is not).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVarTuple

import sqlalchemy as sa
from flask import g, has_app_context

from mooc import clock
from mooc.auth.models import Role, User
from mooc.courses.models import Course, CourseEdition, Lesson, LessonProgress
from mooc.database import alias
from mooc.extensions import db
from mooc.params import parse_day, parse_int
from mooc.reports import counts as kept_counts
from mooc.reports import summary
from mooc.reports.summary import obligation
from mooc.roster import account_status
from mooc.roster.account_status import CANNOT_SIGN_IN, AccountStatus
from mooc.roster.models import OrgUnit, Position, Staff, StaffStatus
from mooc.roster.queries import staff_as_of, visible_units
from mooc.roster.tree import TreeUnit
from mooc.roster.tree import unit_tree as current_tree
from mooc.roster.units import subtree_ids, tree, unit_labels
from mooc.training.models import AssignmentRule, Enrolment, ProgramStep, program_step_courses, rule_units
from mooc.training.status import STILL_TO_DO, TO_DO, EnrolmentStatus, in_order_on

# The statuses an obligation can have (closed cycles are not obligations), in the reports' order.
STATUSES = (
    EnrolmentStatus.COMPLETED,
    EnrolmentStatus.IN_PROGRESS,
    EnrolmentStatus.NOT_STARTED,
    EnrolmentStatus.OVERDUE,
    EnrolmentStatus.EXEMPT,
)
LIST_STATUSES = (*STATUSES, STILL_TO_DO)
STREAM_BATCH = 1000  # rows read from the cursor at a time when a list is streamed (an export)
ACCOUNT_FILTERS = ("cannot_sign_in",)  # the lists' account filter: people who cannot sign in


@dataclass
class Filters:
    course_id: int | None = None
    position_id: int | None = None
    status: str | None = None  # one of LIST_STATUSES
    due_from: date | None = None
    due_to: date | None = None
    account: str | None = None  # "cannot_sign_in": lists of people only
    program_id: int | None = None  # the courses of a programme's steps

    def as_args(self) -> dict[str, Any]:
        """The filters as an address's parameters (export and page links, a subscription's
        stored filters): dates ISO, as stored; the filter boxes show them dd/mm/yyyy."""
        args = {
            "course": self.course_id,
            "position": self.position_id,
            "status": self.status,
            "due_from": self.due_from.isoformat() if self.due_from else None,
            "due_to": self.due_to.isoformat() if self.due_to else None,
            "account": self.account,
            "program": self.program_id,
        }
        return {k: v for k, v in args.items() if v}


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    return lambda text: text if text in choices else None


# Every report filter by its name in a page's address, and how its text is read (None: not a
# value it takes). The pages (lenient: a bad value is ignored, and said) and the subscriptions
# (strict: refused) read them here, so a report one can open is a report one can subscribe to.
FILTER_PARSERS: dict[str, Callable[[str], Any]] = {
    "course": lambda text: parse_int(text, low=1),
    "program": lambda text: parse_int(text, low=1),
    "position": lambda text: parse_int(text, low=1),
    "status": _one_of(tuple(LIST_STATUSES)),
    "due_from": parse_day,  # dd/mm/yyyy as typed in the filters, or ISO (the links below, older links)
    "due_to": parse_day,
    "account": _one_of(ACCOUNT_FILTERS),
}


def read_filters(raw: Mapping[str, Any], bad: Callable[[str, str], None],
                 names: tuple[str, ...] = tuple(FILTER_PARSERS)) -> Filters:
    """The filters ``names`` from ``raw`` (request.args, a posted form, a stored subscription);
    ``bad(name, text)`` is told of a value that cannot be one (and may raise), which is left out."""
    values: dict[str, Any] = {}
    for name in names:
        text = "" if raw.get(name) is None else str(raw.get(name))
        if not text:
            continue
        value = FILTER_PARSERS[name](text)
        if value is None:
            bad(name, text)
            continue
        values[name] = value
    return Filters(
        course_id=values.get("course"), position_id=values.get("position"), program_id=values.get("program"),
        status=values.get("status"), due_from=values.get("due_from"), due_to=values.get("due_to"),
        account=values.get("account"))


def current_enrolments() -> sa.Select:
    """Required, open, latest cycle of each (person, course)."""
    return sa.select(Enrolment).where(obligation())


Cols = TypeVarTuple("Cols")  # the columns of a select, kept through the filters


def _filtered(stmt: sa.Select[*Cols], filters: Filters, today: date | sa.BindParameter[date],
              enrolment: Any = Enrolment) -> sa.Select[*Cols]:
    if filters.course_id:
        stmt = stmt.where(enrolment.course_id == filters.course_id)
    if filters.program_id:
        stmt = stmt.where(enrolment.course_id.in_(program_courses(filters.program_id)))
    if filters.position_id:
        stmt = stmt.where(Staff.position_id == filters.position_id)
    if filters.status in STATUSES:
        stmt = stmt.where(EnrolmentStatus(filters.status).condition(today, enrolment, current=True))
    elif filters.status == STILL_TO_DO:
        stmt = stmt.where(EnrolmentStatus.any_of(TO_DO, today, enrolment, current=True))
    if filters.due_from:
        stmt = stmt.where(enrolment.due_on >= filters.due_from)
    if filters.due_to:
        stmt = stmt.where(enrolment.due_on <= filters.due_to)
    return stmt


def program_courses(program_id: int) -> sa.Select:
    """The courses of a programme's steps (the reports' programme filter)."""
    return (sa.select(program_step_courses.c.course_id)
            .join(ProgramStep, ProgramStep.id == program_step_courses.c.step_id)
            .where(ProgramStep.program_id == program_id))


@dataclass
class Row:
    """One unit's line of the dashboard. Every number counts PEOPLE (never enrolments): active
    staff, of them those who cannot sign in, those with required training, and these split
    by their most urgent status (``counts``: each person once, so the statuses add up to
    ``people_required``)."""

    unit: OrgUnit | TreeUnit | None  # a unit shown: the tree's plain row; the parent's own row: the object
    headcount: int = 0
    people_required: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    last_activity: datetime | None = None
    inactive: bool = False  # no training activity in the period looked at
    has_children: bool = False
    cannot_sign_in: int = 0  # active staff whose account is missing, invited, locked or disabled
    label: str = ""  # the unit's name, with its path where another unit has the same name
    uncovered: bool = False  # no active rule requires training anywhere in the unit
    # of the people counted "completed", those whose every completion is of an edition whose
    # lessons say what the course's lessons say now (mooc.courses.editions: CourseEdition.current)
    current: int = 0
    # of the people counted "completed", those whose every completion is of an edition whose
    # legal basis is recorded and in force today (CourseEdition.legal, legal_superseded_from)
    legal_current: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float | None:
        """Share of the people who owe training (the wholly exempt owe nothing) who have
        completed all of it."""
        owed = self.total - self.counts["exempt"]
        return round(100 * self.counts["completed"] / owed, 1) if owed else None

    def add(self, other: Row) -> None:
        self.headcount += other.headcount
        self.people_required += other.people_required
        self.cannot_sign_in += other.cannot_sign_in
        self.current += other.current
        self.legal_current += other.legal_current
        for status in STATUSES:
            self.counts[status] += other.counts[status]
        if other.last_activity and (self.last_activity is None or other.last_activity > self.last_activity):
            self.last_activity = other.last_activity


@dataclass
class Rollup:
    parent: OrgUnit | None
    rows: list[Row]
    total: Row
    inactive_months: int


class OutOfScope(Exception):
    """The viewer may not see this unit."""


def scope_of(user: User, children: dict[int | None, list[int]] | None = None) -> set[int] | None:
    return visible_units(user, children)


@dataclass
class DrillDown:
    """What a report by unit shows under ``parent_id`` (the top level when None) for a viewer:
    the tree as plain rows, the child units shown (``shown_rows``), the unit each counted unit's
    people are added to (``owner``), the units counted (None: all) and the units shown and the
    parent (``loaded``: the units shown as the tree's plain rows, the parent as an object).
    Raises ``OutOfScope`` for a unit the viewer may not see."""

    units: dict[int, TreeUnit]  # (the tree's own: read only)
    children: dict[int | None, list[int]]  # (the tree's own: read only)
    shown_rows: list[TreeUnit]
    owner: dict[int, int]
    counted: set[int] | None
    loaded: dict[int, OrgUnit | TreeUnit]
    parent: OrgUnit | None = None


def drill_down(user: User, parent_id: int | None) -> DrillDown:
    """The tree of this version (``mooc.roster.tree``: read once per version and process); the
    parent alone loaded as an object (the unit page has it already)."""
    unit_tree = current_tree()
    units, children = unit_tree.by_id, unit_tree.children
    scope = scope_of(user, children)
    shown_rows = _shown_units(units, children, scope, parent_id)
    owner = _owners(shown_rows, children, parent_id)
    # Only the units shown are counted (the whole tree for the ministry's view).
    counted = _counted_units(owner, parent_id, scope)
    loaded: dict[int, OrgUnit | TreeUnit] = {u.id: u for u in shown_rows}
    parent = None
    if parent_id is not None:
        parent = db.session.get(OrgUnit, parent_id)
        if parent is None:
            raise OutOfScope()
        loaded[parent_id] = parent
    return DrillDown(units, children, shown_rows, owner, counted, loaded, parent)


def rollup(
    user: User, parent_id: int | None, filters: Filters, today: date, inactive_months: int = 6,
    rules: RuleTargets | None = None,
) -> Rollup:
    """One row per child of ``parent_id`` (per top-level unit when None), within the viewer's
    scope, plus totals. Two aggregate queries whatever the size of the roster; the tree is
    this version's plain rows (``drill_down``), the parent alone loaded as an object. ``rules``:
    the rules' coverage as the caller read it (``rule_targets_of``), else read here."""
    drill = drill_down(user, parent_id)
    units, children, owner, loaded = drill.units, drill.children, drill.owner, drill.loaded
    per_unit = _per_unit_counts(filters, today, drill.counted)
    shown = drill.shown_rows
    # The unit's own row: its own people, or (a unit with no sub-units) always, zeros included,
    # so that a unit whose people all left still shows a table, not "no units"
    own_row = (parent_id if parent_id is not None and (parent_id in per_unit or not children.get(parent_id))
               else None)
    rows = _rows(units, children, shown, loaded, own_row, unit_labels(loaded), rules or _rule_targets())
    for unit_id, row in per_unit.items():
        target = owner.get(unit_id)
        if target is not None:
            rows[target].add(row)
    total = _flag_inactive_and_total(rows, clock.now() - timedelta(days=30 * inactive_months))
    return Rollup(drill.parent, _ordered(rows, shown, parent_id), total,
                  inactive_months)


def _ordered(rows: dict[int, Row], shown: list[TreeUnit], parent_id: int | None) -> list[Row]:
    """The units shown in order, then the parent's own row when it has one."""
    ordered = [rows[u.id] for u in shown]
    if parent_id in rows and parent_id not in {u.id for u in shown}:
        ordered.append(rows[parent_id])
    return ordered


def _rows(units: dict[int, Any], children: dict[int | None, list[int]], shown: list[TreeUnit],
          loaded: Mapping[int, OrgUnit | TreeUnit], parent_id: int | None,
          labels: dict[int, str], rules: RuleTargets) -> dict[int, Row]:
    """The empty rows of a rollup: the units shown, and ``parent_id``'s own row when given (the
    people placed directly in the parent), each flagged when no active rule covers it (on it, above it or
    below it)."""
    targets, every_unit = rules

    def covered_from_above(unit_id: int) -> bool:  # a rule on the unit or one above it
        return every_unit or bool(_ancestors_or_self(unit_id, units) & targets)

    rows: dict[int, Row] = {
        u.id: Row(u, has_children=bool(children.get(u.id)), label=labels[u.id],
                  uncovered=not (covered_from_above(u.id) or subtree_ids(u.id, children) & targets))
        for u in shown
    }
    if parent_id is not None:
        rows[parent_id] = Row(loaded[parent_id], label=labels[parent_id],
                              uncovered=not covered_from_above(parent_id))
    return rows


RuleTargets = tuple[set[int], bool]  # the units active rules name; whether one covers every unit


def rule_target_selects(*columns: sa.ColumnElement[Any]) -> tuple[sa.Select, sa.Select]:
    """The units active rules name (one row each), and a row of NULL when an active rule covers
    every unit; each row led by ``columns`` (to be part of a caller's union: the dashboard reads
    them with its filter choices)."""
    named = (sa.select(*columns, rule_units.c.unit_id)
             .join(AssignmentRule, AssignmentRule.id == rule_units.c.rule_id)
             .where(AssignmentRule.active.is_(True))
             .distinct())
    every = sa.select(*columns, sa.null()).where(
        sa.exists().where(AssignmentRule.active.is_(True), AssignmentRule.all_units.is_(True)))
    return named, every


@functools.cache
def _rule_target_statement() -> sa.CompoundSelect:
    """``_rule_targets``' statement, built once per process (every report page asks): the units
    active rules name, and a NULL when an active rule covers every unit."""
    return sa.union_all(*rule_target_selects())


def rule_targets_of(found: set[int | None]) -> RuleTargets:
    """The rules' coverage from the unit ids ``rule_target_selects`` read (None: every unit)."""
    every = None in found
    return {unit_id for unit_id in found if unit_id is not None}, every


def _rule_targets() -> RuleTargets:
    """The units active rules name, and whether an active rule covers every unit (those made
    later too). A unit is covered when one of these is the unit or above it (one query)."""
    return rule_targets_of(set(db.session.scalars(_rule_target_statement())))


def _ancestors_or_self(unit_id: int, units: dict[int, Any]) -> set[int]:
    """The unit and the units above it (``units``: rows with an id and a parent id)."""
    found: set[int] = set()
    current: int | None = unit_id
    while current is not None and current not in found and current in units:
        found.add(current)
        current = units[current].parent_id
    return found


def _shown_units(units: dict[int, Any], children: dict[int | None, list[int]], scope: set[int] | None,
                 parent_id: int | None) -> list[Any]:
    """The rollup's rows, by name: the children of ``parent_id`` (OutOfScope if the viewer may
    not see it), or the top level (a manager's: the highest units of their scope). ``units``:
    rows with the id, parent id, name and active flag of every unit."""
    if parent_id is not None:
        if scope is not None and parent_id not in scope:
            raise OutOfScope()
        shown = [units[i] for i in children.get(parent_id, []) if units[i].active]
    elif scope is None:
        shown = [u for u in units.values() if u.parent_id is None and u.active]
    else:
        # a manager's top level: the highest units of their scope
        shown = [units[i] for i in scope if units[i].parent_id not in scope and units[i].active]
    shown.sort(key=lambda u: u.name)
    return shown


def _owners(
    shown: list[Any], children: dict[int | None, list[int]], parent_id: int | None
) -> dict[int, int]:
    """Which shown unit each unit's people count towards."""
    owner: dict[int, int] = {}
    for unit in shown:
        for unit_id in subtree_ids(unit.id, children):
            owner[unit_id] = unit.id
    if parent_id is not None:
        owner[parent_id] = parent_id  # people placed directly in the parent unit
    return owner


def _counted_units(owner: dict[int, int], parent_id: int | None, scope: set[int] | None) -> set[int] | None:
    """The units whose people a rollup counts: those shown, within scope; None for all."""
    counted = None if parent_id is None and scope is None else set(owner)
    if counted is not None and scope is not None:
        counted &= scope
    return counted


def _flag_inactive_and_total(rows: dict[int, Row], since: datetime) -> Row:
    """Mark the rows with people required and no activity since ``since``; their total."""
    total = Row(None)
    for row in rows.values():
        row.inactive = row.people_required > 0 and (row.last_activity is None or row.last_activity < since)
        total.add(row)
    return total


UnitIds = set[int] | sa.BindParameter[Any] | None  # the units counted: ids, a parameter, or None for all


def _counted(filters: Filters, units: UnitIds) -> list[sa.ColumnElement[bool]]:
    """Which people are counted: not gone, in ``units`` (or anywhere), of the position filtered."""
    conditions = [Staff.status != StaffStatus.LEFT]
    if units is not None:
        conditions.append(Staff.unit_id.in_(units))
    if filters.position_id:
        conditions.append(Staff.position_id == filters.position_id)
    return conditions


def headcount_by_unit(filters: Filters, units: UnitIds,
                      now: datetime | sa.BindParameter[datetime] | None = None) -> sa.Select:
    """(unit, active headcount, latest training activity, people who cannot sign in) per unit."""
    cannot = sa.not_(account_status.signs_in(now))
    return account_status.join(
        sa.select(Staff.unit_id, sa.func.count(), sa.func.max(Staff.last_training_at),
                  sa.func.count().filter(cannot))
    ).where(*_counted(filters, units)).group_by(Staff.unit_id)


def obligations_by_unit(filters: Filters, today: date | sa.BindParameter[date], units: UnitIds) -> sa.Select:
    """(unit, people with obligations, one count per status...) per unit: the dashboard's main
    aggregate. Person by person first (the enrolments' staff index gives them in order, and
    a person is counted once), then by unit."""
    # A completion is current when it is of an edition the sync keeps marked current (its lessons
    # say what the course's say now); one of an edition never recorded is not.
    completed_now = EnrolmentStatus.COMPLETED.condition(today, current=True)
    behind = sa.and_(completed_now, sa.func.coalesce(CourseEdition.current, sa.false()).is_(sa.false()))
    per_person = sa.select(
        Enrolment.staff_id,
        *(sa.func.count().filter(s.condition(today, current=True)).label(s) for s in STATUSES),
        sa.func.count().filter(behind).label("behind"),
        sa.func.count().filter(sa.and_(completed_now, CourseEdition.legal.is_(None))).label("legal_unknown"),
        sa.func.min(sa.case((completed_now, CourseEdition.legal_superseded_from))).label("legal_since"),
    ).outerjoin(CourseEdition, sa.and_(CourseEdition.course_id == Enrolment.course_id,
                                       CourseEdition.content_hash == Enrolment.completed_version)
    ).where(obligation())
    if units is not None or filters.position_id:
        counted = sa.select(Staff.id).where(*_counted(filters, units))
        per_person = per_person.where(Enrolment.staff_id.in_(counted))
    per_person = _filtered(per_person, replace(filters, position_id=None), today)  # position: in ``counted``
    person = per_person.group_by(Enrolment.staff_id).subquery()
    completed = _most_urgent(person)[STATUSES.index(EnrolmentStatus.COMPLETED)]
    return (
        sa.select(Staff.unit_id, sa.func.count(), *(sa.func.count().filter(c) for c in _most_urgent(person)),
                  sa.func.count().filter(sa.and_(completed, person.c.behind == 0)),
                  sa.func.count().filter(sa.and_(completed, summary.legal_current(
                      person.c.legal_unknown, person.c.legal_since, today))))
        .join(person, person.c.staff_id == Staff.id)
        .where(Staff.status != StaffStatus.LEFT)
        .group_by(Staff.unit_id)
    )


def summarised(filters: Filters) -> bool:
    """Whether the summary table answers these filters (none, or a position only): the
    course, status and due-date filters read the enrolments (``obligations_by_unit``)."""
    return replace(filters, position_id=None) == Filters()


def _most_urgent(person: sa.Subquery) -> list[sa.ColumnElement[bool]]:
    """For each of STATUSES, in order: a person (a row of per-status obligation counts) counts
    under it when it is their most urgent one: overdue, then not started, then in progress;
    completed when nothing is left but completed or exempt courses; exempt when all are."""
    c = person.c
    nothing_open = sa.and_(c.overdue == 0, c.not_started == 0, c.in_progress == 0)
    conditions = {
        EnrolmentStatus.OVERDUE: c.overdue > 0,
        EnrolmentStatus.NOT_STARTED: sa.and_(c.overdue == 0, c.not_started > 0),
        EnrolmentStatus.IN_PROGRESS: sa.and_(c.overdue == 0, c.not_started == 0, c.in_progress > 0),
        EnrolmentStatus.COMPLETED: sa.and_(nothing_open, c.completed > 0),
        EnrolmentStatus.EXEMPT: sa.and_(nothing_open, c.completed == 0, c.exempt > 0),
    }
    return [conditions[s] for s in STATUSES]


def _per_unit_counts(filters: Filters, today: date, units: set[int] | None) -> dict[int, Row]:
    """Headcount, obligations by status, people with obligations and last activity per unit
    (of ``units``, or all): without filters or with a position only, the counts kept per version
    (``reports.counts.per_unit``: one statement when kept); otherwise two aggregate queries whatever the
    size of the roster."""
    rows: dict[int, Row] = defaultdict(lambda: Row(None))
    if summarised(filters):
        counted = kept_counts.per_unit(today, units, filters.position_id)
        for unit_id, found in counted.units.items():
            row = rows[unit_id]
            row.headcount, row.cannot_sign_in = found.headcount, found.cannot_sign_in
            row.people_required, row.current, row.legal_current = (
                found.people_required, found.current, found.legal_current)
            row.counts = dict(zip(summary.STATUS_ORDER, found.counts, strict=True))
        for unit_id, moment in counted.activity.items():
            if unit_id in rows:  # (a unit with people active: counted)
                rows[unit_id].last_activity = moment
        return rows
    for unit_id, count, moment, cannot_sign_in in db.session.execute(headcount_by_unit(filters, units)):
        rows[unit_id].headcount = count
        rows[unit_id].cannot_sign_in = cannot_sign_in
        if moment is not None:
            if isinstance(moment, str):  # SQLite gives max() of a timestamp as text
                moment = datetime.fromisoformat(moment)
            rows[unit_id].last_activity = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    for unit_id, people_count, *counts, current, legal_current in db.session.execute(
            obligations_by_unit(filters, today, units)):
        rows[unit_id].people_required = people_count
        rows[unit_id].counts = {s: int(c or 0) for s, c in zip(STATUSES, counts, strict=True)}
        rows[unit_id].current = int(current or 0)
        rows[unit_id].legal_current = int(legal_current or 0)
    return rows


# --- lists of people ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """The few fields of a roster row a list of people shows (not the whole ORM object)."""

    id: int
    staff_code: str
    full_name: str
    unit_id: int


@dataclass
class PersonRow:
    staff: Person
    unit_name: str  # the unit's label: with its path where the name repeats
    position_title: str
    course_title: str
    course_key: str
    status: EnrolmentStatus
    due_on: date | None
    days_overdue: int | None
    completed_at: datetime | None
    managers: str = ""
    enrolment_id: int = 0
    last_activity: datetime | None = None  # the person's latest training activity
    account: AccountStatus = AccountStatus.NONE
    progress: tuple[int, int] | None = None  # (lessons done, lessons in the course), filled for pages


def people(
    user: User, unit_id: int | None, filters: Filters, today: date, limit: int | None = 500
) -> list[PersonRow]:
    """Obligations of the people in ``unit_id``'s subtree (or the viewer's whole scope),
    one row per person and course, sorted the Vietnamese way."""
    return list(person_rows(people_query(user, unit_id, filters, today, limit), today, batch=None))


def people_query(
    user: User, unit_id: int | None, filters: Filters, today: date, limit: int | None = 500
) -> sa.Select:
    """The statement of :func:`people` (scope checked now: OutOfScope), for an export to count
    (:func:`count_rows`) and then stream (:func:`person_rows`)."""
    scope = scope_of(user)
    units: set[int] | None
    if unit_id is not None:
        if scope is not None and unit_id not in scope:
            raise OutOfScope()
        units = subtree_ids(unit_id)
    else:
        units = scope
    return _people_query(units, filters, today, limit)


def count_rows(stmt: sa.Select, at_most: int) -> int:
    """How many rows ``stmt`` gives, counting no further than ``at_most`` (an export's ceiling)."""
    counted = stmt.order_by(None).limit(at_most).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(counted)) or 0


def streamed(stmt: sa.Select, batch: int = STREAM_BATCH) -> Iterator[sa.Row]:
    """The rows of ``stmt``, read ``batch`` at a time (a server-side cursor on PostgreSQL).
    The cursor is closed when the rows end, or by :func:`close_streams` when the request ends
    first (a stream that failed or was dropped half-way): never later, once the connection
    has gone back to the pool."""
    result = db.session.execute(stmt.execution_options(yield_per=batch))
    if has_app_context():
        g.setdefault("open_streams", []).append(result)
    try:
        yield from result
    finally:
        result.close()


def close_streams() -> None:
    """Close the cursors :func:`streamed` left open (the reports' teardown_request, which runs
    before the session is removed)."""
    for result in g.pop("open_streams", []):
        result.close()


def _people_query(units: set[int] | None, filters: Filters, today: date, limit: int | None) -> sa.Select:
    status = EnrolmentStatus.expression(today, current=True)  # ``obligation()`` below: open, latest
    stmt: sa.Select = (
        sa.select(
            Staff.id,
            Staff.staff_code,
            Staff.full_name,
            Staff.unit_id,
            OrgUnit.name,
            Position.title,
            Course.title,
            Course.key,
            status,
            Enrolment.due_on,
            Enrolment.completed_at,
            Enrolment.id,
            Staff.last_training_at,
            account_status.expression(),
        )
    )
    stmt = (
        stmt.join(Enrolment, Enrolment.staff_id == Staff.id)
        .join(Course, Course.id == Enrolment.course_id)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .outerjoin(Position, Position.id == Staff.position_id)
        .where(obligation(), Staff.status != StaffStatus.LEFT)
    )
    stmt = account_status.join(stmt)
    if units is not None:
        stmt = stmt.where(Staff.unit_id.in_(units))
    if filters.account in ACCOUNT_FILTERS:
        stmt = stmt.where(account_status.expression().in_(CANNOT_SIGN_IN))
    stmt = _filtered(stmt, filters, today).order_by(Staff.sort_key, Course.title)
    if limit:
        stmt = stmt.limit(limit)
    return stmt


def person_rows(stmt: sa.Select, today: date, batch: int | None = STREAM_BATCH) -> Iterator[PersonRow]:
    """The rows of a :func:`people_query`, made as they are read: the cursor is read ``batch``
    rows at a time (a server-side cursor on PostgreSQL), so a long list is never all in memory.
    Run it inside the request (a streamed response: ``stream_with_context``). ``batch=None``:
    a page's few rows, read at once."""
    managers = managers_by_unit()
    labels = unit_labels()
    parents = dict(db.session.execute(sa.select(OrgUnit.id, OrgUnit.parent_id)).all())
    manager_of: dict[int, str] = {}
    for (
        staff_id,
        staff_code,
        full_name,
        staff_unit,
        unit_name,
        position,
        course_title,
        course_key,
        status_value,
        due_on,
        completed_at,
        enrolment_id,
        last_activity,
        account,
    ) in (streamed(stmt, batch) if batch else db.session.execute(stmt)):
        row_status = EnrolmentStatus(status_value)
        days = (today - due_on).days if row_status == EnrolmentStatus.OVERDUE and due_on else None
        if staff_unit not in manager_of:
            manager_of[staff_unit] = _manager_of(staff_unit, managers, parents)
        yield PersonRow(
            Person(staff_id, staff_code, full_name, staff_unit),
            labels.get(staff_unit, unit_name),
            position or "",
            course_title,
            course_key,
            row_status,
            due_on,
            days,
            completed_at,
            manager_of[staff_unit],
            enrolment_id,
            _aware(last_activity),
            AccountStatus(account),
        )


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def lesson_progress(rows: list[PersonRow]) -> None:
    """Fill each row's (lessons done, lessons in the course) for a page of a list: three queries."""
    if not rows:
        return
    keys = list({row.course_key for row in rows})
    staff_ids = list({row.staff.id for row in rows})
    courses = dict(db.session.execute(sa.select(Course.key, Course.id).where(Course.key.in_(keys))).all())
    totals = dict(db.session.execute(
        sa.select(Lesson.course_id, sa.func.count())
        .where(Lesson.course_id.in_(list(courses.values())), Lesson.archived.is_(False))
        .group_by(Lesson.course_id)).all())
    done: dict[tuple[int | None, int], int] = {
        (staff_id, course_id): count for staff_id, course_id, count in db.session.execute(
        sa.select(User.staff_id, Lesson.course_id, sa.func.count())
        .join(LessonProgress, LessonProgress.user_id == User.id)
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        # ``+ 0``: no index on the course, so the people come first. Without statistics SQLite
        # began from the courses' lessons and read every progress row of them (2.8 s for a page
        # of 161 people at 100,000 staff, against 4 ms this way: docs/performance.md)
        .where(User.staff_id.in_(staff_ids), (Lesson.course_id + 0).in_(list(courses.values())),
               Lesson.archived.is_(False))
        .group_by(User.staff_id, Lesson.course_id))}
    for row in rows:
        course_id = courses.get(row.course_key, 0)
        row.progress = (done.get((row.staff.id, course_id), 0), totals.get(course_id, 0))


def managers_by_unit() -> dict[int, list[str]]:
    managers: dict[int, list[str]] = defaultdict(list)
    for unit_id, name in db.session.execute(
        sa.select(User.scope_unit_id, User.display_name).where(
            User.role == Role.MANAGER, User.active.is_(True), User.scope_unit_id.is_not(None)
        )
    ):
        assert unit_id is not None  # (the WHERE leaves out managers without a unit)
        managers[unit_id].append(name)
    return managers


def _manager_of(unit_id: int, managers: dict[int, list[str]], parents: dict[int, int | None]) -> str:
    """The nearest manager up the tree from the person's unit."""
    seen = set()
    current: int | None = unit_id
    while current is not None and current not in seen:
        seen.add(current)
        if managers.get(current):
            return ", ".join(sorted(managers[current]))
        current = parents.get(current)
    return ""


# --- compliance as of a date ----------------------------------------------------------------------


@dataclass
class ComplianceRow:
    staff_id: int
    full_name: str
    staff_code: str
    compliant: bool
    missing: list[str]  # courses not in order on that day
    unit: str = ""  # the unit's label (with its path where names repeat), as the roster stood that day
    position: str = ""


@dataclass
class UnitCompliance:
    """One unit of the subtree (its own members, not its sub-units'): people on the day and
    how many were compliant."""

    unit_id: int
    label: str
    depth: int
    people: int
    compliant: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.compliant / self.people, 1) if self.people else None


@dataclass
class Compliance:
    """Who in a unit's subtree (or the viewer's whole scope), as the roster stood on ``day``,
    was compliant on ``day``."""

    unit: OrgUnit | None  # None: every unit the viewer sees
    day: date
    people: int  # members on that day
    compliant: int
    rows: list[ComplianceRow]  # the first ``limit`` members, in Vietnamese name order
    units: list[UnitCompliance] = field(default_factory=list)  # every unit with members, tree order
    unit_id: int | None = None  # the subtree counted (a manager's own unit when none was asked)
    labels: dict[int, str] = field(default_factory=dict, repr=False)  # unit labels, for the rows

    @property
    def truncated(self) -> bool:
        return len(self.rows) < self.people

    @property
    def percent(self) -> float | None:
        return round(100 * self.compliant / self.people, 1) if self.people else None


class UnknownUnit(OutOfScope):
    """No such unit (answered as one out of scope: not found)."""


MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger number names no unit


def unit_subtree(unit_id: int) -> sa.CTE:
    """The unit and every unit under it, in SQL (a recursive CTE): scope without a list of ids."""
    tree = sa.select(OrgUnit.id).where(OrgUnit.id == unit_id).cte("subtree", recursive=True)
    child = alias(OrgUnit, "child")
    return tree.union_all(sa.select(child.id).where(child.parent_id == tree.c.id))


def compliance_query(unit_id: int | None, day: date, limit: int | None) -> sa.Select:
    """The list of ``compliance``: rows of (person, name, code, a course they miss or NULL,
    unit and position that day) for the first ``limit`` members of the unit's subtree (every
    unit when None) in name order (None: all). The counts are ``compliance_by_unit_query``'s."""
    members = _members(unit_id, day)
    late = _late(day)
    first = sa.select(Staff.id.label("staff_id"), Staff.full_name, Staff.staff_code, Staff.sort_key,
                      members.c.unit_id, members.c.position_id).join(members, members.c.staff_id == Staff.id)
    if limit:
        first = first.order_by(Staff.sort_key, Staff.id).limit(limit)
    page = first.cte("page")
    listed = (
        sa.select(page.c.staff_id, page.c.full_name, page.c.staff_code, page.c.sort_key, page.c.unit_id,
                  page.c.position_id, Course.title)
        .select_from(page)
        .outerjoin(Enrolment, sa.and_(Enrolment.staff_id == page.c.staff_id, late))
        .outerjoin(Course, Course.id == Enrolment.course_id)
        .subquery("listed")
    )
    return sa.select(
        listed.c.staff_id, listed.c.full_name, listed.c.staff_code, listed.c.title, listed.c.unit_id,
        listed.c.position_id,
    ).order_by(listed.c.sort_key, listed.c.staff_id, listed.c.title)


def compliance_by_unit_query(unit_id: int | None, day: date) -> sa.Select:
    """(unit, members, members not compliant) per unit of the subtree on ``day``: one aggregate,
    whose sums are the whole subtree's counts."""
    members = _members(unit_id, day)
    late = sa.exists().where(Enrolment.staff_id == members.c.staff_id, _late(day))
    return (sa.select(members.c.unit_id, sa.func.count(), sa.func.count().filter(late))
            .group_by(members.c.unit_id))


def _members(unit_id: int | None, day: date) -> sa.CTE:
    """(staff, unit, position) of the people on the roster of the subtree (every unit: None) on ``day``."""
    roster = staff_as_of(day).subquery()
    in_unit = sa.select(roster.c.staff_id, roster.c.unit_id, roster.c.position_id).where(
        roster.c.status != StaffStatus.LEFT.value)
    if unit_id is not None:
        tree = unit_subtree(unit_id)
        in_unit = in_unit.join(tree, tree.c.id == roster.c.unit_id)
    return in_unit.cte("members").prefix_with("MATERIALIZED")  # read once, used twice


def _late(day: date) -> sa.ColumnElement[bool]:
    """A cycle that makes its course missing: required, assigned by then, not in order, and no
    other cycle of the course in order (looked for only when there are other cycles: a first
    cycle that is the latest is the only one). Probed person by person (the staff index)."""
    other = alias(Enrolment, "other")
    return sa.and_(
        Enrolment.required.is_(True),
        Enrolment.assigned_on <= day,
        sa.not_(in_order_on(day)),
        sa.or_(
            sa.and_(Enrolment.cycle == 1, Enrolment.latest.is_(True)),
            ~sa.exists().where(
                other.staff_id == Enrolment.staff_id,
                other.course_id == Enrolment.course_id,
                other.required.is_(True),
                other.assigned_on <= day,
                in_order_on(day, other),
            ),
        ),
    )


def compliance(user: User, unit_id: int | None, day: date, limit: int | None = 500, *,
               listed: bool = True) -> Compliance:
    """Who in ``unit_id`` (its subtree; None: the viewer's whole scope, the ministry for a
    reporter), as the roster stood on ``day``, was compliant on ``day``: every required course
    assigned by then was completed and still valid, exempt, closed, or not yet due
    (``training.status.in_order_on``). Counted in SQL whatever the size of the unit, the
    subtree a recursive CTE (no list of ids); the people listed are the first ``limit`` in
    name order (None: all), or none with ``listed=False`` (an export streams them:
    :func:`compliance_rows`)."""
    unit = None
    if unit_id is not None:
        unit = db.session.get(OrgUnit, unit_id) if 0 < unit_id <= MAX_ID else None
        if unit is None:
            raise UnknownUnit()
    scope = scope_of(user)
    if scope is not None:
        if unit_id is None and user.scope_unit_id is not None and scope:
            unit_id = user.scope_unit_id  # a manager's whole scope: their unit's subtree
        if unit_id not in scope:
            raise OutOfScope()
    labels = unit_labels()
    units = compliance_by_unit(unit_id, day, labels)
    result = Compliance(unit, day, sum(u.people for u in units), sum(u.compliant for u in units),
                        [], units, unit_id, labels)
    if listed:
        result.rows = list(compliance_rows(result, limit))
    return result


def compliance_rows(result: Compliance, limit: int | None,
                    batch: int = STREAM_BATCH) -> Iterator[ComplianceRow]:
    """The people of a :func:`compliance` (``listed=False`` for an export), first ``limit`` in
    name order, made as the cursor is read ``batch`` rows at a time: one person's rows (one per
    course missed) come together, in the query's order."""
    titles = dict(db.session.execute(sa.select(Position.id, Position.title)).all())
    row: ComplianceRow | None = None
    stmt = compliance_query(result.unit_id, result.day, limit)
    for staff_id, full_name, staff_code, title, unit_of, position in streamed(stmt, batch):
        if row is None or row.staff_id != staff_id:
            if row is not None:
                yield row
            row = ComplianceRow(staff_id, full_name, staff_code, True, [],
                                result.labels.get(unit_of, ""), titles.get(position, ""))
        if title is not None and title not in row.missing:  # two late cycles of a course: once
            row.compliant = False
            row.missing.append(title)
    if row is not None:
        yield row


def compliance_by_unit(unit_id: int | None, day: date, labels: dict[int, str]) -> list[UnitCompliance]:
    """Each unit of the subtree that had members on ``day``, in tree order: one aggregate query."""
    found = {unit_of: (people, late) for unit_of, people, late in
             db.session.execute(compliance_by_unit_query(unit_id, day))}
    ordered = [(unit.id, depth) for unit, depth in tree(include_closed=True)]
    ordered += [(u, 0) for u in found if u not in {i for i, _depth in ordered}]
    return [UnitCompliance(u, labels.get(u, str(u)), depth, found[u][0], found[u][0] - found[u][1])
            for u, depth in ordered if u in found]


# --- trend and course analytics --------------------------------------------------------------------


def completions_per_month(user: User, today: date, months: int = 12) -> list[tuple[str, int]]:
    """(yyyy-mm, completions) for the last ``months`` months, within the viewer's scope. A month
    is the local one: a course finished at 01:00 on the 1st in Hà Nội counts in that month."""
    firsts = [date(today.year, today.month, 1)]  # this month's first day, then each month's before
    for _ in range(months - 1):
        firsts.append((firsts[-1] - timedelta(days=1)).replace(day=1))
    # Each completion falls in the latest month that began (local midnight) before it.
    month = sa.case(*((Enrolment.completed_at >= clock.start_of(first), first.strftime("%Y-%m"))
                      for first in firsts))
    done = (
        sa.select(month.label("month"))
        .join(Staff, Staff.id == Enrolment.staff_id)
        .where(Enrolment.completed_at >= clock.start_of(firsts[-1]))
    )
    scope = scope_of(user)
    if scope is not None:
        done = done.where(Staff.unit_id.in_(scope))
    bucketed = done.subquery()  # grouped outside: PostgreSQL would see two copies of the CASE's values
    stmt = sa.select(bucketed.c.month, sa.func.count()).group_by(bucketed.c.month)
    found: dict[str, int] = dict(db.session.execute(stmt).all())
    return [(key, found.get(key, 0)) for key in (first.strftime("%Y-%m") for first in reversed(firsts))]
