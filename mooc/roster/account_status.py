"""Whether each person on the roster can sign in: no account, invited (no way in yet: no
password chosen), active, password paused or locked (too many wrong passwords, for now), code
step locked (too many wrong codes of the authenticator app, for now), or disabled.

An active account has a way in (``way_in()``; ``ways_of()`` in Python) when it has a password kept
on the platform that its role may use (backends.may_use_local_password), or when a ministry
directory can vouch for it: the sign-in form's directory (LDAP) or the OpenID provider, which
find the person on the roster by staff code (everyone has one) or by e-mail (those who have one
on the roster) and let any active account in, whatever its local password. So with a directory
a person without a password here is "Can sign in", not "Invited"; without one, only a password
lets anyone in.

Too many wrong passwords for the account lock its passwords for a while (passwords.lock_key:
whatever name was typed for it): the sign-in form refuses them, its own password and the
directory's alike. The OpenID provider's button checks no password here and stays open. So a
locked account that the provider finds is "Can sign in (password paused)", and counts as able
to sign in; one it does not find is "Locked" and cannot (``open_ways()``).

Too many wrong codes lock the code step of an account whose authenticator is on
(second_factor.code_lock_key): every way in then stops at the code page, the provider's button
too (unless the provider itself proved a second factor, which the roster cannot know), so the
account is "Locked (wrong codes)" and cannot sign in until the lock ends or an administrator
lifts it (``code_lock_ends()``).

One definition for every list that shows it (roster, overdue list, digests, reports, exports,
reminders): ``expression()`` for SQL over many people, ``of()``/``of_many()`` for Python; the
rule follows the app's settings (backends.ways_in).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from mooc import clock
from mooc.auth import backends, passwords, second_factor
from mooc.auth.models import LoginThrottle, Role, SecondFactor, User
from mooc.database import chunks
from mooc.extensions import db
from mooc.i18n import lazy_gettext as _l
from mooc.roster.models import Staff


class AccountStatus(enum.StrEnum):
    NONE = "none"
    INVITED = "invited"
    ACTIVE = "active"
    PASSWORD_PAUSED = "password_paused"  # noqa: S105 (a status) locked, but the provider's button is open
    LOCKED = "locked"
    CODE_LOCKED = "code_locked"  # the code step: too many wrong codes of the authenticator app
    DISABLED = "disabled"

    @property
    def label(self) -> str:
        return str(LABELS[self])

    @property
    def can_sign_in(self) -> bool:
        """An active account whose password is not locked, or is but has a way in without it."""
        return self in (AccountStatus.ACTIVE, AccountStatus.PASSWORD_PAUSED)


LABELS = {
    AccountStatus.NONE: _l("No account"),
    AccountStatus.INVITED: _l("Invited"),
    AccountStatus.ACTIVE: _l("Can sign in"),
    AccountStatus.PASSWORD_PAUSED: _l("Can sign in (password paused)"),
    AccountStatus.LOCKED: _l("Locked"),
    AccountStatus.CODE_LOCKED: _l("Locked (wrong codes)"),
    AccountStatus.DISABLED: _l("Disabled"),
}

CANNOT_SIGN_IN = tuple(status.value for status in AccountStatus if not status.can_sign_in)


def _locked_keys(now: datetime | sa.BindParameter[datetime] | None) -> sa.Select:
    """The keys (passwords.lock_key) of the accounts whose password is locked at ``now``."""
    return (sa.select(LoginThrottle.email)
            .where(LoginThrottle.email.is_not(None),
                   LoginThrottle.locked_until > (clock.now() if now is None else now)))


def _code_locked_accounts(now: datetime | sa.BindParameter[datetime] | None) -> sa.Select:
    """The ids of the accounts whose code step is locked at ``now`` (the SQL form of
    ``second_factor.code_lock_ends()``): an active authenticator, and the lock under its
    ``code_lock_key`` holds. Few rows: read once, not per person."""
    key = sa.literal(second_factor.CODE_LOCK_PREFIX, sa.String) + sa.cast(SecondFactor.user_id, sa.String)
    return (sa.select(SecondFactor.user_id)
            .join(LoginThrottle, LoginThrottle.email == key)
            .where(SecondFactor.confirmed_at.is_not(None),
                   LoginThrottle.locked_until > (clock.now() if now is None else now)))


def expression(now: datetime | None = None) -> sa.ColumnElement[str]:
    """The status as a SQL value, for a query that outer-joins ``User`` on
    ``User.staff_id == Staff.id`` (see ``join()``)."""
    locked = (sa.select(LoginThrottle.email)
              .where(LoginThrottle.email == User.email,  # both folded (passwords.lock_key)
                     LoginThrottle.locked_until > (now or clock.now()))
              .exists())
    return sa.case(
        (User.id.is_(None), AccountStatus.NONE.value),
        (User.active.is_(False), AccountStatus.DISABLED.value),
        (sa.not_(way_in()), AccountStatus.INVITED.value),
        (User.id.in_(_code_locked_accounts(now)), AccountStatus.CODE_LOCKED.value),
        (sa.and_(locked, provider_way()), AccountStatus.PASSWORD_PAUSED.value),
        (locked, AccountStatus.LOCKED.value),
        else_=AccountStatus.ACTIVE.value,
    )


def signs_in(now: datetime | sa.BindParameter[datetime] | None = None) -> sa.ColumnElement[bool]:
    """``expression()`` is ACTIVE or PASSWORD_PAUSED, as a plain condition (same query shape:
    ``User`` outer-joined by ``join()``), for counting over many people: the locked addresses are
    read once (an IN list) instead of probed person by person, several times faster on a
    ministry's roster. ``now`` may be a bound parameter (a statement built once, given the time
    when run)."""
    return sa.and_(User.id.is_not(None), User.active.is_(True), way_in(),
                   sa.or_(User.email.not_in(_locked_keys(now)), provider_way()),
                   User.id.not_in(_code_locked_accounts(now)))


def signs_in_apart_from_locks(ways: backends.WaysIn | None = None) -> sa.ColumnElement[bool]:
    """An account that is active and has a way in (``signs_in()`` but for the sign-in and code
    locks, which end with time: see ``locked_out()``). Over ``Staff`` outer-joined to ``User``."""
    return sa.and_(User.id.is_not(None), User.active.is_(True), way_in(ways))


def locked_out(now: datetime | sa.BindParameter[datetime] | None = None,
               ways: backends.WaysIn | None = None) -> sa.ColumnElement[bool]:
    """The account's locks keep it out at ``now``: its passwords are locked and the OpenID
    provider does not find it, or its code step is locked. ``signs_in()`` is
    ``signs_in_apart_from_locks()`` and not this."""
    return sa.or_(sa.and_(User.email.in_(_locked_keys(now)), sa.not_(provider_way(ways))),
                  User.id.in_(_code_locked_accounts(now)))


def any_lock(now: datetime | sa.BindParameter[datetime]) -> sa.ScalarSelect[int]:
    """How many sign-in or code locks hold at ``now`` (rows of ``login_throttle``; none, nearly
    always): when none does, nobody is ``locked_out()``."""
    return (sa.select(sa.func.count()).select_from(LoginThrottle)
            .where(LoginThrottle.locked_until > now).scalar_subquery())


class Way(enum.StrEnum):
    """A way an account signs in."""

    PASSWORD = "password"  # noqa: S105 (a name) a password kept on the platform, its role may use it
    DIRECTORY = "directory"  # the ministry account's password, on the sign-in form (LDAP)
    PROVIDER = "provider"  # the ministry account, at the OpenID provider (its button): no password here


PASSWORD_WAYS = frozenset({Way.PASSWORD, Way.DIRECTORY})  # what the sign-in lock pauses


def _found_by(by: str | None) -> sa.ColumnElement[bool]:
    """Whether a directory that finds people ``by`` staff code or e-mail finds this person."""
    if by is None:
        return sa.false()
    return sa.true() if by == "staff_code" else Staff.email.is_not(None)


def way_in(ways: backends.WaysIn | None = None) -> sa.ColumnElement[bool]:
    """Whether the account has a way in (the SQL form of ``ways_of()``), over ``Staff`` outer-joined
    to ``User``. ``ways``: this app's (backends.ways_in()); a statement built once per process
    keys on it."""
    ways = ways or backends.ways_in()
    password: sa.ColumnElement[bool] = User.password_hash.is_not(None)
    if ways.local_roles is not None:
        password = sa.and_(password, User.role.in_([role for role in Role if role in ways.local_roles]))
    # A directory finds everyone by staff code, and by e-mail those who have one on the roster.
    return sa.or_(password, _found_by(ways.directory_by), _found_by(ways.provider_by))


def provider_way(ways: backends.WaysIn | None = None) -> sa.ColumnElement[bool]:
    """Whether the OpenID provider finds the person (the SQL form of ``Way.PROVIDER in ways_of()``):
    the way in that the sign-in lock does not pause."""
    return _found_by((ways or backends.ways_in()).provider_by)


def _finds(by: str | None, staff: Staff) -> bool:
    return by == "staff_code" or (by == "email" and staff.email is not None)


def ways_of(user: User, staff: Staff, ways: backends.WaysIn | None = None) -> frozenset[Way]:
    """How ``user`` (the account of ``staff``) can sign in, if it is active: the Python form of
    ``way_in()`` (empty: no way in)."""
    ways = ways or backends.ways_in()
    found = set()
    if user.password_hash is not None and (ways.local_roles is None or user.role in ways.local_roles):
        found.add(Way.PASSWORD)
    if _finds(ways.directory_by, staff):
        found.add(Way.DIRECTORY)
    if _finds(ways.provider_by, staff):
        found.add(Way.PROVIDER)
    return frozenset(found)


def password_lock_ends(user: User, now: datetime | None = None) -> datetime | None:
    """When the lock of the account's passwords ends, if it holds (passwords.lock_key)."""
    return passwords.lock_ends(passwords.lock_key(user), now or clock.now())


