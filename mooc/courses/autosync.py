"""Authors' preview: in development, a page view after an edit of courses/ re-syncs first."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from flask import Flask

from mooc.config import settings
from mooc.courses.check import check_tree
from mooc.courses.sync import sync_tree
from mooc.database import intend_to_write
from mooc.extensions import db
from mooc.formats.problem import Problem

log = logging.getLogger(__name__)
_lock = threading.Lock()


def fingerprint(root: Path) -> str:
    """Cheap signature of the tree: names, sizes and modification times of every file."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            try:
                info = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            digest.update(f"{folder}/{name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def refresh_if_changed(app: Flask) -> list[Problem]:
    """Sync when the files changed since the last look. Returns the tree's current errors
    (shown to authors on the pages; the last good version stays live)."""
    state = app.extensions.setdefault("mooc_autosync", {"fingerprint": None, "errors": []})
    root = settings(app).courses_dir
    current = fingerprint(root)
    if current == state["fingerprint"]:
        return state["errors"]
    with _lock:
        if current == state["fingerprint"]:
            return state["errors"]
        result = check_tree(root)
        state["errors"] = result.errors
        if not result.errors:
            db.session.rollback()  # end any read transaction: the sync must begin as a writer
            with intend_to_write():
                try:
                    report = sync_tree(root, result)
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    raise
            if report.has_changes:
                log.info("courses re-synced: %s", report.lines()[0])
        state["fingerprint"] = current
    return state["errors"]
