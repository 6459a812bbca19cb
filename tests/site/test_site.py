"""The frame of the site: health, headers, errors, language, uploads, formatting."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from mooc.formatting import breakable, format_date, format_datetime, format_number
from tests.conftest import csrf_token


def test_healthz_answers_with_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_says_when_the_database_is_down(make_app):
    app = make_app(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    page = response.get_data(as_text=True)
    # Nothing inline for the CSP to block (scripts come from files).
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and "style=" not in page


SITE_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                "Cross-Origin-Opener-Policy", "Permissions-Policy")


def test_every_kind_of_answer_carries_each_site_header_once(client, make_app):
    answers = {"page": client.get("/login"), "json": client.get("/healthz"),
               "404": client.get("/no/such/page"), "redirect": client.get("/reports/"),
               "static": client.get("/static/site.css")}
    for kind, response in answers.items():
        for name in SITE_HEADERS:
            assert len(response.headers.getlist(name)) == 1, (kind, name)
        assert "Strict-Transport-Security" not in response.headers, kind  # plain http here
    production = make_app(ENV="production", SECRET_KEY="p" * 48).test_client().get("/healthz")
    assert production.headers.getlist("Strict-Transport-Security") == ["max-age=31536000"]


def test_a_view_that_sets_its_own_header_keeps_it(app):
    from flask import Response

    app.add_url_rule("/own-headers", "own_headers", lambda: Response(
        "x", headers={"content-security-policy": "sandbox", "X-Frame-Options": "SAMEORIGIN"}))
    app.view_functions["own_headers"].is_public = True
    response = app.test_client().get("/own-headers")
    assert response.headers.getlist("Content-Security-Policy") == ["sandbox"]
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_flags(client, make_user):
    from tests.conftest import login

    user = make_user()
    response = login(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in development and tests


def test_production_cookies_are_secure(make_app):
    app = make_app(ENV="production", SECRET_KEY="p" * 48)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["WTF_CSRF_SSL_STRICT"] is True


def test_404_page_uses_the_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Không tìm thấy trang" in page and 'class="site-header"' in page


def test_500_page_shows_no_stack_trace(make_app):
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    boom.is_public = True
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "secret internals" not in page and "Traceback" not in page
    assert "Đã có lỗi xảy ra" in page


def test_language_switch_to_english_and_back(client):
    token = csrf_token(client)
    response = client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page
    client.post("/language", data={"csrf_token": token, "lang": "vi", "next": "https://evil.example"})
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)


def test_uploads_over_the_limit_are_refused(make_app):
    app = make_app(MAX_UPLOAD_MB=1)
    client = app.test_client()
    response = client.post("/language", data={"lang": "en", "blob": "x" * (1024 * 1024 + 10)})
    assert response.status_code == 413


def test_static_files_are_served_with_versioned_urls(client):
    page = client.get("/login").get_data(as_text=True)
    assert "/static/css/site.css?v=" in page
    with client.get("/static/css/site.css") as css:
        assert css.status_code == 200 and b"--red" in css.data


def test_dates_read_day_month_year():
    assert format_date(date(2026, 3, 7)) == "07/03/2026"
    # 20:30 UTC on 31/12 is already 1 January in Vietnam.
    assert format_date(datetime(2025, 12, 31, 20, 30, tzinfo=UTC)) == "01/01/2026"
    assert format_datetime(datetime(2025, 12, 31, 20, 30, tzinfo=UTC)) == "01/01/2026 03:30"
    assert format_number(1234567) == "1.234.567"
    assert format_number(85.26, 1) == "85,3"


def test_a_long_address_may_wrap_at_its_joints_only():
    """After "@", "/" and "_", before "." (but the last: "gov.vn" holds), "?", "&", "=", "#";
    escaped; nothing where the value is empty."""
    assert breakable("nguyen.van.an@thanhtra.hanoi.gov.vn") == (
        "nguyen<wbr>.van<wbr>.an@<wbr>thanhtra<wbr>.hanoi<wbr>.gov.vn")
    assert breakable("https://mooc.example.vn/verify?code=AB&x=1") == (
        "https://<wbr>mooc<wbr>.example<wbr>.vn/<wbr>verify<wbr>?code<wbr>=AB<wbr>&amp;x<wbr>=1")
    assert breakable('<b>"x"</b>_y.csv') == "&lt;b&gt;&#34;x&#34;&lt;/<wbr>b&gt;_<wbr>y.csv"
    assert breakable(None) == "" and breakable("") == "" and breakable("000202") == "000202"
