"""One-time links for invitations and password resets.

The link carries a random token; only its SHA-256 is stored, so a copy of the database
gives nobody a working link. A token works once, until it expires; issuing a new one
of the same kind for the same account cancels the older ones, and setting the password (by
any path: see passwords.set_password) cancels every one of the account.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mooc import clock
from mooc.auth.models import User
from mooc.database import CreatedAt, UTCDateTime, enum_column, rowcount
from mooc.extensions import Model, db


class TokenPurpose(enum.StrEnum):
    INVITE = "invite"
    RESET = "reset"


LIFETIME = {
    TokenPurpose.INVITE: timedelta(days=7),
    TokenPurpose.RESET: timedelta(hours=1),
}


class AccountToken(CreatedAt, Model):
    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(
        enum_column(TokenPurpose, "purpose"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user: User, purpose: TokenPurpose, *, created_by: User | None = None) -> str:
    """A new one-time token for ``user``; returns the raw token (put it in the link, nowhere else)."""
    now = clock.now()
    db.session.execute(
        sa.update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose,
               AccountToken.used_at.is_(None))
        .values(used_at=now),
        execution_options={"synchronize_session": False})
    raw = secrets.token_urlsafe(32)
    db.session.add(AccountToken(token_hash=_hash(raw), user_id=user.id, purpose=purpose, created_at=now,
                                expires_at=now + LIFETIME[purpose],
                                created_by_id=created_by.id if created_by else None))
    db.session.flush()
    return raw


def find(raw: str | None, purpose: TokenPurpose) -> AccountToken | None:
    """The live token behind ``raw``: right purpose, unused, unexpired, account active."""
    if not raw or len(raw) > 100:
        return None
    token = db.session.execute(
        sa.select(AccountToken).where(AccountToken.token_hash == _hash(raw))).scalar_one_or_none()
    if token is None or token.purpose != purpose or token.used_at is not None:
        return None
    if clock.now() >= token.expires_at or not token.user.active:
        return None
    return token


def recently_issued(user: User, purpose: TokenPurpose, within: timedelta) -> bool:
    """Whether a live token of this kind was issued less than ``within`` ago (rate limit)."""
    since = clock.now() - within
    return db.session.execute(
        sa.select(sa.func.count()).select_from(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose,
               AccountToken.used_at.is_(None), AccountToken.created_at > since)).scalar_one() > 0


def spend_all(user: User) -> int:
    """Spend every outstanding link of ``user``, of every kind: once a password is set (by any
    path), no older invitation or reset link may set another. Returns how many were live."""
    return rowcount(db.session.execute(
        sa.update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
        .values(used_at=clock.now()),
        execution_options={"synchronize_session": False}))


def use(token: AccountToken) -> None:
    """Spend the token. Atomic: of two requests racing with one link, only one succeeds."""
    done = rowcount(db.session.execute(
        sa.update(AccountToken).where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
        .values(used_at=clock.now()),
        execution_options={"synchronize_session": False}))
    if done != 1:
        raise LookupError("token already used")
