"""Server-side sessions: start one at sign-in, check it on every request, revoke it.

Flask's signed cookie alone stays valid after logout for as long as it has not expired,
so the cookie carries only a random token, and this table says whether it still counts.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask, Request, has_request_context
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from mooc import clock
from mooc.auth.models import AuthSession, SessionFacts, User
from mooc.caching import KeptCache
from mooc.config import settings
from mooc.database import rowcount, wants_write, write_transaction
from mooc.extensions import db

TOUCH_EVERY = timedelta(seconds=60)  # how stale last_seen_at may get before it is rewritten


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, ip: str = "", user_agent: str = "") -> AuthSession:
    """Open a new session for ``user``; its raw token is only in ``session.raw_token``."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    auth_session = AuthSession(
        token_hash=_hash(token), user=user, created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=settings().session_max_hours),
        ip=ip[:64], user_agent=user_agent[:300])
    auth_session.raw_token = token
    db.session.add(auth_session)
    db.session.flush()
    user.current_session = auth_session
    return auth_session


@cache
def _session_and_account() -> sa.Select:
    """The account and what the check needs of its session, in one statement (every signed-in
    request asks): the account as an object (every view expects one), the session as plain
    columns (loaded as an object only when a view asks: ``User.current_session``). Built once
    per process: building and keying a statement cost twice its execution (0.1 ms)."""
    return (sa.select(User, AuthSession.id, AuthSession.revoked_at, AuthSession.expires_at,
                      AuthSession.last_seen_at, AuthSession.second_factor)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.token_hash == sa.bindparam("token_hash")))


def load_user(token: str) -> User | None:
    """The user behind a session token, or None if the session ended for any reason."""
    if not token or len(token) > 100:
        return None
    row = db.session.execute(_session_and_account(), {"token_hash": _hash(token)}).one_or_none()
    if row is None:
        return None
    user, session_id, revoked_at, expires_at, last_seen_at, second_factor = row
    if revoked_at is not None:
        return None
    now = clock.now()
    idle = timedelta(minutes=settings().session_idle_minutes)
    if now >= expires_at or now - last_seen_at > idle:
        return None
    if not user.active:
        return None
    if now - last_seen_at > TOUCH_EVERY:
        _touch(session_id, now)
    user.current_session = None
    user.session_facts = SessionFacts(session_id, token, second_factor)
    return user


def lapsed_owner(token: object) -> int | None:
    """The user id behind a session that ended by time alone (idle too long, or older than
    SESSION_MAX_HOURS) less than SESSION_MAX_HOURS ago; None for a session ended on purpose
    (sign-out, password change, deactivation), an inactive account or an unknown token.

    It proves only that this browser was signed in as that person: enough to keep answers
    a signed-out trainee sent to their own open attempt, never to act as them.
    """
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    auth_session = db.session.execute(
        sa.select(AuthSession).where(AuthSession.token_hash == _hash(token))
    ).scalar_one_or_none()
    if auth_session is None or auth_session.revoked_at is not None or not auth_session.user.active:
        return None
    if clock.now() - auth_session.last_seen_at > timedelta(hours=settings().session_max_hours):
        return None
    return auth_session.user_id


def _touch(session_id: int, now: datetime) -> None:
    touch = sa.update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=now)
    if has_request_context() and not wants_write():
        # A reading request must not write in its own transaction (see mooc.database).
        with write_transaction(db.engine) as connection:
            connection.execute(touch)
    else:
        db.session.execute(touch, execution_options={"synchronize_session": False})


def end_session(auth_session: AuthSession | None) -> None:
    if auth_session is not None and auth_session.revoked_at is None:
        auth_session.revoked_at = clock.now()


def revoke_all(user: User, *, keep: AuthSession | None = None) -> int:
    """End every session of ``user`` (but ``keep``): after a password change or deactivation."""
    stmt = (sa.update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=clock.now()))
    if keep is not None:
        stmt = stmt.where(AuthSession.id != keep.id)
    return rowcount(db.session.execute(stmt, execution_options={"synchronize_session": False}))


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie (it holds the session token above, the CSRF token and the flashed
    messages), with its serializer built once per secret: Flask builds one for every request
    and every answer that sets the cookie (about 2 % of a signed-in request's instructions).
    A new ``SECRET_KEY`` or ``SECRET_KEY_FALLBACKS`` is a new serializer.

    A cookie is also read once per serializer: checking its signature and decoding it (an
    HMAC, base64, zlib, JSON) cost about 4 % of a signed-in request, for the same cookie on
    every page (it is sent again only when the session changes). What a cookie says is kept
    under its exact text with the time it was signed; the age limit is checked on every
    request, as itsdangerous does, and a text never seen is checked in full (a changed byte
    is a new text). Only cookies whose values are all immutable (strings, numbers) are kept:
    the flashed messages are a list a request may append to."""

    _kept: tuple[tuple[object, ...], URLSafeTimedSerializer | None, KeptCache] | None = None

    def _serializer(self, app: Flask) -> tuple[URLSafeTimedSerializer | None, KeptCache]:
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._kept
        if kept is None or kept[0] != key:
            kept = self._kept = (key, super().get_signing_serializer(app), KeptCache(4096))
        return kept[1], kept[2]

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        return self._serializer(app)[0]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer, opened = self._serializer(app)
        if serializer is None:
            return None
        text = request.cookies.get(self.get_cookie_name(app))
        if not text:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = opened.peek((text,))
        if known is not None:
            signed_at, data = cast(tuple[int, dict[str, Any]], known)
            if 0 <= int(time.time()) - signed_at <= max_age:
                return self.session_class(data)
            return self.session_class()
        try:
            data, signed = serializer.loads(text, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(type(value) in _IMMUTABLE for value in data.values()):
            opened.put((text,), (int(signed.timestamp()), data))
        return self.session_class(data)


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def no_identifier() -> str:
    """Flask-Login's session identifier, unused here: it hashes the client's address and user
    agent (SHA-512) on every request for its session protection, which is off because the
    server-side session does that job; the hash was also stored in the cookie."""
    return ""
