"""The reports' summary table (``report_people``), kept by the writes that change what it sums.

The dashboard counts each person once, under their most urgent status across their
obligations. Counting that from the enrolments reads every obligation of the roster
(730,000 rows at 100,000 staff); the summary keeps one narrow row per person instead
(``ReportPerson``), from which the same counts come on any day: overdue is
``open_due < today``, decided when read, so nothing stored changes with the clock.

A row is never incremented: it is *recomputed* from the live enrolments and roster row of
its person, so touching a person twice, or one who did not change, is harmless. Who is
recomputed, in the transaction that made the change:

- ORM writes are seen by a session hook (``after_flush``): enrolments added, changed or
  deleted, staff rows added, changed or deleted;
- bulk writes that bypass the ORM name their people with ``mooc.events.touched(ids)``
  (``tests/reports/test_summary.py`` fails on any bulk statement on ``staff`` or
  ``enrolments`` in ``mooc/`` whose function does not).

The people touched are recomputed before the transaction commits (``before_commit``), and
before the summary is read in the transaction that touched them (``settle()``): a report
read right after a write in the same transaction counts it. On PostgreSQL the people's
``staff`` rows are locked (``FOR NO KEY UPDATE``, which does not block an enrolment's
foreign key check) while their rows are recomputed, so two transactions touching one person
recompute one after the other, the second seeing the first's committed enrolments.
``mooc reports rebuild-summary`` (``rebuild()``) makes the whole table again.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstanceState, Session

from mooc import events, versions
from mooc.auth.models import User
from mooc.courses.models import CourseEdition
from mooc.database import chunks
from mooc.extensions import db
from mooc.reports.models import ReportPerson
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import Enrolment, EnrolmentState

REBUILD_ABOVE = 20_000  # past this many people touched, one set-based rebuild is cheaper
_PENDING = "report_people.pending"  # session.info: the staff ids touched (or _EVERYONE)
_COMMITTING = "report_people.committing"  # session.info: settled by before_commit
_EVERYONE = "everyone"

_table = ReportPerson.__table__
_OPEN = (EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS)


def legal_current(unknown: Any, since: Any, today: Any) -> sa.ColumnElement[bool]:
    """A person's completions are current with the legal basis on ``today``: every completed
    edition's basis is known (``unknown``: how many are not) and none of its documents is
    wholly superseded by then (``since``: the earliest day one is)."""
    return sa.and_(unknown == 0, sa.or_(since.is_(None), since > today))


def obligation(enrolment: Any = Enrolment) -> sa.ColumnElement[bool]:
    """What is owed: required, still open, the person's latest cycle of the course."""
    return sa.and_(enrolment.required.is_(True), enrolment.closed_at.is_(None), enrolment.latest.is_(True))


# --- who was touched -------------------------------------------------------------------------------


def touch(session: Session, staff_ids: Iterable[int] | None) -> None:
    """Mark people (None: everyone) to be recomputed before ``session`` commits."""
    pending = session.info.get(_PENDING)
    if pending == _EVERYONE:
        return
    if staff_ids is None:
        session.info[_PENDING] = _EVERYONE
        return
    ids = {i for i in staff_ids if i is not None}
    if not ids:
        return
    if pending is None:
        pending = session.info[_PENDING] = set()
    pending.update(ids)


def _on_staff_touched(_sender: object, *, staff_ids: set[int] | None) -> None:
    """``events.touched()``: a bulk writer names the people it wrote, in the request's session."""
    touch(db.session(), staff_ids)


def _staff_ids_of(obj: Enrolment | User) -> set[int]:
    """The person of an enrolment or account, and the earlier one if the flush moved it to another."""
    state: InstanceState[Any] = sa.inspect(obj)
    history = state.attrs.staff_id.history
    return {i for i in (*history.added, *history.unchanged, *history.deleted) if i is not None}


# What the reports count of an account (whether it can sign in: mooc.roster.account_status): a
# change of anything else (the last sign-in, a display name) touches nobody.
ACCOUNT_FIELDS = ("staff_id", "active", "password_hash", "role", "email")


def _account_changed(session: Session, user: User) -> bool:
    if user in session.new or user in session.deleted:
        return True
    state: InstanceState[Any] = sa.inspect(user)
    return any(state.attrs[name].history.has_changes() for name in ACCOUNT_FIELDS)


@sa.event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    """The people whose enrolments, roster row or account this flush wrote (the ORM's writes)."""
    ids: set[int] = set()
    dirty = session.dirty  # worked out once: asked per object, it made a flush of n changed rows n² long
    for obj in (*session.new, *dirty, *session.deleted):
        if isinstance(obj, User):
            if _account_changed(session, obj):
                ids |= _staff_ids_of(obj)
            continue
        if not isinstance(obj, Enrolment | Staff):
            continue
        if obj in dirty and not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, Enrolment):
            ids |= _staff_ids_of(obj)
        elif obj.id is not None:
            ids.add(obj.id)
    if not ids:
        return
    if session.info.get(_COMMITTING):
        # a flush after before_commit settled (another listener wrote late): recompute now
        _recompute(session.connection(), ids)
        versions.raise_version(session, versions.REPORT_COUNTS)
    else:
        touch(session, ids)


