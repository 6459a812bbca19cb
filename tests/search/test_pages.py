"""The search box in the header and the results page, through the test client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mooc.courses.sync import sync_tree
from mooc.extensions import db
from tests.conftest import login
from tests.search.corpus import make_corpus
from tests.search.test_search import HOSTILE


@pytest.fixture
def site(make_app, tmp_path: Path):
    corpus = make_corpus(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(corpus))
    with app.app_context():
        sync_tree(corpus)
        db.session.commit()
    return app


@pytest.fixture
def client(site, make_user):
    client = site.test_client()
    assert login(client, make_user().email).status_code == 302
    return client


def page(client, **args) -> str:
    response = client.get("/search/", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_search_needs_a_session(site):
    response = site.test_client().get("/search/?q=thanh")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_every_page_has_the_search_box_for_signed_in_people(site, client):
    for path in ("/", "/courses/", "/courses/luat"):
        html = client.get(path).get_data(as_text=True)
        form = re.search(r'<form class="site-search" method="get" action="/search/" role="search">.*?</form>',
                         html, re.DOTALL)
        assert form, path
        label = '<label for="site-search-q" class="visually-hidden">Tìm trong các khóa học</label>'
        assert label in form.group()
        assert 'name="q"' in form.group() and "Tìm kiếm</button>" in form.group()
    assert "site-search" not in site.test_client().get("/login").get_data(as_text=True)


def test_results_page(client):
    html = page(client, q="thanh tra vien")
    assert "Tìm thấy 4 bài học" in html
    assert '<a href="/courses/luat/lessons/co-ban/thanh-tra-vien"><mark>Thanh tra viên</mark></a>' in html
    assert ('<a href="/courses/luat/lessons/co-ban/doan-thanh-tra#u-vai-tro-cua-thanh-tra-vien">'
            'Đoàn <mark>thanh tra</mark><span class="search-section"> › '
            'Vai trò của <mark>thanh tra viên</mark>'
            in html)  # a hit in a section links to its heading
    assert "Luật Thanh tra · Cơ bản" in html  # course and module
    assert 'value="thanh tra vien"' in html
    order = [html.index(key) for key in ("co-ban/thanh-tra-vien", "co-ban/doan-thanh-tra", "co-ban/ho-so")]
    assert order == sorted(order)
    # CSP: no inline script or style (scripts come from files)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "style=" not in html


def test_results_page_filters_by_course(client):
    html = page(client, q="thanh tra vien", course="ksnb")
    assert "Tìm thấy 1 bài học" in html and "chung/thanh-tra-vien-noi-bo" in html
    assert '<option value="ksnb" selected>Kiểm soát nội bộ</option>' in html
    html = page(client, q="thanh tra vien", course="khong-co")  # an unknown course: all courses
    assert "Tìm thấy 4 bài học" in html


def test_nothing_found_and_nothing_to_search(client):
    html = page(client, q="tàu ngầm")
    assert "Không có bài học nào chứa đủ các từ “tàu ngầm”." in html
    html = page(client, q="  ")
    assert "Tìm thấy" not in html and "Không có bài học" not in html
    html = page(client, q="!!!")
    assert "Hãy gõ ít nhất một từ" in html


def test_pages_of_twenty(client, site, tmp_path):
    corpus = tmp_path / "courses"
    for n in range(1, 23):
        (corpus / f"luat/02-luu-tru/{n + 1:02d}-bai-{n}.md").write_text(
            f"---\ntitle: Bài {n}\nminutes: 1\n---\n\nPhân trang số {n}.\n", encoding="utf-8")
    with site.app_context():
        sync_tree(corpus)
        db.session.commit()
    first = page(client, q="phân trang")
    assert "Tìm thấy 22 bài học · trang 1/2" in first and first.count('class="search-hit"') == 20
    assert 'href="/search/?q=ph%C3%A2n+trang&amp;page=2" rel="next"' in first or \
        'rel="next" href="/search/?q=ph%C3%A2n+trang&amp;page=2"' in first
    second = page(client, q="phân trang", page="2")
    assert second.count('class="search-hit"') == 2 and '<ol class="search-results" start="21">' in second
    assert "Trang trước" in second
    past = page(client, q="phân trang", page="9")
    assert "trang này nằm sau trang cuối" in past


def test_hostile_queries_get_a_page(client):
    for text in HOSTILE + ["x" * 5000]:
        page(client, q=text)
        page(client, q=text, page="abc")
        page(client, q=text, page="-3", course="<script>")


def test_a_long_query_is_cut_and_said_so(client):
    html = page(client, q=" ".join(f"từ{n}" for n in range(30)))
    assert "chỉ dùng 10 từ hoặc cụm từ đầu tiên" in html
