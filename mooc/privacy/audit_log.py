"""The audit log as administrators read it (every event) and unit managers and training
officers read it (the events about the people and units of their subtree): filters, pages,
and the rows of its CSV export. Scope is in the query, as in the reports.

An event is *about* a person or unit when its ``target`` names them: a staff code, a roster or
sign-in e-mail address, a unit code (how ``audit.record`` callers name what they act on)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent, Permission, User
from mooc.database import alias
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff
from mooc.roster.scope import visible_units

PER_PAGE = 50


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    person: str = ""  # a staff code or an e-mail address
    day_from: date | None = None
    day_to: date | None = None


@dataclass
class AuditPage:
    rows: list[Any]
    total: int
    page: int
    per_page: int = PER_PAGE
    filters: AuditFilters = field(default_factory=AuditFilters)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def may_view(user: User) -> bool:
    """Administrators (every event); managers and training officers with a unit (their subtree)."""
    return user.can(Permission.MANAGE_ACCOUNTS) or (
        user.can(Permission.READ_REPORTS) and user.role.scoped and user.scope_unit_id is not None)


def units_of(user: User) -> set[int] | None:
    """None: every event; else the unit ids whose people's and units' events ``user`` reads."""
    if user.can(Permission.MANAGE_ACCOUNTS):
        return None
    return visible_units(user) or set()


def _about_units(units: set[int]) -> sa.ColumnElement[bool]:
    unit_ids = sorted(units)
    owner = alias(Staff, "owner")
    names: sa.CompoundSelect = sa.union(
        sa.select(Staff.staff_code).where(Staff.unit_id.in_(unit_ids)),
        sa.select(Staff.email).where(Staff.unit_id.in_(unit_ids), Staff.email.is_not(None)),
        sa.select(User.email).join(owner, owner.id == User.staff_id).where(owner.unit_id.in_(unit_ids)),
        sa.select(OrgUnit.code).where(OrgUnit.id.in_(unit_ids)),
    )
    return AuditEvent.target.in_(sa.select(names.subquery().c[0]))


def _about_person(text: str) -> sa.ColumnElement[bool]:
    """The events naming a person (by staff code or any of their addresses) or done by them."""
    value = text.strip()
    folded = value.lower()
    staff = db.session.scalar(sa.select(Staff).where(sa.or_(Staff.staff_code == value,
                                                             sa.func.lower(Staff.email) == folded)))
    users = list(db.session.scalars(sa.select(User).where(
        sa.or_(sa.func.lower(User.email) == folded, User.staff_id == (staff.id if staff else -1)))))
    names = {value, folded} | {user.email for user in users}
    if staff is not None:
        names |= {staff.staff_code} | ({staff.email} if staff.email else set())
    return sa.or_(AuditEvent.target.in_(sorted(names)), AuditEvent.actor_id.in_([user.id for user in users]))


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.LOCAL_TZ)


def conditions(filters: AuditFilters, units: set[int] | None) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if units is not None:
        found.append(_about_units(units) if units else sa.false())
    if filters.action:
        found.append(AuditEvent.action == filters.action)
    if filters.person.strip():
        found.append(_about_person(filters.person))
    if filters.day_from:
        found.append(AuditEvent.at >= _local_start(filters.day_from))
    if filters.day_to:
        found.append(AuditEvent.at < _local_start(filters.day_to + timedelta(days=1)))
    return found


def _select(filters: AuditFilters, units: set[int] | None) -> sa.Select:
    actor = alias(User, "actor")
    return (sa.select(AuditEvent.id, AuditEvent.at, AuditEvent.action, AuditEvent.target, AuditEvent.ip,
                      AuditEvent.details, actor.display_name.label("actor_name"),
                      actor.email.label("actor_email"))
            .outerjoin(actor, actor.id == AuditEvent.actor_id)
            .where(*conditions(filters, units))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))


def page_of(filters: AuditFilters, units: set[int] | None, page: int = 1,
            per_page: int = PER_PAGE) -> AuditPage:
    """One page, newest first: a count and a page of rows (two queries)."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                              .where(*conditions(filters, units))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.execute(_select(filters, units).offset((page - 1) * per_page).limit(per_page)).all()
    return AuditPage(list(rows), total, page, per_page, filters)


def actions(units: set[int] | None) -> list[str]:
    """The actions the viewer's events hold, for the filter's choices."""
    return list(db.session.scalars(sa.select(AuditEvent.action).where(*conditions(AuditFilters(), units))
                                   .distinct().order_by(AuditEvent.action)))


def all_rows(filters: AuditFilters, units: set[int] | None) -> Iterator[Any]:
    """Every matching event, newest first (the CSV export)."""
    yield from db.session.execute(_select(filters, units).execution_options(yield_per=500))
