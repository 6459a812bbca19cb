"""The database layer: concurrent writers, UTC timestamps, and migrations that match the models."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from mooc.auth.access import public
from mooc.auth.models import AuditEvent
from mooc.database import UnmarkedWrite, write_transaction, writes
from mooc.extensions import db
from mooc.models import include_name

THREADS = 8
REQUESTS_PER_THREAD = 15


def test_concurrent_read_then_write_requests_all_succeed(make_app):
    """Each request reads, pauses, then writes: the pattern that makes SQLite say
    "database is locked" when transactions begin deferred. None may fail."""
    app = make_app()

    @app.post("/test/write")
    @public
    def write():
        seen = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        time.sleep(0.002)
        db.session.add(AuditEvent(action="test.write", target=str(seen)))
        return "ok"

    app.config["WTF_CSRF_ENABLED"] = False
    failures: list[str] = []

    def worker() -> None:
        client = app.test_client()
        for _ in range(REQUESTS_PER_THREAD):
            response = client.post("/test/write")
            if response.status_code != 200:
                failures.append(response.get_data(as_text=True)[:200])

    app.config["PROPAGATE_EXCEPTIONS"] = False
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "test.write"))
    assert count == THREADS * REQUESTS_PER_THREAD


def test_timestamps_are_stored_in_utc_and_come_back_aware(app):
    hanoi = timezone(timedelta(hours=7))
    with app.app_context():
        event = AuditEvent(action="t", at=datetime(2026, 1, 1, 7, 0, tzinfo=hanoi))
        db.session.add(event)
        db.session.commit()
        db.session.expire_all()
        loaded = db.session.get(AuditEvent, event.id)
        assert loaded.at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
        assert loaded.at.tzinfo is not None
        with pytest.raises(sa.exc.StatementError):
            db.session.add(AuditEvent(action="t", at=datetime(2026, 1, 1)))  # naive: refused
            db.session.flush()
        db.session.rollback()


def test_migration_head_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        inspector = sa.inspect(db.engine)
        assert set(inspector.get_table_names()) <= {"alembic_version"}
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables


def test_every_enum_column_is_stored_the_same_way():
    """One helper (``database.enum_column``) for every enum column: its values as text in a
    VARCHAR(20) with a CHECK constraint, never a native ENUM type the migrations would miss."""
    enums = [(table.name, column) for table in db.metadata.sorted_tables for column in table.columns
             if isinstance(column.type, sa.Enum)]
    assert len(enums) >= 7
    for table, column in enums:
        kind = column.type
        where = f"{table}.{column.name}"
        assert (kind.native_enum, kind.length, kind.create_constraint) == (False, 20, True), where
        assert kind.name == column.name, where
        assert kind.enums == [member.value for member in kind.enum_class], where


def test_a_reading_request_that_writes_without_saying_so_fails_at_once(make_app):
    """On PostgreSQL such a GET works; on SQLite it fails only when another writer is busy.
    In tests it fails every time, whatever the database: flushed in the view, left for the
    request's commit, or sent as raw SQL."""
    app = make_app()

    def add_event(action: str) -> AuditEvent:
        event = AuditEvent(action=action, target="", ip="", details={})
        db.session.add(event)
        return event

    @app.get("/test/flushes")
    @public
    def flushes():
        add_event("test.flushes")
        db.session.flush()
        return "ok"

    @app.get("/test/left-for-the-commit")
    @public
    def left_for_the_commit():
        add_event("test.commit")
        return "ok"

    @app.get("/test/raw-sql")
    @public
    def raw_sql():
        db.session.execute(sa.text("DELETE FROM audit_events WHERE action = 'nothing'"))
        return "ok"

    @app.get("/test/marked")
    @public
    @writes
    def marked():
        add_event("test.marked")
        return "ok"

    @app.get("/test/own-transaction")
    @public
    def own_transaction():
        with write_transaction(db.engine) as connection:
            connection.execute(sa.insert(AuditEvent).values(action="test.own", target="", ip="",
                                                            details={}, at=datetime.now(UTC)))
        return "ok"

    client = app.test_client()
    for path in ("/test/flushes", "/test/left-for-the-commit", "/test/raw-sql"):
        with pytest.raises(UnmarkedWrite, match=f"GET {path} .*@writes"):
            client.get(path)
    assert client.get("/test/marked").status_code == 200
    assert client.get("/test/own-transaction").status_code == 200
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert actions == {"test.marked", "test.own"}


def test_sqlite_settings_belong_to_the_apps_engine_only(make_app, tmp_path):
    """WAL, foreign keys and BEGIN IMMEDIATE are bound to the app's engine in create_app, not
    to every engine of the process: another engine (a script's, a library's) is left alone."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'own.sqlite3'}")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with app.app_context():
        db.engine.dispose()
    other = sa.create_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    with other.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    other.dispose()


def test_a_reading_request_ends_without_a_commit_while_a_writing_one_commits_and_a_failed_one_rolls_back(
        make_app):
    """The request boundary (mooc/__init__.py, finish_request): a reading request has nothing to
    commit (it may not write: the test app refuses an unmarked write), so on SQLite it sends no
    COMMIT (issue 20, session 15: 3 % of a kept lesson page); on PostgreSQL it commits, never
    rolls back, or psycopg would forget the connection's prepared statements (the test below).
    A request marked as writing commits what it wrote; one that fails (an error status) rolls
    it back."""
    app = make_app()

    @app.get("/test/read")
    @public
    def read():
        return str(db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)))

    @app.get("/test/write")
    @public
    @writes
    def write():
        db.session.add(AuditEvent(action="test.kept", target="x"))
        db.session.flush()
        return "ok"

    @app.get("/test/fail")
    @public
    @writes
    def fail():
        db.session.add(AuditEvent(action="test.lost", target="x"))
        db.session.flush()
        return "refused", 409

    with app.app_context():
        engine = db.engine
    commits: list[str] = []

    def committed(connection) -> None:
        commits.append("commit")

    client = app.test_client()
    sa.event.listen(engine, "commit", committed)
    try:
        reading = [] if engine.dialect.name == "sqlite" else ["commit"]
        assert client.get("/test/read").status_code == 200
        assert commits == reading
        assert client.get("/test/write").status_code == 200
        assert commits == [*reading, "commit"]
        assert client.get("/test/fail").status_code == 409
        assert commits == [*reading, "commit"]
    finally:
        sa.event.remove(engine, "commit", committed)
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert "test.kept" in actions and "test.lost" not in actions


def test_postgresql_reading_requests_keep_their_statements_prepared(make_app):
    """Why a reading request commits on PostgreSQL: psycopg prepares a statement sent five times
    on a connection and forgets every prepared statement at a ROLLBACK. Ended by the teardown's
    rollback, a request's statements were parsed and planned again on every request (the
    lesson page served at 0.3 x the bare page instead of 0.5 x). After many requests of one page
    on one connection, its statements are prepared on the server."""
    app = make_app()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's prepared statements")

    @app.get("/test/read-twice")
    @public
    def read_twice():
        first = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        second = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        return f"{first} {second}"

    @app.get("/test/prepared")
    @public
    def prepared():
        return str(db.session.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements")))

    client = app.test_client()
    with app.app_context():
        db.engine.dispose()  # one connection from here on: the test client runs one request at a time
    for _ in range(8):
        assert client.get("/test/read-twice").status_code == 200
    assert int(client.get("/test/prepared").get_data(as_text=True)) >= 2
