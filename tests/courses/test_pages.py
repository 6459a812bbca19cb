"""Course pages through the test client: catalogue, outline, lessons, progress, files."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.courses.models import LessonProgress
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from tests.conftest import csrf_token
from tests.courses.tree import lesson, make_tree, write


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "courses")


@pytest.fixture
def site(make_app, tree):
    app = make_app(COURSES_DIR=str(tree))
    with app.app_context():
        sync_tree(tree)
        db.session.commit()
    return app


@pytest.fixture
def trainee(site, make_user):
    from tests.conftest import login

    client = site.test_client()
    user = make_user(name="Nguyễn Văn An")
    assert login(client, user.email).status_code == 302
    return client, user


def test_catalogue_lists_live_courses(trainee):
    client, _user = trainee
    page = client.get("/courses/").get_data(as_text=True)
    assert "Luật Thanh tra" in page and "Khóa học thử." in page
    assert "Đã xong 0/3 bài" in page and "Ấn bản 2026" in page and "khoảng 2 giờ" in page


def test_course_page_shows_outline_and_start_button(trainee):
    client, _user = trainee
    page = client.get("/courses/luat").get_data(as_text=True)
    assert "Cơ bản" in page and "Nâng cao" in page
    assert page.index("Khái niệm") < page.index("Nguyên tắc") < page.index("Quy trình")
    assert 'href="/courses/luat/lessons/co-ban/khai-niem"' in page
    assert "Bắt đầu học" in page


def test_lesson_page_with_neighbours_and_mark_done(site, trainee):
    client, user = trainee
    page = client.get("/courses/luat/lessons/co-ban/nguyen-tac").get_data(as_text=True)
    assert "<h1>Nguyên tắc</h1>" in page
    assert 'rel="prev" href="/courses/luat/lessons/co-ban/khai-niem"' in page
    assert 'rel="next" href="/courses/luat/lessons/nang-cao/quy-trinh"' in page
    token = csrf_token(client, "/courses/luat/lessons/co-ban/nguyen-tac")
    done = client.post("/courses/luat/lessons/co-ban/nguyen-tac/done", data={"csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == "/courses/luat/lessons/nang-cao/quy-trinh"
    client.post("/courses/luat/lessons/co-ban/nguyen-tac/done", data={"csrf_token": token})  # double click
    with site.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(LessonProgress)
                .where(LessonProgress.user_id == user.id)
            )
            == 1
        )
    outline = client.get("/courses/luat").get_data(as_text=True)
    assert "is-done" in outline and "Học tiếp: Khái niệm" in outline


def test_unknown_and_archived_lessons_are_404(site, tree, trainee):
    client, _user = trainee
    assert client.get("/courses/luat/lessons/co-ban/khong-co").status_code == 404
    assert client.get("/courses/khong-co").status_code == 404
    (tree / "luat/02-nang-cao/01-quy-trinh.md").unlink()
    write(tree, "luat/02-nang-cao/01-khac.md", lesson("Khác", "## A\n\nB"))
    with site.app_context():
        sync_tree(tree)
        db.session.commit()
    assert client.get("/courses/luat/lessons/nang-cao/quy-trinh").status_code == 404


def test_pictures_are_served_from_the_course_folder_only(trainee):
    client, _user = trainee
    with client.get("/courses/luat/files/01-co-ban/images/so-do.svg") as picture:
        assert picture.status_code == 200
        assert "sandbox" in picture.headers["Content-Security-Policy"]
        assert "max-age=3600" in picture.headers["Cache-Control"]
    assert client.get("/courses/luat/files/../../etc/passwd").status_code == 404
    assert client.get("/courses/luat/files/01-co-ban/01-khai-niem.md").status_code == 404
    assert client.get("/courses/luat/files/%2e%2e/%2e%2e/secret.png").status_code == 404


def test_lesson_pages_never_show_script_from_authors(site, tree, trainee):
    client, _user = trainee
    write(
        tree,
        "luat/01-co-ban/02-nguyen-tac.md",
        lesson(
            "Nguyên tắc",
            (
                "## Mục 2\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n"
                '<img src="x" onerror="alert(3)">\n\n<svg onload="alert(4)"></svg>\n\n'
                '[data](data:text/html;base64,PHNjcmlwdD4=)\n\n<a href="#" onclick="alert(5)">a</a>\n'
            ),
        ),
    )
    from mooc.courses.check import check_tree

    result = check_tree(tree)
    # authors are told at check time (raw-html: <img src="x"> names a file the page would not find)
    assert {p.code for p in result.errors} == {"bad-scheme", "raw-html"}
    # Even if such text reached the renderer, nothing executable survives:
    from mooc.courses.render import render

    html = render((tree / "luat/01-co-ban/02-nguyen-tac.md").read_text().split("---", 2)[2]).html
    for bad in ("<script", "javascript:", "onerror", "onload", "onclick", "<svg", "data:text"):
        assert bad not in html, bad


def test_development_autosync_shows_edits_on_reload(make_app, tree, make_user):
    from tests.conftest import login

    app = make_app(COURSES_DIR=str(tree), COURSES_AUTOSYNC=True)
    client = app.test_client()
    from mooc.auth.models import Role

    user = make_user(role=Role.ADMIN)  # the errors are for authors (administrators)
    login(client, user.email)
    assert "Nguyên tắc" in client.get("/courses/luat").get_data(as_text=True)
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Nguyên tắc mới", "## A\n\nB"))
    assert "Nguyên tắc mới" in client.get("/courses/luat").get_data(as_text=True)
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Hỏng", "## A\n\n[x](khong-co.md)"))
    page = client.get("/courses/luat").get_data(as_text=True)
    assert "Nguyên tắc mới" in page and "Hỏng" not in page  # the last good version stays
    assert "02-nguyen-tac.md:8: error: liên kết &#39;khong-co.md&#39;" in page
