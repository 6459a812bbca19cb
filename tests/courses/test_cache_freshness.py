"""The lesson and course pages cache a course's outline by the course's version (a number the
database owns, raised by every change of the course): never stale, on another worker (a
second app on the same database) or on another server process (two `mooc serve`-like
gunicorn servers on one database), whatever changes: a lesson marked done, a quiz submitted,
a course re-synced, a session ended. No time is asserted; each check is the next request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from mooc.auth import sessions
from mooc.auth.models import User
from mooc.courses.models import Course, Lesson
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from tests.conftest import TEST_PASSWORD, count_queries, csrf_token, login
from tests.courses.tree import lesson, make_tree, write
from tests.quizzes.test_taking import QUIZ, answers

LESSON = "/courses/luat/lessons/co-ban/nguyen-tac"
OTHER_LESSON = "/courses/luat/lessons/co-ban/khai-niem"
COURSE = "/courses/luat"
QUIZ_URL = "/courses/luat/quizzes/co-ban/kiem-tra"
DONE_ITEM = re.compile(
    r'<li class="outline-item is-done">\s*<a href="/courses/luat/lessons/co-ban/nguyen-tac"'
)
PROGRESS = re.compile(r'<p class="progress-text">([^<]*)</p>')


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = make_tree(tmp_path / "courses")
    write(root, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ.format(extra=""))
    return root


def resync(app: Flask, tree: Path) -> None:
    """An author changes a lesson's text and title; the course is synced (as `mooc courses sync`)."""
    write(tree, "luat/01-co-ban/02-nguyen-tac.md",
          lesson("Nguyên tắc mới", "## Mục 1\n\nVĂN-BẢN-MỚI của bài.\n\n## Mục 2\n\nKhách quan.\n"))
    with app.app_context():
        sync_tree(tree)
        db.session.commit()


def right_answers(app: Flask) -> dict[str, object]:
    """Every answer right, the summary confirmed (as the quiz's own tests answer it)."""
    return answers(app, right=True) | {"confirm": "1"}


# --- two workers: two apps on one database, each with its own cache ---------------------------


@pytest.fixture
def workers(make_app, tree, make_user):
    first, second = make_app(COURSES_DIR=str(tree)), make_app(COURSES_DIR=str(tree))
    with first.app_context():
        sync_tree(tree)
        db.session.commit()
    user = make_user(name="Nguyễn Văn An")
    a, b = first.test_client(), second.test_client()
    assert login(a, user.email).status_code == 302
    b.set_cookie("mooc_session", a.get_cookie("mooc_session").value)  # one browser, two workers
    for client in (a, b):  # both caches warm
        assert client.get(LESSON).status_code == 200 and client.get(COURSE).status_code == 200
    return first, second, a, b, user


def page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_a_lesson_marked_done_on_one_worker_is_done_on_the_other(workers):
    _first, _second, a, b, _user = workers
    assert not DONE_ITEM.search(page(b, LESSON)) and not DONE_ITEM.search(page(b, COURSE))
    progress_before = PROGRESS.search(page(b, COURSE)).group(1)  # the person's part, kept per facts
    done = a.post(f"{LESSON}/done", data={"csrf_token": csrf_token(a, LESSON)})
    assert done.status_code == 302
    lesson_page = page(b, LESSON)
    assert DONE_ITEM.search(lesson_page) and "status-done" in lesson_page
    course_page = page(b, COURSE)
    assert DONE_ITEM.search(course_page) and DONE_ITEM.search(page(b, OTHER_LESSON))
    assert progress_before.startswith("Đã xong 0/")
    assert PROGRESS.search(course_page).group(1).startswith("Đã xong 1/")


def test_the_done_mark_is_per_person_on_a_shared_cached_outline(workers, make_user):
    first, second, a, _b, _user = workers
    a.post(f"{LESSON}/done", data={"csrf_token": csrf_token(a, LESSON)})
    other = second.test_client()
    assert login(other, make_user().email).status_code == 302
    assert not DONE_ITEM.search(page(other, LESSON)) and not DONE_ITEM.search(page(other, COURSE))
    assert DONE_ITEM.search(page(a, LESSON))


def test_a_course_sync_shows_on_every_worker_at_the_next_request(workers, tree):
    first, second, a, b, _user = workers
    with first.app_context():
        before = db.session.scalar(sa.select(Course.version))
    resync(first, tree)
    with first.app_context():
        assert db.session.scalar(sa.select(Course.version)) > before  # the database's new version
    for client in (a, b):
        text = page(client, LESSON)
        assert "VĂN-BẢN-MỚI" in text and "<h1>Nguyên tắc mới</h1>" in text
        assert ">Nguyên tắc mới</span>" in page(client, COURSE)  # the outline's title
        assert ">Nguyên tắc mới</span>" in page(client, OTHER_LESSON)
        assert ">Nguyên tắc<" not in page(client, OTHER_LESSON)


