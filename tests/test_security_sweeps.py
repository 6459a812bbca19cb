"""Sweeps over every route: nothing is reachable without a session unless it is on the
public list, and no state-changing request is accepted without a CSRF token."""

from __future__ import annotations

from flask import Flask

from mooc.auth.models import Role
from tests.conftest import login

# The whole public surface. A new public route fails this suite until it is added here.
PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "site.healthz",
    "site.set_language",
    "account.forgot",
    "account.invite",
    "account.reset",
    "training.verify",       # anyone may check a certificate: name, course, dates, validity
}

SAMPLE_ARGS = {"int": "1", "string": "x", "path": "x/y", "default": "x"}


def _url_for_rule(rule) -> str:  # noqa: ANN001
    url = rule.rule
    for argument in rule.arguments:
        converter = rule._converters[argument].__class__.__name__.lower().replace("converter", "")
        url = url.replace(f"<{argument}>", SAMPLE_ARGS.get(converter, "1"))
        for prefix in ("int", "string", "path", "float", "any"):
            url = url.replace(f"<{prefix}:{argument}>", SAMPLE_ARGS.get(prefix, "1"))
    return url


def _routes(app: Flask, method: str):
    for rule in app.url_map.iter_rules():
        if method in (rule.methods or set()):
            yield rule, _url_for_rule(rule)


def test_public_endpoints_are_exactly_the_allow_list(app):
    public = {endpoint for endpoint, view in app.view_functions.items()
              if getattr(view, "is_public", False)} | {"static"}
    assert public == PUBLIC_ENDPOINTS


def test_anonymous_get_of_every_private_route_goes_to_sign_in(app):
    client = app.test_client()
    checked = 0
    for rule, url in _routes(app, "GET"):
        response = client.get(url)
        if rule.endpoint in PUBLIC_ENDPOINTS:
            assert response.status_code in (200, 404), (url, response.status_code)
            continue
        assert response.status_code == 302, (url, response.status_code)
        assert response.headers["Location"].startswith("/login?next="), url
        checked += 1
    assert checked >= 2  # the sweep really walked the map


def test_anonymous_post_to_every_private_route_is_refused(app):
    client = app.test_client()
    for rule, url in _routes(app, "POST"):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        response = client.post(url, data={"role": "admin"})
        assert response.status_code == 401, (url, response.status_code)


def test_every_post_route_refuses_a_request_without_csrf_token(app, make_user):
    client = app.test_client()
    admin = make_user(role=Role.ADMIN)
    assert login(client, admin.email).status_code == 302
    posted = 0
    for _rule, url in _routes(app, "POST"):
        response = client.post(url, data={"email": admin.email, "password": "x", "lang": "en"})
        assert response.status_code == 400, (url, response.status_code)
        assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
        posted += 1
    assert posted >= 4
    assert client.get("/").status_code == 200  # still signed in: nothing was done
