"""An optional PostgreSQL read replica (MOOC_DATABASE_REPLICA_URL) for the heavy reads.

Only views marked ``@reads_replica`` (report pages and their exports, search) may read from
it, and only inside the view: the session check, the permission check and everything a
person does with their own training run on the primary first. Routing happens in the
session's ``get_bind()`` (``RoutingSession``, ``db.session``'s class), statement by
statement, so no query is written twice and no view chooses an engine:

- a SELECT (ORM or Core, or a text statement that only reads: SELECT, WITH, SET, RESET,
  SHOW without a write keyword) goes to the replica while the request reads from it;
- anything else (INSERT, UPDATE, DELETE, a flush, ``SELECT ... FOR UPDATE``, a bare
  ``session.connection()``) goes to the primary, whatever the request.

Read-your-writes: a request that wrote (a POST, or a GET marked ``@writes``) and committed
sets a cookie (``mooc_primary``) holding a time REPLICA_STICKY_SECONDS ahead; until then the
same browser's reports read the primary, so a manager who just grants an exemption sees it
in the next report although the replica is a moment behind.

Lag: every LAG_CHECK_SECONDS at most, per process, the request about to read the replica asks
it how far behind it is (the age of the last transaction it replayed, when it has received
more than it replayed; 0 when it replayed all it received). Further behind than
REPLICA_MAX_LAG_SECONDS, it is left alone like a replica that is gone.

When the replica fails to give a connection (refused, or no answer within its short connect
timeout), the statement runs on the primary, the failure is logged once, and the replica is
left alone for REPLICA_RETRY_SECONDS (a circuit breaker per process); then the next request
tries it again. A replica lost in the middle of a page (the connection dropped, or a query
cancelled by a recovery conflict) rests the same way and the page is made again on the
primary: these views write nothing (an export's audit event is written once its rows are
read). No replica URL (the default, and always on SQLite): no second engine, every
statement on the one engine, as before.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from flask import Flask, Response, current_app, g, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.engine import Engine

from mooc.config import Settings, replica_engine_options
from mooc.database import wants_write

log = logging.getLogger(__name__)

EXTENSION = "mooc_replica"
STICKY_COOKIE = "mooc_primary"
F = TypeVar("F", bound=Callable[..., Any])

# A text statement the replica may run: it starts as a read and names no write anywhere.
_READ_TEXT = re.compile(r"\s*(SELECT|WITH|SET|RESET|SHOW)\b", re.IGNORECASE)
LAG_CHECK_SECONDS = 5
LAG_SQL = sa.text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
    "THEN 0 ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END")
_WRITE_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|TRUNCATE|COPY|LOCK)\b",
                         re.IGNORECASE)


class Replica:
    """The replica's engine and its circuit breaker (per process: each gunicorn worker has
    its own, so a worker that finds the replica gone stops trying on its own)."""

    def __init__(self, engine: Engine, *, retry_seconds: int, sticky_seconds: int,
                 max_lag_seconds: int) -> None:
        self.engine = engine
        self.retry_seconds = retry_seconds
        self.sticky_seconds = sticky_seconds
        self.max_lag_seconds = max_lag_seconds
        self.down_until = 0.0  # time.monotonic(); 0 = in use
        self.lag_checked_at = float("-inf")  # time.monotonic() of the last lag check
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self.down_until

    def failed(self, error: BaseException) -> None:
        with self._lock:
            already_down = self.down_until > 0
            self.down_until = time.monotonic() + self.retry_seconds
        self.engine.dispose()  # its pooled connections point at a server that went away
        log.warning("read replica unavailable, reading from the primary for %s s%s: %s",
                    self.retry_seconds, " (still)" if already_down else "", error)

    def lag_check_due(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self.lag_checked_at < LAG_CHECK_SECONDS:
                return False
            self.lag_checked_at = now  # one request per process checks; the others go on
        return True

    def too_far_behind(self, lag: float) -> bool:
        if lag <= self.max_lag_seconds:
            return False
        with self._lock:
            self.down_until = time.monotonic() + self.retry_seconds
        log.warning("read replica %.1f s behind the primary (more than %s s): reading from the primary "
                    "for %s s", lag, self.max_lag_seconds, self.retry_seconds)
        return True

    def answered(self) -> None:
        if self.down_until:
            with self._lock:
                self.down_until = 0.0
            log.warning("read replica answers again: reports read from it")


def install(app: Flask, settings: Settings) -> None:
    """Make the replica's engine if MOOC_DATABASE_REPLICA_URL is set (``create_app``)."""
    if not settings.database_replica_url:
        return
    engine = sa.create_engine(settings.database_replica_url, **replica_engine_options(settings))
    app.extensions[EXTENSION] = Replica(engine, retry_seconds=settings.replica_retry_seconds,
                                        sticky_seconds=settings.replica_sticky_seconds,
                                        max_lag_seconds=settings.replica_max_lag_seconds)
    app.after_request(_stick_to_primary_after_writing)


def replica_of(app: Flask) -> Replica | None:
    return app.extensions.get(EXTENSION)


def engines(app: Flask) -> list[Engine]:
    """The replica's engine, if any (``mooc serve`` disposes it before forking workers)."""
    replica = replica_of(app)
    return [replica.engine] if replica else []