def test_any_write_to_a_course_row_raises_its_version(workers):
    """Not only the sync: a script or a test that edits a lesson's row gets a new version too."""
    first, _second, a, b, _user = workers
    with first.app_context():
        before = db.session.scalar(sa.select(Course.version))
        row = db.session.scalar(sa.select(Lesson).where(Lesson.key == "co-ban/khai-niem"))
        row.title = "Khái niệm đã sửa"
        db.session.commit()
        assert db.session.scalar(sa.select(Course.version)) == before + 1
        db.session.scalar(sa.select(Lesson).where(Lesson.key == "co-ban/khai-niem"))
        db.session.commit()  # reading changes nothing
        assert db.session.scalar(sa.select(Course.version)) == before + 1
    assert ">Khái niệm đã sửa</span>" in page(b, LESSON) and ">Khái niệm đã sửa</span>" in page(a, COURSE)


def test_a_session_ended_on_one_worker_is_refused_by_the_other(workers, make_user):
    first, second, a, b, user = workers
    assert a.post("/logout", data={"csrf_token": csrf_token(a, LESSON)}).status_code == 302
    refused = b.get(LESSON)
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    # revoke_all (a password change, a disabled account) on one worker, the other refuses
    c, d = first.test_client(), second.test_client()
    assert login(c, user.email).status_code == 302
    d.set_cookie("mooc_session", c.get_cookie("mooc_session").value)
    assert d.get(LESSON).status_code == 200
    with first.app_context():
        sessions.revoke_all(db.session.get(User, user.id))
        db.session.commit()
    assert d.get(LESSON).status_code == 302 and c.get(COURSE).status_code == 302


def test_a_quiz_submitted_on_one_worker_shows_on_the_other(workers):
    first, _second, a, b, _user = workers
    assert "100,0%" not in page(b, QUIZ_URL)
    started = a.post(f"{QUIZ_URL}/start", data={"csrf_token": csrf_token(a, QUIZ_URL)})
    attempt_url = started.headers["Location"]
    submitted = a.post(f"{attempt_url}/submit",
                       data={"csrf_token": csrf_token(a, attempt_url), **right_answers(first)})
    assert submitted.status_code == 302
    assert "100,0%" in page(b, QUIZ_URL)


