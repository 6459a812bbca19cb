"""Versions the database owns: one number per named set of rows (``data_versions``), raised in
the transaction of every change to those rows.

What a process builds from the rows (the unit tree and its labels: ``mooc.roster.tree``) is kept
under the version it was read with (``mooc.caching``): never invalidated by hand, and never
stale, since whoever changes the rows (another gunicorn worker, another app server, a command)
raises the number in the same transaction and every reader reads the number first. The rules:

- a writer that goes through the ORM raises it from a flush listener (the rows' own module);
  a writer that bypasses the ORM (a bulk ``UPDATE``) calls :func:`raise_version` itself;
- a transaction that raised a version does not keep what it builds from those rows
  (:func:`raised_here`): it reads its own writes, which may still roll back (a preview);
- a reader keeps what it built only under the version read *in the same statement* as the
  rows (:func:`version_column`), so a change committed between two statements cannot be kept
  under the number before it;
- a missing row (a new database, tables emptied) is a version nobody keeps; the first change
  makes the row with a random start, so a number a process kept from another database's
  history is not met again.
"""

from __future__ import annotations

import functools
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from mooc.extensions import Model

_RAISED = "mooc.versions.raised"  # session.info: the names this transaction raised


class DataVersion(Model):
    """The version of a named set of rows (``ORG_UNITS``...): a number, raised by each change."""

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger)


ORG_UNITS = "org_units"  # the unit tree: every row of org_units
COURSES = "courses"  # every row of courses (the catalog: each course's title, summary, version...)
# the reports' counts: the summary (report_people), the roster rows and the accounts' fields they
# count (raised by the summary's upkeep whenever it recomputes anyone: mooc/reports/summary.py)
REPORT_COUNTS = "report_counts"


def random_start() -> int:
    return secrets.randbelow(2**52) + 1


def raise_version(session: Session | Any, name: str) -> None:
    """Raise ``name``'s version in ``session``'s transaction (made, with a random start, when it is
    missing). Safe inside a flush (it runs on the connection, with no autoflush). On PostgreSQL
    the row stays locked until the transaction ends: writers of one set of rows take turns."""
    session.info.setdefault(_RAISED, set()).add(name)
    raise_on_connection(session.connection(), name)


def raise_on_connection(connection: sa.Connection, name: str) -> None:
    """:func:`raise_version` for a writer on a bare connection (a bulk load outside any session:
    the benchmark's generator), whose own transaction keeps nothing it reads."""
    table = DataVersion.__table__
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(name=name, version=random_start())
    connection.execute(statement.on_conflict_do_update(
        index_elements=[table.c.name], set_={"version": table.c.version + 1}))


def raised_here(session: Session | Any, name: str) -> bool:
    """Whether this session's transaction (kept until the outermost one ends) raised ``name``."""
    return name in session.info.get(_RAISED, ())


def raised_any(session: Session | Any) -> bool:
    """Whether this session's transaction raised any version: what it builds may rest on rows it
    wrote and may still roll back, so it keeps nothing (pages, a course's shape)."""
    return bool(session.info.get(_RAISED))


def version_column(name: str) -> sa.ScalarSelect[Any]:
    """``name``'s version as a column (a scalar subquery), to be read in the statement that reads
    the rows it versions (NULL when there is no row)."""
    table = DataVersion.__table__
    return sa.select(table.c.version).where(table.c.name == name).scalar_subquery()


def read_version(session: Session | Any, name: str) -> int | None:
    """``name``'s version as this transaction sees it (None: no row yet)."""
    return session.execute(_read_statement(), {"name": name}).scalar()


@functools.cache
def _read_statement() -> sa.Select[Any]:
    table = DataVersion.__table__
    return sa.select(table.c.version).where(table.c.name == sa.bindparam("name"))


@sa.event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    """The outermost transaction ended: what it raised is committed, or gone (a savepoint's end
    keeps the names: the transaction around it may still read its own writes)."""
    if transaction.parent is None:
        session.info.pop(_RAISED, None)