def reads_replica(view: F) -> F:
    """Mark a view whose reads may come from the replica (reports, exports, search): put it
    below ``permission_required`` so that the permission is checked on the primary."""

    @wraps(view)
    def reading(*args: Any, **kwargs: Any) -> Any:
        replica = replica_of(current_app)
        if replica is None or not replica.available or _stuck_to_primary():
            return view(*args, **kwargs)
        # This request's session (Flask-SQLAlchemy's, one per app context, removed at its
        # end), so the choice ends with the request and costs get_bind() one attribute.
        session = current_app.extensions["sqlalchemy"].session()
        session.read_replica = replica
        try:
            return view(*args, **kwargs)
        except sa_exc.DBAPIError as error:
            if session.read_replica is None or not _lost_replica(error):
                raise
            # The replica went away (or cancelled the query for replay) in the middle of the
            # page: nothing was written, so the page is made again, on the primary.
            session.read_replica = None
            replica.failed(error)
            session.rollback()
            return view(*args, **kwargs)

    reading.reads_replica = True  # type: ignore[attr-defined]
    return reading  # type: ignore[return-value]


def streaming(chunks: Iterable[Any]) -> Iterator[Any]:
    """The body of a streamed response (an export) reads where its view did.

    Flask ends the view's app context, and so its database session, when the view returns:
    the rows a streamed export pulls as it is sent are read by a new session, which would go
    to the primary. Wrap the body's generator in this (inside ``stream_with_context``): the
    view's choice is taken now and given to the session that reads while streaming. A replica
    lost half-way cannot be retried (the file's first bytes are sent): the download breaks,
    as any streamed response does."""
    session = current_app.extensions["sqlalchemy"].session()
    chosen = getattr(session, "read_replica", None)

    def body() -> Iterator[Any]:
        if chosen is not None:
            current_app.extensions["sqlalchemy"].session().read_replica = chosen
        yield from chunks

    return body()


def _lost_replica(error: sa_exc.DBAPIError) -> bool:
    """A lost connection, or a standby's "canceling statement due to conflict with recovery"
    (SQLSTATE 40001, which a read on the primary never meets)."""
    return error.connection_invalidated or getattr(error.orig, "sqlstate", None) == "40001"


def _stuck_to_primary() -> bool:
    """This browser wrote a moment ago: it reads its writes from the primary."""
    raw = request.cookies.get(STICKY_COOKIE, "")
    try:
        return time.time() < float(raw)
    except ValueError:
        return False


def _stick_to_primary_after_writing(response: Response) -> Response:
    """After a request that wrote and succeeded (``finish_request`` commits it), this browser
    reads the primary for a while."""
    if response.status_code < 400 and not g.get("rollback_only") and wants_write():
        replica = replica_of(current_app)
        if replica is not None and request.endpoint != "static":
            seconds = replica.sticky_seconds
            response.set_cookie(STICKY_COOKIE, f"{time.time() + seconds:.0f}", max_age=seconds,
                                httponly=True, samesite="Lax",
                                secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _reads_only(clause: Any) -> bool:
    if clause is None:
        return False
    if isinstance(clause, sa.TextClause):
        text = clause.text
        return bool(_READ_TEXT.match(text)) and not _WRITE_WORD.search(text)
    if not getattr(clause, "is_select", False):
        return False
    return getattr(clause, "_for_update_arg", None) is None


class RoutingSession(FlaskSession):
    """``db.session``'s class: reads of a ``@reads_replica`` view go to the replica."""

    read_replica: Replica | None = None  # set by @reads_replica for the rest of the request

    # SQLAlchemy gives get_bind() no clause for an ORM UNION (its compound select's pre-execution
    # names none), so a report page's union (the filter choices, the rules' coverage) went to
    # the primary although it only reads: the three ways in name it.
    def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return super().execute(statement, *args, **self._naming(statement, kwargs))

    def scalars(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return super().scalars(statement, *args, **self._naming(statement, kwargs))

    def scalar(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
        return super().scalar(statement, *args, **self._naming(statement, kwargs))

    def _naming(self, statement: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self.read_replica is None or not isinstance(statement, sa.CompoundSelect):
            return kwargs
        return {**kwargs, "bind_arguments": {"clause": statement, **(kwargs.get("bind_arguments") or {})}}

    def get_bind(self, mapper: Any | None = None, clause: Any | None = None,
                 bind: Engine | sa.Connection | None = None, **kwargs: Any) -> Engine | sa.Connection:
        replica = self.read_replica
        if replica is not None and bind is None and not self._flushing and _reads_only(clause):
            try:
                # Checked out now (or already held by this transaction), so that a replica
                # that is gone falls back here rather than failing the statement.
                connection = self.connection(bind_arguments={"bind": replica.engine})
                behind = replica.lag_check_due() and replica.too_far_behind(
                    float(connection.scalar(LAG_SQL) or 0))
            except sa_exc.DBAPIError as error:
                self.read_replica = None
                replica.failed(error)
            else:
                if not behind:
                    replica.answered()
                    return replica.engine
                self.read_replica = None
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)

