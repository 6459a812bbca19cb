"""The tree of org units: subtrees, and reorganisations (create, rename, move, merge), from a
units file (``mooc roster units FILE``) or the admin pages.

A merge keeps the merged unit (inactive, ``merged_into`` set): its people move to the
unit it merged into, with the move in their history, and its sub-units hang from that unit
from then on. So a person's past stays theirs, and reports roll up by the tree as it is now.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

import sqlalchemy as sa

from mooc import clock, events, versions
from mooc.auth import audit
from mooc.auth.models import User
from mooc.database import chunks
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.i18n import lazy_gettext as _l
from mooc.roster import moves, planning
from mooc.roster.models import OrgUnit, RosterImport, Staff, StaffStatus
from mooc.roster.planning import PlanHasErrors
from mooc.roster.reader import UNIT_HEADERS_SHOWN, UNIT_REQUIRED, Cell, Sheet, cell_text
from mooc.roster.scope import ScopeError, is_scope_root, require_units, unscoped

# The tree walk's home is scope; re-exported here, where the rest of the tree is.
from mooc.roster.scope import children_map as children_map
from mooc.roster.scope import subtree_ids as subtree_ids
from mooc.roster.scope import subtrees as subtrees
from mooc.roster.tree import PATH_SEPARATOR as PATH_SEPARATOR
from mooc.roster.tree import TreeUnit, unit_tree
from mooc.roster.tree import labels_of as labels_of
from mooc.text import clean

MESSAGES = {
    "missing_column": _l("The file has no column for this. Add it, or choose it in the column mapping."),
    "duplicate_code": _l("The unit code %(value)s is also in row %(other)d."),
    "unknown_parent": _l("Unknown parent unit “%(value)s”."),
    "unknown_target": _l("Unknown unit “%(value)s” to merge into."),
    "merge_self": _l("A unit cannot be merged into itself."),
    "merge_new": _l("The unit %(value)s does not exist yet, so it cannot be merged."),
    "merge_inside": _l("A unit cannot be merged into one of its own sub-units."),
    "target_closed": _l("The unit “%(value)s” is closed and cannot receive another."),
    "cycle": _l("This parent would put the unit under itself."),
}


class UnitError(DomainError):
    """A reorganisation that cannot be done; ``code`` picks the message."""

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code] % self.params) if self.params else str(MESSAGES[self.code])


# --- the tree ------------------------------------------------------------------------------


KIND_LABELS = {  # the kinds the demo and the units file use; any other kind is shown as written
    "central": _l("Central"),
    "ministry": _l("Ministry or sector"),
    "province": _l("Province or city"),
    "district": _l("District"),
    "department": _l("Department"),
    "section": _l("Section"),
}


def kind_label(kind: str | None) -> str:
    """A unit's kind as people read it ("province" -> "Cấp tỉnh"); unknown kinds as written."""
    if not kind:
        return ""
    label = KIND_LABELS.get(kind.strip().lower())
    return str(label) if label is not None else kind


# --- how a unit reads -----------------------------------------------------------------------

def unit_labels(unit_ids: Iterable[int] | None = None) -> dict[int, str]:
    """Unit id -> how the unit reads in a list, an export, a preview or a mail: its name, and
    where another open unit has the same name, its parents' names up to where it reads as one
    ("Phòng Nghiệp vụ 1 — Thanh tra TP Hà Nội"). Worked out once per version of the tree and
    process (``mooc.roster.tree``); ``unit_ids``: only those (None: every unit)."""
    labels = unit_tree().labels
    if unit_ids is None:
        return dict(labels)
    return {unit_id: labels[unit_id] for unit_id in unit_ids if unit_id in labels}


def unit_rows() -> Sequence[TreeUnit]:
    """Every unit as a plain row (id, name, parent_id, code, active): the tree as this request
    reads it (``mooc.roster.tree.unit_tree``)."""
    return unit_tree().rows


def unit_label(unit: OrgUnit | TreeUnit | int | None) -> str:
    """One unit's label (see ``unit_labels``): for templates (a Jinja global) and messages."""
    if unit is None:
        return ""
    unit_id = unit if isinstance(unit, int) else unit.id
    return unit_tree().labels.get(unit_id, "" if isinstance(unit, int) else unit.name)


