"""Two-factor sign-in (issue 22): enrolment, the code step, wrong and replayed codes, throttling,
recovery codes, remembered browsers, the administrator's reset, the roles that must use it, and
a way in that proved a second factor already (``signin.complete(second_factor=True)``).

The codes are computed as an authenticator app would (pyotp, from the key the setup page shows
or the stored secret), at the app's clock (``clock.set_now``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth import second_factor, signin
from mooc.auth.models import AuditEvent, AuthSession, RecoveryCode, Role, SecondFactor, User
from mooc.config import ROLE_NAMES, ConfigError, build_settings
from mooc.extensions import db
from tests.conftest import (
    CSRF_RE,
    TEST_PASSWORD,
    csrf_token,
    enrol,
    enrol_through_pages,
    logout,
    stored_secret,
)

NOON = datetime(2026, 12, 7, 5, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_time():
    clock.set_now(NOON)
    yield
    clock.set_now(None)


def password_step(client, email: str, password: str = TEST_PASSWORD):
    """The sign-in form alone (no helper answering what comes next)."""
    return client.post("/login", data={"csrf_token": csrf_token(client, "/login"), "email": email,
                                       "password": password})


def type_code(client, code: str, remember: bool = False):
    data = {"csrf_token": csrf_token(client, "/login/code"), "code": code}
    if remember:
        data["remember"] = "y"
    return client.post("/login/code", data=data)


def code_of(secret: str, at: datetime | None = None) -> str:
    return pyotp.TOTP(secret).at(at or clock.now())


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                       .order_by(AuditEvent.id)))


def test_a_trainee_sets_it_up_with_the_qr_code_and_a_first_code(app, client, auth):
    user = auth.login()  # a trainee: optional, off
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "Set up" in page or "Thiết lập" in page
    client.post("/account/two-factor/setup", data={"csrf_token": csrf_token(client, "/account/two-factor")})
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert '<div class="qr-code"><svg' in page  # the QR code inline: no image fetched from anywhere
    secret = re.search(r'<code class="secret-key">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    token = CSRF_RE.search(page).group(1)
    with app.app_context():
        row = db.session.get(SecondFactor, user.id)
        assert row.confirmed_at is None  # not active before a first right code
        assert secret not in row.secret_encrypted  # stored encrypted
        assert second_factor.decrypt(row.secret_encrypted) == secret

    wrong = client.post("/account/two-factor/confirm", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 302
    with app.app_context():
        assert db.session.get(SecondFactor, user.id).confirmed_at is None

    shown = client.post("/account/two-factor/confirm", data={"csrf_token": token, "code": code_of(secret)})
    assert shown.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", shown.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        assert db.session.get(SecondFactor, user.id).confirmed_at is not None
        stored = set(db.session.scalars(sa.select(RecoveryCode.code_hash)))
        assert len(stored) == 10 and not stored & set(codes)  # hashes only
    # Never shown again: neither the key nor the recovery codes.
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert secret[:8] not in page.replace(" ", "") and codes[0] not in page
    assert [e.target for e in events(app, "second_factor.enabled")] == [user.email]


def test_sign_in_asks_for_the_code_and_a_right_code_signs_in(app, client, make_user):
    user = make_user(email="co.ma@example.vn", two_factor=False)
    secret = enrol(app, user)
    response = password_step(client, user.email)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/code")
    assert not signed_in(client)  # the password alone is not a session
    assert type_code(client, code_of(secret)).status_code == 302
    assert signed_in(client)
    [event] = events(app, "login.succeeded")
    assert event.details == {"method": "password", "second_factor": "totp"}
    with app.app_context():
        assert db.session.scalar(sa.select(AuthSession.second_factor)) == "totp"


def test_a_wrong_code_is_refused(app, client, make_user):
    user = make_user(role=Role.REPORTER)
    assert password_step(client, user.email).headers["Location"].startswith("/login/code")
    page = type_code(client, "123456")
    assert page.status_code == 200 and "form-errors" in page.get_data(as_text=True)
    assert not signed_in(client)
    assert events(app, "login.failed")[-1].details["reason"] == "second_factor"


def test_a_used_code_is_refused_within_its_window(app, make_user):
    user = make_user(two_factor=False)
    secret = enrol(app, user)
    first, second = app.test_client(), app.test_client()
    password_step(first, user.email)
    code = code_of(secret)
    assert type_code(first, code).status_code == 302 and signed_in(first)
    clock.set_now(NOON + timedelta(seconds=10))  # same 30-second step: the code is still "current"
    password_step(second, user.email)
    assert type_code(second, code).status_code == 200 and not signed_in(second)
    # nor the code of the step before (accepted for clock drift, but older than the last used)
    assert type_code(second, code_of(secret, NOON - timedelta(seconds=30))).status_code == 200
    assert type_code(second, code_of(secret, NOON + timedelta(seconds=30))).status_code == 302


def test_wrong_codes_lock_the_code_step(app, client, make_user):
    user = make_user(role=Role.MANAGER)
    secret = stored_secret(app, user)
    password_step(client, user.email)
    for _ in range(5):
        type_code(client, "999999")
    clock.set_now(NOON + timedelta(seconds=60))  # a fresh step: the right code, but locked
    page = type_code(client, code_of(secret))
    assert page.status_code == 200 and not signed_in(client)
    assert "15" in page.get_data(as_text=True)  # minutes left
    clock.set_now(NOON + timedelta(minutes=16))
    password_step(client, user.email)
    assert type_code(client, code_of(secret)).status_code == 302 and signed_in(client)


@pytest.mark.parametrize("typed", ["second-factor:{id}", "SECOND-FACTOR:{id}"])
def test_a_name_typed_on_the_sign_in_form_never_locks_a_code_step(app, client, make_user, typed):
    """Wrong passwords under a name nobody has count under that name, whatever it looks like: the
    code step's own lock (its key holds the account's id) is out of reach of what is typed."""
    user = make_user(role=Role.MANAGER)
    for _ in range(6):
        password_step(app.test_client(), typed.format(id=user.id), "not a password")
    password_step(client, user.email)
    assert type_code(client, code_of(stored_secret(app, user))).status_code == 302 and signed_in(client)


def test_a_recovery_code_works_once(app, client, make_user):
    user = make_user(two_factor=False)
    enrol(app, user)
    with app.app_context():
        codes = second_factor.new_recovery_codes(db.session.get(User, user.id))
        db.session.commit()
    password_step(client, user.email)
    assert type_code(client, codes[3].upper()).status_code == 302 and signed_in(client)
    assert events(app, "login.succeeded")[-1].details["second_factor"] == "recovery"
    logout(client)
    password_step(client, user.email)
    assert type_code(client, codes[3]).status_code == 200 and not signed_in(client)
    with app.app_context():
        assert second_factor.recovery_codes_left(db.session.get(User, user.id)) == 9


def test_a_remembered_browser_skips_the_code_until_it_expires(app, client, make_user):
    user = make_user(role=Role.OFFICER)
    secret = stored_secret(app, user)
    password_step(client, user.email)
    answer = type_code(client, code_of(secret), remember=True)
    cookie = answer.headers.getlist("Set-Cookie")
    device = next(c for c in cookie if c.startswith(second_factor.DEVICE_COOKIE + "="))
    assert "Max-Age=2592000" in device and "HttpOnly" in device  # 30 days, no more
    logout(client)
    assert password_step(client, user.email).headers["Location"] == "/"  # no code asked
    assert events(app, "login.succeeded")[-1].details["second_factor"] == "remembered"
    logout(client)
    clock.set_now(NOON + timedelta(days=30, seconds=1))
    assert password_step(client, user.email).headers["Location"].startswith("/login/code")
    # Another person on the same browser is asked for their code.
    clock.set_now(NOON)
    other = make_user(role=Role.OFFICER)
    assert password_step(client, other.email).headers["Location"].startswith("/login/code")


def test_a_password_change_or_forgetting_the_browsers_ends_the_remembering(app, client, make_user):
    user = make_user(two_factor=False)
    secret = enrol(app, user)
    password_step(client, user.email)
    type_code(client, code_of(secret), remember=True)
    client.post("/account/two-factor/forget-browsers",
                data={"csrf_token": csrf_token(client, "/account/two-factor")})
    logout(client)
    assert password_step(client, user.email).headers["Location"].startswith("/login/code")
    clock.set_now(NOON + timedelta(minutes=1))
    type_code(client, code_of(secret), remember=True)
    new_password = "mot-mat-khau-moi-dai"
    changed = client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account/password"), "current_password": TEST_PASSWORD,
        "new_password": new_password, "confirm": new_password})
    assert changed.status_code == 302
    logout(client)
    assert password_step(client, user.email, new_password).headers["Location"].startswith("/login/code")


def test_an_administrator_resets_a_second_factor(app, make_user, make_staff):
    staff = make_staff("Trần Thị Quản")
    manager = make_user(role=Role.MANAGER, staff=staff, email="quan@example.vn")
    admin = make_user(role=Role.ADMIN)
    from tests.conftest import login

    manager_client, admin_client = app.test_client(), app.test_client()
    password_step(manager_client, manager.email)
    type_code(manager_client, code_of(stored_secret(app, manager)), remember=True)  # a remembered browser
    login(admin_client, admin.email)
    page = admin_client.get(f"/roster/staff/{staff.id}").get_data(as_text=True)
    assert "second-factor" in page
    reset = admin_client.post(f"/roster/staff/{staff.id}/account/second-factor",
                              data={"csrf_token": csrf_token(admin_client, f"/roster/staff/{staff.id}")})
    assert reset.status_code == 302
    [event] = events(app, "second_factor.reset")
    assert (event.actor_id, event.target, event.details["sessions_ended"]) == (admin.id, manager.email, 1)
    with app.app_context():
        assert db.session.get(SecondFactor, manager.id) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                                 .where(RecoveryCode.user_id == manager.id)) == 0
    assert manager_client.get("/reports/").headers["Location"].startswith("/login")  # session ended
    # Next sign-in: straight to setting up a new one; with it, the browser remembered before the
    # reset is asked for the code again.
    location = password_step(manager_client, manager.email).headers["Location"]
    assert location.startswith("/account/two-factor")
    enrol_through_pages(manager_client, location)
    logout(manager_client)
    assert password_step(manager_client, manager.email).headers["Location"].startswith("/login/code")
    # Nobody resets their own (another administrator does).
    own = make_staff("Lê Văn Trị")
    with app.app_context():
        db.session.get(User, admin.id).staff_id = own.id
        db.session.commit()
    admin_client.post(f"/roster/staff/{own.id}/account/second-factor",
                      data={"csrf_token": csrf_token(admin_client, f"/roster/staff/{own.id}")})
    with app.app_context():
        assert db.session.get(SecondFactor, admin.id) is not None


def test_a_manager_without_it_reaches_nothing_but_its_setup(app, client, make_user, make_unit):
    manager = make_user(role=Role.MANAGER, scope_unit=make_unit(), two_factor=False)
    response = password_step(client, manager.email)
    assert response.headers["Location"].startswith("/account/two-factor")
    blocked = client.get("/reports/")
    assert blocked.status_code == 302 and blocked.headers["Location"].startswith("/account/two-factor")
    assert client.get("/roster/").headers["Location"].startswith("/account/two-factor")
    token = csrf_token(client, "/account/two-factor")
    assert client.post("/reports/people/remind", data={"csrf_token": token}).status_code == 403
    codes = enrol_through_pages(client, "/account/two-factor?next=/reports/")
    assert len(codes) == 10
    assert client.get("/reports/").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(AuthSession.second_factor)) == "totp"


def test_a_trainee_may_turn_it_off_a_manager_may_not(app, make_user, make_unit):
    from tests.conftest import login

    trainee = make_user(two_factor=True)
    manager = make_user(role=Role.MANAGER, scope_unit=make_unit())
    for later, user, kept in ((30, trainee, False), (60, manager, True)):
        client = app.test_client()
        login(client, user.email)
        clock.set_now(NOON + timedelta(seconds=later))  # a fresh code (the sign-in used one)
        client.post("/account/two-factor/off", data={"csrf_token": csrf_token(client, "/account/two-factor"),
                                                     "code": code_of(stored_secret(app, user))})
        with app.app_context():
            assert (db.session.get(SecondFactor, user.id) is not None) == kept, user.role


def test_a_way_in_that_proved_a_second_factor_skips_the_code(app, make_user):
    user = make_user(role=Role.ADMIN)  # active authenticator: a password sign-in would be asked
    with app.test_request_context("/login", method="POST"):
        response = signin.complete(db.session.get(User, user.id), method="oidc", next_url="/reports/",
                                   second_factor=True)
        db.session.commit()
    assert response.status_code == 302 and response.headers["Location"] == "/reports/"
    with app.app_context():
        assert db.session.scalar(sa.select(AuthSession.second_factor)) == "provider"
    assert events(app, "login.succeeded")[-1].details == {"method": "oidc", "second_factor": "provider"}


def test_the_pending_sign_in_expires(app, client, make_user):
    user = make_user(role=Role.REPORTER)
    password_step(client, user.email)
    clock.set_now(NOON + timedelta(minutes=second_factor.PENDING_MINUTES, seconds=1))
    secret = stored_secret(app, user)
    answer = client.post("/login/code", data={"csrf_token": csrf_token(client, "/login"),
                                              "code": code_of(secret)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    assert not signed_in(client)


def test_secrets_survive_a_secret_key_rotation(make_app, make_user):
    old_app = make_app()
    user = make_user(two_factor=False)
    secret = enrol(old_app, user)
    rotated = make_app(SECRET_KEY="a-new-secret-key-" + "y" * 30,
                       TWO_FACTOR_PREVIOUS_SECRET_KEYS=("test-secret-" + "x" * 30,))
    with rotated.app_context():
        assert second_factor.rotate_secrets() == 1
        db.session.commit()
    only_new = make_app(SECRET_KEY="a-new-secret-key-" + "y" * 30)
    with only_new.app_context():
        assert second_factor.decrypt(db.session.get(SecondFactor, user.id).secret_encrypted) == secret


def test_settings_of_two_factor():
    assert set(ROLE_NAMES) == {role.value for role in Role}
    base = {"ENV": "testing", "SECRET_KEY": "x" * 40}
    with pytest.raises(ConfigError, match="30"):
        build_settings(base, environ={"MOOC_TWO_FACTOR_REMEMBER_DAYS": "31"})
    with pytest.raises(ConfigError, match="unknown roles"):
        build_settings(base, environ={"MOOC_TWO_FACTOR_REQUIRED_ROLES": "admin,boss"})
    nobody = build_settings(base, environ={"MOOC_TWO_FACTOR_REQUIRED_ROLES": "none"})
    assert nobody.two_factor_required_roles == ()
    assert build_settings(base, environ={}).two_factor_required_roles == ("manager", "officer", "reporter",
                                                                          "admin")


def test_a_role_that_needs_it_given_during_a_session_leads_to_its_setup(app, client, make_user):
    """Whatever path gives the role (the roster's grant also ends the sessions), a session that
    proved no second factor reaches nothing a reporter could until it is set up."""
    from tests.conftest import login

    user = make_user()
    login(client, user.email)
    assert client.get("/courses/").status_code == 200
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user.id).values(role=Role.REPORTER))
        db.session.commit()
    assert client.get("/reports/").headers["Location"] == "/account/two-factor?next=/reports/"


def test_with_no_role_required_a_password_alone_signs_a_manager_in(make_app, make_user, make_unit,
                                                                    monkeypatch):
    """MOOC_TWO_FACTOR_REQUIRED_ROLES=none: nobody is sent to set one up; whoever turned it on
    is still asked for the code, and may turn it off again."""
    monkeypatch.setenv("MOOC_TWO_FACTOR_REQUIRED_ROLES", "none")
    app = make_app()
    manager = make_user(role=Role.MANAGER, scope_unit=make_unit(), two_factor=False)
    client = app.test_client()
    response = password_step(client, manager.email)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/reports/").status_code == 200
    assert events(app, "login.succeeded")[-1].details == {"method": "password", "second_factor": "none"}
    chose = make_user(role=Role.MANAGER, scope_unit=make_unit(), two_factor=True)
    other = app.test_client()
    assert password_step(other, chose.email).headers["Location"].startswith("/login/code")
    assert type_code(other, code_of(stored_secret(app, chose))).status_code == 302
    clock.set_now(NOON + timedelta(seconds=30))  # a fresh code (the sign-in used one)
    other.post("/account/two-factor/off", data={"csrf_token": csrf_token(other, "/account/two-factor"),
                                                 "code": code_of(stored_secret(app, chose))})
    with app.app_context():
        assert db.session.get(SecondFactor, chose.id) is None  # required, a manager could not
