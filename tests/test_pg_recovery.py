"""PostgreSQL going away under the app: every pooled connection is killed (as a server
restart does) while requests run; the app recovers by itself (pool_pre_ping) and loses
nothing that was committed."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from mooc.auth.access import public
from mooc.auth.models import AuditEvent
from mooc.extensions import db


def test_the_app_recovers_when_postgresql_drops_every_connection(make_app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL behaviour: this test runs in the PostgreSQL pass of the suite")
    app = make_app(DB_POOL_SIZE=4)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["WTF_CSRF_ENABLED"] = False

    @app.post("/test/write")
    @public
    def write():  # noqa: ANN202
        db.session.add(AuditEvent(action="test.pg"))
        return "ok"

    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        client = app.test_client()
        while not stop.is_set():
            statuses.append(client.post("/test/write").status_code)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    while len(statuses) < 40:
        time.sleep(0.005)
    killed = _kill_connections(database_url)
    before_kill = len(statuses)
    while len(statuses) < before_kill + 80:
        time.sleep(0.005)
    stop.set()
    for thread in threads:
        thread.join()
    assert killed >= 1
    after = statuses[before_kill + 20:]  # requests in flight at the kill may fail; later ones may not
    assert after and all(status == 200 for status in after), sorted(set(after))
    with app.app_context():
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "test.pg"))
    assert stored == statuses.count(200)  # every answered write was kept, none twice
    # Idle pooled connections killed: the very next requests must not fail (pool_pre_ping).
    assert _kill_connections(database_url) >= 1
    client = app.test_client()
    assert [client.post("/test/write").status_code for _ in range(8)] == [200] * 8


def _kill_connections(database_url: str) -> int:
    killer = sa.create_engine(database_url)
    try:
        with killer.connect() as connection:
            return connection.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    finally:
        killer.dispose()