def tree(*, include_closed: bool = False) -> list[tuple[OrgUnit, int]]:
    """(unit, depth) in tree order, children by code: for lists and select boxes."""
    units = db.session.execute(sa.select(OrgUnit).order_by(OrgUnit.code)).scalars().all()
    children: dict[int | None, list[OrgUnit]] = {}
    for unit in units:
        if unit.active or include_closed:
            children.setdefault(unit.parent_id, []).append(unit)
    shown = {unit.id for group in children.values() for unit in group}
    out: list[tuple[OrgUnit, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for unit in children.get(parent, []):
            out.append((unit, depth))
            walk(unit.id, depth + 1)

    walk(None, 0)
    # Units whose parent is hidden (closed) still appear, at the top.
    for group_parent, group in children.items():
        if group_parent is not None and group_parent not in shown:
            for unit in group:
                out.append((unit, 0))
                walk(unit.id, 1)
    return out


# --- changes to one unit -----------------------------------------------------------------


def create_unit(*, code: str, name: str, parent: OrgUnit | None = None, kind: str = "",
                actor: User | None = None) -> OrgUnit:
    """A new unit under ``parent``; a scoped actor creates units inside their scope only (never
    a top-level one)."""
    if parent is None and not unscoped(actor):
        raise ScopeError("root_unit")
    require_units(actor, [parent.id] if parent else [])
    unit = OrgUnit(code=clean(code), name=clean(name), kind=clean(kind),
                   parent_id=parent.id if parent else None)
    db.session.add(unit)
    db.session.flush()
    audit.record("unit.created", actor=actor, target=unit.code, name=unit.name)
    return unit


def update_unit(unit: OrgUnit, *, name: str, parent: OrgUnit | None, kind: str,
                actor: User | None = None) -> None:
    """Rename, re-kind or move a unit under another parent (never under itself). A scoped
    actor edits units in their scope, moves them only within it, and never moves their own
    scope unit (its parent is outside the scope)."""
    new_parent = parent.id if parent else None
    require_units(actor, [unit.id])
    if new_parent != unit.parent_id:
        if is_scope_root(actor, unit.id):
            raise ScopeError("root_unit")
        require_units(actor, [new_parent])
    if parent is not None and parent.id in subtree_ids(unit.id):
        raise UnitError("cycle")
    name, kind = clean(name), clean(kind)
    details: dict[str, Any] = {}
    if name != unit.name:
        details["renamed"] = [unit.name, name]
        unit.name = name
    if new_parent != unit.parent_id:
        details["parent"] = [unit.parent_id, new_parent]
        unit.parent_id = new_parent
    if kind != unit.kind:
        details["kind"] = [unit.kind, kind]
        unit.kind = kind
    db.session.flush()
    if "parent" in details:
        moves.units_moved(subtree_ids(unit.id))
    if details:
        audit.record("unit.updated", actor=actor, target=unit.code, **details)


def check_merge(unit: OrgUnit, target: OrgUnit, actor: User | None = None) -> None:
    """Refuse a merge that cannot be done: into itself, into a closed unit, or into one of its
    own sub-units (``UnitError``); outside a scoped actor's units or of their scope unit
    itself (``ScopeError``)."""
    require_units(actor, [unit.id, target.id])
    if is_scope_root(actor, unit.id):
        raise ScopeError("root_unit")
    if unit.id == target.id:
        raise UnitError("merge_self")
    if not target.active:
        raise UnitError("target_closed", value=target.name)
    if target.id in subtree_ids(unit.id):
        raise UnitError("merge_inside")


@dataclass
class MergePlan:
    """What merging ``unit`` into ``target`` will do, shown before it is confirmed."""

    unit: OrgUnit
    target: OrgUnit
    people: int  # on the roster (not left) in the unit itself: they move to the target
    left: int  # people who left, recorded in the unit: their record follows it too
    sample: list[Staff]
    sub_units: list[tuple[OrgUnit, int]]  # sub-units that hang from the target from then on, people in each
    scoped: list[User]  # managers and officers whose scope is the unit: it moves to the target
    rules: list[str]  # what names the unit (the assignment rules): review them

    SAMPLE_SIZE: ClassVar[int] = 20


def plan_merge(unit: OrgUnit, target: OrgUnit, actor: User | None = None) -> MergePlan:
    """What ``merge_unit`` would do; changes nothing."""
    check_merge(unit, target, actor)
    counts: dict[bool, int] = {}
    for status, count in db.session.execute(sa.select(Staff.status, sa.func.count())
                                            .where(Staff.unit_id == unit.id).group_by(Staff.status)):
        left = status == StaffStatus.LEFT
        counts[left] = counts.get(left, 0) + count
    sample = list(db.session.scalars(
        sa.select(Staff).where(Staff.unit_id == unit.id, Staff.status != StaffStatus.LEFT)
        .order_by(Staff.sort_key).limit(MergePlan.SAMPLE_SIZE)))
    children = children_map()
    sub_units = []
    for child in db.session.scalars(sa.select(OrgUnit).where(OrgUnit.parent_id == unit.id)
                                    .order_by(OrgUnit.code)):
        inside = db.session.scalar(sa.select(sa.func.count()).select_from(Staff).where(
            Staff.unit_id.in_(subtree_ids(child.id, children)), Staff.status != StaffStatus.LEFT)) or 0
        sub_units.append((child, inside))
    scoped = list(db.session.scalars(sa.select(User).where(User.scope_unit_id == unit.id)
                                     .order_by(User.display_name)))
    rules = [text for _receiver, found in events.units_referenced.send(None, unit_ids={unit.id})
             for text in found or []]
    return MergePlan(unit, target, counts.get(False, 0), counts.get(True, 0), sample, sub_units,
                     scoped, rules)


def merge_unit(unit: OrgUnit, target: OrgUnit, *, actor: User | None = None,
               day: date | None = None) -> int:
    """Merge ``unit`` into ``target``: its people and sub-units move there, so do the scopes of
    the managers and officers of the unit; it closes.

    Returns how many people on the roster (not left) moved. A scoped actor merges units of
    their scope into units of their scope, never their own scope unit.
    """
    check_merge(unit, target, actor)
    day = day or clock.today()
    people = db.session.execute(sa.select(Staff.id, Staff.position_id, Staff.status, Staff.joined_on)
                             .where(Staff.unit_id == unit.id)).all()
    ids = [row.id for row in people]
    sub_units = set(db.session.execute(sa.select(OrgUnit.id).where(OrgUnit.parent_id == unit.id)).scalars())
    for chunk in chunks(ids):
        db.session.execute(sa.update(Staff).where(Staff.id.in_(chunk))
                        .values(unit_id=target.id, updated_at=clock.now()),
                        execution_options={"synchronize_session": False})
    events.touched(ids)
    db.session.execute(sa.update(OrgUnit).where(OrgUnit.parent_id == unit.id).values(parent_id=target.id),
                    execution_options={"synchronize_session": False})
    versions.raise_version(db.session, versions.ORG_UNITS)  # the tree changed outside the ORM
    scoped = list(db.session.scalars(sa.select(User.id).where(User.scope_unit_id == unit.id)))
    db.session.execute(sa.update(User).where(User.scope_unit_id == unit.id).values(scope_unit_id=target.id),
                       execution_options={"synchronize_session": False})
    unit.active = False
    unit.merged_into_id = target.id
    db.session.flush()
    db.session.expire_all()
    moves.record_moves([
        moves.Move(row.id, moves.Placement(target.id, row.position_id, row.status),
                   moves.Placement(unit.id, row.position_id, row.status), row.joined_on)
        for row in people], day)
    moves.units_moved(subtrees(sub_units))
    moved = sum(1 for row in people if row.status != StaffStatus.LEFT)
    audit.record("unit.merged", actor=actor, target=unit.code, into=target.code, people=moved,
                 left=len(ids) - moved, sub_units=len(sub_units), scopes_moved=scoped)
    return moved


# --- the units file --------------------------------------------------------------------------


class UnitChangeKind(enum.StrEnum):
    """What a units file does to one unit (a unit can be renamed and moved at once)."""

    ADDED = "added"
    RENAMED = "renamed"
    MOVED = "moved"        # under another parent
    CHANGED = "changed"    # its kind
    MERGED = "merged"


@dataclass(frozen=True)
class UnitIssue(planning.Issue):
    messages: ClassVar[Mapping[str, Any]] = {**planning.MESSAGES, **MESSAGES}


@dataclass
class UnitRow:
    row: int
    code: str
    name: str
    parent_code: str | None
    merged_into: str | None
    kind: str | None


@dataclass
class UnitChange:
    """What the file changes in one unit."""

    code: str
    added: bool = False
    renamed: tuple[str, str] | None = None                 # old name, new name
    moved: tuple[str | None, str | None] | None = None     # old parent code, new
    kind_changed: bool = False
    merged_into: str | None = None

    @property
    def kinds(self) -> list[UnitChangeKind]:
        found = [(self.added, UnitChangeKind.ADDED), (self.renamed, UnitChangeKind.RENAMED),
                 (self.moved, UnitChangeKind.MOVED), (self.kind_changed, UnitChangeKind.CHANGED),
                 (self.merged_into, UnitChangeKind.MERGED)]
        return [kind for present, kind in found if present]


@dataclass
class UnitPlan:
    filename: str = ""
    checksum: str = ""
    rows: list[UnitRow] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)   # code, old, new
    moved: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # code, old parent, new
    changed: list[str] = field(default_factory=list)                     # kind changed
    merged: list[tuple[str, str]] = field(default_factory=list)          # code, into
    unchanged: int = 0
    issues: list[UnitIssue] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "renamed": len(self.renamed), "moved": len(self.moved),
                "changed": len(self.changed), "merged": len(self.merged), "unchanged": self.unchanged}

    def summary(self) -> dict[str, Any]:
        return {**self.counts, "errors": [issue.as_dict() for issue in self.issues]}

    def add(self, change: UnitChange) -> None:
        if change.added:
            self.added.append(change.code)
        if change.renamed:
            self.renamed.append((change.code, *change.renamed))
        if change.moved:
            self.moved.append((change.code, *change.moved))
        if change.kind_changed:
            self.changed.append(change.code)
        if change.merged_into:
            self.merged.append((change.code, change.merged_into))


