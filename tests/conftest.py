"""Fixtures: a real app on a real database (SQLite, or PostgreSQL when
MOOC_TEST_DATABASE_URL is set), emptied after every test, and helpers that sign in
through the real login form.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from mooc import clock, create_app, mail
from mooc.auth import second_factor
from mooc.auth.models import Role, SecondFactor, User
from mooc.auth.passwords import normalise_email, set_password
from mooc.config import SETTINGS
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


@contextmanager
def local_postgresql_server(*, restarting: bool = False) -> Iterator[None]:
    """Hold the local PostgreSQL server (127.0.0.1:5432) against a restart by the other pass.

    .ci/run runs the SQLite pass and the PostgreSQL pass of the suite side by side (one per
    core). The PostgreSQL pass restarts that server once (tests/test_pg_recovery.py), and a few
    tests of the SQLite pass use it too (pg_dump and pg_restore in tests/test_deploy.py). The
    restart takes this lock exclusively, those tests take it shared, so neither sees the other.
    One process never holds both, so it cannot wait on itself."""
    path = Path(tempfile.gettempdir()) / "mooc-tests-postgresql-server.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if restarting else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


REQUIRED_ROLES = SETTINGS["TWO_FACTOR_REQUIRED_ROLES"][0]  # two-factor is on in the whole suite


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """An account; one whose role must use a second factor (by default: every role that reads
    other people's records) has an authenticator set up, which ``login()`` answers."""
    def factory(email: str | None = None, role: Role = Role.TRAINEE, password: str = TEST_PASSWORD,
                name: str = "Người Dùng Thử", scope_unit: OrgUnit | None = None,
                staff: Staff | None = None, active: bool = True,
                two_factor: bool | None = None) -> User:
        user = User(email=email or f"user{next(_ids)}@example.vn", display_name=name, role=role,
                    scope_unit_id=scope_unit.id if scope_unit else None,
                    staff_id=staff.id if staff else None, active=active)
        set_password(user, password, FAST_HASH)
        user = save(app, user)
        if two_factor if two_factor is not None else role.value in REQUIRED_ROLES:
            enrol(app, user)
        return user
    return factory


def enrol(app: Flask, user: User) -> str:
    """Set up (and confirm) an authenticator for ``user``, as its pages would; returns the secret."""
    secret = pyotp.random_base32()
    with app.app_context():
        db.session.add(SecondFactor(user_id=user.id, secret_encrypted=second_factor.encrypt(secret),
                                    confirmed_at=clock.now()))
        db.session.commit()
    return secret


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = TEST_PASSWORD, **extra: str):
    """Sign in through the real form; when the site asks for the second factor's code, answer it
    as the person's phone would (``answer_code``), and when the person must set one up first,
    set it up through its pages. Returns the last answer (a redirect when signed in)."""
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": password,
                                           **extra})
    location = response.headers.get("Location", "")
    if response.status_code == 302 and location.startswith("/login/code"):
        return answer_code(client, email)
    if response.status_code == 302 and location.startswith("/account/two-factor"):
        enrol_through_pages(client, location)
    return response


def answer_code(client: FlaskClient, email: str, **extra: str):
    """Type the app's current code on the code page. The suite signs one person in several times
    within one 30-second step, which a real phone could not (a code works once): the person's
    last used step is forgotten first, so the helper can. tests/auth/test_second_factor.py checks
    the refusal of a used code without this helper."""
    app = client.application
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == normalise_email(email)))
        assert user_id is not None, email
        db.session.execute(sa.update(SecondFactor).where(SecondFactor.user_id == user_id)
                           .values(last_step=None))
        db.session.commit()
    code = second_factor.code_at(stored_secret(app, user_id), clock.now())
    return client.post("/login/code", data={"csrf_token": csrf_token(client, "/login/code"), "code": code,
                                            **extra})


def stored_secret(app: Flask, user: User | int) -> str:
    """The authenticator secret the server keeps for ``user`` (decrypted), as the phone has it."""
    user_id = user if isinstance(user, int) else user.id
    with app.app_context():
        row = db.session.get(SecondFactor, user_id)
        assert row is not None, f"user {user_id} has no authenticator"
        return second_factor.decrypt(row.secret_encrypted)


SECRET_RE = re.compile(r'<code class="secret-key">([A-Z2-7 ]+)</code>')


def enrol_through_pages(client: FlaskClient, location: str) -> list[str]:
    """Set up the authenticator as the person would: the setup button, the key shown beside the
    QR code typed into the "app", its code typed back. Returns the recovery codes shown."""
    client.post("/account/two-factor/setup", data={"csrf_token": csrf_token(client, location)})
    page = client.get("/account/two-factor").get_data(as_text=True)
    match = SECRET_RE.search(page)
    assert match, "no key on the setup page"
    secret = match.group(1).replace(" ", "")
    code = second_factor.code_at(secret, clock.now())
    answer = client.post("/account/two-factor/confirm", data={
        "csrf_token": CSRF_RE.search(page).group(1), "code": code})  # type: ignore[union-attr]
    assert answer.status_code == 200, answer.status_code
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", answer.get_data(as_text=True))


def count_queries(app: Flask, client: FlaskClient, path: str) -> int:
    """SQL statements that GET ``path`` runs (it must answer 200): for "does not grow" tests."""
    return len(engine_events_of_get(app, client, path, "before_cursor_execute",
                                    lambda conn, cursor, statement, *args: statement))


def engine_events_of_get(app: Flask, client: FlaskClient, path: str, event: str,
                         pick: Callable[..., Any]) -> list[Any]:
    """What ``pick`` takes from each engine ``event`` (SQLAlchemy's arguments) while GET ``path``
    runs; the page must answer 200."""
    with app.app_context():
        engine = db.engine
    seen: list[Any] = []

    def listener(*args):
        seen.append(pick(*args))

    sa.event.listen(engine, event, listener)
    try:
        response = client.get(path)
    finally:
        sa.event.remove(engine, event, listener)
    assert response.status_code == 200, (path, response.status_code)
    return seen


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


@pytest.fixture
def hot_pages(make_app, tmp_path, make_user, make_unit, make_staff):
    """A trainee enrolled in a synced course, and a province manager: the pages every person
    opens all day (issue 20)."""
    from mooc.auth.models import Role
    from mooc.courses.models import Course
    from mooc.courses.sync import sync_tree
    from mooc.extensions import db
    from mooc.training import assign
    from mooc.training.models import AssignmentRule
    from tests.conftest import login
    from tests.courses.tree import make_tree

    tree = make_tree(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(tree))
    province = make_unit(name="Thanh tra tỉnh Mẫu")
    trainee_staff = make_staff(unit=province, full_name="Trần Thị Bình")
    with app.app_context():
        sync_tree(tree)
        course_id = db.session.scalar(sa.select(Course.id).where(Course.key == "luat"))
        db.session.add(AssignmentRule(course_id=course_id, all_units=True, due_days=30))
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
    trainee, manager = app.test_client(), app.test_client()
    assert login(trainee, make_user(staff=trainee_staff).email).status_code == 302
    assert login(manager, make_user(role=Role.MANAGER, scope_unit=province).email).status_code == 302
    return app, trainee, manager
