"""Password hashing and the sign-in decision, with throttling per account and per client address.

The lock of an account is kept under its e-mail address, lower-case (``lock_key``): what the
roster reads. Every way a password of the account is checked counts there, whatever name was
typed for it (the e-mail in any case, a directory user name or staff code that the directory
finds the account by: backends.sign_in). A name that is no account's counts under itself, so
that locking answers alike whether the account exists."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.security import check_password_hash, generate_password_hash

from mooc import clock
from mooc.auth import tokens
from mooc.auth.models import AddressThrottle, LoginThrottle, Role, User
from mooc.extensions import db
from mooc.text import name_key

MIN_PASSWORD_LENGTH = 10


class SignInError(Exception):
    """Sign-in refused. The message is the same whether or not the account exists."""


class RoleNotAllowed(SignInError):
    """The right local password of an account whose role may not use one (it signs in elsewhere)."""


class SignInLocked(SignInError):
    """Too many failures. ``named``: the lock of the account (or of the unknown name typed) holds,
    which an administrator can lift; else only the client address's."""

    def __init__(self, minutes: int, *, named: bool = True) -> None:
        super().__init__(minutes)
        self.minutes = minutes
        self.named = named


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5  # per account (or unknown name typed)
    lock_minutes: int = 15
    address_max_failures: int = 30  # per client address, whatever the accounts (0 = no limit)


def normalise_email(email: str | None) -> str:
    """An address or user name as it is stored and compared (text.name_key: NFC, lower-case by
    Python, never by SQL)."""
    return name_key(email)


def hash_password(password: str, method: str = "scrypt") -> str:
    return generate_password_hash(password, method=method)


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    # Checked against when the account is unknown, so both cases take the same time.
    return generate_password_hash("not the password of anyone", method=method)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None. Length beats composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > 200:
        return "too_long"
    if password.strip() == "" or len(set(password)) < 4:
        return "too_simple"
    return None


def set_password(user: User, password: str, method: str = "scrypt") -> None:
    """Every path that sets a password comes here (the change-password page, invitation and
    reset links, `mooc users create-admin`): the new password also spends every invitation
    and reset link still outstanding for the account, so an old link cannot take it over."""
    user.password_hash = hash_password(password, method)
    user.password_changed_at = clock.now()
    if user.id is not None:  # a new account has no links yet
        tokens.spend_all(user)


def authenticate(email: str, password: str, policy: ThrottlePolicy, method: str = "scrypt",
                 address: str = "", roles: Collection[Role] | None = None) -> User:
    """The active user with this e-mail and password, or SignInError (RoleNotAllowed: the right
    password of a role not in ``roles``, counted as a failure; None: every role may).

    Every path checks one password hash, so an unknown address and a wrong password
    take about the same time and get the same answer. After ``policy.max_failures``
    failures the e-mail address is locked for ``policy.lock_minutes``, known account or not
    (an account's address is its ``lock_key``); after ``policy.address_max_failures`` failures
    from one client ``address`` (whatever the accounts tried), that address is locked for as long.
    """
    email = normalise_email(email)
    now = clock.now()
    user = check_local_password(email, password, method)
    refuse_if_locked(email, address, now)
    refused = user is not None and roles is not None and user.role not in roles
    if user is None or refused:
        if (locked := record_failure(email, address, now, policy)) is not None:
            raise locked
        raise RoleNotAllowed() if refused else SignInError()
    signed_in(user, email, now)
    return user


def account(email: str) -> User | None:
    """The account with this (normalised) e-mail address, active or not."""
    return db.session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()


def check_local_password(email: str, password: str, method: str = "scrypt") -> User | None:
    """The active account with this (normalised) e-mail whose own password this is, or None.
    Checks exactly one hash whatever the case (a dummy one for an unknown address), so timing
    does not tell an unknown address from a wrong password. Counts nothing: see authenticate()."""
    user = account(email)
    stored = user.password_hash if user is not None and user.password_hash else None
    matches = check_password_hash(stored or _dummy_hash(method), password or "")
    return user if matches and stored is not None and user is not None and user.active else None


def lock_key(user: User) -> str:
    """The key of the account's lock and failure count: its e-mail address, folded (as stored:
    User.email is folded on every write), which the roster compares with ``users.email``."""
    return normalise_email(user.email)