def plan_units(source: Sheet | Iterable[tuple[int, dict[str, Cell]]], *,
               filename: str = "", checksum: str = "") -> UnitPlan:
    """Compare a units file with the tree and say what importing it would do."""
    plan = UnitPlan(filename=filename, checksum=checksum)
    table = planning.read_table(source, UNIT_REQUIRED, UNIT_HEADERS_SHOWN)
    plan.issues = table.missing(UNIT_REQUIRED, UnitIssue)
    if plan.issues:
        return plan
    existing = {unit.code: unit for unit in db.session.execute(sa.select(OrgUnit)).scalars()}
    seen: dict[str, int] = {}
    for number, cells in table.rows:
        row = read_row(number, cells, with_kind="kind" in table.present)
        plan.issues += validate_row(row, seen, table.label)
        plan.rows.append(row)
    code_of = {unit.id: code for code, unit in existing.items()}
    parent_of = {code: code_of.get(unit.parent_id) if unit.parent_id is not None else None
                 for code, unit in existing.items()}
    parent_of.update({row.code: row.parent_code for row in plan.rows if row.code})
    known = set(existing) | set(seen)
    for row in plan.rows:
        plan.issues += _link_issues(row, existing, known, parent_of, table.label)
    if plan.issues:
        plan.issues.sort(key=lambda issue: issue.row)
        return plan
    for row in plan.rows:
        change = diff(row, existing.get(row.code), code_of)
        if change is None:
            plan.unchanged += 1
        else:
            plan.add(change)
    return plan


