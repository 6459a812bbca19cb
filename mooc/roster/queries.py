"""Reading the roster: who a user may see, the filtered and paginated list, "as of a date"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, joinedload

from mooc.auth.models import User
from mooc.extensions import db
from mooc.roster import keys
from mooc.roster.models import OrgUnit, Staff, StaffHistory, StaffStatus
from mooc.roster.scope import subtree_ids
from mooc.roster.scope import visible_units as visible_units  # its home is scope; read here too
from mooc.roster.units import tree

PER_PAGE = 50


def can_see(user: User, staff: Staff) -> bool:
    scope = visible_units(user)
    return scope is None or staff.unit_id in scope


@dataclass
class RosterFilter:
    unit_id: int | None = None          # this unit and its sub-units
    position_id: int | None = None
    status: StaffStatus | None = None
    query: str = ""


@dataclass
class Page:
    items: list[Staff]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _ordering() -> list[sa.ColumnElement[str] | InstrumentedAttribute[str]]:
    if db.session.get_bind().dialect.name == "postgresql":
        return [Staff.sort_key.collate("C"), Staff.staff_code]
    return [Staff.sort_key, Staff.staff_code]


def _conditions(user: User, filters: RosterFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    scope = visible_units(user)
    if scope is not None:
        conditions.append(Staff.unit_id.in_(scope or {-1}))
    if filters.unit_id is not None:
        conditions.append(Staff.unit_id.in_(subtree_ids(filters.unit_id)))
    if filters.position_id is not None:
        conditions.append(Staff.position_id == filters.position_id)
    if filters.status is not None:
        conditions.append(Staff.status == filters.status)
    for word in keys.search_words(filters.query):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Staff.search_text.like(f"%{escaped}%", escape="\\"))
    return conditions


def roster_page(user: User, filters: RosterFilter, page: int = 1,
                per_page: int = PER_PAGE) -> Page:
    """One page of the people ``user`` may see that match ``filters``, in Vietnamese name order."""
    conditions = _conditions(user, filters)
    total = db.session.execute(sa.select(sa.func.count()).select_from(Staff).where(*conditions)).scalar_one()
    page = max(1, min(page, max(1, -(-total // per_page))))
    items = db.session.execute(
        sa.select(Staff).where(*conditions).options(joinedload(Staff.unit), joinedload(Staff.position))
        .order_by(*_ordering()).limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return Page(list(items), total, page, per_page)


def roster_people(user: User, filters: RosterFilter) -> list[Staff]:
    """Everyone ``user`` may see who matches ``filters`` (all pages), in the list's order."""
    return list(db.session.execute(
        sa.select(Staff).where(*_conditions(user, filters)).order_by(*_ordering())).scalars())


def staff_as_of(day: date) -> sa.CompoundSelect:
    """(staff_id, unit_id, position_id, status) of everyone on the roster on ``day``.

    From the history; people with no history row at all (created before it was kept, or
    outside an import) count with their current values.
    """
    recorded = (sa.select(StaffHistory.staff_id, StaffHistory.unit_id, StaffHistory.position_id,
                          StaffHistory.status)
                .where(StaffHistory.valid_from <= day,
                       sa.or_(StaffHistory.valid_to.is_(None), StaffHistory.valid_to > day)))
    no_history = (sa.select(Staff.id, Staff.unit_id, Staff.position_id, Staff.status)
                  .where(~sa.exists().where(StaffHistory.staff_id == Staff.id)))
    return sa.union_all(recorded, no_history)


def unit_choices(user: User) -> list[tuple[OrgUnit, int]]:
    """Active units ``user`` may filter by, in tree order with depth."""
    scope = visible_units(user)
    return [(unit, depth) for unit, depth in tree() if scope is None or unit.id in scope]
