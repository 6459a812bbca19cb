"""Serve the app with gunicorn from inside the `mooc` command (Linux and macOS)."""

from __future__ import annotations

import gc
import itertools
import os
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from werkzeug.exceptions import default_exceptions

from mooc import replica
from mooc.config import settings
from mooc.extensions import db


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    # Flask's __call__ takes a dict environ; gunicorn's stubs want any MutableMapping accepted
    def load(self) -> Flask:  # type: ignore[override]
        return self.application


def default_workers() -> int:
    return max(2, min(4, (os.cpu_count() or 1) + 1))


WARM_AFTER = 200  # requests a worker serves before what it has built for good is frozen


def freeze_heap() -> None:
    """Move every object alive now out of the garbage collector's sight (``gc.freeze``).

    The app keeps some 200,000 long-lived objects (SQLAlchemy's mappings and statement cache,
    compiled templates, catalogues). Python's full collections walk all of them; measured on the
    lesson page, that was 0.4 ms of every request's 3.4 ms of CPU. Frozen objects are never
    walked again (nor written to, so the workers' pages stay shared with the master after the
    fork). Garbage is collected first, so no cycle is kept for ever.
    """
    gc.collect()
    gc.freeze()


def _freeze_when_warm() -> Any:
    """A gunicorn post_request hook: freeze the worker's heap once, after its first
    WARM_AFTER requests (the templates, catalogues and statements it compiles on demand)."""
    served = itertools.count(1)

    def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
        if next(served) == WARM_AFTER:
            freeze_heap()

    return post_request


def serve(app: Flask, host: str, port: int, workers: int, threads: int, access_log: bool) -> None:
    """Run gunicorn in the foreground until interrupted (Ctrl+C)."""
    with app.app_context():
        for engine in [db.engine, *replica.engines(app)]:
            engine.dispose()  # no pooled connection may cross the fork into the workers
    freeze_heap()  # what the master built is inherited by every worker

    def post_fork(server: Any, worker: Any) -> None:
        with app.app_context():
            for engine in [db.engine, *replica.engines(app)]:
                engine.dispose(close=False)

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": "warning",
        "post_fork": post_fork,
        "post_request": _freeze_when_warm(),
        "forwarded_allow_ips": "127.0.0.1",
    }
    _Gunicorn(app, options).run()


ERROR_PAGES = {413: "413.html"}  # the answers nginx gives itself (deploy/nginx/mooc.conf error_page)


def write_error_pages(app: Flask, folder: Path) -> list[Path]:
    """The app's own error pages, rendered once into ``folder`` for nginx to answer with
    (an upload larger than client_max_body_size never reaches the app). Rendered as an
    anonymous visitor in the default language; run again after an upgrade (`mooc error-pages`)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with app.test_request_context("/", base_url=settings(app).base_url):
        for code, name in ERROR_PAGES.items():
            response = app.make_response(app.handle_http_exception(default_exceptions[code]()))
            (folder / name).write_bytes(response.get_data())
            (folder / name).chmod(0o644)  # nginx's user reads it (the service's umask is 0027)
            written.append(folder / name)
        db.session.remove()
    return written
