"""Issue 16, accounts: a password set by any path spends every other link of the account;
the current-password check is throttled and audited; sign-ins are also limited per client
address (behind proxies too, shared by every worker process); "forgot password" takes the same
time whether or not the address has an account; pages behind a link are never cached."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from mooc import mail
from mooc.auth import tokens
from mooc.auth.models import AuditEvent, User
from mooc.auth.tokens import TokenPurpose
from mooc.config import settings
from mooc.extensions import db
from tests.conftest import CSRF_RE, TEST_PASSWORD, csrf_token, login

NEW_PASSWORD = "mot cau mat khau moi"
LOCKED = "Quá nhiều lần đăng nhập sai"
WRONG = "Sai e-mail"
SPRAYER = "198.51.100.7"


def _links(app, user: User) -> dict[TokenPurpose, str]:
    """An outstanding invitation and reset link for ``user`` (as the admin and /forgot make them)."""
    with app.app_context():
        account = db.session.get(User, user.id)
        paths = {purpose: f"/{purpose.value}/{tokens.issue(account, purpose)}" for purpose in TokenPurpose}
        db.session.commit()
    return paths


def _set_with_link(app, path: str) -> None:
    visitor = app.test_client()
    response = visitor.post(path, data={"csrf_token": csrf_token(visitor, path),
                                        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def _change_on_page(app, user: User) -> None:
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    response = client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account/password"), "current_password": TEST_PASSWORD,
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302


def _create_admin(app, user: User) -> None:
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "--email", user.email,
                                                "--name", "Quản Trị", "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("path", ["invite", "reset", "change-password page", "mooc users create-admin"])
def test_setting_a_password_by_any_path_spends_every_other_link(app, make_user, path):
    user = make_user(email="an@example.vn")
    links = _links(app, user)
    signed_in = app.test_client()
    assert login(signed_in, user.email).status_code == 302
    if path == "invite":
        _set_with_link(app, links.pop(TokenPurpose.INVITE))
    elif path == "reset":
        _set_with_link(app, links.pop(TokenPurpose.RESET))
    elif path == "change-password page":
        _change_on_page(app, user)
    else:
        _create_admin(app, user)
    for link in links.values():
        visitor = app.test_client()
        assert visitor.get(link).status_code == 404, f"{link} still works after the {path} set the password"
        taken = visitor.post(link, data={"csrf_token": csrf_token(visitor, "/forgot"),
                                         "new_password": "ke tan cong doat tai khoan",
                                         "confirm": "ke tan cong doat tai khoan"})
        assert taken.status_code == 404
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    if path != "change-password page":  # that page keeps the browser that changed it
        assert signed_in.get("/").status_code == 302, "a new password ends every session"


# --- the current-password check ------------------------------------------------------------------


def _change(client, current: str):
    return client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account/password"), "current_password": current,
        "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})


def test_the_current_password_check_is_throttled_and_audited(make_app, make_user):
    app = make_app(LOGIN_MAX_FAILURES=3, LOGIN_LOCK_MINUTES=10)
    user = make_user(email="an@example.vn")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    for _ in range(2):
        assert "Mật khẩu hiện tại không đúng." in _change(client, "doan-mo-1").get_data(as_text=True)
    assert LOCKED in _change(client, "doan-mo-3").get_data(as_text=True)
    # Locked: the right current password is refused too, and so is signing in elsewhere.
    page = _change(client, TEST_PASSWORD)
    assert page.status_code == 200 and LOCKED in page.get_data(as_text=True)
    assert LOCKED in login(app.test_client(), user.email).get_data(as_text=True)
    with app.app_context():
        account = db.session.get(User, user.id)
        assert account.password_hash and "pbkdf2" in account.password_hash  # unchanged
        events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.target, AuditEvent.details)
                                    .where(AuditEvent.action == "password.change_failed")).all()
    assert len(events) == 4 and {e.target for e in events} == {"an@example.vn"}
    assert [e.details.get("reason") for e in events] == [None, None, "locked", "locked"]


# --- per client address ---------------------------------------------------------------------------


def _sign_in(client, email: str, password: str, *, remote: str = "127.0.0.1", forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    environ = {"REMOTE_ADDR": remote}
    page = client.get("/login", headers=headers, environ_base=environ)
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password},
                       headers=headers, environ_base=environ)


def test_one_address_spraying_many_accounts_is_locked(make_app, make_user):
    app = make_app(LOGIN_MAX_FAILURES=5, LOGIN_ADDRESS_MAX_FAILURES=3, LOGIN_LOCK_MINUTES=10)
    users = [make_user(email=f"nguoi{n}@example.vn") for n in range(5)]
    sprayer = app.test_client()
    # One guess per account: no account reaches its own limit.
    for user in users[:2]:
        assert WRONG in _sign_in(sprayer, user.email, "Matkhau@2025", remote=SPRAYER).get_data(as_text=True)
    assert LOCKED in _sign_in(sprayer, users[2].email, "Matkhau@2025", remote=SPRAYER).get_data(as_text=True)
    # The address is locked, even with a right password ...
    refused = _sign_in(sprayer, users[3].email, TEST_PASSWORD, remote=SPRAYER)
    assert refused.status_code == 200 and LOCKED in refused.get_data(as_text=True)
    # ... but nobody else is: the accounts tried are not locked for other addresses.
    assert _sign_in(app.test_client(), users[0].email, TEST_PASSWORD, remote="203.0.113.9").status_code == 302


def test_the_address_limit_honours_the_proxy_count(make_app, make_user):
    """Behind a proxy every request comes from the proxy: the limit counts the client address
    the proxy forwards (MOOC_PROXY_COUNT), so one client does not lock the whole site."""
    app = make_app(PROXY_COUNT=1, LOGIN_MAX_FAILURES=5, LOGIN_ADDRESS_MAX_FAILURES=2, LOGIN_LOCK_MINUTES=10)
    users = [make_user(email=f"nguoi{n}@example.vn") for n in range(3)]
    client = app.test_client()
    _sign_in(client, users[0].email, "doan-mo", forwarded=SPRAYER)
    assert LOCKED in _sign_in(client, users[1].email, "doan-mo", forwarded=SPRAYER).get_data(as_text=True)
    assert _sign_in(app.test_client(), users[2].email, TEST_PASSWORD,
                    forwarded="203.0.113.9").status_code == 302
    assert LOCKED in _sign_in(app.test_client(), users[2].email, TEST_PASSWORD,
                              forwarded=SPRAYER).get_data(as_text=True)
    with app.app_context():
        failed = sa.select(AuditEvent.ip).where(AuditEvent.action == "login.failed")
        addresses = db.session.scalars(failed).all()
    assert set(addresses) == {SPRAYER}


def test_the_address_limit_is_shared_by_every_worker_process(make_app, make_user):
    """Two app objects with their own engines and pools stand for two gunicorn workers:
    the failures counted by one lock the address in the other."""
    settings = {"LOGIN_MAX_FAILURES": 5, "LOGIN_ADDRESS_MAX_FAILURES": 4, "LOGIN_LOCK_MINUTES": 10}
    first, second = make_app(**settings), make_app(**settings)
    users = [make_user(email=f"nguoi{n}@example.vn") for n in range(5)]
    for n in range(3):
        worker = (first, second)[n % 2]
        assert WRONG in _sign_in(worker.test_client(), users[n].email, "x",
                                 remote=SPRAYER).get_data(as_text=True)
    fourth = _sign_in(second.test_client(), users[3].email, "x", remote=SPRAYER)
    assert LOCKED in fourth.get_data(as_text=True)
    assert LOCKED in _sign_in(first.test_client(), users[4].email, TEST_PASSWORD,
                              remote=SPRAYER).get_data(as_text=True)


# --- pages behind a link ------------------------------------------------------------------------


def test_pages_behind_a_link_are_never_cached(app, make_user):
    user = make_user(email="an@example.vn")
    links = _links(app, user)
    visitor = app.test_client()  # not signed in: the app-wide no-store does not cover it
    for path in links.values():
        page = visitor.get(path)
        assert page.status_code == 200 and "an@<wbr>example.vn" in page.get_data(as_text=True)
        assert page.headers.get("Cache-Control") == "no-store", path
        refused = visitor.post(path, data={"csrf_token": csrf_token(visitor, path), "new_password": "short",
                                           "confirm": "short"})
        assert refused.status_code == 200 and refused.headers.get("Cache-Control") == "no-store"
    assert visitor.get("/reset/khong-co").headers.get("Cache-Control") == "no-store"


# --- "forgot password" timing -------------------------------------------------------------------

SMTP_DELAY = 0.3  # a slow mail server: what made the answer for real accounts slower
SAMPLES = 15


class SlowInbox:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(SMTP_DELAY)
        self.received.extend(envelope.rcpt_tos)
        return "250 Message accepted"


@pytest.fixture
def slow_smtp():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = SlowInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _time_forgot(app, address: str) -> float:
    client = app.test_client()
    token = csrf_token(client, "/forgot")
    start = time.perf_counter()
    response = client.post("/forgot", data={"csrf_token": token, "email": address})
    elapsed = time.perf_counter() - start
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # The mail job a real address starts after the answer (its writes, its mail, the GIL) must
    # not run into the next sample, which it slowed on a loaded machine: each answer is timed alone.
    assert mail.wait_for_background()
    return elapsed


def test_forgot_password_takes_the_same_time_for_real_and_unknown_addresses(make_app, make_user, slow_smtp):
    """Medians of interleaved samples (robust to a loaded machine), compared with a generous
    ratio, both ways: with the mail sent inside the request, a real account's answer waits for
    the mail server (SMTP_DELAY) and the ratio is above 10; with the work done after the
    answer, the request is the same for every address and the ratio is about 1."""
    port, inbox = slow_smtp
    app = make_app(MAIL_BACKEND="smtp", MAIL_HOST="127.0.0.1", MAIL_PORT=port)
    users = [make_user(email=f"nguoi{n}@example.vn") for n in range(SAMPLES + 1)]
    _time_forgot(app, users[-1].email)  # warm up both paths (templates, translations, pools)
    _time_forgot(app, "khong-ai@example.vn")
    known: list[float] = []
    unknown: list[float] = []
    for n in range(SAMPLES):
        pair = [(known, users[n].email), (unknown, f"khong-ai-{n}@example.vn")]
        for samples, address in (pair if n % 2 else reversed(pair)):
            samples.append(_time_forgot(app, address))
    ratio = statistics.median(known) / statistics.median(unknown)
    measured = (f"known {statistics.median(known) * 1000:.1f} ms, "
                f"unknown {statistics.median(unknown) * 1000:.1f} ms (median of {SAMPLES})")
    assert 0.5 < ratio < 2.0, measured
    # The mails do go out, after the answers.
    deadline = time.monotonic() + 30
    while len(inbox.received) < SAMPLES + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(inbox.received) == sorted(u.email for u in users)


def test_a_reset_mail_is_not_sent_when_the_request_fails(make_app, make_user, monkeypatch):
    """The link is saved by the request's transaction: a request that rolls back sends nothing."""
    from mooc import mail
    from mooc.auth import audit

    app = make_app()
    make_user(email="an@example.vn")
    client = app.test_client()
    token = csrf_token(client, "/forgot")

    def broken(*args, **kwargs):
        raise RuntimeError("the audit table is gone")

    monkeypatch.setattr(audit, "record", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.post("/forgot", data={"csrf_token": token, "email": "an@example.vn"}).status_code == 500
    assert not (settings(app).instance_dir / "outbox").exists()
    assert mail.wait_for_background()
    assert not (settings(app).instance_dir / "outbox").exists()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(tokens.AccountToken)) == 0
