"""The database layer shared by every domain: the declarative base, UTC timestamps,
and SQLite settings that keep concurrent writers from failing with "database is locked".

SQLite in WAL mode lets readers run beside one writer, but a transaction that starts as a
reader and later writes fails at once (no waiting) if another writer got in first. So on
SQLite every transaction that may write begins with ``BEGIN IMMEDIATE``: it takes the
write lock up front and waits (busy timeout) instead of failing. Requests with a safe
method (GET, HEAD, OPTIONS) begin deferred transactions and must not write, unless their
view is marked ``@writes``; the small write a reading request still needs (touching a
session) uses ``write_transaction()`` on its own connection. A hot view that mostly reads
and then writes one row (a quiz start, a submit) is marked ``@reads_first``: its request
reads in a deferred transaction and does its write in ``short_write()``, a transaction of its
own that holds SQLite's write lock only for the write itself.

``configure_engine()`` binds these SQLite settings to one engine (the app's, in
``create_app``), never to every engine of the process. In tests it also refuses, at once,
any INSERT, UPDATE or DELETE a reading request sends without being marked as writing: on
PostgreSQL such a request works, on SQLite it fails only when another writer is busy.
"""

from __future__ import annotations

import contextvars
import enum
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column, scoped_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

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
    if TYPE_CHECKING:
        # DeclarativeBase types it as any FromClause; every model here maps one Table.
        __table__: ClassVar[sa.Table]


