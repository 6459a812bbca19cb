"""Making, checking and revoking API tokens; the rate limit per token.

A token is ``mooc_`` + 40 random URL-safe characters, shown once; the database keeps its
SHA-256 (a token is long and random: no slow hash is needed) and its first characters to tell
tokens apart. Every use is checked again: expired, revoked, the person's account disabled or
no longer allowed to read reports (then only their own records) all count."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from mooc import clock
from mooc.api.models import ApiToken
from mooc.auth import audit
from mooc.auth.models import Permission, User
from mooc.database import write_transaction
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.roster.scope import unit_reader

PREFIX = "mooc_"
MAX_DAYS = 365
MAX_NAME = 100
MAX_PER_PERSON = 10


class TokenRefused(DomainError):
    """``bad_name``, ``bad_days``, ``too_many``, ``not_allowed``, ``not_yours``."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Made:
    token: ApiToken
    secret: str  # shown once, never stored


def _make(name: str, days: int, **fields: object) -> Made:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise TokenRefused("bad_name")
    if not 1 <= days <= MAX_DAYS:
        raise TokenRefused("bad_days")
    secret = PREFIX + secrets.token_urlsafe(30)
    token = ApiToken(token_hash=_hash(secret), prefix=secret[:12], name=name,
                     expires_at=clock.now() + timedelta(days=days), **fields)
    db.session.add(token)
    db.session.flush()
    return Made(token, secret)


def create_personal(user: User, name: str, days: int) -> Made:
    """A token that reads as ``user``: what they may read on the site, checked at each use."""
    count = db.session.scalar(sa.select(sa.func.count()).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > clock.now())) or 0
    if count >= MAX_PER_PERSON:
        raise TokenRefused("too_many")
    made = _make(name, days, user_id=user.id, created_by_id=user.id)
    audit.record("api.token_created", actor=user, target=user.email, prefix=made.token.prefix,
                 expires=clock.day_of(made.token.expires_at).isoformat())
    return made


def create_service(admin: User, name: str, days: int, unit_id: int | None) -> Made:
    """A service account's token (an HR or BI system): reads ``unit_id``'s subtree (None: the
    whole ministry) as a reporter would. Administrators only."""
    if not admin.can(Permission.MANAGE_ACCOUNTS):
        raise TokenRefused("not_allowed")
    made = _make(name, days, scope_unit_id=unit_id, created_by_id=admin.id)
    audit.record("api.service_token_created", actor=admin, target=name[:200], prefix=made.token.prefix,
                 unit=unit_id, expires=clock.day_of(made.token.expires_at).isoformat())
    return made


def revoke(actor: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    mine = token is not None and token.user_id == actor.id
    admin = token is not None and actor.can(Permission.MANAGE_ACCOUNTS)
    if token is None or token.revoked_at is not None or not (mine or admin):
        raise TokenRefused("not_yours")
    token.revoked_at = clock.now()
    audit.record("api.token_revoked", actor=actor, target=token.name[:200], prefix=token.prefix)
    return token


def listed(user: User) -> list[ApiToken]:
    """The person's tokens; an administrator's list has every service token too."""
    query = sa.select(ApiToken).where(ApiToken.revoked_at.is_(None))
    if user.can(Permission.MANAGE_ACCOUNTS):
        query = query.where(sa.or_(ApiToken.user_id == user.id, ApiToken.user_id.is_(None)))
    else:
        query = query.where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query.order_by(ApiToken.id)))


class Unauthorised(Exception):
    """No token, an unknown, expired or revoked one, or its account cannot read any more."""


def reader_of(secret: str, now: datetime | None = None) -> tuple[User, ApiToken]:
    """Who a request with this bearer token reads as: the person (as they are today) or, for a
    service token, a reporter limited to its unit. Unauthorised otherwise."""
    now = now or clock.now()
    if not secret.startswith(PREFIX) or len(secret) > 100:
        raise Unauthorised()
    row = db.session.execute(
        sa.select(ApiToken, User).outerjoin(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _hash(secret))).one_or_none()
    if row is None:
        raise Unauthorised()
    token, user = row
    if token.revoked_at is not None or token.expires_at <= now:
        raise Unauthorised()
    if token.user_id is None:
        return unit_reader(token.scope_unit_id, email=f"api:{token.prefix}", name=token.name), token
    if user is None or not user.active:
        raise Unauthorised()
    return user, token


def over_limit(token: ApiToken, per_minute: int, now: datetime | None = None) -> int:
    """Count this request against the token's minute: 0 when allowed, else the seconds until
    the next minute. One UPDATE in a short transaction of its own, counted by the database
    (every worker and server shares the count; a reading request stays a reader)."""
    now = now or clock.now()
    window = now.replace(second=0, microsecond=0)
    fresh = sa.or_(ApiToken.window_start.is_(None), ApiToken.window_start < window)
    with write_transaction(db.engine) as connection:
        count = connection.execute(
            sa.update(ApiToken).where(ApiToken.id == token.id)
            .values(window_count=sa.case((fresh, 1), else_=ApiToken.window_count + 1),
                    window_start=window, last_used_at=now)
            .returning(ApiToken.window_count)).scalar_one()
    return max(1, 60 - now.second) if count > per_minute else 0