def open_ways(user: User, staff: Staff, now: datetime | None = None,
              ways: backends.WaysIn | None = None) -> frozenset[Way]:
    """The ways that let ``user`` in at ``now``: ``ways_of()`` without the password ways while
    the account's lock holds; none while its code step is locked. Empty for a disabled account.
    The Python form of ``signs_in()``."""
    if not user.active or second_factor.code_lock_ends(user, now) is not None:
        return frozenset()
    found = ways_of(user, staff, ways)
    return found - PASSWORD_WAYS if password_lock_ends(user, now) is not None else found


def join(query: sa.Select) -> sa.Select:
    """``query`` (over ``Staff``) outer-joined to the person's account."""
    return query.outerjoin(User, User.staff_id == Staff.id)


def of_many(staff_ids: Iterable[int], now: datetime | None = None) -> dict[int, AccountStatus]:
    """Each person's status, by staff id (every id given gets one)."""
    ids = list(dict.fromkeys(staff_ids))
    result: dict[int, AccountStatus] = {}
    for chunk in chunks(ids):
        rows = db.session.execute(
            join(sa.select(Staff.id, expression(now))).where(Staff.id.in_(chunk)))
        result.update((staff_id, AccountStatus(value)) for staff_id, value in rows)
    return result


def of(staff: Staff, now: datetime | None = None) -> AccountStatus:
    return of_many([staff.id], now).get(staff.id, AccountStatus.NONE)