def read_row(number: int, cells: dict[str, Cell], *, with_kind: bool) -> UnitRow:
    return UnitRow(number, cell_text(cells.get("code")), cell_text(cells.get("name")),
                   cell_text(cells.get("parent_code")) or None, cell_text(cells.get("merged_into")) or None,
                   cell_text(cells.get("kind")) if with_kind else None)


def validate_row(row: UnitRow, seen: dict[str, int], label: Callable[[str], str]) -> list[UnitIssue]:
    """The row's own issues (``seen``: code -> the row that gave it first)."""
    issues: list[UnitIssue] = []

    def problem(name: str, code: str, **params: Any) -> None:
        issues.append(UnitIssue(row.row, label(name), code, params))

    if not row.code:
        problem("code", "required")
    elif len(row.code) > 40:
        problem("code", "too_long", n=40)
    elif row.code in seen:
        problem("code", "duplicate_code", value=row.code, other=seen[row.code])
    else:
        seen[row.code] = row.row
    if not row.name:
        problem("name", "required")
    elif len(row.name) > 200:
        problem("name", "too_long", n=200)
    if row.kind and len(row.kind) > 40:
        problem("kind", "too_long", n=40)
    return issues


def _link_issues(row: UnitRow, existing: dict[str, OrgUnit], known: set[str],
                 parent_of: dict[str, str | None], label: Callable[[str], str]) -> list[UnitIssue]:
    """Issues with the units a row names: its parent, the unit it merges into."""
    issues = []
    if row.parent_code and row.parent_code not in known:
        issues.append(UnitIssue(row.row, label("parent_code"), "unknown_parent", {"value": row.parent_code}))
    elif row.parent_code and _has_cycle(row.code, parent_of):
        issues.append(UnitIssue(row.row, label("parent_code"), "cycle"))
    if row.merged_into:
        problem = _merge_problem(row, existing, known, parent_of)
        if problem:
            code, params = problem
            issues.append(UnitIssue(row.row, label("merged_into"), code, params))
    return issues


