"""The database layer shared by every domain: the declarative base, UTC timestamps,
and SQLite settings that keep concurrent writers from failing with "database is locked".

SQLite in WAL mode lets readers run beside one writer, but a transaction that starts as a
reader and later writes fails at once (no waiting) if another writer got in first. So on
SQLite every transaction that may write begins with ``BEGIN IMMEDIATE``: it takes the
write lock up front and waits (busy timeout) instead of failing. Requests with a safe
method (GET, HEAD, OPTIONS) begin deferred transactions and must not write, unless their
view is marked ``@writes``; the small write a reading request still needs (touching a
session) uses ``write_transaction()`` on its own connection.
"""

from __future__ import annotations

import contextvars
import enum
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from mooc import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
F = TypeVar("F", bound=Callable[..., Any])

_write_intent: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "mooc_write_intent", default=None)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL keeps ``timestamptz``; SQLite keeps the naive UTC value as text.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use mooc.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(cls: type[enum.Enum], name: str) -> sa.Enum:
    """An enum column stored as its values (``"in_progress"``, not ``"IN_PROGRESS"``) in a
    VARCHAR(20) with a CHECK constraint named after ``name`` (``ck_<table>_<name>``), the
    same on SQLite and PostgreSQL (no native ENUM type for migrations to manage)."""
    return sa.Enum(cls, native_enum=False, length=20, create_constraint=True, name=name,
                   values_callable=lambda members: [member.value for member in members])


class CreatedAt:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


def writes(view: F) -> F:
    """Mark a view that writes even on GET (e.g. closing a quiz attempt whose time ran out):
    its transaction then begins as a writer, before the first read."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def wants_write() -> bool:
    """Whether this context's transactions begin as writers (BEGIN IMMEDIATE on SQLite)."""
    explicit = _write_intent.get()
    if explicit is not None:
        return explicit
    if has_request_context():
        if request.method not in SAFE_METHODS:
            return True
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        return bool(getattr(view, "writes_on_get", False))
    return True  # CLI commands, scripts and tests write


@contextmanager
def intend_to_write() -> Iterator[None]:
    """Transactions begun inside the block are writers (BEGIN IMMEDIATE on SQLite), even in
    a GET request: for the authors' auto-sync, which must write in a page view."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[sa.Connection]:
    """A short write transaction on its own connection, committed on exit.

    For the small writes a read-only request still needs (e.g. marking a session as used)
    without turning the whole request into a writer.
    """
    token = _write_intent.set(True)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        _write_intent.reset(token)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection: sa.Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE" if wants_write() else "BEGIN")


def insert_many(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows fast, in the session's transaction: COPY on PostgreSQL, executemany
    on SQLite.

    On psycopg a plain executemany sends one statement per row, and SQLAlchemy's
    multi-VALUES batches spend their time parsing huge statements client-side; COPY on the
    session's own connection is an order of magnitude faster.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(sa.insert(table), rows)
        return
    columns = list(rows[0])
    driver = connection.connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([value.value if isinstance(value, enum.Enum) else value
                            for value in (row[name] for name in columns)])
