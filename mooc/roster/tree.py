"""The unit tree as plain rows, with its labels, kept per version of the tree the database owns.

Every change of ``org_units`` raises the version ``versions.ORG_UNITS`` in its transaction: an
ORM flush that adds, changes or deletes a unit (the listener in ``roster/models.py``: the admin
pages, the units file, a merge, the demo, a test), and the one bulk write that bypasses the ORM
(``units.merge_unit``, moving the merged unit's sub-units) calls ``versions.raise_version``
itself; ``tests/roster/test_unit_tree_version.py`` fails on a bulk write of ``OrgUnit`` that
does not. A request reads the version (one small statement) and takes the tree of that version
from this process's cache, or reads it (the rows and the version in one statement) and keeps
it. So a worker or an app server that changes a unit shows the change to every other one at
their next request, and nothing is invalidated by hand (docs/architecture.md, "Caches keyed by
versions the database owns").
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import g, has_request_context

from mooc import versions
from mooc.caching import KeptCache, app_cache
from mooc.extensions import db
from mooc.roster.models import OrgUnit

PATH_SEPARATOR = " — "
MAX_VERSIONS = 8  # trees kept per process (a reorganisation makes a few in a row)


class TreeUnit(NamedTuple):
    """A unit as the tree reads it: what the reports and the labels need, no ORM object."""

    id: int
    name: str
    parent_id: int | None
    code: str
    active: bool


class UnitTree:
    """Every unit (``rows``, in the order the database gave them), by id, the children of each
    (``children``: closed units too; None: the top level) and, once asked, every unit's label.
    Shared by the threads of a process: nothing here is changed after it is built."""

    def __init__(self, rows: Iterable[TreeUnit], version: int | None) -> None:
        self.version = version
        self.rows: tuple[TreeUnit, ...] = tuple(rows)
        self.by_id: dict[int, TreeUnit] = {row.id: row for row in self.rows}
        self.children: dict[int | None, list[int]] = {}
        for row in self.rows:
            self.children.setdefault(row.parent_id, []).append(row.id)

    @functools.cached_property
    def labels(self) -> dict[int, str]:
        """Every unit's label (``labels_of``); worked out once per tree (a racing thread may work
        it out twice: the same dict)."""
        return labels_of(self.rows)


def labels_of(rows: Iterable[Sequence[Any]], only: Iterable[int] | None = None) -> dict[int, str]:
    """``units.unit_labels`` over (id, name, parent id, code, active) rows: a name alone where no
    other open unit bears it, else with one more ancestor at a time until the label is unique;
    the code in brackets as a last resort (same name all the way up). ``only``: label those units
    (of the rows) and no others (None: all)."""
    units = {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    def path(unit_id: int, depth: int) -> tuple[str, ...]:
        names: list[str] = []
        current: int | None = unit_id
        while current is not None and current in units and len(names) < depth:
            names.append(units[current][0])
            current = units[current][1]
        return tuple(names)

    open_units = [unit_id for unit_id, (_name, _parent, _code, active) in units.items() if active]
    counts: dict[int, Counter[tuple[str, ...]]] = {}
    labels: dict[int, str] = {}
    wanted = units if only is None else [unit_id for unit_id in dict.fromkeys(only) if unit_id in units]
    for unit_id in wanted:
        name, _parent, code, _active = units[unit_id]
        depth, label = 1, path(unit_id, 1)
        while True:
            if depth not in counts:
                counts[depth] = Counter(path(other, depth) for other in open_units)
            label = path(unit_id, depth)
            if counts[depth][label] <= 1 and (units[unit_id][3] or counts[depth][label] == 0):
                break
            if len(path(unit_id, depth + 1)) == depth:  # at the top: the code tells them apart
                label = (f"{name} ({code})", *label[1:])
                break
            depth += 1
        labels[unit_id] = PATH_SEPARATOR.join(label)
    return labels


@functools.cache
def _every_unit() -> sa.Select[Any]:
    """Every unit's row, and the tree's version read in the same statement (one snapshot)."""
    return sa.select(versions.version_column(versions.ORG_UNITS), OrgUnit.id, OrgUnit.name,
                     OrgUnit.parent_id, OrgUnit.code, OrgUnit.active)


def _read_tree() -> UnitTree:
    rows = db.session.execute(_every_unit()).all()
    version = rows[0][0] if rows else None
    return UnitTree((TreeUnit(*row[1:]) for row in rows), version)


def tree_cache() -> KeptCache:
    """This app's trees by version (a new version is a new key; the oldest go first)."""
    return app_cache("mooc.roster.unit_trees", lambda: KeptCache(MAX_VERSIONS))


def unit_tree() -> UnitTree:
    """The tree as this transaction sees it, read once per request (kept in ``g``): from this
    process's cache when the database's version of it is kept there, else read and kept. A
    transaction that changed a unit reads its own rows at every ask and keeps nothing (they may
    roll back); a database with no version yet (no row in ``data_versions``) keeps nothing."""
    return _unit_tree(lambda session: versions.read_version(session, versions.ORG_UNITS))


def unit_tree_at(version: int | None) -> UnitTree:
    """:func:`unit_tree`, the tree's version read by the caller in a statement of its own (one
    round trip fewer: the dashboard reads it with its rules and filter choices). Kept in ``g``
    as :func:`unit_tree` keeps it, so that later asks in the request take this one."""
    return _unit_tree(lambda _session: version)


def _unit_tree(version_of: Callable[[Any], int | None]) -> UnitTree:
    """:func:`unit_tree`'s rules, the version asked of ``version_of`` only when the tree may come
    from this process's cache."""
    session = db.session()
    if versions.raised_here(session, versions.ORG_UNITS):
        return _read_tree()
    found: UnitTree | None = g.get("_unit_tree") if has_request_context() else None
    return found if found is not None else _tree_of(version_of(session))


def _tree_of(version: int | None) -> UnitTree:
    """The tree of ``version`` (just read) from this process's cache, or read with its version and
    kept under the version read with the rows."""
    cache = tree_cache()
    kept = cache.peek(("tree", version)) if version is not None else None
    found = kept if isinstance(kept, UnitTree) else _read_tree()
    if kept is None and found.version is not None:
        cache.put(("tree", found.version), found)
    if has_request_context():
        g._unit_tree = found
    return found