def rowcount(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. ``Session.execute()`` is typed as returning
    a ``Result``; for these statements it is a ``CursorResult``, which has the count."""
    assert isinstance(result, sa.CursorResult), type(result)
    return result.rowcount


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


def reads_first(view: F) -> F:
    """Mark a view whose request reads first (a deferred transaction, even for a POST) and
    writes only inside ``short_write()``: SQLite's single write lock is then held for the
    write alone, not for the whole request (session check, reads, rendering)."""
    view.reads_first = True  # type: ignore[attr-defined]
    return view


def _view_reads_first() -> bool:
    if not has_request_context() or request.endpoint is None:
        return False
    return bool(getattr(current_app.view_functions.get(request.endpoint), "reads_first", False))


@contextmanager
def short_write(session: Session | scoped_session[Any]) -> Iterator[None]:
    """The write of a ``@reads_first`` (or reading) request, in a short transaction of its own.

    In such a request the reading transaction is ended first (on SQLite a reader cannot
    become the writer once another writer committed; and its snapshot would hide that
    writer's rows), then the block runs in a transaction that begins as a writer (``BEGIN
    IMMEDIATE`` on SQLite) and is committed on exit (rolled back if it raises). What the
    session had loaded stays loaded (no reload after the commit). Anywhere else (a CLI
    command, a test, a request that is a writer already) it is a savepoint in the current
    transaction, so callers are the same everywhere.
    """
    if wants_write() and not _view_reads_first():
        with session.begin_nested():
            yield
        return
    own = session() if isinstance(session, scoped_session) else session
    keep = own.expire_on_commit
    own.expire_on_commit = False
    try:
        own.commit()  # the reading transaction: nothing is pending in it
        token = _write_intent.set(True)
        try:
            yield
            own.commit()
        except BaseException:
            own.rollback()
            raise
        finally:
            _write_intent.reset(token)
    finally:
        own.expire_on_commit = keep


def wants_write() -> bool:
    """Whether this context's transactions begin as writers (BEGIN IMMEDIATE on SQLite)."""
    explicit = _write_intent.get()
    if explicit is not None:
        return explicit
    if has_request_context():
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        if request.method not in SAFE_METHODS:
            return not getattr(view, "reads_first", False)
        return bool(getattr(view, "writes_on_get", False))
    return True  # CLI commands, scripts and tests write


def run_compiled(connection: sa.Connection, statement: sa.Select | sa.CompoundSelect,
                 values: Mapping[str, Any]) -> sa.CursorResult[Any]:
    """``connection.execute(statement, values)`` for a hot statement of plain columns, with its
    SQL compiled once per statement and dialect: SQLAlchemy works out a statement's cache key
    on every execution, which cost the lesson page's one statement 0.14 M instructions (3.5 %
    of the page). Only for statements built once per process (``functools.cache``) whose
    values need no conversion either way (numbers, strings, booleans): no type's bind or result
    processing runs, and an expanding (IN) parameter is refused."""
    sql, fixed, names = _compiled(statement, connection.dialect)
    given = {**fixed, **values}
    return connection.exec_driver_sql(sql, tuple(given[name] for name in names) if names is not None
                                      else given)


@functools.cache
def _compiled(statement: sa.Select | sa.CompoundSelect,
              dialect: sa.Dialect) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
    compiled = statement.compile(dialect=dialect)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("run_compiled: the statement has a parameter rendered at execution")
    names = tuple(compiled.positiontup or ()) if compiled.positional else None
    return str(compiled), dict(compiled.params), names


def readers_end_with_commit(url: str | sa.URL) -> bool:
    """Whether a reading request's transaction ends with COMMIT rather than the teardown's
    rollback. Not on SQLite (nothing to commit: the COMMIT was 3 % of a kept lesson page). On
    PostgreSQL yes: psycopg forgets the connection's prepared statements at every ROLLBACK
    (``Connection.rollback``: ``self._prepared.clear()``), so the statements every request
    sends would never stay prepared and each would be parsed and planned again (measured:
    the lesson page's own statement 0.15 -> 0.8 ms, the page served 0.5 -> 0.3 x the bare page)."""
    return sa.make_url(url).get_backend_name() != "sqlite"


def has_changes(session: Session | scoped_session[Any]) -> bool:
    """Whether the session holds objects added, changed or deleted and not yet flushed."""
    return bool(session.new or session.deleted or session.dirty)


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


class UnmarkedWrite(RuntimeError):
    """A reading request (GET, HEAD, OPTIONS) wrote without saying so (tests only): mark its
    view ``@writes``, or do the write in ``write_transaction()``."""


def configure_engine(engine: Engine, *, guard_writes: bool = False) -> None:
    """Bind this module's database settings to ``engine`` (called by ``create_app``).

    On SQLite: WAL, ``synchronous=NORMAL``, foreign keys, and ``BEGIN IMMEDIATE`` for the
    transactions of writers. ``guard_writes`` (tests): an INSERT, UPDATE or DELETE sent in a
    request that does not want to write raises ``UnmarkedWrite`` before it runs (with
    ``watch_request_writes`` as the app's first ``before_request`` hook).
    """
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    if guard_writes:
        event.listen(engine, "before_cursor_execute", _refuse_unmarked_write)


def _sqlite_on_connect(dbapi_connection, connection_record) -> None:
    # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    if wants_write():
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        # A reader's BEGIN goes to the driver's connection: SQLAlchemy's statement path (events,
        # a cursor, a result) cost every reading request about 1.5 % of its instructions.
        connection.connection.driver_connection.execute("BEGIN")  # type: ignore[union-attr]


_WRITE_STATEMENT = re.compile(r"\s*(?:--[^\n]*\n\s*)*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)


def watch_request_writes() -> None:
    """A ``before_request`` hook (tests): from here on, this request's unmarked writes raise.

    Only requests the app dispatches are watched, not a ``test_request_context()`` a test
    opens to set up data."""
    g.mooc_watch_writes = True


def _refuse_unmarked_write(connection, cursor, statement: str, parameters, context,
                           executemany: bool) -> None:
    if not has_request_context() or not g.get("mooc_watch_writes") or wants_write():
        return
    compiled_write = context is not None and (context.isinsert or context.isupdate or context.isdelete)
    if compiled_write or _WRITE_STATEMENT.match(statement):
        raise UnmarkedWrite(
            f"{request.method} {request.path} (view {request.endpoint}) writes but is not marked as "
            f"writing: mark the view @writes or use write_transaction(). Statement: {statement[:120]}")


def insert_many(session: Session | scoped_session[Any], table: sa.Table, rows: list[dict[str, Any]]) -> None:
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
    assert driver is not None  # a checked-out connection has its driver's connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([value.value if isinstance(value, enum.Enum) else value
                            for value in (row[name] for name in columns)])


