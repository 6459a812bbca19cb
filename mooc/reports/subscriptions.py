"""Subscribing to a report: what a person may subscribe to, and what an administrator may
subscribe an address without an account to, with the filters of the report's page. Audited;
the sending is scheduled.py's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from mooc.auth import audit
from mooc.auth.models import Permission, User
from mooc.auth.passwords import normalise_email
from mooc.courses.models import Course
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.formatting import format_date
from mooc.i18n import gettext as _
from mooc.i18n import lazy_gettext as _l
from mooc.reports import queries
from mooc.reports.models import Frequency, ReportKind, ReportSubscription
from mooc.roster.models import Position
from mooc.roster.scope import visible_units
from mooc.training.models import Program
from mooc.training.status import status_label

MAX_PER_PERSON = 20

# What a subscription's report and frequency are called (the subscriptions page; a person's data export).
REPORT_LABELS = {ReportKind.DASHBOARD: _l("Completion by unit"), ReportKind.OVERDUE: _l("Overdue training"),
                 ReportKind.COMPLIANCE: _l("Compliance at the end of each month")}
FREQUENCY_LABELS = {Frequency.WEEKLY: _l("Every week"), Frequency.MONTHLY: _l("Every month")}

# The filters each report's page has, by the names of its address (``Filters.as_args``): the
# dashboard's form, the overdue list's (its status is "overdue" by definition), none for
# compliance (a unit and a day).
FILTER_NAMES: dict[ReportKind, tuple[str, ...]] = {
    ReportKind.DASHBOARD: ("course", "program", "position", "status", "due_from", "due_to"),
    ReportKind.OVERDUE: ("course", "program", "position", "due_from", "due_to", "account"),
    ReportKind.COMPLIANCE: (),
}


class SubscriptionRefused(DomainError):
    """``out_of_scope``, ``too_many``, ``bad_email``, ``no_format``, ``not_yours``,
    ``bad_filter`` (a filter's value unreadable, or naming a course, position or programme
    that does not exist)."""


class BadFilter(ValueError):
    """A subscription's filter that cannot be used: its value unreadable, or the course,
    position or programme it names gone (the message says which, for the delivery log)."""


@dataclass(frozen=True)
class Choice:
    kind: ReportKind
    frequency: Frequency
    unit_id: int | None = None
    filters: queries.Filters = field(default_factory=queries.Filters)
    xlsx: bool = True
    pdf: bool = False


def read_filters(kind: ReportKind, raw: Mapping[str, Any]) -> queries.Filters:
    """The filters of a ``kind`` report from their names in the page's address: a posted
    form's strings, or what a subscription stored. Names the report has not are left out
    (the dashboard has no account filter); the overdue list's status is "overdue". BadFilter
    names a value that cannot be one."""
    def refuse(name: str, text: str) -> None:
        raise BadFilter(f"filter {name}: {text[:40]!r} is not a value it takes")

    filters = queries.read_filters(raw, refuse, FILTER_NAMES[kind])
    return replace(filters, status="overdue") if kind == ReportKind.OVERDUE else filters


def _gone(filters: queries.Filters) -> str | None:
    """The first course, position or programme the filters name that does not exist."""
    named: list[tuple[str, type[Any], int | None]] = [
        ("course", Course, filters.course_id), ("position", Position, filters.position_id),
        ("program", Program, filters.program_id)]
    for name, model, row_id in named:
        if row_id is not None and db.session.get(model, row_id) is None:
            return f"filter {name} no longer exists"  # a reason code: audit_details.REASONS
    return None


def filters_of(subscription: ReportSubscription) -> queries.Filters:
    """The subscription's filters, checked again now (BadFilter: one is unreadable, or names
    a course, position or programme that is gone: the report is not made, rather than made
    for more people than the subscriber asked for)."""
    stored = {**(subscription.filters or {}), "course": subscription.course_id}
    filters = read_filters(subscription.kind, stored)
    gone = _gone(filters)
    if gone is not None:
        raise BadFilter(gone)
    return filters


def _stored(kind: ReportKind, filters: queries.Filters) -> dict[str, Any]:
    """What a subscription keeps of ``filters`` besides the course (its own column)."""
    args = filters.as_args()
    return {name: args[name] for name in FILTER_NAMES[kind] if name != "course" and name in args}


def _checked(choice: Choice) -> Choice:
    """The choice with only the filters its report has, each checked (SubscriptionRefused)."""
    try:
        filters = read_filters(choice.kind, choice.filters.as_args())
    except BadFilter:
        raise SubscriptionRefused("bad_filter") from None
    if _gone(filters) is not None:
        raise SubscriptionRefused("bad_filter")
    return replace(choice, filters=filters)


def described(subscription: ReportSubscription) -> list[str]:
    """The subscription's filters besides unit and course, as people read them ("Position:
    Inspector"), for the list of subscriptions and the mail; one that is gone says so."""
    try:
        filters = read_filters(subscription.kind, subscription.filters or {})
    except BadFilter:
        return [_("A filter of this report can no longer be read: subscribe again.")]
    lines = []
    named: list[tuple[str, type[Any], int | None]] = [
        (_("Programme"), Program, filters.program_id), (_("Position"), Position, filters.position_id)]
    for label, model, row_id in named:
        if row_id is not None:
            row = db.session.get(model, row_id)
            lines.append(f"{label}: {row.title if row is not None else _('no longer exists')}")
    if filters.status and subscription.kind != ReportKind.OVERDUE:
        lines.append(f"{_('Status')}: {status_label(filters.status)}")
    if filters.due_from or filters.due_to:
        lines.append(f"{_('Due')}: {format_date(filters.due_from)}–{format_date(filters.due_to)}")
    if filters.account:
        lines.append(f"{_('Account')}: {_('Cannot sign in')}")
    return lines


