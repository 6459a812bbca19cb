"""The exam wave's write path (issue 20): a quiz start reads first and writes one INSERT in
a short transaction of its own, and the database, not a lock held by the request, decides
the races. Two app instances (two workers) on one database, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from mooc.courses.models import Quiz
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.quizzes import attempts
from mooc.quizzes.models import QuizAttempt
from tests.conftest import csrf_token, login
from tests.courses.tree import write
from tests.quizzes.test_taking import QUIZ, QUIZ_URL, answers, start, submit


def _both_read_before_either_writes(monkeypatch: pytest.MonkeyPatch, parties: int = 2) -> None:
    """Every start waits, after it has read the person's attempts and before it writes,
    until all ``parties`` starts have read: the race a double click makes, every time."""
    barrier = threading.Barrier(parties, timeout=20)
    real = attempts.question_pool
    calls = iter(range(parties))

    def pool_after_everyone_read(quiz):
        if next(calls, None) is not None:  # the first start of each party (not a retry)
            barrier.wait()
        return real(quiz)

    monkeypatch.setattr(attempts, "question_pool", pool_after_everyone_read)


def _start_at_once(apps, cookie: str, token: str) -> list[tuple[int, str]]:
    answers_: list[tuple[int, str]] = []
    lock = threading.Lock()

    def go(app) -> None:
        client = app.test_client()
        client.set_cookie("mooc_session", cookie)
        response = client.post(f"{QUIZ_URL}/start", data={"csrf_token": token})
        with lock:
            answers_.append((response.status_code, response.headers.get("Location", "")))

    threads = [threading.Thread(target=go, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers_


def test_two_workers_starting_at_once_make_one_attempt(site, make_app, tree, make_user, monkeypatch):
    other = make_app(COURSES_DIR=str(tree))  # a second worker: its own engine and pool
    client = site.test_client()
    login(client, make_user().email)
    token = csrf_token(client, QUIZ_URL)
    _both_read_before_either_writes(monkeypatch)
    site.config["PROPAGATE_EXCEPTIONS"] = other.config["PROPAGATE_EXCEPTIONS"] = False

    results = _start_at_once([site, other], client.get_cookie("mooc_session").value, token)

    assert [status for status, _ in results] == [302, 302]
    assert results[0][1] == results[1][1] and "/attempts/" in results[0][1]  # the same attempt
    with site.app_context():
        rows = db.session.scalars(sa.select(QuizAttempt)).all()
    assert len(rows) == 1 and rows[0].number == 1 and rows[0].status == "in_progress"


def test_the_last_attempt_cannot_be_started_twice(site, make_app, tree, make_user, monkeypatch):
    """attempts: 2 and one used: two starts at once give attempt 2, never a third."""
    other = make_app(COURSES_DIR=str(tree))
    client = site.test_client()
    login(client, make_user().email)
    assert submit(client, start(client), answers(site, right=False)).status_code == 302
    token = csrf_token(client, QUIZ_URL)
    _both_read_before_either_writes(monkeypatch)
    site.config["PROPAGATE_EXCEPTIONS"] = other.config["PROPAGATE_EXCEPTIONS"] = False

    results = _start_at_once([site, other], client.get_cookie("mooc_session").value, token)

    assert [status for status, _ in results] == [302, 302]
    assert results[0][1] == results[1][1]
    with site.app_context():
        rows = db.session.scalars(sa.select(QuizAttempt).order_by(QuizAttempt.number)).all()
    assert [(r.number, r.status) for r in rows] == [(1, "submitted"), (2, "in_progress")]
    # and the limit still holds afterwards
    assert submit(client, results[0][1], answers(site, right=False)).status_code == 302
    refused = client.post(f"{QUIZ_URL}/start", data={"csrf_token": csrf_token(client, QUIZ_URL)})
    assert refused.status_code == 302 and "/attempts/" not in refused.headers["Location"]
    with site.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(QuizAttempt)) == 2


def _statements(site, client, method: str, path: str, **kwargs) -> tuple[object, list[str]]:
    seen: list[str] = []
    with site.app_context():
        engine = db.engine

    def note(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        response = getattr(client, method)(path, **kwargs)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return response, seen


WRITES = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "RELEASE")


def test_a_start_writes_one_insert_and_reads_no_question_pool_when_warm(site, make_user):
    first, second = site.test_client(), site.test_client()
    login(first, make_user().email)
    login(second, make_user().email)
    start(first)  # the quiz's question pool is read once for this version

    token = csrf_token(second, QUIZ_URL)
    response, seen = _statements(site, second, "post", f"{QUIZ_URL}/start", data={"csrf_token": token})

    assert response.status_code == 302 and "/attempts/" in response.headers["Location"]
    writes = [s for s in seen if s.upper().startswith(WRITES)]
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO quiz_attempts"), writes
    assert not any("quizzes.questions" in s for s in seen), seen  # the pool came from the cache
    if site.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # the write lock is taken for the INSERT alone, after every read
        begin = seen.index("BEGIN IMMEDIATE")
        assert seen[begin + 1:] == writes, seen[begin:]
        assert seen.count("BEGIN IMMEDIATE") == 1


def test_the_attempt_page_and_a_submit_hold_no_write_lock_while_reading(site, make_user):
    client = site.test_client()
    login(client, make_user().email)
    attempt_url = start(client)
    response, seen = _statements(site, client, "get", attempt_url)
    assert response.status_code == 200
    assert not any(s.upper().startswith(WRITES) or s == "BEGIN IMMEDIATE" for s in seen), seen
    assert not any("quizzes.questions" in s for s in seen), seen  # the attempt has its own copy

    data = {"csrf_token": csrf_token(client, attempt_url), **answers(site, right=True), "confirm": "1"}
    response, seen = _statements(site, client, "post", f"{attempt_url}/submit", data=data)
    assert response.status_code == 302
    grading = [s for s in seen if s.startswith("UPDATE quiz_attempts")]
    assert len(grading) == 1 and "WHERE quiz_attempts.id" in grading[0] and "status" in grading[0]
    with site.app_context():
        row = db.session.scalars(sa.select(QuizAttempt)).one()
    assert row.status == "submitted" and row.percent == 100.0 and row.answers


def test_a_synced_change_of_the_quiz_is_what_the_next_start_draws(site, tree, make_user):
    """The question pool is cached by the quiz's source hash: a sync that changes the file
    is a new version, so the next start draws the new questions (nothing is invalidated)."""
    first, second = site.test_client(), site.test_client()
    login(first, make_user().email)
    login(second, make_user().email)
    start(first)  # caches the first version
    changed = QUIZ.replace("Ai ký quyết định thanh tra?", "Ai ký quyết định thanh tra lại?")
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", changed.format(extra=""))
    with site.app_context():
        sync_tree(tree)
        db.session.commit()
        new_hash = db.session.scalar(sa.select(Quiz.source_hash))

    start(second)

    with site.app_context():
        rows = db.session.scalars(sa.select(QuizAttempt).order_by(QuizAttempt.id)).all()
    titles = [{q["title"] for q in row.questions} for row in rows]
    assert "Ai ký quyết định thanh tra?" in titles[0]
    assert "Ai ký quyết định thanh tra lại?" in titles[1] and "Ai ký quyết định thanh tra?" not in titles[1]
    assert rows[1].quiz_hash == new_hash != rows[0].quiz_hash