CHUNK = 900  # values per IN (...) list: the one ceiling (see chunks())

T = TypeVar("T")


def chunks(values: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """``values`` in order, in lists of at most ``size`` (default, and ceiling: ``CHUNK``): one
    IN (...) list per statement. SQLAlchemy sends ``column.in_(ids)`` as one bound parameter per
    id, and PostgreSQL's driver refuses a statement with more than 65,535 of them (old SQLite
    builds, 999): a list that grows with the roster, the enrolments or the lessons is sent a
    chunk at a time, or better not at all (a subquery, when the caller means everyone).
    ``tests/test_bulk_limits.py`` lowers ``CHUNK`` and watches every bulk path."""
    items = values if isinstance(values, list) else list(values)
    step = CHUNK if size is None else max(1, min(size, CHUNK))
    for start in range(0, len(items), step):
        yield items[start:start + step]


def row_chunks(values: Iterable[T], per_row: int) -> Iterator[list[T]]:
    """``chunks`` for a statement that carries ``per_row`` bound parameters per row (a row's own
    value used twice), so few rows a statement that it stays within the same ceiling of
    parameters as an IN list of ``CHUNK``."""
    return chunks(values, max(1, CHUNK // per_row))


def inline_id(row_id: int) -> sa.ColumnElement[Any]:
    """An integer id written into the statement's text (``int()`` first: never text from
    outside), not bound: a statement giving each row of a chunk its own value (``CASE id WHEN 12
    THEN ?``) carries one parameter per row, as an IN list does."""
    return sa.literal_column(str(int(row_id)))


class ids_joined(sa.sql.functions.FunctionElement[str]):
    """An aggregate: the integer ids of the group, joined by commas. ``aggregate_strings`` would
    bind its separator as a parameter written into the statement's text at every execution
    (a post-compile parameter, re-rendered per call); this one's separator is part of the
    statement cached once."""

    type = sa.String()
    inherit_cache = True
    name = "ids_joined"


@compiles(ids_joined, "postgresql")
def _ids_joined_postgresql(element: ids_joined, compiler: Any, **kw: Any) -> str:
    return f"string_agg(CAST({compiler.process(element.clauses, **kw)} AS VARCHAR), ',')"


@compiles(ids_joined)
def _ids_joined(element: ids_joined, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


class rows_as_json(sa.sql.functions.FunctionElement[str]):
    """An aggregate: the group's rows, each the JSON array of the columns given, as the text of
    one JSON array (NULL on PostgreSQL, ``[]`` on SQLite, for no rows; in the order the rows
    come). Text, not JSON: the driver does not decode it, so a reader may keep it as a key and
    decode it only when it builds what it keeps. What JSON makes of a column differs by
    database (a boolean is 0 or 1 on SQLite; a timestamp is SQLite's text, or ISO 8601 with its
    offset): the reader decodes both."""

    type = sa.String()
    inherit_cache = True
    name = "rows_as_json"


@compiles(rows_as_json, "postgresql")
def _rows_as_json_postgresql(element: rows_as_json, compiler: Any, **kw: Any) -> str:
    return f"CAST(json_agg(json_build_array({compiler.process(element.clauses, **kw)})) AS TEXT)"


@compiles(rows_as_json)
def _rows_as_json(element: rows_as_json, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


def utc_from_json(value: str | None) -> datetime | None:
    """A ``UTCDateTime`` as ``rows_as_json`` wrote it, read as the column's own type reads it:
    timezone-aware, in UTC (SQLite's naive UTC text; PostgreSQL's ISO 8601 with an offset)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def chunked_in(column: Any, values: Iterable[Any] | sa.Select | None) -> Iterator[sa.ColumnElement[bool]]:
    """The condition ``column IN values`` as the conditions of the statements to run, each
    bounded: for None (everyone) ``true``, once; for a select, ``column IN (select)``, once (the
    database reads the ids); for values, one IN list per chunk, in order (none when there are
    no values: ``IN ()`` matches nothing). Run the statement once per condition and gather."""
    if values is None:
        yield sa.true()
    elif isinstance(values, sa.Select):
        yield column.in_(values)
    else:
        for chunk in chunks(values):
            yield column.in_(chunk)


def write_changed(session: Session | scoped_session[Any], model: type,
                  changed: Mapping[Any, Iterable[str]]) -> int:
    """Write the attributes ``changed`` names (object -> attribute names) of loaded rows of
    ``model``, as they now are on the objects, set-based: the rows given the same values share
    one ``UPDATE ... WHERE id IN (...)`` per ``CHUNK`` of them (so a bulk path that closes
    100,000 enrolments sends about 112 statements, not the 100,000 of a flush, which updates a
    changed object at a time). Returns how many rows were written.

    The statements run on the session's connection, without flushing first: a bulk path sets
    the attributes as usual (later code in the same pass sees them), notes which, and writes
    them here before anything flushes them one by one (a new row among them, not inserted yet,
    is left to its INSERT, which carries the values). The objects then hold these values as if
    loaded so (no change left for a flush to send, no stale value for code that reads them
    later); so do their columns with an ``onupdate`` (``updated_at``), given one value per call.
    They stay marked as changed (their attributes were set), so a savepoint rolled back expires
    them (a rule's preview), as it does what a flush wrote in it. The ORM's hooks do not see
    these writes: a writer of ``Enrolment`` or ``Staff`` rows names the people with
    ``events.touched()``.
    """
    if not changed:
        return 0
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    (key_column,) = mapper.primary_key
    stamps = _stamps(mapper)
    connection = session.connection()
    written = 0
    for values, objects in _by_values(model, changed, stamps).items():
        assigned = {**dict(values), **stamps}
        columns = {mapper.column_attrs[key].columns[0].key: value for key, value in assigned.items()}
        ids = sorted(sa.inspect(obj).identity[0] for obj in objects)
        for chunk in chunks(ids):
            written += rowcount(connection.execute(
                sa.update(model.__table__).where(key_column.in_(chunk)).values(columns)))  # type: ignore[attr-defined]
        for obj in objects:
            for key, value in assigned.items():
                set_committed_value(obj, key, value)
    return written


def _stamps(mapper: sa.orm.Mapper[Any]) -> dict[str, Any]:
    """The values of the columns with an ``onupdate`` (``updated_at``: now), for one UPDATE."""
    stamps: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        onupdate = attr.columns[0].onupdate
        if onupdate is not None and getattr(onupdate, "is_callable", False):
            stamps[attr.key] = onupdate.arg(None)  # a callable default, given no context
    return stamps


def _by_values(model: type, changed: Mapping[Any, Iterable[str]],
               stamps: Mapping[str, Any]) -> dict[tuple[tuple[str, Any], ...], list[Any]]:
    """The loaded objects of ``changed``, grouped by the values their changed attributes hold."""
    groups: dict[tuple[tuple[str, Any], ...], list[Any]] = {}
    for obj, keys in changed.items():
        assert isinstance(obj, model), (obj, model)
        if sa.inspect(obj).key is None:
            continue  # a new row, not inserted yet: its INSERT carries the values
        values = tuple(sorted((key, getattr(obj, key)) for key in set(keys) if key not in stamps))
        groups.setdefault(values, []).append(obj)
    return groups


def write_each(session: Session | scoped_session[Any], model: type, key: str,
               values: Mapping[Any, Any]) -> int:
    """Give each loaded row of ``values`` (object -> value) its own value of the attribute
    ``key``, set-based: one ``UPDATE ... SET key = CASE id WHEN ... END WHERE id IN (...)`` per
    ``CHUNK`` of rows (the ids written inline, ``inline_id``: one bound parameter a row), however
    many distinct values (``write_changed`` sends one per value: a
    date that differs person by person, a completion's expiry, would be one per person). The
    objects then hold the values as if loaded so (``updated_at`` stamped once per call); the ORM's
    hooks do not see the writes (a writer of ``Enrolment`` rows names the people with
    ``events.touched()``)."""
    if not values:
        return 0
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    (key_column,) = mapper.primary_key
    stamps = _stamps(mapper)
    column = mapper.column_attrs[key].columns[0]
    by_id = {sa.inspect(obj).identity[0]: obj for obj in values}
    connection = session.connection()
    written = 0
    for chunk in chunks(sorted(by_id)):
        case = sa.case({inline_id(row_id): sa.literal(values[by_id[row_id]], column.type)
                        for row_id in chunk}, value=key_column)
        columns = {column.key: case, **{mapper.column_attrs[name].columns[0].key: value
                                        for name, value in stamps.items()}}
        written += rowcount(connection.execute(sa.update(model.__table__).where(  # type: ignore[attr-defined]
            key_column.in_([inline_id(row_id) for row_id in chunk])).values(columns)))
    for obj, value in values.items():
        for name, stamp in {key: value, **stamps}.items():
            set_committed_value(obj, name, stamp)
    return written


def write_rows(session: Session | scoped_session[Any], model: type,
               rows: Mapping[int, Mapping[str, Any]]) -> int:
    """Give rows of ``model``, by primary key, their own values of several attributes (row id ->
    attribute -> value), set-based: one ``UPDATE ... SET a = CASE id WHEN ... END, b = CASE ...
    WHERE id IN (...)`` per chunk of rows (``row_chunks``: a bound parameter per attribute a
    row), the rows that set the same attributes together; ``updated_at`` is stamped once per
    call, as ``write_each`` does. The rows need not be loaded; those that are (in the session's
    identity map) then hold the values as if loaded so. The ORM's hooks do not see the writes (a
    writer of ``Enrolment`` or ``Staff`` rows names the people with ``events.touched()``)."""
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    (key_column,) = mapper.primary_key
    stamps = _stamps(mapper)
    connection = session.connection()
    by_keys: dict[tuple[str, ...], list[int]] = {}
    for row_id, values in rows.items():
        by_keys.setdefault(tuple(sorted(values)), []).append(row_id)
    written = 0
    for keys, ids in by_keys.items():
        columns = [mapper.column_attrs[key].columns[0] for key in keys]
        for chunk in row_chunks(sorted(ids), len(keys)):
            assigned: dict[str, Any] = {
                column.key: sa.case({inline_id(row_id): sa.literal(rows[row_id][key], column.type)
                                     for row_id in chunk}, value=key_column)
                for key, column in zip(keys, columns, strict=True)}
            assigned.update({mapper.column_attrs[name].columns[0].key: value
                             for name, value in stamps.items() if name not in keys})
            written += rowcount(connection.execute(sa.update(model.__table__).where(  # type: ignore[attr-defined]
                key_column.in_([inline_id(row_id) for row_id in chunk])).values(assigned)))
    for row_id, values in rows.items():
        loaded = session.identity_map.get(identity_key(model, row_id))
        if loaded is not None:
            for name, value in {**values, **stamps}.items():
                set_committed_value(loaded, name, value)
    return written


ROWS_PER_STATEMENT = 10_000  # rows written by one statement of write_texts (one parameter)


def write_texts(session: Session | scoped_session[Any], model: type,
                rows: Mapping[int, Mapping[str, Any]]) -> int:
    """Give rows of ``model``, by primary key, their own values of text and JSON columns (row id
    -> attribute -> value: text, None, or JSON data), a few statements for any number of rows:
    the rows travel as one parameter, a JSON array read by the database (``json_each`` on SQLite,
    ``json_array_elements`` on PostgreSQL) and joined to the table (``UPDATE ... FROM``), so a
    purge that rewrites 500,000 audit events sends 50 statements, each compiled once, instead
    of a CASE of a few hundred rows each. A JSON value is stored as SQLAlchemy would store it
    (``json.dumps``); ``updated_at`` is stamped as by ``write_rows``. Loaded rows are not
    refreshed (the caller writes rows it did not load)."""
    if not rows:
        return 0
    postgresql = session.connection().dialect.name == "postgresql"
    by_keys: dict[tuple[str, ...], list[int]] = {}
    for row_id, values in rows.items():  # the rows that set the same attributes together
        by_keys.setdefault(tuple(sorted(values)), []).append(row_id)
    written = 0
    for keys, ids in by_keys.items():
        statement, columns, stamps = _texts_statement(model, list(keys), postgresql)
        ordered = sorted(ids)
        for start in range(0, len(ordered), ROWS_PER_STATEMENT):
            chunk = [[row_id, *(_text(rows[row_id][key], column)
                                for key, column in zip(keys, columns, strict=True))]
                     for row_id in ordered[start:start + ROWS_PER_STATEMENT]]
            written += rowcount(session.execute(statement, {"rows": json.dumps(chunk), **stamps}))
    return written


def _texts_statement(model: type, keys: list[str],
                     postgresql: bool) -> tuple[sa.TextClause, list[Any], dict[str, Any]]:
    """``write_texts``'s statement for these attributes, their columns, and the stamps' values."""
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    (key_column,) = mapper.primary_key
    columns = [mapper.column_attrs[key].columns[0] for key in keys]
    assigned = [f"{column.name} = {_element(column, number, postgresql)}"
                for number, column in enumerate(columns, start=1)]
    stamps = {mapper.column_attrs[name].columns[0]: value
              for name, value in _stamps(mapper).items() if name not in keys}
    assigned += [f"{column.name} = :{column.name}" for column in stamps]
    source = ("json_array_elements(CAST(:rows AS JSON)) AS j(value)" if postgresql
              else "json_each(:rows) AS j")
    key = "CAST(j.value->>0 AS INTEGER)" if postgresql else "json_extract(j.value, '$[0]')"
    statement = sa.text(f"UPDATE {table.name} SET {', '.join(assigned)} FROM {source} "  # noqa: S608 (model's names)
                        f"WHERE {table.name}.{key_column.name} = {key}")
    statement = statement.bindparams(*[sa.bindparam(column.name, type_=column.type) for column in stamps])
    return statement, columns, {column.name: value for column, value in stamps.items()}


def _element(column: Any, index: int, postgresql: bool) -> str:
    """The row's ``index``-th value, as the column's type."""
    if postgresql:
        return (f"CAST(j.value->>{index} AS JSON)" if isinstance(column.type, sa.JSON)
                else f"j.value->>{index}")
    return f"json_extract(j.value, '$[{index}]')"


def _text(value: Any, column: Any) -> Any:
    """What the column stores: JSON data serialised (a JSON null is the text ``null``)."""
    return json.dumps(value) if isinstance(column.type, sa.JSON) else value


def update_rows(session: Session | scoped_session[Any], model: type, objects: Iterable[Any],
                values: Mapping[str, Any]) -> int:
    """Give loaded rows of ``model`` the same ``values``, set-based (``write_changed``)."""
    changed: dict[Any, Iterable[str]] = {}
    for obj in objects:
        for key, value in values.items():
            setattr(obj, key, value)
        changed[obj] = values.keys()
    return write_changed(session, model, changed)


@functools.cache
def alias(model: type, role: str) -> Any:
    """An alias of a mapped class for one role in a statement (``alias(Enrolment, "later")``:
    SQL name ``enrolments_later``), made once per process. Building an alias of a mapped class
    costs about a millisecond, more than most statements it serves take to run; a page that
    built one per request paid it on every view. Two aliases of a class in one statement take
    two roles. ``tests/test_statement_building.py`` finds ``aliased(Model)`` made anywhere else."""
    return aliased(model, name=f"{model.__tablename__}_{role}")  # type: ignore[attr-defined]
