"""Backups of the SQLite database with SQLite's online backup API (a consistent copy while the
app keeps writing; never a file copy of a live database). PostgreSQL: use pg_dump
(docs/operations.md)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa


class BackupError(RuntimeError):
    pass


@dataclass
class BackupReport:
    path: Path
    tables: dict[str, int]          # table -> rows
    integrity: str                  # "ok" or SQLite's complaint


def sqlite_path(url: str) -> Path:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise BackupError("mooc backup handles SQLite databases; for PostgreSQL use pg_dump "
                          "(see docs/operations.md)")
    return Path(parsed.database)


def _inspect(connection: sqlite3.Connection) -> tuple[dict[str, int], str]:
    integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    names = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    counts = {}
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        counts[name] = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # noqa: S608
    return counts, integrity


def backup(url: str, destination: Path, busy_timeout_ms: int = 15000) -> BackupReport:
    """Copy the live database to ``destination`` page by page (readers and writers go on)."""
    source_path = sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"there is no database at {source_path}")
    destination = Path(destination)
    if destination.exists():
        raise BackupError(f"{destination} exists: choose a new file name")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    source = sqlite3.connect(str(source_path), timeout=busy_timeout_ms / 1000)
    target = sqlite3.connect(str(partial))
    try:
        source.backup(target, pages=256)
        target.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
        counts, integrity = _inspect(target)
    finally:
        target.close()
        source.close()
    if integrity != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {integrity}")
    partial.replace(destination)  # only a complete, checked copy gets the final name
    return BackupReport(destination, counts, integrity)


def restore(url: str, source_file: Path, busy_timeout_ms: int = 15000) -> BackupReport:
    """Replace the database's content with a backup (stop the app servers first)."""
    source_file = Path(source_file)
    if not source_file.is_file():
        raise BackupError(f"there is no backup at {source_file}")
    backup_db = sqlite3.connect(f"file:{source_file}?mode=ro", uri=True)
    try:
        counts, integrity = _inspect(backup_db)
        if integrity != "ok":
            raise BackupError(f"the backup failed its integrity check: {integrity}")
        if "alembic_version" not in counts:
            raise BackupError(f"{source_file} is not a backup of this platform (no alembic_version table)")
        target_path = sqlite_path(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(str(target_path), timeout=busy_timeout_ms / 1000)
        try:
            backup_db.backup(target, pages=256)
            restored, integrity = _inspect(target)
        finally:
            target.close()
    finally:
        backup_db.close()
    return BackupReport(target_path, restored, integrity)
