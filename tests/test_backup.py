"""Backups: taken while the app writes, restored, checked, counted."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask_migrate import upgrade

from mooc import create_app
from mooc.auth.models import AuditEvent
from mooc.backup import BackupError, backup, restore
from mooc.cli import main
from mooc.extensions import db


@pytest.fixture
def sqlite_app(tmp_path: Path):
    """An app on its own SQLite file (backups are an SQLite matter, whatever the test database)."""
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "INSTANCE_DIR": str(tmp_path),
                      "SECRET_KEY": "b" * 40})
    with app.app_context():
        upgrade()
    yield app, url
    with app.app_context():
        db.engine.dispose()


def _count(path: Path) -> int:
    connection = sqlite3.connect(str(path))
    try:
        return connection.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    finally:
        connection.close()


def test_backup_under_writes_then_restore(sqlite_app, tmp_path):
    app, url = sqlite_app
    stop = threading.Event()
    written = []

    def writer() -> None:
        with app.app_context():
            while not stop.is_set():
                db.session.add(AuditEvent(action="test.write"))
                db.session.commit()
                written.append(1)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(written) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        report = backup(url, tmp_path / "backup.sqlite3")
    finally:
        stop.set()
        thread.join()
    assert report.integrity == "ok"
    saved = report.tables["audit_events"]
    assert 50 <= saved <= len(written)
    assert _count(tmp_path / "backup.sqlite3") == saved
    # More writes after the backup, then a restore brings back exactly the saved rows.
    with app.app_context():
        db.session.add(AuditEvent(action="after.backup"))
        db.session.commit()
        db.engine.dispose()
    restored = restore(url, tmp_path / "backup.sqlite3")
    assert restored.integrity == "ok" and restored.tables["audit_events"] == saved
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == saved
        db.engine.dispose()


def test_backup_refuses_to_overwrite_and_checks_what_it_restores(sqlite_app, tmp_path):
    _app, url = sqlite_app
    backup(url, tmp_path / "one.sqlite3")
    with pytest.raises(BackupError, match="exists"):
        backup(url, tmp_path / "one.sqlite3")
    (tmp_path / "junk.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises((BackupError, sqlite3.DatabaseError)):
        restore(url, tmp_path / "junk.sqlite3")
    empty = tmp_path / "other.sqlite3"
    sqlite3.connect(str(empty)).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(BackupError, match="not a backup"):
        restore(url, empty)
    with pytest.raises(BackupError, match="pg_dump"):
        backup("postgresql+psycopg://u@h/db", tmp_path / "x")


def test_backup_and_restore_commands(sqlite_app, tmp_path, monkeypatch):
    _app, url = sqlite_app
    monkeypatch.setenv("MOOC_DATABASE_URL", url)
    monkeypatch.setenv("MOOC_INSTANCE_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(main, ["backup", str(tmp_path / "b.sqlite3")])
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
    result = runner.invoke(main, ["restore", str(tmp_path / "b.sqlite3"), "--yes"])
    assert result.exit_code == 0, result.output
