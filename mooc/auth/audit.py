"""The audit trail: one row per security-relevant act. Never pass passwords or tokens.

A sign-in event that ties a directory user name to a person (see ``DirectoryName``) keeps
that tie too, in the same transaction as the event: ``directory_names`` is the small table
``mooc.privacy.names`` reads instead of every sign-in's details."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy.dialects import postgresql, sqlite

from mooc import clock
from mooc.auth.models import AuditEvent, DirectoryName, User
from mooc.database import wants_write, write_transaction
from mooc.extensions import db
from mooc.text import clean, name_key

FORBIDDEN_KEYS = frozenset({"password", "token", "secret", "password_hash"})

# The events that tie a directory user name to a person (the sign-in pages record them):
SIGNED_IN = ("login.succeeded", "login.second_factor_asked")  # details.login: the user name typed
REFUSED = "login.failed"  # details.person: whom the directory named when the roster refused them
NAME_LENGTH = 254


def record(action: str, *, actor: User | None = None, target: str = "", **details: Any) -> AuditEvent:
    """Add the event to this request's transaction, or, in a reading request (an export, a
    download), write it at once in a short transaction of its own: a reader never turns writer
    (see mooc.database), and a long export does not hold the write lock. The directory user
    name it ties to a person, if any (``tie_of``), is kept with it."""
    if FORBIDDEN_KEYS & set(details):
        raise ValueError("audit details must not carry secrets")
    ip = ""
    if has_request_context():
        ip = request.remote_addr or ""
        if actor is None and current_user.is_authenticated:
            actor = current_user
    event = AuditEvent(action=action, actor_id=actor.id if actor else None,
                       target=target[:200], ip=ip[:64], details=details)
    tie = tie_of(event.action, event.actor_id, event.target, details)
    if has_request_context() and not wants_write():
        with write_transaction(db.engine) as connection:
            connection.execute(sa.insert(AuditEvent).values(
                action=event.action, actor_id=event.actor_id, target=event.target, ip=event.ip,
                details=event.details, at=clock.now()))
            if tie is not None:
                connection.execute(tie.statement(connection.dialect.name))
        return event
    db.session.add(event)
    if tie is not None:
        db.session.execute(tie.statement(db.session.get_bind().dialect.name))
    return event


@dataclass(frozen=True)
class Tie:
    """A directory user name tied to an account (``user_id``) or to whom the directory named
    (``person``), as typed; stored folded by Python (``statement``, text.name_key), as the sign-in
    folds what it records: SQL's lower() would leave 'ĐÀO' upper-case on SQLite (and on a
    PostgreSQL database whose LC_CTYPE is C)."""

    name: str
    user_id: int | None = None
    person: str | None = None

    def statement(self, dialect: str) -> sa.Insert:
        """Keep the tie once (a second sign-in under the same name adds nothing)."""
        table = DirectoryName.__table__
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        owner = table.c.user_id if self.user_id is not None else table.c.person
        return insert(table).values(
            name=name_key(self.name)[:NAME_LENGTH], user_id=self.user_id,
            person=None if self.person is None else person_key(self.person)[:NAME_LENGTH],
            first_at=clock.now(),
        ).on_conflict_do_nothing(index_elements=[owner, table.c.name], index_where=owner.is_not(None))


def person_key(person: str) -> str:
    """Whom a refusal names, as it is compared: a staff code as written (``clean``), an address
    folded (``name_key``)."""
    return name_key(person) if "@" in person else clean(person)


def tie_of(action: str, actor_id: int | None, target: str, details: dict[str, Any]) -> Tie | None:
    """The directory user name this event ties to a person, if any: the user name typed at a
    sign-in the directory let in (``details.login``: the account's), or the user name typed
    (``target``) when the roster refused the person the directory named (``details.person``)."""
    if action in SIGNED_IN:
        login = str(details.get("login") or "")
        return Tie(login, user_id=actor_id) if login.strip() and actor_id is not None else None
    if action == REFUSED:
        person = str(details.get("person") or "")
        return Tie(target, person=person) if target.strip() and person.strip() else None
    return None
