"""Pages kept per version (mooc/kept.py): the lesson page is rendered once per course version,
day, locale and role with holes for what is the person's own, then filled per request. The
kept page must be the page its template renders, for every lesson, and each person's pieces
(name, CSRF token, done marks, messages) their own."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_wtf.csrf import generate_csrf
from jinja2 import ChoiceLoader, DictLoader

from mooc import kept
from mooc.courses.models import Course, Lesson, Module
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.training.models import AssignmentRule
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def _pages(client, paths: list[str]) -> dict[str, str]:
    pages = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.get_data(as_text=True)
    return pages


def _without_tokens(html: str) -> str:
    """The CSRF token is signed with the second it was made in: the rest must be equal."""
    return TOKEN.sub('name="csrf_token" value=""', html)


def _lesson_paths(app) -> list[str]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Course.key, Lesson.key).join(Lesson, Lesson.course_id == Course.id)
            .join(Module, Module.id == Lesson.module_id)
            .where(Course.archived.is_(False), Lesson.archived.is_(False), Module.archived.is_(False))
            .order_by(Course.key, Lesson.key)).all()
    return [f"/courses/{course}/lessons/{lesson}" for course, lesson in rows]


def _course_paths(app) -> list[str]:
    with app.app_context():
        keys = db.session.scalars(
            sa.select(Course.key).where(Course.archived.is_(False)).order_by(Course.key))
        return [f"/courses/{key}" for key in keys]


def _not_kept(monkeypatch) -> None:
    monkeypatch.setattr(kept, "keepable", lambda: False)


def test_every_kept_lesson_and_course_page_of_the_real_courses_is_the_page_its_template_renders(
        make_app, make_user, make_unit, make_staff, monkeypatch):
    app = make_app(COURSES_DIR=str(ROOT / "courses"))
    person = make_staff(unit=make_unit(name="Thanh tra tỉnh Mẫu"), full_name="Lê Văn Chí")
    with app.app_context():
        sync_tree(ROOT / "courses")
        for course_id in db.session.scalars(sa.select(Course.id).where(Course.archived.is_(False))):
            db.session.add(AssignmentRule(course_id=course_id, all_units=True, due_days=30))
        db.session.commit()
    client = app.test_client()
    login(client, make_user(staff=person).email)
    paths = _lesson_paths(app)
    for path in paths[::3]:  # every third lesson done: both states of the page and of the outline
        assert client.post(path + "/done", data={"csrf_token": TOKEN.search(
            client.get(path).get_data(as_text=True)).group(1)}).status_code == 302
    lessons = len(paths)
    paths += _course_paths(app)
    kept_first, kept_again = _pages(client, paths), _pages(client, paths)
    assert len(app.extensions["mooc.kept_pages"].entries) >= len(paths)
    _not_kept(monkeypatch)
    rendered = _pages(client, paths)
    for path in paths:
        assert _without_tokens(kept_first[path]) == _without_tokens(rendered[path]), path
        assert _without_tokens(kept_again[path]) == _without_tokens(rendered[path]), path
    assert lessons > 20 and len(paths) > lessons + 2
    assert any("legal-basis" in page for page in rendered.values())  # the real courses cite laws
    assert any('id="continue-course"' in page for page in rendered.values())
    assert any('class="toc"' in page for page in rendered.values())


def test_each_reader_of_one_kept_page_gets_their_own_name_token_and_marks(hot_pages, make_user, make_staff):
    app, trainee, _manager = hot_pages
    other = app.test_client()
    login(other, make_user(staff=make_staff(full_name="Phạm Dũng"), name="Phạm <b>Dũng</b>").email)
    first, second = "/courses/luat/lessons/co-ban/khai-niem", "/courses/luat/lessons/co-ban/nguyen-tac"
    token = TOKEN.search(trainee.get(first).get_data(as_text=True)).group(1)
    assert trainee.post(first + "/done", data={"csrf_token": token}).status_code == 302
    mine, theirs = trainee.get(second).get_data(as_text=True), other.get(second).get_data(as_text=True)
    assert len(app.extensions["mooc.kept_pages"].entries) == 2  # one page of `second` for both
    assert "Người Dùng Thử" in mine and "Dũng" not in mine
    assert "Phạm &lt;b&gt;Dũng&lt;/b&gt;" in theirs and "Người Dùng Thử" not in theirs
    done_mark = 'class="outline-item is-done"'
    assert mine.count(done_mark) == 2 and theirs.count(done_mark) == 0  # the outline is shown twice
    my_token, their_token = TOKEN.search(mine).group(1), TOKEN.search(theirs).group(1)
    assert my_token != their_token
    assert other.post(second + "/done", data={"csrf_token": my_token}).status_code == 400
    assert other.post(second + "/done", data={"csrf_token": their_token}).status_code == 302
    again = other.get(second).get_data(as_text=True)
    assert "✓ Đã xong" in again and "/done" not in again  # its own kept page: done, no form


def test_a_sessions_csrf_token_is_signed_once_and_stays_good(hot_pages, monkeypatch, make_user, make_staff):
    """mooc/site/chrome.py ``request_csrf``: tokens have no time limit, so the token signed for
    a session's secret is reused by its later pages; another session's is still refused."""
    from flask_wtf import csrf

    app, trainee, _manager = hot_pages
    signed = []
    real_dumps = csrf.URLSafeTimedSerializer.dumps
    monkeypatch.setattr(csrf.URLSafeTimedSerializer, "dumps",
                        lambda self, *args, **kw: signed.append(self.salt) or real_dumps(self, *args, **kw))
    lesson = "/courses/luat/lessons/co-ban/khai-niem"
    paths = [lesson, "/courses/luat", "/", lesson]
    tokens = {TOKEN.search(trainee.get(path).get_data(as_text=True)).group(1) for path in paths}
    assert len(tokens) == 1 and signed.count(b"wtf-csrf-token") <= 1  # (at sign-in, or on the first page)
    other = app.test_client()
    login(other, make_user(staff=make_staff(full_name="Phạm Dũng")).email)
    their_token = TOKEN.search(other.get(lesson).get_data(as_text=True)).group(1)
    assert their_token not in tokens
    assert other.post(lesson + "/done", data={"csrf_token": next(iter(tokens))}).status_code == 400
    assert trainee.post(lesson + "/done", data={"csrf_token": next(iter(tokens))}).status_code == 302


def test_a_message_waiting_is_shown_once_on_a_page_rendered_in_full(hot_pages):
    app, trainee, _manager = hot_pages
    path = "/courses/luat/lessons/co-ban/khai-niem"
    trainee.get(path)
    with trainee.session_transaction() as session:
        session["_flashes"] = [("info", "Thông báo riêng cho Bình")]
    assert "Thông báo riêng cho Bình" in trainee.get(path).get_data(as_text=True)
    assert "Thông báo riêng cho Bình" not in trainee.get(path).get_data(as_text=True)
    assert all("Thông báo riêng" not in "".join(p for p in parts if isinstance(p, str))
               for parts in app.extensions["mooc.kept_pages"].entries.values())


def test_a_new_course_version_is_a_new_page(hot_pages):
    app, trainee, _manager = hot_pages
    path = "/courses/luat/lessons/co-ban/khai-niem"
    assert "Thanh tra viên làm việc." in trainee.get(path).get_data(as_text=True)
    with app.app_context():
        lesson = db.session.scalar(sa.select(Lesson).where(Lesson.key == "co-ban/khai-niem"))
        lesson.html = lesson.html.replace("Thanh tra viên làm việc.", "Thanh tra viên làm việc theo luật.")
        db.session.commit()
    assert "Thanh tra viên làm việc theo luật." in trainee.get(path).get_data(as_text=True)


def test_a_page_that_makes_a_token_of_its_own_is_served_and_not_kept(make_app, make_user, caplog):
    app = make_app()
    app.jinja_loader = ChoiceLoader([DictLoader({
        "own_token.html": '{% extends "base.html" %}{% block content %}<input value="{{ token() }}">'
                          '{% endblock %}',
        "no_token.html": '{% extends "base.html" %}{% block content %}<p>x</p>{% endblock %}',
    }), app.jinja_loader])
    app.jinja_env.globals["token"] = generate_csrf

    @app.get("/kept-test/<name>")
    def kept_test(name: str):
        return kept.render(("test", name), f"{name}.html", {"outline": lambda *args: "<ol>outline</ol>"})

    client = app.test_client()
    login(client, make_user(name="Hà Thu").email)
    with caplog.at_level(logging.ERROR, logger="mooc.kept"):
        for _ in range(2):
            page = client.get("/kept-test/own_token").get_data(as_text=True)
            assert "Hà Thu" in page and 'value="' in page and "<!--" not in page
        assert ("test", "own_token") not in app.extensions["mooc.kept_pages"].entries
        assert "own_token.html cannot be kept: it made a CSRF token of its own" in caplog.text
        assert "Hà Thu" in client.get("/kept-test/no_token").get_data(as_text=True)
        assert ("test", "no_token") in app.extensions["mooc.kept_pages"].entries


@pytest.mark.parametrize("lang, done_label", [("vi", "Đã xong"), ("en", "Done")])
def test_each_language_has_its_own_kept_page(hot_pages, lang, done_label):
    app, trainee, _manager = hot_pages
    path = "/courses/luat/lessons/co-ban/khai-niem"
    token = TOKEN.search(trainee.get(path).get_data(as_text=True)).group(1)
    trainee.post(path + "/done", data={"csrf_token": token})
    trainee.set_cookie("lang", lang)
    page = trainee.get(path).get_data(as_text=True)
    assert f'<html lang="{lang}">' in page and done_label in page


def test_each_reader_of_a_kept_course_page_gets_their_own_standing(hot_pages, make_user, make_staff):
    app, trainee, _manager = hot_pages
    other = app.test_client()
    login(other, make_user(staff=make_staff(full_name="Phạm Dũng")).email)
    first = "/courses/luat/lessons/co-ban/khai-niem"
    token = TOKEN.search(trainee.get(first).get_data(as_text=True)).group(1)
    trainee.post(first + "/done", data={"csrf_token": token})
    entries = len(app.extensions["mooc.kept_pages"].entries)
    mine = trainee.get("/courses/luat").get_data(as_text=True)
    theirs = other.get("/courses/luat").get_data(as_text=True)
    assert len(app.extensions["mooc.kept_pages"].entries) == entries + 1  # one course page for both
    assert "Học tiếp: Nguyên tắc" in mine and "Bắt đầu học" not in mine
    assert "Bắt đầu học" in theirs and "Học tiếp" not in theirs
    assert mine.count('class="outline-item is-done"') == 1 and 'is-done' not in theirs


def test_only_a_lesson_with_highlighted_code_loads_the_code_colours(make_app, make_user, tmp_path):
    from tests.courses.tree import lesson, make_tree, write

    tree = make_tree(tmp_path / "courses")
    write(tree, "luat/01-co-ban/03-ma.md", lesson("Mã", "## Ví dụ\n\n```python\nx = 1\n```\n"))
    app = make_app(COURSES_DIR=str(tree))
    with app.app_context():
        sync_tree(tree)
        db.session.commit()
    client = app.test_client()
    login(client, make_user().email)
    with_code = client.get("/courses/luat/lessons/co-ban/ma").get_data(as_text=True)
    without = client.get("/courses/luat/lessons/co-ban/nguyen-tac").get_data(as_text=True)
    assert 'class="highlight' in with_code and "css/code.css" in with_code
    assert "css/code.css" not in without
