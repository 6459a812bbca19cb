"""The audit log as administrators read it (every event) and unit managers and training
officers read it (the events about the people and units of their subtree): filters, pages,
and the rows of its CSV export. Scope is in the query, as in the reports.

An event is *about* a unit when its ``target`` is the unit's code, and about a person when its
``target`` names them: a staff code, an address of theirs (now or before), a directory user name
tied to them. ``mooc.privacy.names`` holds that rule, shared with the export of a person's data
and the retention purge.

A page reads the names of the reader's scope and of the person asked for once (``reading``),
then the log twice (``overview``, ``page_of``), through the index on the folded target."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent, Permission, User
from mooc.database import alias
from mooc.extensions import db
from mooc.privacy import names
from mooc.roster.models import OrgUnit
from mooc.roster.scope import visible_units
from mooc.text import name_key

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


@dataclass(frozen=True)
class Reading:
    """The log as one reader asks for it: the filters, and the targets that name the people and
    units of their scope and the person asked for, read once (``reading``) for every pass."""

    filters: AuditFilters
    scope: names.Targets | None = None  # None: every event (an administrator)
    person: names.Targets | None = None  # None: no person asked for
    person_accounts: tuple[int, ...] = ()  # the accounts of the person asked for: their own acts


def reading(filters: AuditFilters, units: set[int] | None) -> Reading:
    """``units``: None, every event; else the unit ids of the reader's subtree (``units_of``)."""
    found = Reading(filters, scope=None if units is None else _about_units(units))
    if not filters.person.strip():
        return found
    value = filters.person.strip()
    people = names.People.named(value)
    # the person named, and the events whose target is ``value`` itself (a directory user
    # name, an address nobody has), folded as every name is (text.name_key)
    return replace(found, person=names.targets_of(people, also=[name_key(value)]),
                   person_accounts=tuple(people.user_ids))


def _about_units(units: set[int]) -> names.Targets:
    """The targets naming a unit of ``units`` (its code) or a person on their roster (``names``:
    staff code, any address of theirs, now or before, and the directory user names tied to them)."""
    unit_ids = sorted(units)
    return names.targets_of(names.People.of_units(unit_ids),
                            codes=sa.select(OrgUnit.code).where(OrgUnit.id.in_(unit_ids)))


def _about_person(found: Reading, newest_first: bool) -> sa.ColumnElement[bool]:
    """The events about the person asked for: naming them or done by their accounts; and those
    whose target is what was asked for itself."""
    assert found.person is not None
    if not found.person_accounts:
        return found.person.naming(newest_first)
    return sa.or_(found.person.naming(newest_first), AuditEvent.actor_id.in_(found.person_accounts))


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.LOCAL_TZ)


def conditions(asked: Reading, newest_first: bool = False) -> list[sa.ColumnElement[bool]]:
    """``newest_first``: for a page (``names.Targets.naming``)."""
    found: list[sa.ColumnElement[bool]] = []
    filters = asked.filters
    if asked.scope is not None:
        found.append(asked.scope.naming(newest_first))
    if filters.action:
        found.append(AuditEvent.action == filters.action)
    if asked.person is not None:
        found.append(_about_person(asked, newest_first))
    if filters.day_from:
        found.append(AuditEvent.at >= _local_start(filters.day_from))
    if filters.day_to:
        found.append(AuditEvent.at < _local_start(filters.day_to + timedelta(days=1)))
    return found


def _select(asked: Reading, newest_first: bool = False) -> sa.Select:
    actor = alias(User, "actor")
    return (sa.select(AuditEvent.id, AuditEvent.at, AuditEvent.action, AuditEvent.target, AuditEvent.ip,
                      AuditEvent.details, actor.display_name.label("actor_name"),
                      actor.email.label("actor_email"))
            .outerjoin(actor, actor.id == AuditEvent.actor_id)
            .where(*conditions(asked, newest_first))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))


@dataclass(frozen=True)
class Overview:
    """What the page needs of every event it could show, read in one pass (``overview``)."""

    actions: list[str]  # the actions of the reader's events: the filter's choices
    total: int  # the events the filters match
    reading: Reading  # as asked for, an action that is not a choice dropped

    @property
    def filters(self) -> AuditFilters:
        return self.reading.filters


def overview(asked: Reading) -> Overview:
    """One pass over the reader's events (their scope), grouped by action: which actions they
    hold, and how many of each the other filters (person, days) match. The page reads its
    filter's choices and its count from it, and runs one more query for its rows (``page_of``)."""
    narrowing = conditions(replace(asked, filters=replace(asked.filters, action=None), scope=None))
    matching = (sa.func.sum(sa.case((sa.and_(*narrowing), 1), else_=0)) if narrowing
                else sa.func.count())
    everything = replace(asked, filters=AuditFilters(), person=None, person_accounts=())
    counts = {action: int(count or 0) for action, count in db.session.execute(
        sa.select(AuditEvent.action, matching).where(*conditions(everything))
        .group_by(AuditEvent.action).order_by(AuditEvent.action))}
    action = asked.filters.action if asked.filters.action in counts else None
    total = counts[action] if action is not None else sum(counts.values())
    return Overview(list(counts), total, replace(asked, filters=replace(asked.filters, action=action)))


def page_of(asked: Reading, page: int = 1, per_page: int = PER_PAGE, total: int | None = None) -> AuditPage:
    """One page, newest first: a count (unless ``total`` is known: ``overview``) and a page of rows."""
    if total is None:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                  .where(*conditions(asked))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.execute(_select(asked, newest_first=True).offset((page - 1) * per_page)
                              .limit(per_page)).all()
    return AuditPage(list(rows), total, page, per_page, asked.filters)


def all_rows(asked: Reading) -> Iterator[Any]:
    """Every matching event, newest first (the CSV export)."""
    yield from db.session.execute(_select(asked).execution_options(yield_per=500))
