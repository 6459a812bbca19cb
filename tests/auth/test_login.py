"""Sign-in: messages, throttling, sessions that really end, safe redirects."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import werkzeug.security

from mooc import clock
from mooc.auth import passwords
from mooc.auth.models import AuditEvent, AuthSession, LoginThrottle, Role, User
from mooc.extensions import db
from tests.conftest import TEST_PASSWORD, csrf_token, login, logout

WRONG = "Wrong e-mail or password."


def test_login_page_is_vietnamese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page
    assert "Mật khẩu" in page


def test_sign_in_and_out(client, make_user):
    user = make_user(email="an@example.vn", name="Nguyễn Văn An")
    response = login(client, "AN@example.vn ")  # case and spaces do not matter
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Nguyễn Văn An" in home.get_data(as_text=True)
    assert logout(client).status_code == 302
    assert client.get("/").status_code == 302
    assert user.id


def test_unknown_account_and_wrong_password_get_the_same_answer(client, make_user, monkeypatch):
    make_user(email="known@example.vn")
    checks: list[str] = []
    real_check = werkzeug.security.check_password_hash

    def counting_check(pwhash: str, password: str) -> bool:
        checks.append(pwhash[:6])
        return real_check(pwhash, password)

    monkeypatch.setattr(passwords, "check_password_hash", counting_check)
    wrong = login(client, "known@example.vn", "not-the-password")
    unknown = login(client, "nobody@example.vn", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200
    text_wrong = wrong.get_data(as_text=True).replace("known@example.vn", "X")
    text_unknown = unknown.get_data(as_text=True).replace("nobody@example.vn", "X")
    assert "Sai e-mail hoặc mật khẩu." in text_wrong
    strip = lambda t: t.split('name="csrf_token"')[0]  # noqa: E731 (tokens differ per request)
    assert strip(text_wrong) == strip(text_unknown)
    # Both paths check exactly one password hash of the same kind: similar timing.
    assert len(checks) == 2 and checks[0] == checks[1]


def test_inactive_account_cannot_sign_in(client, make_user):
    make_user(email="gone@example.vn", active=False)
    response = login(client, "gone@example.vn")
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_throttling_locks_after_repeated_failures(make_app, make_user):
    app = make_app(LOGIN_MAX_FAILURES=3, LOGIN_LOCK_MINUTES=10)
    client = app.test_client()
    make_user(email="target@example.vn")
    start = clock.now()
    clock.set_now(start)
    for _ in range(2):
        assert "Sai e-mail" in login(client, "target@example.vn", "guess").get_data(as_text=True)
    third = login(client, "target@example.vn", "guess").get_data(as_text=True)
    assert "Quá nhiều lần đăng nhập sai" in third
    # Locked: even the right password is refused, with the same lock message.
    locked = login(client, "target@example.vn", TEST_PASSWORD)
    assert locked.status_code == 200
    assert "Quá nhiều lần đăng nhập sai" in locked.get_data(as_text=True)
    # The lock ends by itself.
    clock.set_now(start + timedelta(minutes=11))
    assert login(client, "target@example.vn", TEST_PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.get(LoginThrottle, "target@example.vn") is None
        failures = db.session.scalars(sa.select(AuditEvent.action)).all()
        assert failures.count("login.failed") == 4
        assert failures.count("login.succeeded") == 1


def test_unknown_addresses_lock_the_same_way(make_app):
    app = make_app(LOGIN_MAX_FAILURES=2, LOGIN_LOCK_MINUTES=5)
    client = app.test_client()
    login(client, "ghost@example.vn", "a")
    page = login(client, "ghost@example.vn", "b").get_data(as_text=True)
    assert "Quá nhiều lần đăng nhập sai" in page


def test_old_failures_expire(make_app, make_user):
    app = make_app(LOGIN_MAX_FAILURES=3, LOGIN_LOCK_MINUTES=10)
    client = app.test_client()
    make_user(email="slow@example.vn")
    start = clock.now()
    clock.set_now(start)
    login(client, "slow@example.vn", "x")
    login(client, "slow@example.vn", "y")
    clock.set_now(start + timedelta(minutes=30))
    page = login(client, "slow@example.vn", "z").get_data(as_text=True)
    assert "Sai e-mail" in page  # counted from 1 again, not locked
    assert login(client, "slow@example.vn").status_code == 302


def _session_cookie(client) -> str:
    cookie = client.get_cookie("mooc_session")
    assert cookie is not None
    return cookie.value


def _replay(app, cookie: str):
    other = app.test_client()
    other.set_cookie("mooc_session", cookie)
    return other.get("/")


def test_cookie_from_before_logout_no_longer_works(app, client, auth):
    auth.login()
    stolen = _session_cookie(client)
    assert _replay(app, stolen).status_code == 200
    auth.logout()
    replay = _replay(app, stolen)
    assert replay.status_code == 302
    assert replay.headers["Location"].startswith("/login")


def test_deactivating_an_account_ends_its_sessions(app, client, auth):
    user = auth.login()
    cookie = _session_cookie(client)
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert client.get("/").status_code == 302
    assert _replay(app, cookie).status_code == 302


def test_password_change_ends_other_sessions(app, make_user):
    user = make_user(email="change@example.vn")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user.email)
    login(phone, user.email)
    token = csrf_token(laptop, "/account/password")
    response = laptop.post("/account/password", data={
        "csrf_token": token, "current_password": TEST_PASSWORD,
        "new_password": "mot cau dai hon nua", "confirm": "mot cau dai hon nua"})
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200   # this browser stays signed in
    assert phone.get("/").status_code == 302    # the other one is out
    fresh = app.test_client()
    assert login(fresh, user.email, "mot cau dai hon nua").status_code == 302


def test_password_change_checks_the_current_password_and_length(app, client, auth):
    auth.login()
    token = csrf_token(client, "/account/password")
    page = client.post("/account/password", data={
        "csrf_token": token, "current_password": "wrong", "new_password": "abcdefghijk",
        "confirm": "abcdefghijk"}).get_data(as_text=True)
    assert "Mật khẩu hiện tại không đúng." in page
    page = client.post("/account/password", data={
        "csrf_token": token, "current_password": TEST_PASSWORD, "new_password": "short",
        "confirm": "short"}).get_data(as_text=True)
    assert "ít nhất 10 ký tự" in page


def test_session_is_new_at_every_sign_in(app, client, make_user):
    user = make_user()
    login(client, user.email)
    first = _session_cookie(client)
    logout(client)
    login(client, user.email)
    assert _session_cookie(client) != first
    with app.app_context():
        sessions = db.session.scalars(sa.select(AuthSession).where(AuthSession.user_id == user.id)).all()
        assert len(sessions) == 2
        assert sum(s.revoked_at is None for s in sessions) == 1


def test_idle_and_absolute_session_lifetimes(make_app, make_user):
    app = make_app(SESSION_IDLE_MINUTES=30, SESSION_MAX_HOURS=2)
    client = app.test_client()
    user = make_user()
    start = clock.now()
    clock.set_now(start)
    login(client, user.email)
    # Active every 20 minutes: stays signed in until the absolute limit.
    for minutes in range(20, 120, 20):
        clock.set_now(start + timedelta(minutes=minutes))
        assert client.get("/").status_code == 200, minutes
    clock.set_now(start + timedelta(minutes=121))
    assert client.get("/").status_code == 302
    # Idle: a new session unused for more than 30 minutes ends.
    login(client, user.email)
    clock.set_now(start + timedelta(minutes=121 + 31))
    assert client.get("/").status_code == 302


def test_the_session_cookie_is_sent_at_sign_in_not_with_every_page(make_app, make_user):
    """The cookie carries only the session's token and lives as long as the server's session
    may: signing it again on every page was work for nothing (issue 20)."""
    app = make_app(SESSION_MAX_HOURS=2)
    client = app.test_client()
    user = make_user()
    signed_in = login(client, user.email)
    cookie = next(c for c in signed_in.headers.getlist("Set-Cookie") if c.startswith("mooc_session="))
    assert "Expires=" in cookie and "HttpOnly" in cookie
    expires = client.get_cookie("mooc_session").expires
    assert timedelta(hours=2) - timedelta(minutes=1) < expires - clock.now() <= timedelta(hours=2)
    client.get("/")  # the first page may add its form token to the session
    for _ in range(2):
        page = client.get("/")
        assert page.status_code == 200
        assert not [c for c in page.headers.getlist("Set-Cookie") if c.startswith("mooc_session=")]


def test_the_session_cookie_holds_no_fingerprint_of_the_browser(app, client, make_user):
    """Flask-Login's session protection is off (the server-side session does its job), so the
    hash of the client's address and user agent it would compare is neither computed nor kept
    in the cookie."""
    login(client, make_user().email)
    with client.session_transaction() as session:
        assert session.get("_id", "") == ""
        assert session["_user_id"]
    assert client.get("/").status_code == 200


def test_a_cookie_read_before_is_refused_once_it_is_older_than_its_lifetime(make_app, make_user, monkeypatch):
    """A session cookie is read once per process (its signature checked, its text decoded) and
    kept under its exact text (mooc/auth/sessions.py, CookieSessions): the cookie's age is still
    checked on every request, as itsdangerous does, so a cookie read a moment ago is refused as
    soon as it is older than PERMANENT_SESSION_LIFETIME."""
    import time

    app = make_app(SESSION_MAX_HOURS=2)
    client = app.test_client()
    login(client, make_user().email)
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200  # read from what was kept
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 2 * 3600 + 60)
    assert client.get("/").status_code == 302  # the cookie is too old: signed out


def test_a_new_secret_key_ends_old_cookies_unless_the_old_key_is_kept_as_a_fallback(app, make_user):
    """The cookie's serializer is kept per secret: rotating ``SECRET_KEY`` takes effect on the
    next request, and ``SECRET_KEY_FALLBACKS`` still reads cookies signed with the old one."""
    client = app.test_client()
    login(client, make_user().email)
    assert client.get("/").status_code == 200
    old = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "n" * 48
    assert client.get("/").status_code == 302  # signed with a key no longer known: signed out
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/").status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("target, expected", [
    ("/account/password", "/account/password"),
    ("//evil.example/x", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
])
def test_next_only_redirects_within_the_site(client, make_user, target, expected):
    user = make_user()
    response = login(client, user.email, next=target)
    assert response.headers["Location"] == expected


def test_next_from_the_query_string_survives_the_form(client, make_user):
    user = make_user()
    assert client.get("/account/password").headers["Location"].startswith("/login?next=")
    page = client.get("/login?next=/account/password").get_data(as_text=True)
    assert 'value="/account/password"' in page
    response = login(client, user.email, next="/account/password")
    assert response.headers["Location"] == "/account/password"


def test_logout_is_post_only(client, auth):
    auth.login()
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


def test_roles_are_ordered_and_grants_never_exceed_your_own():
    from mooc.auth.access import grantable_roles

    assert grantable_roles(Role.ADMIN) == list(Role)
    assert grantable_roles(Role.MANAGER) == [Role.TRAINEE, Role.MANAGER]
    assert Role.REPORTER not in grantable_roles(Role.MANAGER)
    assert grantable_roles(Role.TRAINEE) == [Role.TRAINEE]
