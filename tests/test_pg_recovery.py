"""PostgreSQL going away under the app: every pooled connection is killed, and the server
itself is restarted, while requests run; the app recovers by itself (pool_pre_ping) and
loses nothing that was committed."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from mooc.auth.access import public
from mooc.auth.models import AuditEvent
from mooc.extensions import db
from tests.conftest import local_postgresql_server


def _writing_app(make_app):
    app = make_app(DB_POOL_SIZE=4)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["WTF_CSRF_ENABLED"] = False

    @app.post("/test/write")
    @public
    def write():
        db.session.add(AuditEvent(action="test.pg"))
        return "ok"

    return app


def _under_load(app, fault: Callable[[], object], settle: int = 20) -> tuple[object, list[int]]:
    """4 threads write through the app; ``fault`` strikes mid-way. Returns what it returned and
    the statuses of the requests sent once it was over (after ``settle`` in flight)."""
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        client = app.test_client()
        while not stop.is_set():
            statuses.append(client.post("/test/write").status_code)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        while len(statuses) < 40:
            time.sleep(0.005)
        outcome = fault()
        over = len(statuses)
        deadline = time.monotonic() + 60
        while len(statuses) < over + settle + 60 and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    with app.app_context():
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "test.pg"))
    assert stored == statuses.count(200)  # every answered write was kept, none twice
    return outcome, statuses[over + settle:]


def test_the_app_recovers_when_postgresql_drops_every_connection(make_app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL behaviour: this test runs in the PostgreSQL pass of the suite")
    app = _writing_app(make_app)
    killed, after = _under_load(app, lambda: _kill_connections(database_url))
    assert killed >= 1
    assert after and all(status == 200 for status in after), sorted(set(after))
    # Idle pooled connections killed: the very next requests must not fail (pool_pre_ping).
    assert _kill_connections(database_url) >= 1
    client = app.test_client()
    assert [client.post("/test/write").status_code for _ in range(8)] == [200] * 8


def test_the_app_recovers_when_postgresql_restarts(make_app, database_url):
    """A real restart of the local server (pg_ctlcluster), as an upgrade or a crash would do."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL behaviour: this test runs in the PostgreSQL pass of the suite")
    cluster = _local_cluster(database_url)
    if cluster is None:
        if os.environ.get("CI"):
            pytest.fail("CI runs PostgreSQL locally: pg_ctlcluster must be able to restart it")
        pytest.skip("restarts only a local Debian cluster that this user may restart")
    app = _writing_app(make_app)

    def restart() -> None:
        with local_postgresql_server(restarting=True):  # not under the other pass's pg_dump
            subprocess.run([*cluster, "restart", "-m", "fast"], check=True,  # noqa: S603 (our own arguments)
                           capture_output=True, timeout=120)

    started_before = _server_started(database_url)
    _, after = _under_load(app, restart)
    assert _server_started(database_url) > started_before  # it really went down and came back
    assert after and all(status == 200 for status in after), sorted(set(after))


def _local_cluster(database_url: str) -> list[str] | None:
    """[pg_ctlcluster, version, name] for the Debian cluster serving ``database_url``, if it is
    on this machine and this user may restart it."""
    url = urlsplit(database_url.replace("+psycopg", ""))
    lister, controller = shutil.which("pg_lsclusters"), shutil.which("pg_ctlcluster")
    if url.hostname not in ("127.0.0.1", "localhost", "::1") or not lister or not controller:
        return None
    if os.geteuid() != 0:
        return None
    listing = subprocess.run([lister, "-h"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    for line in listing.splitlines():
        version, name, port, status, *_ = line.split()
        if int(port) == (url.port or 5432) and status == "online":
            return [controller, version, name]
    return None


def _server_started(database_url: str):
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT pg_postmaster_start_time()")).scalar()
    finally:
        engine.dispose()


def _kill_connections(database_url: str) -> int:
    killer = sa.create_engine(database_url)
    try:
        with killer.connect() as connection:
            return connection.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    finally:
        killer.dispose()
