"""Fixtures: a real app on a real database (SQLite, or PostgreSQL when
MOOC_TEST_DATABASE_URL is set), emptied after every test, and helpers that sign in
through the real login form.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from mooc import clock, create_app, mail
from mooc.auth.models import Role, User
from mooc.auth.passwords import set_password
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Position, Staff
from mooc.text import split_full_name

TEST_PASSWORD = "mot-mat-khau-dai"
FAST_HASH = "pbkdf2:sha256:1000"  # tests sign in hundreds of times; production uses scrypt


class ServerLikeClient(FlaskClient):
    """The test client, reading every response body to its end and closing it, as a WSGI
    server does (gunicorn always does, PEP 3333), whether the test reads the body or not.

    A streamed response (an export: ``stream_with_context``) keeps its request's context
    until it is closed; Werkzeug's client leaves an unread body open, and the next request
    of the test would then run inside the stale context. Pass ``buffered=False`` to get the
    body as it is streamed (and close it yourself)."""

    def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> Any:
        return super().open(*args, buffered=buffered, **kwargs)
ROOT = Path(__file__).resolve().parent.parent


def _database_url(tmp_dir: Path) -> str:
    url = os.environ.get("MOOC_TEST_DATABASE_URL")
    return url or f"sqlite:///{tmp_dir / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database brought to the migration head once per test session."""
    tmp_dir = tmp_path_factory.mktemp("db")
    url = _database_url(tmp_dir)
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "INSTANCE_DIR": str(tmp_dir),
                      "SECRET_KEY": "x" * 40})
    with app.app_context():
        drop_everything()
        upgrade()
        db.engine.dispose()
    yield url
    with app.app_context():
        db.engine.dispose()


def drop_everything() -> None:
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    with db.engine.begin() as connection:
        metadata.drop_all(connection)
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 (our own table names)


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build an app with config overrides; every app made is cleaned up after the test."""
    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        config = {
            "ENV": "testing", "DATABASE_URL": database_url, "INSTANCE_DIR": str(tmp_path),
            "SECRET_KEY": "test-secret-" + "x" * 30, "PASSWORD_METHOD": FAST_HASH,
            "COURSES_DIR": str(ROOT / "courses"),
        }
        config.update(overrides)
        app = create_app(config)
        app.test_client_class = ServerLikeClient
        made.append(app)
        return app

    yield factory
    mail.wait_for_background()  # jobs run after a request (reset mails) finish before the cleanup
    clock.set_now(None)
    for app in made:
        if app.config["SQLALCHEMY_DATABASE_URI"] != database_url:
            continue  # pointed elsewhere on purpose (e.g. a database that is down)
        with app.app_context():
            db.session.remove()
            empty_tables()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app, with no context pushed: each test request gets its own, as in production.

    Tests open ``with app.app_context():`` to query; factories return detached objects.
    """
    return make_app()


def save(app: Flask, *objects: Any) -> Any:
    """Commit objects in their own app context and return them detached, attributes loaded."""
    with app.app_context():
        for obj in objects:
            db.session.add(obj)
        db.session.commit()
        for obj in objects:
            db.session.refresh(obj)
        db.session.expunge_all()
    return objects[0] if len(objects) == 1 else objects


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


_ids = count(1)


@pytest.fixture
def make_unit(app: Flask) -> Callable[..., OrgUnit]:
    def factory(name: str | None = None, parent: OrgUnit | None = None, code: str | None = None,
                kind: str = "section") -> OrgUnit:
        n = next(_ids)
        return save(app, OrgUnit(code=code or f"U{n}", name=name or f"Đơn vị {n}",
                                 parent_id=parent.id if parent else None, kind=kind))
    return factory


@pytest.fixture
def make_staff(app: Flask, make_unit: Callable[..., OrgUnit]) -> Callable[..., Staff]:
    def factory(full_name: str = "Nguyễn Văn Thử", unit: OrgUnit | None = None,
                position: Position | None = None, email: str | None = None,
                staff_code: str | None = None) -> Staff:
        n = next(_ids)
        family, middle, given = split_full_name(full_name)
        return save(app, Staff(staff_code=staff_code or f"{n:06d}", full_name=full_name,
                               family_name=family, middle_name=middle, given_name=given, email=email,
                               unit_id=(unit or make_unit()).id,
                               position_id=position.id if position else None))
    return factory


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    def factory(email: str | None = None, role: Role = Role.TRAINEE, password: str = TEST_PASSWORD,
                name: str = "Người Dùng Thử", scope_unit: OrgUnit | None = None,
                staff: Staff | None = None, active: bool = True) -> User:
        user = User(email=email or f"user{next(_ids)}@example.vn", display_name=name, role=role,
                    scope_unit_id=scope_unit.id if scope_unit else None,
                    staff_id=staff.id if staff else None, active=active)
        set_password(user, password, FAST_HASH)
        return save(app, user)
    return factory


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = TEST_PASSWORD, **extra: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password,
                                       **extra})


def count_queries(app: Flask, client: FlaskClient, path: str) -> int:
    """SQL statements that GET ``path`` runs (it must answer 200): for "does not grow" tests."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        response = client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    assert response.status_code == 200, (path, response.status_code)
    return len(statements)


def logout(client: FlaskClient):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


@pytest.fixture
def auth(client: FlaskClient, make_user: Callable[..., User]):
    """Sign in through the real form: ``auth.login(role=Role.ADMIN)`` returns the user."""

    class Auth:
        def login(self, user: User | None = None, role: Role = Role.TRAINEE, **kwargs: Any) -> User:
            user = user or make_user(role=role, **kwargs)
            response = login(client, user.email)
            assert response.status_code == 302, response.get_data(as_text=True)
            return user

        def logout(self):
            return logout(client)

    return Auth()


# Shared by training, reports and the security tests: an organisation and people with accounts.
from tests.training.conftest import org, person  # noqa: E402, F401