def test_a_lesson_page_costs_two_statements(workers):
    """The session with its account; then the kept page's key in one statement of plain columns
    (the course, the lesson, the done-set, whether the reader has news or the course may be locked
    for them: mooc/courses/queries.py ``lesson_glance``). SQLite's BEGIN is counted too. The course
    page adds the person's enrolment and attempts (their standing), not the lock's statement."""
    first, _second, a, _b, _user = workers
    dialect = sa.engine.make_url(first.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    begin = 1 if dialect == "sqlite" else 0
    assert count_queries(first, a, LESSON) <= 2 + begin
    assert count_queries(first, a, COURSE) <= 4 + begin


def test_a_home_page_costs_two_statements(workers):
    """The session with its account; then the home page's facts in one statement of plain
    columns (mooc/training/queries.py ``glance``), the page kept under them (mooc/kept.py).
    tests/training/test_kept_home.py counts it for a trainee with courses too."""
    first, _second, a, _b, _user = workers
    dialect = sa.engine.make_url(first.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    page(a, "/")  # kept
    assert count_queries(first, a, "/") <= 2 + (1 if dialect == "sqlite" else 0)


# --- two server processes on one database -----------------------------------------------------


@contextmanager
def two_servers(database_url: str, tmp_path: Path) -> Iterator[tuple[list, Callable]]:
    """Two gunicorn servers (what `mooc serve` runs) on one database, and a way to make a
    browser for either (given cookies: the same browser behind a load balancer); all stopped
    at the end."""
    from bench.serving import Client, Server

    servers: list[Server] = []
    clients: list[Client] = []

    def client_of(server: Server, cookies: dict[str, str] | None = None) -> Client:
        client = Client(server.base)
        if cookies is not None:
            client.cookies = cookies
        clients.append(client)
        return client

    try:
        for name in ("a", "b"):
            servers.append(Server("app", database_url, tmp_path / name, 1, 2, "/healthz"))
        yield servers, client_of
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()


@pytest.mark.slow
def test_two_server_processes_never_serve_a_stale_page(app, database_url, tree, make_user, tmp_path):
    """Two gunicorn servers (what `mooc serve` runs), each warmed, one browser sent to either."""
    with app.app_context():
        sync_tree(tree)
        db.session.commit()
    user = make_user(name="Nguyễn Văn An", password=TEST_PASSWORD)
    with two_servers(database_url, tmp_path) as (servers, client_of):
        one = client_of(servers[0]).login(user.email, TEST_PASSWORD)
        two = client_of(servers[1], one.cookies)  # the same browser, behind a load balancer

        def get(client, path: str) -> str:
            status, _headers, body = client.request("GET", path)
            assert status == 200, (path, status)
            return body.decode()

        for client in (one, two):
            get(client, LESSON), get(client, COURSE), get(client, QUIZ_URL)  # both caches warm
        assert not DONE_ITEM.search(get(two, LESSON))

        # a lesson marked done on one is done on the other
        status, _h, _b = one.request("POST", f"{LESSON}/done", {"csrf_token": one.csrf(LESSON)})
        assert status == 302
        assert DONE_ITEM.search(get(two, LESSON)) and DONE_ITEM.search(get(two, COURSE))

        # a course sync shows on both
        resync(app, tree)
        for client in (one, two):
            text = get(client, LESSON)
            assert "VĂN-BẢN-MỚI" in text and "<h1>Nguyên tắc mới</h1>" in text
            assert ">Nguyên tắc mới</span>" in get(client, COURSE)
            assert DONE_ITEM.search(text)  # the person's progress kept on the new version

        # a quiz submitted on one shows on the other
        assert "100,0%" not in get(two, QUIZ_URL)
        status, headers, _b = one.request("POST", f"{QUIZ_URL}/start", {"csrf_token": one.csrf(QUIZ_URL)})
        attempt_path = headers["Location"].replace(servers[0].base, "")
        status, _h, _b = one.request("POST", f"{attempt_path}/submit",
                                     {"csrf_token": one.csrf(attempt_path), **right_answers(app)})
        assert status == 302
        assert "100,0%" in get(two, QUIZ_URL)

        # a session ended on one is refused by the other, even from a copy of the cookie
        kept = dict(one.cookies)
        status, _h, _b = one.request("POST", "/logout", {"csrf_token": one.csrf(LESSON)})
        assert status == 302
        copy = client_of(servers[1], kept)
        status, headers, _b = copy.request("GET", LESSON)
        assert status == 302 and "/login" in headers["Location"]

        # revoke_all (a password change, a disabled account) elsewhere: both servers refuse
        again = client_of(servers[1]).login(user.email, TEST_PASSWORD)
        other = client_of(servers[0], again.cookies)
        get(again, LESSON), get(other, LESSON)
        with app.app_context():
            sessions.revoke_all(db.session.get(User, user.id))
            db.session.commit()
        for client in (again, other):
            status, headers, _b = client.request("GET", LESSON)
            assert status == 302 and "/login" in headers["Location"]


@pytest.mark.slow
def test_a_person_a_roster_import_marks_as_left_is_refused_by_both_servers(
        app, database_url, tree, make_unit, make_staff, make_user, tmp_path):
    """A whole roster without them, imported elsewhere (`mooc roster import`): their account is
    disabled and their sessions end in the import's transaction; neither server lets them in."""
    from mooc.roster import importer
    from tests.roster.helpers import csv_bytes

    with app.app_context():
        sync_tree(tree)
        db.session.commit()
    unit = make_unit("Phòng Nghiệp vụ 1", code="P1")
    stays = make_staff("Trần Thị Bình", unit=unit, email="binh@example.vn")
    leaves = make_staff("Nguyễn Văn An", unit=unit, email="an@example.vn")
    user = make_user(email="an@example.vn", name="Nguyễn Văn An", staff=leaves, password=TEST_PASSWORD)
    with two_servers(database_url, tmp_path) as (servers, client_of):
        one = client_of(servers[0]).login(user.email, TEST_PASSWORD)
        two = client_of(servers[1], one.cookies)
        for client in (one, two):
            status, _h, _b = client.request("GET", LESSON)
            assert status == 200
        with app.app_context():
            rows = [[stays.staff_code, "Trần Thị Bình", "binh@example.vn", "P1", ""]]
            plan = importer.plan_import(importer.open_sheet(csv_bytes(rows)), full=True, checksum="c" * 64,
                                        filename="hr.csv")
            importer.apply_plan(plan, source="test", confirmed=True)
            db.session.commit()
        for client in (one, two):
            status, headers, _b = client.request("GET", LESSON)
            assert status == 302 and "/login" in headers["Location"]


def test_nothing_is_kept_from_a_transaction_that_raised_a_version_and_rolled_back(workers):
    """A transaction that changes a course (a sync that fails, a preview) raises its version and
    may render a page before it rolls back: the number it used is the next real change's too,
    so what it built (the kept page, the course's shape and facts) must not be kept under it."""
    from mooc import kept

    first, _second, a, _b, _user = workers
    cookie = f"mooc_session={a.get_cookie('mooc_session').value}"  # the person's own session
    with first.test_request_context(COURSE, headers={"Cookie": cookie}):
        assert kept.keepable()
        row = db.session.scalar(sa.select(Lesson).where(Lesson.key == "co-ban/khai-niem"))
        row.title = "Khái niệm BỎ ĐI"
        db.session.flush()  # the course's version raised, in this transaction only
        assert not kept.keepable()
        shown = first.view_functions["courses.course"]("luat")  # the page, in this transaction
        assert "Khái niệm BỎ ĐI" in (shown.decode() if isinstance(shown, bytes) else shown)
        db.session.rollback()
        row = db.session.scalar(sa.select(Lesson).where(Lesson.key == "co-ban/khai-niem"))
        row.title = "Khái niệm THẬT"
        db.session.commit()  # the next real change: the same version number
    text = page(a, COURSE)
    assert ">Khái niệm THẬT</span>" in text and "BỎ ĐI" not in text
    assert ">Khái niệm THẬT</span>" in page(a, LESSON)
