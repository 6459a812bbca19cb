"""Links kept per process (mooc/site/urls.py): the same links as Flask builds, on every hot page,
under any script root; never kept where Flask's answer depends on more than the key."""

from __future__ import annotations

import re

import pytest
from flask import url_for

from mooc.site.urls import CACHE, kept_url_for

CSRF = re.compile(r'(name="csrf_token" value=")[^"]*(")')


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return CSRF.sub(r"\1\2", response.get_data(as_text=True))


@pytest.mark.parametrize("who, path", [
    ("trainee", "/courses/luat/lessons/co-ban/nguyen-tac"),
    ("trainee", "/courses/luat"),
    ("trainee", "/"),
    ("manager", "/reports/"),
])
def test_a_hot_page_has_the_links_flask_builds(hot_pages, who, path):
    app, trainee, manager = hot_pages
    client = trainee if who == "trainee" else manager
    kept_first, kept_again = _page(client, path), _page(client, path)
    assert app.extensions[CACHE].entries  # the second page read its links from the cache
    app.jinja_env.globals["url_for"] = app.url_for
    built = _page(client, path)
    assert 'href="/' in built
    assert kept_first == built
    assert kept_again == built


def test_each_script_root_and_value_type_has_its_own_link(make_app):
    app = make_app()
    with app.test_request_context("/", base_url="http://example.vn/mooc/"):
        assert kept_url_for("courses.course", key="luat") == "/mooc/courses/luat"
        assert kept_url_for("courses.course", key="luat") == url_for("courses.course", key="luat")
    with app.test_request_context("/"):
        assert kept_url_for("courses.course", key="luat") == "/courses/luat"
        people = "/reports/people?unit=1&status=overdue"
        assert kept_url_for("reports.people", unit=1, status="overdue") == people
        assert kept_url_for("reports.people", status="overdue", unit=1) == url_for(
            "reports.people", status="overdue", unit=1)
        assert kept_url_for("reports.people", unit=True) == url_for("reports.people", unit=True)
        assert kept_url_for("reports.people", unit=1) == url_for("reports.people", unit=1)
        assert kept_url_for("reports.people", unit=True) != kept_url_for("reports.people", unit=1)


def test_what_depends_on_more_than_the_key_is_built_each_time(make_app):
    app = make_app()
    with app.test_request_context("/"):
        absolute = "http://localhost/courses/luat"
        assert kept_url_for("courses.course", key="luat", _external=True) == absolute
        assert kept_url_for("courses.course", key="luat", _anchor="x") == "/courses/luat#x"
        both = ["a", "b"]
        assert kept_url_for("reports.people", status=both) == url_for("reports.people", status=both)
    app.config["SERVER_NAME"] = "daotao.example.vn"
    with app.app_context():  # outside a request (a mail): absolute links, as Flask builds them
        assert kept_url_for("courses.course", key="luat") == "http://daotao.example.vn/courses/luat"
        assert CACHE not in app.extensions