@sa.event.listens_for(Session, "before_commit")
def _settle_before_commit(session: Session) -> None:
    settle(session)
    if not session.in_nested_transaction():  # (it also runs when a savepoint is released)
        if session.info.get(_PENDING):
            # the counts kept per version (reports/counts.py) were of the rows before: raised
            # last, after the people's staff rows were locked (one order of locks for every writer)
            versions.raise_version(session, versions.REPORT_COUNTS)
        session.info[_COMMITTING] = True


@sa.event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    """The outermost transaction ended (committed or rolled back): nothing is pending. A
    savepoint's end keeps the set: what was recomputed inside a savepoint rolled back is
    recomputed again at commit."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_COMMITTING, None)


def touched_here(session: Session) -> bool:
    """Whether this transaction touched anyone (what it counts may still roll back)."""
    return bool(session.info.get(_PENDING))


def settle(session: Session | None = None) -> None:
    """Recompute the rows of the people touched in this transaction (after flushing): the
    summary then agrees with the enrolments the transaction sees. A no-op when nobody was
    touched (every read-only request)."""
    session = session if session is not None else db.session()
    if not session.info.get(_PENDING):
        return
    session.flush()
    pending = session.info.get(_PENDING)
    if not pending:
        return
    connection = session.connection()
    if pending == _EVERYONE or len(pending) > REBUILD_ABOVE:
        refill(connection)
    else:
        _recompute(connection, pending)


# --- recomputing ----------------------------------------------------------------------------------


def _computed(staff_ids: sa.BindParameter[Any] | None = None) -> sa.Select:
    """The rows the summary should hold (for ``staff_ids``, or everyone), from the live
    enrolments and roster: person by person over the enrolments' obligations index."""
    is_open = Enrolment.state.in_(_OPEN)
    completed = Enrolment.state == EnrolmentState.COMPLETED
    edition_behind = sa.and_(completed, sa.func.coalesce(CourseEdition.current, sa.false()).is_(sa.false()))
    legal_unknown = sa.and_(completed, CourseEdition.legal.is_(None))  # no edition recorded, or its basis
    stmt = (
        sa.select(
            Enrolment.staff_id,
            Staff.unit_id,
            Staff.position_id,
            sa.func.min(sa.case((is_open, Enrolment.due_on))),
            *(sa.func.count().filter(Enrolment.state == state)
              for state in (EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS,
                            EnrolmentState.COMPLETED, EnrolmentState.EXEMPT)),
            sa.func.count().filter(edition_behind),
            sa.func.count().filter(legal_unknown),
            sa.func.min(sa.case((completed, CourseEdition.legal_superseded_from))),
        )
        .join(Staff, Staff.id == Enrolment.staff_id)
        .outerjoin(CourseEdition, sa.and_(CourseEdition.course_id == Enrolment.course_id,
                                          CourseEdition.content_hash == Enrolment.completed_version))
        .where(obligation(), Staff.status != StaffStatus.LEFT)
        .group_by(Enrolment.staff_id, Staff.unit_id, Staff.position_id)
    )
    if staff_ids is not None:
        stmt = stmt.where(Enrolment.staff_id.in_(staff_ids))
    return stmt


_COLUMNS = ["staff_id", "unit_id", "position_id", "open_due", "not_started", "in_progress", "completed",
            "exempt", "behind", "legal_unknown", "legal_since"]


@functools.cache
def _statements(dialect: str) -> tuple[sa.Executable, sa.Executable, sa.Executable]:
    """(lock the people, upsert their rows, delete the rows of those who owe nothing now),
    built once per process; ``ids`` is an expanding parameter."""
    ids: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
    lock = sa.select(Staff.id).where(Staff.id.in_(ids)).order_by(Staff.id).with_for_update(key_share=True)
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_table)
    upsert = insert.from_select(_COLUMNS, _computed(ids))
    upsert = upsert.on_conflict_do_update(
        index_elements=["staff_id"], set_={name: upsert.excluded[name] for name in _COLUMNS[1:]})
    owed = (sa.select(Enrolment.staff_id).join(Staff, Staff.id == Enrolment.staff_id)
            .where(Enrolment.staff_id == _table.c.staff_id, obligation(), Staff.status != StaffStatus.LEFT))
    delete = sa.delete(_table).where(_table.c.staff_id.in_(ids), ~sa.exists(owed))
    return lock, upsert, delete