def _unit_for(user: User, unit_id: int | None) -> int | None:
    """The unit of a person's subscription: theirs to read, or their own scope's root when
    they name none (a manager's "all my units")."""
    scope = visible_units(user)
    if scope is None:
        return unit_id
    if unit_id is None:
        unit_id = user.scope_unit_id
    if unit_id is None or unit_id not in scope:
        raise SubscriptionRefused("out_of_scope")
    return unit_id


def subscribe(user: User, choice: Choice) -> ReportSubscription:
    """``user`` subscribes to a report they can read (their scope is checked again at every
    sending)."""
    if not user.can(Permission.READ_REPORTS):
        raise SubscriptionRefused("out_of_scope")
    if not (choice.xlsx or choice.pdf):
        raise SubscriptionRefused("no_format")
    choice = _checked(choice)
    count = db.session.scalar(sa.select(sa.func.count()).where(
        ReportSubscription.user_id == user.id, ReportSubscription.active.is_(True))) or 0
    if count >= MAX_PER_PERSON:
        raise SubscriptionRefused("too_many")
    subscription = ReportSubscription(
        user_id=user.id, kind=choice.kind, unit_id=_unit_for(user, choice.unit_id),
        course_id=choice.filters.course_id, filters=_stored(choice.kind, choice.filters),
        frequency=choice.frequency, xlsx=choice.xlsx, pdf=choice.pdf, created_by_id=user.id)
    db.session.add(subscription)
    db.session.flush()
    audit.record("reports.subscribed", actor=user, target=user.email, subscription=subscription.id,
                 kind=str(choice.kind), unit=subscription.unit_id, frequency=str(choice.frequency),
                 filters=choice.filters.as_args())
    return subscription


def subscribe_address(admin: User, email: str, choice: Choice) -> ReportSubscription:
    """An administrator subscribes a mailing address without an account (a leader's office)
    to a report of ``choice.unit_id`` (None: the whole ministry), fixed now."""
    if not admin.can(Permission.MANAGE_ACCOUNTS):
        raise SubscriptionRefused("out_of_scope")
    address = normalise_email(email)
    if "@" not in address or len(address) > 254 or any(c.isspace() for c in address):
        raise SubscriptionRefused("bad_email")
    if not (choice.xlsx or choice.pdf):
        raise SubscriptionRefused("no_format")
    choice = _checked(choice)
    subscription = ReportSubscription(
        email=address, kind=choice.kind, unit_id=choice.unit_id, course_id=choice.filters.course_id,
        filters=_stored(choice.kind, choice.filters), frequency=choice.frequency, xlsx=choice.xlsx,
        pdf=choice.pdf, created_by_id=admin.id)
    db.session.add(subscription)
    db.session.flush()
    audit.record("reports.address_subscribed", actor=admin, target=address, subscription=subscription.id,
                 kind=str(choice.kind), unit=choice.unit_id, frequency=str(choice.frequency),
                 filters=choice.filters.as_args())
    return subscription


def listed(user: User) -> list[ReportSubscription]:
    """A person's own subscriptions; an administrator's list has every address's too."""
    query = sa.select(ReportSubscription).where(ReportSubscription.active.is_(True))
    if user.can(Permission.MANAGE_ACCOUNTS):
        query = query.where(sa.or_(ReportSubscription.user_id == user.id,
                                   ReportSubscription.user_id.is_(None)))
    else:
        query = query.where(ReportSubscription.user_id == user.id)
    return list(db.session.scalars(query.order_by(ReportSubscription.id)))


def unsubscribe(user: User, subscription_id: int) -> None:
    subscription = db.session.get(ReportSubscription, subscription_id)
    mine = subscription is not None and subscription.user_id == user.id
    theirs_to_end = (subscription is not None and subscription.user_id is None
                     and user.can(Permission.MANAGE_ACCOUNTS))
    if subscription is None or not subscription.active or not (mine or theirs_to_end):
        raise SubscriptionRefused("not_yours")
    subscription.active = False
    audit.record("reports.unsubscribed", actor=user, target=subscription.email or user.email,
                 subscription=subscription.id)