def signed_in(user: User, login: str, now: datetime) -> None:
    """A sign-in succeeded: the account's count starts again (and that of what was typed,
    `login`, if it was counted apart before it named the account)."""
    forget_failures(lock_key(user))
    if login != lock_key(user):
        forget_failures(login)
    user.last_login_at = now


def confirm_password(user: User, password: str, policy: ThrottlePolicy, address: str = "") -> None:
    """Check a signed-in person's current password (before a change), under the sign-in
    throttle: wrong answers count against the account and the client address like wrong
    sign-ins, and a locked account or address is refused. Raises SignInLocked or SignInError."""
    now = clock.now()
    key = lock_key(user)
    matches = bool(user.password_hash) and check_password_hash(user.password_hash or "", password or "")
    refuse_if_locked(key, address, now)
    if not matches:
        if (locked := record_failure(key, address, now, policy)) is not None:
            raise locked
        raise SignInError()
    forget_failures(key)


def lock_ends(key: str, now: datetime) -> datetime | None:
    """When the lock of ``key`` (an account's ``lock_key``, or a name typed) ends, if it holds."""
    return _ends(db.session.get(LoginThrottle, key) if key else None, now)


def _address_lock_ends(address: str, now: datetime) -> datetime | None:
    return _ends(db.session.get(AddressThrottle, address[:64]) if address else None, now)


def _ends(row: LoginThrottle | AddressThrottle | None, now: datetime) -> datetime | None:
    until = row.locked_until if row is not None else None
    return until if until is not None and until > now else None


def locked_minutes(key: str, address: str, now: datetime) -> int | None:
    """Minutes left on the lock of ``key`` or of this client address, or None."""
    ends = [end for end in (lock_ends(key, now), _address_lock_ends(address, now)) if end is not None]
    if not ends:
        return None
    return max(1, int((max(ends) - now).total_seconds() // 60) + 1)


def refuse_if_locked(key: str, address: str, now: datetime) -> None:
    """SignInLocked when the lock of ``key`` (an account's, or a name typed) or of the client
    address holds: even the right password does not let anyone in meanwhile."""
    if (minutes := locked_minutes(key, address, now)) is not None:
        raise SignInLocked(minutes, named=lock_ends(key, now) is not None)


def record_failure(key: str, address: str, now: datetime, policy: ThrottlePolicy) -> SignInLocked | None:
    """Count one failure for ``key`` (an account's ``lock_key``, or an unknown name typed) and
    for the client address; the refusal to raise when either is locked by it, else None."""
    named = bool(key) and _count_failure(LoginThrottle.__table__, "email", key, now,
                                         policy.max_failures, policy.lock_minutes)
    by_address = bool(address) and policy.address_max_failures > 0 and _count_failure(
        AddressThrottle.__table__, "address", address[:64], now,
        policy.address_max_failures, policy.lock_minutes)
    db.session.expire_all()
    return SignInLocked(policy.lock_minutes, named=named) if named or by_address else None


def forget_failures(key: str) -> None:
    """A right password clears the account's count (never the client address's: an attacker
    with one account of their own must not reset the count of their spraying)."""
    if key:
        db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.email == key))


def _count_failure(table: sa.Table, key: str, value: str, now: datetime,
                   max_failures: int, lock_minutes: int) -> bool:
    """Count a failure atomically (two requests at once must both count). True if now locked."""
    window_start = now - timedelta(minutes=lock_minutes)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    column = table.c[key]
    stale = sa.or_(table.c.last_failure_at.is_(None), table.c.last_failure_at < window_start)
    stmt = insert(table).values({key: value, "failures": 1, "last_failure_at": now})
    upsert = stmt.on_conflict_do_update(
        index_elements=[column],
        set_={
            "failures": sa.case((stale, 1), else_=table.c.failures + 1),
            "last_failure_at": now,
        },
    ).returning(table.c.failures)
    failures = db.session.execute(upsert).scalar_one()
    if failures >= max_failures:
        db.session.execute(sa.update(table).where(column == value)
                           .values(locked_until=now + timedelta(minutes=lock_minutes), failures=0))
        return True
    return False
