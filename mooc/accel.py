"""Handing a file to nginx (deploy/nginx/mooc.conf) once the app has checked access:
with ``MOOC_ACCEL_REDIRECT`` the answer is an empty response whose ``X-Accel-Redirect``
header names an ``internal`` location of the nginx site, and nginx sends the bytes (with
sendfile, range requests and slow clients its own business, never an app thread's).

Two kinds of files go this way:

- course files (pictures, video, audio, captions): ``/_mooc/courses/<folder>/<file>``,
  nginx's alias of ``MOOC_COURSES_DIR``;
- report exports: made whole by the request into ``MOOC_SPOOL_DIR`` under a random name,
  then ``/_mooc/spool/<name>``. The file is complete before the first byte leaves (the
  download starts when the export is made, rather than as it is made), and it is deleted
  by a later export once it is ``SPOOL_MINUTES`` old (nginx opened it long before).

Without the setting, ``None`` is returned and the caller sends the bytes as before.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from flask import Response

from mooc.config import settings

COURSES_LOCATION = "/_mooc/courses/"
SPOOL_LOCATION = "/_mooc/spool/"
SPOOL_MINUTES = 15  # a spooled export is deleted by a later export once this old


def enabled() -> bool:
    return settings().accel_redirect


def redirect_response(location: str, relative: str, *, mimetype: str | None,
                      headers: dict[str, str] | None = None) -> Response:
    """The empty answer that tells nginx to send ``location + relative`` (percent-encoded)."""
    response = Response(b"", mimetype=mimetype, headers=headers)
    response.headers["X-Accel-Redirect"] = location + quote(relative, safe="/")
    return response


def course_file(relative: str, *, mimetype: str | None) -> Response:
    """``relative``: the file's path under the courses folder (checked by the caller).
    ``mimetype`` None: guessed from the name, as send_from_directory does (nginx keeps the
    app's Content-Type)."""
    guessed = mimetype or mimetypes.guess_type(relative)[0] or "application/octet-stream"
    return redirect_response(COURSES_LOCATION, relative, mimetype=guessed)


def spool(chunks: Iterable[bytes], suffix: str) -> str:
    """Write a whole export into the spool folder; its name there (random, unguessable)."""
    folder = settings().spool_dir
    folder.mkdir(parents=True, exist_ok=True)
    _sweep(folder)
    name = secrets.token_urlsafe(24) + suffix
    partial = folder / f".{name}.partial"
    with open(partial, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
    partial.chmod(0o644)  # nginx's user reads it; the folder is not listable (docs/operations.md)
    partial.replace(folder / name)
    return name


def _sweep(folder: Path) -> None:
    cutoff = time.time() - SPOOL_MINUTES * 60
    for entry in os.scandir(folder):
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except FileNotFoundError:
            pass  # another worker swept it first
