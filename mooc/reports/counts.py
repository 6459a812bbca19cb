"""The dashboard's counts per unit, kept per version the database owns (docs/architecture.md,
"Caches keyed by versions the database owns").

Without filters (or with a position only) the dashboard counts, per unit, the people on the
roster, those whose account cannot sign in, and those who owe training by their most urgent
status (the summary, ``report_people``). Everything these depend on but the day and the
sign-in locks is written only by writes the summary's upkeep follows (``summary._collect`` for
the ORM's writes of staff, enrolments and the accounts' fields that decide whether one can sign
in; ``events.touched()`` from every bulk writer), and that upkeep raises the version
``versions.REPORT_COUNTS`` in the transaction of every such change. So the counts are kept per
process under (that version, the day, the units counted, the position, the app's ways in):

- a request reads the version, the latest training activity of each unit counted (an index
  seek per unit and status: it changes with every lesson done, so it is never kept) and how
  many sign-in locks hold now, in one statement (:func:`_glance`);
- on a miss, the counts and the version are read in one statement (:func:`_counting`: one
  snapshot), and kept under that version;
- who is locked out is counted live, and only when a lock holds (nearly never): a lock ends
  with time, so a count of it is never kept (:func:`_locked_out`);
- a transaction that touched anyone (or raised the version) counts its own rows and keeps
  nothing (it may roll back).

``tests/reports/test_kept_counts.py`` proves it fresh on two apps on one database and on two
gunicorn servers after every kind of change.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from mooc import clock, versions
from mooc.auth import backends
from mooc.caching import KeptCache, app_cache
from mooc.extensions import db
from mooc.reports import summary
from mooc.roster import account_status
from mooc.roster.models import OrgUnit, Staff, StaffStatus

CACHE_SIZE = 1024  # kept counts per process: one per version, day, units and position
_ON_ROSTER = tuple(status for status in StaffStatus if status != StaffStatus.LEFT)


@dataclass(frozen=True, slots=True)
class UnitCounts:
    """One unit's own people (not its sub-units'), as the dashboard counts them."""

    headcount: int = 0
    cannot_sign_in: int = 0
    people_required: int = 0
    counts: tuple[int, ...] = (0, 0, 0, 0, 0)  # summary.STATUS_ORDER
    current: int = 0
    legal_current: int = 0


@dataclass
class Counted:
    """The counts of every unit counted, with their latest training activity (read per request)."""

    units: dict[int, UnitCounts]
    activity: dict[int, datetime]


def _units_param(scoped: bool) -> dict[str, Any]:
    return {"counted_units": sa.bindparam("counted_units", expanding=True)} if scoped else {}


@functools.cache
def _glance(scoped: bool, positioned: bool) -> sa.CompoundSelect:
    """(kind, number, moment) rows: each unit's latest training activity per roster status
    (kind 1: the unit, the moment), of the people of ``position_id`` when ``positioned``, the
    counts' version (kind 0) and the locks holding at ``now`` (kind 2). Per unit and status an
    index seek (``ix_staff_unit_activity``), not a scan of its people. Built once per process."""
    now = sa.bindparam("now", type_=Staff.last_training_at.type)
    units = sa.select(OrgUnit.id)
    if scoped:
        units = units.where(OrgUnit.id.in_(sa.bindparam("counted_units", expanding=True)))
    listed = units.subquery("counted")
    position = [Staff.position_id == sa.bindparam("position_id")] if positioned else []
    latest = [sa.select(sa.literal(1, sa.Integer).label("kind"), listed.c.id.label("number"),
                        sa.select(sa.func.max(Staff.last_training_at))
                        .where(Staff.unit_id == listed.c.id, Staff.status == status, *position)
                        .scalar_subquery().label("moment"))
              for status in _ON_ROSTER]
    null_moment = sa.cast(sa.null(), Staff.last_training_at.type)
    return sa.union_all(
        *latest,
        sa.select(sa.literal(0, sa.Integer), versions.version_column(versions.REPORT_COUNTS), null_moment),
        sa.select(sa.literal(2, sa.Integer), account_status.any_lock(now), null_moment),
    )


@functools.cache
def _counting(scoped: bool, positioned: bool, ways: backends.WaysIn) -> sa.CompoundSelect:
    """(kind, unit, numbers...) rows: the counts' version (kind 0, its number in the unit's
    place), per unit the headcount and who cannot sign in apart from a lock (kind 1), per unit
    the summary's people by most urgent status (kind 2: ``summary.by_unit``'s columns), in one
    statement: one snapshot. ``today``, ``counted_units`` and ``position_id`` are parameters.
    Built once per process and ways in."""
    cannot = sa.not_(account_status.signs_in_apart_from_locks(ways))
    heads = account_status.join(
        sa.select(sa.literal(1, sa.Integer), Staff.unit_id, sa.func.count(), sa.func.count().filter(cannot),
                  *[sa.cast(sa.null(), sa.Integer)] * 6)
    ).where(*_counted_staff(scoped, positioned)).group_by(Staff.unit_id)
    owed = summary.by_unit(scoped, positioned)
    owed = owed.with_only_columns(sa.literal(2, sa.Integer), *owed.selected_columns)
    version = sa.select(sa.literal(0, sa.Integer), versions.version_column(versions.REPORT_COUNTS),
                        *[sa.cast(sa.null(), sa.Integer)] * 8)
    return sa.union_all(version, heads, owed)


def _counted_staff(scoped: bool, positioned: bool) -> list[sa.ColumnElement[bool]]:
    conditions = [Staff.status != StaffStatus.LEFT]
    if scoped:
        conditions.append(Staff.unit_id.in_(sa.bindparam("counted_units", expanding=True)))
    if positioned:
        conditions.append(Staff.position_id == sa.bindparam("position_id"))
    return conditions


@functools.cache
def _locked_out_statement(scoped: bool, positioned: bool, ways: backends.WaysIn) -> sa.Select:
    """Per unit, the people whose account would sign in but for a lock holding at ``now``."""
    now = sa.bindparam("now", type_=Staff.last_training_at.type)
    return account_status.join(sa.select(Staff.unit_id, sa.func.count())).where(
        *_counted_staff(scoped, positioned), account_status.signs_in_apart_from_locks(ways),
        account_status.locked_out(now, ways)).group_by(Staff.unit_id)


def _params(today: date, units: set[int] | None, position_id: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {"today": today, "now": clock.now()}
    if units is not None:
        params["counted_units"] = sorted(units)
    if position_id is not None:
        params["position_id"] = position_id
    return params


def _moment(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value  # (SQLite's max(): text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_counts(scoped: bool, positioned: bool, ways: backends.WaysIn,
                 params: dict[str, Any]) -> tuple[int | None, dict[int, UnitCounts]]:
    """The counts and the version they are of (None: no version row, nothing to keep under)."""
    heads: dict[int, tuple[int, int]] = {}
    owed: dict[int, UnitCounts] = {}
    version = None
    for kind, unit_id, *numbers in db.session.execute(_counting(scoped, positioned, ways), params):
        if kind == 0:
            version = unit_id
        elif kind == 1:
            heads[unit_id] = (numbers[0], numbers[1])
        else:
            people, *counts, current, legal = (int(n or 0) for n in numbers)
            owed[unit_id] = UnitCounts(0, 0, people, tuple(counts), current, legal)
    found = {}
    for unit_id in heads.keys() | owed.keys():
        headcount, cannot = heads.get(unit_id, (0, 0))
        base = owed.get(unit_id, UnitCounts())
        found[unit_id] = UnitCounts(headcount, cannot, base.people_required, base.counts, base.current,
                                    base.legal_current)
    return version, found


def _read_glance(rows: Iterable[Any]) -> tuple[int | None, int, dict[int, datetime]]:
    """The version, how many locks hold, and each unit's latest activity, from ``_glance``'s rows."""
    activity: dict[int, datetime] = {}
    version, locks = None, 0
    for kind, number, moment in rows:
        if kind == 1 and moment is not None:
            moment = _moment(moment)
            if number not in activity or moment > activity[number]:
                activity[number] = moment
        elif kind == 0:
            version = number
        elif kind == 2:
            locks = number or 0
    return version, locks, activity


def counts_cache() -> KeptCache:
    return app_cache("mooc.reports.kept_counts", lambda: KeptCache(CACHE_SIZE))


def per_unit(today: date, units: set[int] | None, position_id: int | None) -> Counted:
    """The dashboard's counts of ``units`` (None: all) for ``today`` and ``position_id`` (None:
    every position): kept per version when this transaction changed nothing they count."""
    scoped, positioned = units is not None, position_id is not None
    ways = backends.ways_in()
    params = _params(today, units, position_id)
    session = db.session()
    glance = _glance(scoped, positioned)  # on the connection (no ORM: plain rows), where the session reads it
    connection = session.connection(bind_arguments={"clause": glance})
    version, locks, activity = _read_glance(connection.execute(glance, params))
    own = summary.touched_here(session) or versions.raised_here(session, versions.REPORT_COUNTS)
    key = ("counts", version, today, None if units is None else tuple(sorted(units)), position_id, ways)
    kept = None if own or version is None else counts_cache().peek(key)
    if isinstance(kept, dict):
        found: dict[int, UnitCounts] = kept
    else:
        summary.settle(session)
        read_version, found = _read_counts(scoped, positioned, ways, params)
        if not own and read_version is not None:
            counts_cache().put(key[:1] + (read_version,) + key[2:], found)
    if locks:
        locked = session.execute(_locked_out_statement(scoped, positioned, ways), params)
        found = _with_locked_out(found, locked)
    return Counted(found, activity)


def _with_locked_out(found: dict[int, UnitCounts], rows: Iterable[Any]) -> dict[int, UnitCounts]:
    """The kept counts with the people a lock keeps out now among those who cannot sign in."""
    result = dict(found)
    for unit_id, locked in rows:
        unit = result.get(unit_id, UnitCounts())
        result[unit_id] = UnitCounts(unit.headcount, unit.cannot_sign_in + locked, unit.people_required,
                                     unit.counts, unit.current, unit.legal_current)
    return result
