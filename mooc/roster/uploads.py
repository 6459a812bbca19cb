"""Uploaded spreadsheets between their preview and their import (the roster, the units file,
past completions): kept under the instance folder by their SHA-256, readable by the
platform's user only, and deleted when applied or after a day.

A preview reads the stored file again each time, so what is applied is what was shown (the
pages also compare the plan's fingerprint)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from mooc.config import settings

CHECKSUM_RE = re.compile(r"^[0-9a-f]{64}$")
KEPT_SECONDS = 24 * 3600  # an uploaded file not applied within a day is deleted


def folder() -> Path:
    return settings().instance_dir / "imports"


def _expire(where: Path, *, dry_run: bool = False) -> list[Path]:
    """Uploaded files hold personal data: one not applied within a day is deleted. Returns the
    files deleted (or, with ``dry_run``, that would be)."""
    limit = time.time() - KEPT_SECONDS
    expired = []
    for path in where.glob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                if not dry_run:
                    path.unlink()
                expired.append(path)
        except OSError:
            continue  # another request removed it first
    return expired


def expire(*, dry_run: bool = False) -> list[Path]:
    """The uploads kept past their day, deleted (`mooc privacy purge`: an upload never previewed
    again is otherwise only deleted by the next upload)."""
    where = folder()
    return _expire(where, dry_run=dry_run) if where.is_dir() else []


def store(data: bytes) -> str:
    """Write the file readable by the platform's user only (0600), in a folder only it can
    list; returns its checksum (the name it is found by)."""
    checksum = hashlib.sha256(data).hexdigest()
    where = folder()
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(where, 0o700)
    _expire(where)
    path = where / f"{checksum}{'.xlsx' if data.startswith(b'PK') else '.csv'}"
    if path.exists():
        os.utime(path)  # uploaded again: kept a day from now
        return checksum
    partial = where / f".{checksum}.{os.getpid()}.part"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)
    return checksum


def stored(checksum: str) -> Path | None:
    """The stored file with this checksum, None if it is unknown or expired."""
    if not CHECKSUM_RE.match(checksum):
        return None
    for suffix in (".xlsx", ".csv"):
        path = folder() / f"{checksum}{suffix}"
        if path.is_file():
            if path.stat().st_mtime < time.time() - KEPT_SECONDS:
                path.unlink(missing_ok=True)
                return None
            return path
    return None


def fingerprint(summary: Any) -> str:
    """A short hash of what a preview showed: applying checks the plan is still the same."""
    text = json.dumps(summary, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