def _merge_problem(row: UnitRow, existing: dict[str, OrgUnit], known: set[str],
                   parent_of: dict[str, str | None]) -> tuple[str, dict[str, Any]] | None:
    """Why the row's unit cannot merge where it says, as (code, params), or None."""
    into = row.merged_into
    assert into is not None
    target = existing.get(into)
    if into == row.code:
        return "merge_self", {}
    if into not in known:
        return "unknown_target", {"value": into}
    if row.code not in existing:
        return "merge_new", {"value": row.code}
    if target is not None and not target.active and target.merged_into_id is None:
        return "target_closed", {"value": into}
    if _under(into, row.code, parent_of):
        return "merge_inside", {}
    return None


def diff(row: UnitRow, unit: OrgUnit | None, code_of: dict[int, str]) -> UnitChange | None:
    """What the file changes in this row's unit (``unit``: as it is, None if new), or None."""
    if unit is None:
        return UnitChange(row.code, added=True)
    change = UnitChange(row.code)
    if row.name != unit.name:
        change.renamed = (unit.name, row.name)
    old_parent = code_of.get(unit.parent_id) if unit.parent_id else None
    if row.parent_code != old_parent and not (row.merged_into and unit.merged_into_id):
        change.moved = (old_parent, row.parent_code)
    change.kind_changed = row.kind is not None and row.kind != unit.kind
    merged_now = code_of.get(unit.merged_into_id) if unit.merged_into_id else None
    if row.merged_into and merged_now != row.merged_into:
        change.merged_into = row.merged_into
    return change if change.kinds else None


def _has_cycle(code: str, parent_of: dict[str, str | None]) -> bool:
    seen = {code}
    current = parent_of.get(code)
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = parent_of.get(current)
    return False


def _under(candidate: str, ancestor: str, parent_of: dict[str, str | None]) -> bool:
    current: str | None = candidate
    seen: set[str] = set()
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        current = parent_of.get(current)
    return False


def apply_units(plan: UnitPlan, actor: User | None = None, *, source: str = "cli") -> RosterImport:
    """Create, rename and move units, then do the merges; flush only."""
    if plan.issues:
        raise PlanHasErrors(len(plan.issues))
    units = _write_units(plan, actor)
    moves.units_moved(subtrees({units[code].id for code, _old, _new in plan.moved}))
    for code, into in plan.merged:
        target = units[into]
        while not target.active and target.merged_into_id is not None:
            target = db.session.get_one(OrgUnit, target.merged_into_id)
        merge_unit(units[code], target, actor=actor)
        units = {unit.code: unit for unit in db.session.execute(sa.select(OrgUnit)).scalars()}
    record = RosterImport(actor_id=actor.id if actor else None, kind="units", source=source,
                          filename=plan.filename[:255], checksum=plan.checksum or "-", full=False,
                          rows=len(plan.rows), counts=plan.counts)
    db.session.add(record)
    db.session.flush()
    audit.record("units.imported", actor=actor, target=plan.filename[:200] or plan.checksum,
                 checksum=plan.checksum, import_id=record.id, **plan.counts)
    return record


def _write_units(plan: UnitPlan, actor: User | None) -> dict[str, OrgUnit]:
    """New units created; names, parents and kinds written. Returns every unit by code."""
    units = {unit.code: unit for unit in db.session.execute(sa.select(OrgUnit)).scalars()}
    added = set(plan.added)
    for row in plan.rows:
        if row.code in added:
            units[row.code] = OrgUnit(code=row.code, name=row.name, kind=row.kind or "")
            db.session.add(units[row.code])
    db.session.flush()
    renamed = {code for code, _old, _new in plan.renamed}
    moved = {code for code, _old, _new in plan.moved}
    for row in plan.rows:
        unit = units[row.code]
        if row.code in renamed:
            audit.record("unit.updated", actor=actor, target=row.code, renamed=[unit.name, row.name])
            unit.name = row.name
        if row.code in added or row.code in moved:
            unit.parent_id = units[row.parent_code].id if row.parent_code else None
        if row.kind is not None:
            unit.kind = row.kind
    db.session.flush()
    return units
