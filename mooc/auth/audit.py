"""The audit trail: one row per security-relevant act. Never pass passwords or tokens."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from mooc.auth.models import AuditEvent, User
from mooc.extensions import db

FORBIDDEN_KEYS = frozenset({"password", "token", "secret", "password_hash"})


def record(action: str, *, actor: User | None = None, target: str = "", **details: Any) -> AuditEvent:
    if FORBIDDEN_KEYS & set(details):
        raise ValueError("audit details must not carry secrets")
    ip = ""
    if has_request_context():
        ip = request.remote_addr or ""
        if actor is None and current_user.is_authenticated:
            actor = current_user
    event = AuditEvent(action=action, actor_id=actor.id if actor else None,
                       target=target[:200], ip=ip[:64], details=details)
    db.session.add(event)
    return event
