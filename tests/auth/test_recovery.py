"""Invitations and password resets by one-time link, "forgot password" that reveals
nothing, and roles granted by admins only, never above their own."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mooc import clock, mail
from mooc.auth.models import AuditEvent, AuthSession, Role, User
from mooc.auth.tokens import AccountToken, TokenPurpose
from mooc.config import settings
from mooc.extensions import db
from mooc.roster import accounts
from mooc.roster.models import StaffStatus
from tests.conftest import TEST_PASSWORD, csrf_token, login

NEW_PASSWORD = "mot cau mat khau moi"
# In a request the link is the request's address (the test client's http://localhost); the
# default http://127.0.0.1:5000 outside one.
LINK_RE = re.compile(r"http://(?:localhost|127\.0\.0\.1:5000)(/(?:invite|reset)/[A-Za-z0-9_-]+)")


def _outbox(app) -> list[email.message.EmailMessage]:
    assert mail.wait_for_background()  # reset mails leave after the response, on a thread
    folder = settings(app).instance_dir / "outbox"
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("*.eml"))] if folder.exists() else []


def _link(message) -> str:
    return LINK_RE.search(message.get_content()).group(1)


def _set_password(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, "new_password": password,
                                   "confirm": password if confirm is None else confirm})


@pytest.fixture
def person(make_unit, make_staff):
    return make_staff("Nguyễn Văn Đức", unit=make_unit(code="HN"), email="duc@example.vn")


def _invite(client, staff) -> None:
    token = csrf_token(client, f"/roster/staff/{staff.id}")
    response = client.post(f"/roster/staff/{staff.id}/invite", data={"csrf_token": token})
    assert response.status_code == 302


def test_invitation_creates_an_account_and_a_one_time_link(app, client, auth, person):
    auth.login(role=Role.ADMIN)
    _invite(client, person)
    (message,) = _outbox(app)
    assert message["To"].addresses[0].addr_spec == "duc@example.vn"
    assert "Nguyễn Văn Đức" in message.get_content() and "7 ngày" in message.get_content()
    path = _link(message)
    raw = path.rsplit("/", 1)[1]
    with app.app_context():
        user = db.session.execute(sa.select(User).where(User.email == "duc@example.vn")).scalar_one()
        assert (user.staff_id, user.role, user.password_hash) == (person.id, Role.TRAINEE, None)
        stored = db.session.execute(sa.select(AccountToken)).scalar_one()
        assert stored.token_hash != raw and raw not in stored.token_hash  # only a hash is kept
        assert stored.expires_at - stored.created_at == timedelta(days=7)
    visitor = app.test_client()
    page = visitor.get(path).get_data(as_text=True)
    assert "duc@<wbr>example.vn" in page  # the address, which may wrap after its "@"
    assert _set_password(visitor, path).headers["Location"] == "/login"
    assert login(app.test_client(), "duc@example.vn", NEW_PASSWORD).status_code == 302
    # Single use.
    assert visitor.get(path).status_code == 404
    with app.app_context():
        actions = db.session.execute(sa.select(AuditEvent.action)).scalars().all()
        assert "invitation.sent" in actions and "invitation.accepted" in actions


def test_an_invitation_expires(app, client, auth, person):
    auth.login(role=Role.ADMIN)
    start = clock.now()
    clock.set_now(start)
    _invite(client, person)
    path = _link(_outbox(app)[0])
    clock.set_now(start + timedelta(days=7, minutes=1))
    assert app.test_client().get(path).status_code == 404


def test_a_second_invitation_cancels_the_first(app, client, auth, person):
    auth.login(role=Role.ADMIN)
    _invite(client, person)
    _invite(client, person)
    first, second = (_link(message) for message in _outbox(app))
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200


def test_invitations_refuse_people_who_left_or_have_no_email(app, client, auth, make_unit, make_staff):
    unit = make_unit(code="HN")
    no_email = make_staff("Lê Văn Ba", unit=unit)
    gone = make_staff("Trần Thị Tư", unit=unit, email="tu@example.vn")
    with app.app_context():
        from mooc.roster.models import Staff

        db.session.get(Staff, gone.id).status = StaffStatus.LEFT
        db.session.commit()
    auth.login(role=Role.ADMIN)
    for staff, message in ((no_email, "chưa có địa chỉ e-mail"), (gone, "đã nghỉ")):
        token = csrf_token(client, f"/roster/staff/{staff.id}")
        response = client.post(f"/roster/staff/{staff.id}/invite", data={"csrf_token": token})
        assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _outbox(app) == []


def test_only_admins_invite(client, auth, person, make_unit):
    auth.login(role=Role.MANAGER, scope_unit=make_unit())
    token = csrf_token(client, "/")
    assert client.post(f"/roster/staff/{person.id}/invite", data={"csrf_token": token}).status_code == 403


def test_password_reset_by_email_ends_other_sessions(app, make_user):
    user = make_user(email="an@example.vn", name="Nguyễn Văn An")
    laptop = app.test_client()
    assert login(laptop, user.email).status_code == 302
    visitor = app.test_client()
    token = csrf_token(visitor, "/forgot")
    response = visitor.post("/forgot", data={"csrf_token": token, "email": " AN@example.vn "})
    assert response.headers["Location"] == "/login"
    (message,) = _outbox(app)
    assert "một giờ" in message.get_content()
    path = _link(message)
    # A password refused by the rules leaves the link usable.
    page = _set_password(visitor, path, "short").get_data(as_text=True)
    assert "ít nhất 10 ký tự" in page
    assert "không khớp" in _set_password(visitor, path, NEW_PASSWORD, "khac").get_data(as_text=True)
    assert _set_password(visitor, path).status_code == 302
    assert laptop.get("/").status_code == 302  # the old session is over
    assert login(app.test_client(), user.email, TEST_PASSWORD).status_code == 200
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    assert _set_password(app.test_client(), path).status_code == 404  # used


def test_a_password_set_by_link_lifts_the_lock_of_wrong_passwords(app, make_user):
    """Someone who forgot their password tries it until the account is locked, then asks for a
    link: the new password works at once (the link proved the mailbox), not 15 minutes later.
    The lock of the client address is not lifted: that one guards against spraying."""
    user = make_user(email="an@example.vn")
    for _ in range(5):
        login(app.test_client(), user.email, "not the password")
    assert "khóa" in login(app.test_client(), user.email, TEST_PASSWORD).get_data(as_text=True)
    visitor = app.test_client()
    token = csrf_token(visitor, "/forgot")
    visitor.post("/forgot", data={"csrf_token": token, "email": user.email})
    assert _set_password(visitor, _link(_outbox(app)[0])).status_code == 302
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    with app.app_context():
        details = db.session.scalars(sa.select(AuditEvent.details)
                                     .where(AuditEvent.action == "password.reset")).one()
        assert details.get("lock_lifted") is True


def test_a_reset_link_lasts_one_hour(app, make_user):
    make_user(email="an@example.vn")
    start = clock.now()
    clock.set_now(start)
    client = app.test_client()
    client.post("/forgot", data={"csrf_token": csrf_token(client, "/forgot"), "email": "an@example.vn"})
    path = _link(_outbox(app)[0])
    clock.set_now(start + timedelta(minutes=59))
    assert client.get(path).status_code == 200
    clock.set_now(start + timedelta(minutes=61))
    assert client.get(path).status_code == 404


def test_forgot_password_answers_the_same_whether_or_not_the_address_exists(app, make_user):
    make_user(email="known@example.vn")
    make_user(email="disabled@example.vn", active=False)
    answers = []
    for address in ("known@example.vn", "nobody@example.vn", "disabled@example.vn"):
        client = app.test_client()
        response = client.post("/forgot", data={"csrf_token": csrf_token(client, "/forgot"),
                                                "email": address},
                               follow_redirects=True)
        answers.append((response.status_code, response.get_data(as_text=True).split('name="csrf_token"')[0]))
    assert answers[0] == answers[1] == answers[2]
    assert len(_outbox(app)) == 1


def test_reset_links_are_rate_limited(app, make_user):
    make_user(email="an@example.vn")
    client = app.test_client()
    for _ in range(3):
        client.post("/forgot", data={"csrf_token": csrf_token(client, "/forgot"), "email": "an@example.vn"})
    assert len(_outbox(app)) == 1


def test_racing_reset_requests_send_one_link(app, make_user, monkeypatch):
    """Two requests at once (a double click, two workers) each run the reset job on a thread
    of its own: the rate limit must hold between them. The check is slowed so that, without
    the account row locked until the link is committed, both jobs would pass it."""
    from mooc.auth import recovery, tokens

    make_user(email="an@example.vn")
    checked = tokens.recently_issued

    def slow_check(*args, **kwargs):
        answer = checked(*args, **kwargs)
        time.sleep(0.3)
        return answer

    monkeypatch.setattr(tokens, "recently_issued", slow_check)
    start = threading.Barrier(2)
    sent: list[bool] = []

    def job():
        with app.app_context():
            start.wait()
            sent.append(recovery.send_reset("an@example.vn"))
            db.session.remove()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == [False, True]
    assert len(_outbox(app)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountToken)) == 1


def test_an_invite_link_is_not_a_reset_link(app, client, auth, person):
    auth.login(role=Role.ADMIN)
    _invite(client, person)
    path = _link(_outbox(app)[0])
    assert app.test_client().get(path.replace("/invite/", "/reset/")).status_code == 404


def test_a_disabled_account_cannot_use_its_link(app, client, auth, person):
    auth.login(role=Role.ADMIN)
    _invite(client, person)
    path = _link(_outbox(app)[0])
    with app.app_context():
        db.session.execute(sa.update(User).where(User.email == "duc@example.vn").values(active=False))
        db.session.commit()
    assert app.test_client().get(path).status_code == 404


# --- roles ---------------------------------------------------------------------------------------


def _account(app, make_user, person, role: Role = Role.TRAINEE) -> User:
    return make_user(email=person.email, staff=person, role=role)


def _grant(client, staff, role: str, scope: int = 0):
    token = csrf_token(client, f"/roster/staff/{staff.id}")
    return client.post(f"/roster/staff/{staff.id}/role",
                       data={"csrf_token": token, "role": role, "scope": str(scope)})


def test_admin_grants_a_manager_role_with_a_unit(app, client, auth, person, make_user):
    account = _account(app, make_user, person)
    auth.login(role=Role.ADMIN)
    assert _grant(client, person, "manager").status_code == 302  # no unit: refused
    with app.app_context():
        assert db.session.get(User, account.id).role == Role.TRAINEE
    assert _grant(client, person, "manager", person.unit_id).status_code == 302
    with app.app_context():
        saved = db.session.get(User, account.id)
        assert (saved.role, saved.scope_unit_id) == (Role.MANAGER, person.unit_id)
        event = db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.action == "role.granted")).scalar_one()
        assert event.details["role"] == "manager"


def test_a_role_change_ends_the_persons_sessions(app, client, auth, person, make_user):
    account = _account(app, make_user, person, Role.REPORTER)
    theirs = app.test_client()
    login(theirs, account.email)
    auth.login(role=Role.ADMIN)
    _grant(client, person, "trainee")
    assert theirs.get("/").status_code == 302


def test_nobody_grants_above_their_own_role(app, make_user, person):
    target = _account(app, make_user, person)
    with app.app_context():
        manager = make_user(role=Role.MANAGER)
        reporter = make_user(role=Role.REPORTER)
        admin = make_user(role=Role.ADMIN)
        for actor, role in ((manager, Role.MANAGER), (reporter, Role.TRAINEE), (manager, Role.ADMIN)):
            with pytest.raises(accounts.AccountError):
                accounts.grant_role(db.session.get(User, actor.id), db.session.get(User,
                                                                                               target.id),
                                    role, None)
        me = db.session.get(User, admin.id)
        with pytest.raises(accounts.AccountError, match="self_demotion"):
            accounts.grant_role(me, me, Role.TRAINEE, None)
        accounts.grant_role(me, db.session.get(User, target.id), Role.ADMIN, None)
        assert db.session.get(User, target.id).role == Role.ADMIN


def test_managers_cannot_post_role_changes(client, auth, person, make_user, app):
    _account(app, make_user, person)
    auth.login(role=Role.MANAGER, scope_unit=None)
    token = csrf_token(client, "/")
    response = client.post(f"/roster/staff/{person.id}/role", data={"csrf_token": token, "role": "admin"})
    assert response.status_code == 403


def test_tokens_are_spent_atomically(app, make_user):
    from mooc.auth import tokens

    user = make_user()
    with app.app_context():
        raw = tokens.issue(db.session.get(User, user.id), TokenPurpose.RESET)
        first = tokens.find(raw, TokenPurpose.RESET)
        second = tokens.find(raw, TokenPurpose.RESET)
        tokens.use(first)
        with pytest.raises(LookupError):
            tokens.use(second)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuthSession)) == 0
