"""Password hashing and the sign-in decision, with throttling per e-mail address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.security import check_password_hash, generate_password_hash

from mooc import clock
from mooc.auth.models import LoginThrottle, User
from mooc.extensions import db
from mooc.text import clean

MIN_PASSWORD_LENGTH = 10


class SignInError(Exception):
    """Sign-in refused. The message is the same whether or not the account exists."""


class SignInLocked(SignInError):
    def __init__(self, minutes: int) -> None:
        super().__init__(minutes)
        self.minutes = minutes


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5
    lock_minutes: int = 15


def normalise_email(email: str | None) -> str:
    return clean(email).lower()


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
    user.password_hash = hash_password(password, method)
    user.password_changed_at = clock.now()


def authenticate(email: str, password: str, policy: ThrottlePolicy,
                 method: str = "scrypt") -> User:
    """The active user with this e-mail and password, or SignInError.

    Every path checks one password hash, so an unknown address and a wrong password
    take about the same time and get the same answer. After ``policy.max_failures``
    failures the address is locked for ``policy.lock_minutes``, known account or not.
    """
    email = normalise_email(email)
    now = clock.now()
    throttle = db.session.get(LoginThrottle, email) if email else None
    user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()

    stored = user.password_hash if user is not None and user.password_hash else None
    matches = check_password_hash(stored or _dummy_hash(method), password or "")
    ok = matches and stored is not None and user is not None and user.active

    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        minutes = max(1, int((throttle.locked_until - now).total_seconds() // 60) + 1)
        raise SignInLocked(minutes)
    if not ok:
        locked = _record_failure(email, now, policy) if email else False
        if locked:
            raise SignInLocked(policy.lock_minutes)
        raise SignInError()
    if throttle is not None:
        db.session.delete(throttle)
    user.last_login_at = now
    return user


def _record_failure(email: str, now, policy: ThrottlePolicy) -> bool:  # noqa: ANN001
    """Count a failure atomically (two requests at once must both count). True if now locked."""
    window_start = now - timedelta(minutes=policy.lock_minutes)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = LoginThrottle.__table__
    stale = sa.or_(table.c.last_failure_at.is_(None), table.c.last_failure_at < window_start)
    stmt = insert(table).values(email=email, failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.email],
        set_={
            "failures": sa.case((stale, 1), else_=table.c.failures + 1),
            "last_failure_at": now,
        },
    ).returning(table.c.failures)
    failures = db.session.execute(stmt).scalar_one()
    if failures >= policy.max_failures:
        db.session.execute(sa.update(table).where(table.c.email == email)
                           .values(locked_until=now + timedelta(minutes=policy.lock_minutes),
                                   failures=0))
        db.session.expire_all()
        return True
    db.session.expire_all()
    return False
