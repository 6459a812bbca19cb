"""Whether each person on the roster can sign in: no account, invited (no password chosen
yet), active, locked (too many failed sign-ins, for now) or disabled.

An account whose role signs in with the ministry account only (a directory or an OpenID
provider, MOOC_LOCAL_PASSWORD_ROLES: backends.may_use_local_password) needs no password here: an
active one can sign in, never "invited"; the others need the password they chose.

One definition for every list that shows it (roster, overdue list, digests, reports,
reminders): ``expression()`` for SQL over many people, ``of()``/``of_many()`` for Python.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from mooc import clock
from mooc.auth import backends
from mooc.auth.models import LoginThrottle, Role, User
from mooc.database import chunks
from mooc.extensions import db
from mooc.i18n import lazy_gettext as _l
from mooc.roster.models import Staff


class AccountStatus(enum.StrEnum):
    NONE = "none"
    INVITED = "invited"
    ACTIVE = "active"
    LOCKED = "locked"
    DISABLED = "disabled"

    @property
    def label(self) -> str:
        return str(LABELS[self])

    @property
    def can_sign_in(self) -> bool:
        """Only an active account can sign in now; every other status counts as "cannot"."""
        return self is AccountStatus.ACTIVE


LABELS = {
    AccountStatus.NONE: _l("No account"),
    AccountStatus.INVITED: _l("Invited"),
    AccountStatus.ACTIVE: _l("Can sign in"),
    AccountStatus.LOCKED: _l("Locked"),
    AccountStatus.DISABLED: _l("Disabled"),
}

CANNOT_SIGN_IN = tuple(status.value for status in AccountStatus if not status.can_sign_in)


def expression(now: datetime | None = None) -> sa.ColumnElement[str]:
    """The status as a SQL value, for a query that outer-joins ``User`` on
    ``User.staff_id == Staff.id`` (see ``join()``)."""
    locked = (sa.select(LoginThrottle.email)
              .where(LoginThrottle.email == sa.func.lower(User.email),
                     LoginThrottle.locked_until > (now or clock.now()))
              .exists())
    return sa.case(
        (User.id.is_(None), AccountStatus.NONE.value),
        (User.active.is_(False), AccountStatus.DISABLED.value),
        (sa.and_(User.password_hash.is_(None), needs_password()), AccountStatus.INVITED.value),
        (locked, AccountStatus.LOCKED.value),
        else_=AccountStatus.ACTIVE.value,
    )


def signs_in(now: datetime | sa.BindParameter[datetime] | None = None) -> sa.ColumnElement[bool]:
    """``expression() == ACTIVE`` as a plain condition (same query shape: ``User`` outer-joined
    by ``join()``), for counting over many people: the locked addresses are read once (an IN
    list) instead of probed person by person, several times faster on a ministry's roster.
    ``now`` may be a bound parameter (a statement built once, given the time when run)."""
    locked = (sa.select(LoginThrottle.email)
              .where(LoginThrottle.email.is_not(None),
                     LoginThrottle.locked_until > (clock.now() if now is None else now)))
    return sa.and_(User.id.is_not(None), User.active.is_(True),
                   sa.or_(User.password_hash.is_not(None), sa.not_(needs_password())),
                   sa.func.lower(User.email).not_in(locked))


def needs_password() -> sa.ColumnElement[bool]:
    """Whether the account's role signs in with a password kept on the platform (the SQL form of
    backends.may_use_local_password): every role, unless MOOC_LOCAL_PASSWORD_ROLES leaves some to
    the ministry account. A statement built once per process keys on ``backends.local_roles()``."""
    roles = backends.local_roles()
    if roles is None:
        return sa.true()
    return User.role.in_([role for role in Role if role in roles])


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