def _recompute(connection: sa.Connection, staff_ids: Iterable[int]) -> None:
    """Make the rows of these people agree with their enrolments and roster rows."""
    lock, upsert, delete = _statements(connection.dialect.name)
    for ids in chunks(sorted(staff_ids)):
        chunk = {"ids": ids}
        if connection.dialect.name == "postgresql":
            connection.execute(lock, chunk)
        connection.execute(upsert, chunk)
        connection.execute(delete, chunk)


def refill(connection: sa.Connection) -> None:
    """Every row made again from the enrolments and the roster, on ``connection`` (after bulk
    loads that bypass the session: the benchmark's generator)."""
    if connection.dialect.name == "postgresql":
        # writers' recomputes wait until this commits, and this waits for theirs in flight
        connection.execute(sa.text("LOCK TABLE report_people IN EXCLUSIVE MODE"))
    connection.execute(sa.delete(_table))
    connection.execute(sa.insert(_table).from_select(_COLUMNS, _computed()))
    versions.raise_on_connection(connection, versions.REPORT_COUNTS)


@dataclass
class Rebuilt:
    people: int  # rows now in the summary: people who owe training
    added: int  # rows that were missing
    removed: int  # rows that should not have been there
    changed: int  # rows whose numbers were wrong


def rebuild(session: Session | None = None) -> Rebuilt:
    """Make the whole summary again from the enrolments and the roster, in the session's
    transaction (the caller commits), and say how far the old one was off."""
    session = session if session is not None else db.session()
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("LOCK TABLE report_people IN EXCLUSIVE MODE"))
    computed = {row[0]: tuple(row[1:]) for row in connection.execute(_computed())}
    stored = {row[0]: tuple(row[1:])
              for row in connection.execute(sa.select(*(_table.c[name] for name in _COLUMNS)))}
    result = Rebuilt(
        people=len(computed),
        added=len(computed.keys() - stored.keys()),
        removed=len(stored.keys() - computed.keys()),
        changed=sum(1 for key in computed.keys() & stored.keys() if computed[key] != stored[key]),
    )
    refill(connection)
    versions.raise_version(session, versions.REPORT_COUNTS)  # (marks this transaction's own too)
    session.info.pop(_PENDING, None)
    return result


# --- reading --------------------------------------------------------------------------------------


@functools.cache
def by_unit(scoped: bool, positioned: bool) -> sa.Select:
    """(unit, people with obligations, then people per status in ``statuses`` order: completed,
    in progress, not started, overdue, exempt, then people current with the latest editions) per
    unit, from the summary: each person under
    their most urgent status on the day ``today`` (a parameter). ``scoped``: only the units
    of the expanding parameter ``counted_units``; ``positioned``: only ``position_id``. Built
    once per process."""
    c = _table.c
    today = sa.bindparam("today", type_=c.open_due.type)
    overdue = sa.and_(c.open_due.is_not(None), c.open_due < today)
    on_time = sa.not_(overdue)
    nothing_open = sa.and_(c.not_started == 0, c.in_progress == 0)
    counts = {
        "completed": sa.and_(nothing_open, c.completed > 0),
        "in_progress": sa.and_(on_time, c.not_started == 0, c.in_progress > 0),
        "not_started": sa.and_(on_time, c.not_started > 0),
        "overdue": overdue,
        "exempt": sa.and_(nothing_open, c.completed == 0, c.exempt > 0),
    }
    current = sa.and_(counts["completed"], c.behind == 0)  # done, and with the courses' latest editions
    # done, and every completion rests on documents in force today (legal_current)
    legal = sa.and_(counts["completed"], legal_current(c.legal_unknown, c.legal_since, today))
    stmt = sa.select(c.unit_id, sa.func.count(), *(sa.func.count().filter(counts[s]) for s in counts),
                     sa.func.count().filter(current), sa.func.count().filter(legal))
    if scoped:
        stmt = stmt.where(c.unit_id.in_(sa.bindparam("counted_units", expanding=True)))
    if positioned:
        stmt = stmt.where(c.position_id == sa.bindparam("position_id"))
    return stmt.group_by(c.unit_id)


STATUS_ORDER = ("completed", "in_progress", "not_started", "overdue", "exempt")  # by_unit's columns


def per_unit(today: date, units: set[int] | None, position_id: int | None) -> list[sa.Row]:
    """:func:`by_unit`'s rows for ``today``, ``units`` (None: all) and ``position_id``
    (None: every position), after recomputing what this transaction touched."""
    settle()
    params: dict[str, Any] = {"today": today}
    if units is not None:
        params["counted_units"] = sorted(units)
    if position_id is not None:
        params["position_id"] = position_id
    return list(db.session.execute(by_unit(units is not None, position_id is not None), params))


def connect() -> None:
    events.staff_touched.connect(_on_staff_touched)
