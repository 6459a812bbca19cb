"""The audit trail: one row per security-relevant act. Never pass passwords or tokens."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

from mooc import clock
from mooc.auth.models import AuditEvent, User
from mooc.database import wants_write, write_transaction
from mooc.extensions import db

FORBIDDEN_KEYS = frozenset({"password", "token", "secret", "password_hash"})


def record(action: str, *, actor: User | None = None, target: str = "", **details: Any) -> AuditEvent:
    """Add the event to this request's transaction, or, in a reading request (an export, a
    download), write it at once in a short transaction of its own: a reader never turns writer
    (see mooc.database), and a long export does not hold the write lock."""
    if FORBIDDEN_KEYS & set(details):
        raise ValueError("audit details must not carry secrets")
    ip = ""
    if has_request_context():
        ip = request.remote_addr or ""
        if actor is None and current_user.is_authenticated:
            actor = current_user
    event = AuditEvent(action=action, actor_id=actor.id if actor else None,
                       target=target[:200], ip=ip[:64], details=details)
    if has_request_context() and not wants_write():
        with write_transaction(db.engine) as connection:
            connection.execute(sa.insert(AuditEvent).values(
                action=event.action, actor_id=event.actor_id, target=event.target, ip=event.ip,
                details=event.details, at=clock.now()))
        return event
    db.session.add(event)
    return event
