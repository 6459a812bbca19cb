"""RFC 9457 problem documents: every error under /api/ is one, whether an API view answers
it (a bad parameter, a token refused) or the app does (an unknown path, a wrong method, an
unhandled exception: mooc/__init__.py's error handlers ask ``is_api_path``)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

API_PREFIX = "/api/"


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def problem(status: int, title: str, detail: str | None = None, **headers: str) -> Response:
    """An RFC 9457 problem document (``application/problem+json``), never cached."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    response.headers.update(headers)
    response.headers["Cache-Control"] = "no-store"
    return response
