"""The person's part of a course page is kept under exactly the facts it shows
(mooc/training/course_standing.py): a kept part is the part its macro renders, each person's
shows their own progress, status and continue link, and the macro cannot read a fact its key
does not hold."""

from __future__ import annotations

import re
from pathlib import Path

from mooc.training.course_standing import StandingCard
from tests.conftest import login
from tests.training.test_completion import require
from tests.training.test_home_fresh import _mark_done

TOKEN = re.compile(r'name="csrf_token" value="[^"]*"')
MACRO = Path(__file__).resolve().parents[2] / "mooc/training/templates/training/_course_standing.html"


def _standings(app) -> dict:
    return app.extensions["mooc.course_standings"].entries


def _course(client) -> str:
    response = client.get("/courses/luat")
    assert response.status_code == 200
    return TOKEN.sub("", response.get_data(as_text=True))


def _progress(page: str) -> str:
    return re.search(r'<p class="progress-text">([^<]*)</p>', page).group(1)


def test_a_kept_part_is_the_part_its_macro_renders(org, person):
    app, o = org
    _staff, user = person(o.section_a, name="Lê Thị Một", email="mot@example.vn")
    require(app, o)
    client = app.test_client()
    login(client, user.email)
    _mark_done(client, "co-ban/mot")
    first = _course(client)
    kept = len(_standings(app))
    again = _course(client)
    assert kept and len(_standings(app)) == kept
    _standings(app).clear()
    app.extensions["mooc.kept_pages"].entries.clear()  # and the page around it, rendered in full
    assert first == again == _course(client)
    assert _progress(first) == "Đã xong 1/2 bài"
    assert 'id="continue-course"' in first and "Học tiếp:" in first


def test_people_with_the_same_facts_share_a_part_and_others_get_their_own(org, person):
    app, o = org
    _staff, first = person(o.section_a, name="Lê Thị Một", email="mot@example.vn")
    _staff, second = person(o.section_b, name="Lê Thị Hai", email="hai@example.vn")
    require(app, o)
    one, two = app.test_client(), app.test_client()
    login(one, first.email)
    login(two, second.email)
    assert _progress(_course(one)) == "Đã xong 0/2 bài"
    kept = len(_standings(app))
    assert _progress(_course(two)) == "Đã xong 0/2 bài"
    assert len(_standings(app)) == kept  # the same course, status, due date and progress
    _mark_done(one, "co-ban/mot")
    mine, theirs = _course(one), _course(two)
    assert _progress(mine) == "Đã xong 1/2 bài" and _progress(theirs) == "Đã xong 0/2 bài"
    assert "Học tiếp:" in mine and "Bắt đầu học" in theirs
    assert len(_standings(app)) == kept + 1


def test_the_part_macro_reads_only_the_facts_of_its_key():
    source = MACRO.read_text(encoding="utf-8")
    read = set(re.findall(r"\bcard\.(\w+)", source))
    assert read and read <= set(StandingCard._fields), read - set(StandingCard._fields)
    assert re.findall(r"{% macro (\w+)\((\w*)\)", source) == [("standing", "card")]
    assert not re.search(r"\b(current_user|request|session|g|course|outline|standing)\.", source)
