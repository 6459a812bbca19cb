"""Subscribing to a report: what a person may subscribe to, and what an administrator may
subscribe an address without an account to. Audited; the sending is scheduled.py's."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from mooc.auth import audit
from mooc.auth.models import Permission, User
from mooc.auth.passwords import normalise_email
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.reports.models import Frequency, ReportKind, ReportSubscription
from mooc.roster.scope import visible_units

MAX_PER_PERSON = 20


class SubscriptionRefused(DomainError):
    """``out_of_scope``, ``too_many``, ``bad_email``, ``no_format``, ``not_yours``."""


@dataclass(frozen=True)
class Choice:
    kind: ReportKind
    frequency: Frequency
    unit_id: int | None = None
    course_id: int | None = None
    xlsx: bool = True
    pdf: bool = False


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
    count = db.session.scalar(sa.select(sa.func.count()).where(
        ReportSubscription.user_id == user.id, ReportSubscription.active.is_(True))) or 0
    if count >= MAX_PER_PERSON:
        raise SubscriptionRefused("too_many")
    subscription = ReportSubscription(
        user_id=user.id, kind=choice.kind, unit_id=_unit_for(user, choice.unit_id),
        course_id=choice.course_id, frequency=choice.frequency, xlsx=choice.xlsx, pdf=choice.pdf,
        created_by_id=user.id)
    db.session.add(subscription)
    db.session.flush()
    audit.record("reports.subscribed", actor=user, target=user.email, subscription=subscription.id,
                 kind=str(choice.kind), unit=subscription.unit_id, frequency=str(choice.frequency))
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
    subscription = ReportSubscription(
        email=address, kind=choice.kind, unit_id=choice.unit_id, course_id=choice.course_id,
        frequency=choice.frequency, xlsx=choice.xlsx, pdf=choice.pdf, created_by_id=admin.id)
    db.session.add(subscription)
    db.session.flush()
    audit.record("reports.address_subscribed", actor=admin, target=address, subscription=subscription.id,
                 kind=str(choice.kind), unit=choice.unit_id, frequency=str(choice.frequency))
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
