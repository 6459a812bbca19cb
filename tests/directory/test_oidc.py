"""Sign-in through a real OpenID provider (oidc-provider on loopback, see oidc_server.py).

The app under test is the relying party, driven with the Flask test client; the provider's
pages are driven over real HTTP by the test's own client, and the app talks to the provider
over real HTTP (discovery, keys, token endpoint). Refusals are told apart by the reason of
the audit event they leave (login.failed), so each test fails if that check is missing."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
import sqlalchemy as sa

from mooc.auth import signin
from mooc.auth.models import AuditEvent, DirectoryName, LoginThrottle, Role
from mooc.config import ConfigError, build_settings
from mooc.directory.models import OidcLogin
from mooc.extensions import db
from mooc.privacy import export
from mooc.roster import importer
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from tests.conftest import csrf_token, login
from tests.directory.oidc_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    free_port,
    running_provider,
    sign_in_at_provider,
)
from tests.privacy.scan import traces_of
from tests.roster.helpers import csv_bytes

WRONG = "Sai e-mail hoặc mật khẩu."
CALLBACK = "http://localhost/oidc/callback"  # the test client's host, as the app derives it
AFTER_LOGOUT = "http://localhost/login"


@pytest.fixture(scope="module")
def provider():
    with running_provider([CALLBACK], [AFTER_LOGOUT]) as running:
        yield running


@pytest.fixture
def oidc_app(make_app, provider):
    return make_app(OIDC_ISSUER=provider.issuer, OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET,
                    OIDC_SCOPES="openid email profile staff", OIDC_MATCH_BY="staff_code",
                    OIDC_LABEL="Tài khoản ngành Thanh tra")


@pytest.fixture
def roster(oidc_app, make_staff, make_user):
    """Mai is on the roster with an account; Nam has left; Khách is in the directory only."""
    mai = make_user(email="mai.tran@thanhtra.gov.vn", name="Trần Thị Mai",
                    staff=make_staff("Trần Thị Mai", email="mai.tran@thanhtra.gov.vn", staff_code="00123"))
    nam_staff = make_staff("Lê Văn Nam", email="nam.le@thanhtra.gov.vn", staff_code="00456")
    make_user(email="nam.le@thanhtra.gov.vn", staff=nam_staff)
    with oidc_app.app_context():
        db.session.get(Staff, nam_staff.id).status = StaffStatus.LEFT
        db.session.commit()
    return mai


@pytest.fixture
def completed(monkeypatch):
    """What each sign-in told signin.complete() (the real one still runs)."""
    calls: list[dict] = []
    real = signin.complete

    def spy(user, **kwargs):
        calls.append({"email": user.email, **kwargs})
        return real(user, **kwargs)

    monkeypatch.setattr(signin, "complete", spy)
    return calls


def start(client, next_url: str = "") -> str:
    """Press "Sign in with ..." on the sign-in page: the provider's authorisation URL."""
    response = client.post("/oidc/start", data={"csrf_token": csrf_token(client), "next": next_url})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def come_back(client, callback_url: str):
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return client.get(f"{parts.path}?{parts.query}")


def failures(app) -> list[str]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "login.failed")
                                    .order_by(AuditEvent.id)).all()
        return [event.details["reason"] for event in events]


def successes(app) -> list[dict]:
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "login.succeeded")).all()
        return [{"target": event.target, **event.details} for event in events]


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_sign_in_lands_on_home(oidc_app, roster, completed, provider):
    client = oidc_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Tài khoản ngành Thanh tra" in page  # the button, with the provider's name
    url = start(client)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(provider.discovery()["authorization_endpoint"])
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["nonce"][0] and query["state"][0] and query["redirect_uri"] == [CALLBACK]
    assert query["scope"] == ["openid email profile staff"]
    response = come_back(client, sign_in_at_provider(url, "mai.tran"))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Trần Thị Mai" in client.get("/").get_data(as_text=True)
    assert successes(oidc_app) == [
        {"target": "mai.tran@thanhtra.gov.vn", "method": "oidc", "second_factor": "none"}]
    assert completed == [{"email": "mai.tran@thanhtra.gov.vn", "method": "oidc", "next_url": "",
                          "second_factor": False}]
    with oidc_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OidcLogin)) == 0  # spent


def test_next_page_is_kept_through_the_round_trip(oidc_app, roster, provider):
    client = oidc_app.test_client()
    url = start(client, next_url="/courses/")
    response = come_back(client, sign_in_at_provider(url, "mai.tran"))
    assert response.headers["Location"] == "/courses/"


def test_mfa_asserted_by_the_provider_counts_as_second_factor(oidc_app, roster, completed, provider):
    client = oidc_app.test_client()
    response = come_back(client, sign_in_at_provider(start(client), "mai.tran", otp=True))
    assert response.status_code == 302
    assert completed[0]["second_factor"] is True


@pytest.mark.parametrize("login, reason", [("khach.pham", "unknown"), ("nam.le", "left")])
def test_people_not_let_in_by_the_roster(oidc_app, roster, provider, login, reason):
    client = oidc_app.test_client()
    response = come_back(client, sign_in_at_provider(start(client), login))
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "Bạn chưa đăng nhập" in text  # "You were not signed in"
    assert ("đã nghỉ" if reason == "left" else "không có trong danh sách cán bộ") in text
    assert failures(oidc_app) == [reason]
    assert not signed_in(client)


def test_tampered_id_token_is_refused(oidc_app, roster, provider):
    """Khách's token with Mai's staff code written in, the provider's signature kept."""
    client = oidc_app.test_client()
    url = start(client)
    provider.next_token("claims")
    response = come_back(client, sign_in_at_provider(url, "khach.pham"))
    assert response.status_code == 403
    assert failures(oidc_app) == ["signature"]
    assert successes(oidc_app) == [] and not signed_in(client)


def test_token_for_another_audience_is_refused(oidc_app, roster, provider):
    """Signed by the provider's own key, but issued to another application."""
    client = oidc_app.test_client()
    url = start(client)
    provider.next_token("audience")
    response = come_back(client, sign_in_at_provider(url, "mai.tran"))
    assert response.status_code == 403
    assert failures(oidc_app) == ["audience"]
    assert not signed_in(client)


def test_wrong_nonce_is_refused(oidc_app, roster, provider):
    """The authorisation request reaches the provider with another nonce (as a token obtained
    for another sign-in would carry): the ID token's nonce is not the one this sign-in keeps."""
    client = oidc_app.test_client()
    parts = urlsplit(start(client))
    query = parse_qs(parts.query)
    query["nonce"] = ["mot-nonce-khac-hoan-toan"]
    url = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    response = come_back(client, sign_in_at_provider(url, "mai.tran"))
    assert response.status_code == 403
    assert failures(oidc_app) == ["nonce"]
    assert not signed_in(client)


def test_replayed_state_is_refused(oidc_app, roster, provider):
    """The same answer (same code and state) sent again with the cookie it first came with."""
    client = oidc_app.test_client()
    url = start(client)
    cookie = client.get_cookie("mooc_session").value  # holds this browser's state
    callback = sign_in_at_provider(url, "mai.tran")
    assert come_back(client, callback).status_code == 302
    replay = oidc_app.test_client()
    replay.set_cookie("mooc_session", cookie)
    response = come_back(replay, callback)
    assert response.status_code == 400
    assert "đã được dùng" in response.get_data(as_text=True)
    assert failures(oidc_app) == ["state"]  # refused here, before the provider was asked
    assert len(successes(oidc_app)) == 1 and not signed_in(replay)


def test_state_of_another_browser_is_refused(oidc_app, roster, provider):
    """An answer started in one browser cannot be finished in another (login CSRF)."""
    attacker, victim = oidc_app.test_client(), oidc_app.test_client()
    callback = sign_in_at_provider(start(attacker), "mai.tran")
    csrf_token(victim)  # the victim has a session of its own
    assert come_back(victim, callback).status_code == 400
    assert failures(oidc_app) == ["state"] and not signed_in(victim)


def test_provider_error_is_refused(oidc_app, roster, provider):
    client = oidc_app.test_client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    response = client.get(f"/oidc/callback?error=access_denied&state={state}")
    assert response.status_code == 403
    assert failures(oidc_app) == ["provider"]


def test_sign_out_continues_at_the_provider(oidc_app, roster, provider):
    client = oidc_app.test_client()
    browser = requests.Session()
    come_back(client, sign_in_at_provider(start(client), "mai.tran", browser=browser))
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    location = response.headers["Location"]
    assert location.startswith(provider.discovery()["end_session_endpoint"] + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["post_logout_redirect_uri"] == [AFTER_LOGOUT] and query["id_token_hint"][0]
    assert not signed_in(client)
    page = browser.get(location, timeout=10)  # the provider asks to confirm
    assert page.status_code == 200, page.text[:300]
    form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
    done = browser.post(action, data={**form, "logout": "yes"}, allow_redirects=False, timeout=10)
    assert done.status_code in (302, 303) and done.headers["Location"].startswith(AFTER_LOGOUT)


def test_no_button_and_no_routes_without_a_provider(app):
    client = app.test_client()
    assert "/oidc/start" not in client.get("/login").get_data(as_text=True)
    assert client.get("/oidc/callback?state=x&code=y").status_code == 404


@pytest.mark.parametrize("env, problem", [
    ({"MOOC_OIDC_CLIENT_SECRET": "s"}, "MOOC_OIDC_CLIENT_ID"),
    ({"MOOC_OIDC_CLIENT_ID": "c"}, "client secret"),
    ({"MOOC_OIDC_CLIENT_ID": "c", "MOOC_OIDC_CLIENT_SECRET": "s", "MOOC_OIDC_MATCH_BY": "name"},
     "MOOC_OIDC_MATCH_BY"),
    ({"MOOC_OIDC_CLIENT_ID": "c", "MOOC_OIDC_CLIENT_SECRET": "s", "MOOC_OIDC_SCOPES": "email"},
     "openid"),
    ({"MOOC_OIDC_ISSUER": "http://sso.example.vn", "MOOC_OIDC_CLIENT_ID": "c",
      "MOOC_OIDC_CLIENT_SECRET": "s"}, "https"),
    ({"MOOC_OIDC_CLIENT_ID": "c", "MOOC_OIDC_CLIENT_SECRET_FILE": "/nonexistent/secret"}, "cannot be read"),
])
def test_settings_are_checked_at_start(tmp_path, env, problem):
    base = {"MOOC_INSTANCE_DIR": str(tmp_path), "MOOC_OIDC_ISSUER": "https://sso.example.vn/realms/thanhtra"}
    with pytest.raises(ConfigError, match=problem):
        build_settings(environ=base | env)


def test_secret_from_a_file(tmp_path):
    (tmp_path / "oidc-secret").write_text("bi-mat-tu-tep\n")
    config = build_settings(environ={
        "MOOC_INSTANCE_DIR": str(tmp_path), "MOOC_OIDC_ISSUER": "https://sso.example.vn/",
        "MOOC_OIDC_CLIENT_ID": "mooc", "MOOC_OIDC_CLIENT_SECRET_FILE": str(tmp_path / "oidc-secret"),
        "MOOC_OIDC_MFA_AMR": "mfa, hwk"}).oidc
    assert config is not None and config.client_secret == "bi-mat-tu-tep"
    assert config.issuer == "https://sso.example.vn" and config.mfa_amr == {"mfa", "hwk"}
    assert "bi-mat" not in repr(config)


def test_provider_out_of_reach_is_said_and_recorded(make_app):
    """Nothing listens at the issuer: the button answers with a page, and the failure is audited."""
    app = make_app(OIDC_ISSUER=f"http://127.0.0.1:{free_port()}", OIDC_CLIENT_ID=CLIENT_ID,
                   OIDC_CLIENT_SECRET=CLIENT_SECRET)
    client = app.test_client()
    response = client.post("/oidc/start", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 502
    assert "không liên lạc được" in response.get_data(as_text=True)
    assert failures(app) == ["provider"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OidcLogin)) == 0


def test_forms_may_lead_to_the_provider_and_nowhere_else(oidc_app, provider, app):
    """The sign-in button and the sign-out button are forms answered with a redirect to the
    provider: the policy lets forms go there (browsers check redirects too), only there."""
    policy = oidc_app.test_client().get("/login").headers["Content-Security-Policy"]
    assert f"form-action 'self' {provider.issuer};" in policy
    assert "form-action 'self';" in app.test_client().get("/login").headers["Content-Security-Policy"]


def test_a_person_whose_roster_entry_leaves_loses_access_on_the_next_request(oidc_app, roster, provider):
    client = oidc_app.test_client()
    assert come_back(client, sign_in_at_provider(start(client), "mai.tran")).status_code == 302
    assert signed_in(client)
    # HR's next full roster does not list Mai: she is marked as left and her account disabled.
    with oidc_app.app_context():
        unit = db.session.scalar(sa.select(OrgUnit.code).join(Staff, Staff.unit_id == OrgUnit.id)
                                 .where(Staff.staff_code == "00123"))
        rows = [["00789", "Phạm Văn Khách", "khach.pham@thanhtra.gov.vn", unit, ""]]
        plan = importer.plan_import(importer.open_sheet(csv_bytes(rows)), full=True)
        importer.apply_plan(plan, source="test", confirmed=True)
        db.session.commit()
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].startswith("/login")
    again = come_back(client, sign_in_at_provider(start(client), "mai.tran"))
    assert again.status_code == 403 and "đã nghỉ" in again.get_data(as_text=True)
    assert failures(oidc_app) == ["left"] and not signed_in(client)


def test_with_a_provider_only_the_allowed_roles_keep_a_local_password(make_app, provider, roster, make_user):
    """MOOC_LOCAL_PASSWORD_ROLES holds with OpenID Connect alone (no LDAP): the administrator's
    local password still works (never locked out); a trainee's is refused exactly as a wrong one
    is (the page must not tell it was right), and she signs in at the provider."""
    app = make_app(OIDC_ISSUER=provider.issuer, OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET=CLIENT_SECRET,
                   OIDC_SCOPES="openid email profile staff", OIDC_MATCH_BY="staff_code",
                   LOCAL_PASSWORD_ROLES="admin")
    admin = make_user(role=Role.ADMIN, email="quan.tri@thanhtra.gov.vn")
    assert login(app.test_client(), admin.email).status_code == 302
    trainee = app.test_client()
    refused = login(trainee, roster.email)  # her local password, right
    wrong = login(app.test_client(), roster.email, "not her password")
    assert refused.status_code == wrong.status_code == 200
    assert WRONG in refused.get_data(as_text=True) and WRONG in wrong.get_data(as_text=True)
    assert not signed_in(trainee)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "login.failed")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.target, e.details.get("reason")) for e in events] == [
            (roster.email, "local_password_not_allowed"), (roster.email, None)]
        assert db.session.get(LoginThrottle, roster.email).failures == 2  # both counted
    assert come_back(trainee, sign_in_at_provider(start(trainee), "mai.tran")).status_code == 302
    assert signed_in(trainee)


def test_without_a_directory_or_a_provider_every_role_keeps_its_local_password(make_app, make_user):
    app = make_app(LOCAL_PASSWORD_ROLES="admin")  # nothing else to sign in with: the setting has no effect
    assert login(app.test_client(), make_user().email).status_code == 302


@pytest.fixture(scope="module")
def conforming_provider():
    """oidc-provider as it ships: the code flow's ID token carries no e-mail, no staff code."""
    with running_provider([CALLBACK], [AFTER_LOGOUT], conform=True) as running:
        yield running


@pytest.mark.parametrize("match_by", ["staff_code", "email"])
def test_claims_the_id_token_lacks_are_read_from_userinfo(make_app, conforming_provider, make_staff,
                                                          make_user, match_by):
    """A provider that follows OpenID Connect Core to the letter gives the claims of the scopes
    asked for (e-mail, staff code) from UserInfo only: the person is still matched (every such
    sign-in was refused as "not on the roster")."""
    app = make_app(OIDC_ISSUER=conforming_provider.issuer, OIDC_CLIENT_ID=CLIENT_ID,
                   OIDC_CLIENT_SECRET=CLIENT_SECRET, OIDC_SCOPES="openid email profile staff",
                   OIDC_MATCH_BY=match_by)
    make_user(email="mai.tran@thanhtra.gov.vn", name="Trần Thị Mai",
              staff=make_staff("Trần Thị Mai", email="mai.tran@thanhtra.gov.vn", staff_code="00123"))
    client = app.test_client()
    response = come_back(client, sign_in_at_provider(start(client), "mai.tran"))
    assert response.status_code == 302 and response.headers["Location"] == "/", failures(app)
    assert "Trần Thị Mai" in client.get("/").get_data(as_text=True)
    assert successes(app) == [
        {"target": "mai.tran@thanhtra.gov.vn", "method": "oidc", "second_factor": "none"}]


def test_a_refusal_under_the_providers_address_for_her_is_hers(oidc_app, provider, make_staff, make_user):
    """Nam left; the roster has another address for him than the provider's. Refused at the
    callback, his event is written under the provider's address and names him (``person``, his
    staff code, as he was matched by): it is in his export, and the retention purge, five years
    on, leaves that address nowhere."""
    nam = make_staff("Lê Văn Nam", email="nam.lv@thanhtra.gov.vn", staff_code="00456")
    make_user(email="nam.lv@thanhtra.gov.vn", staff=nam)
    with oidc_app.app_context():
        staff = db.session.get(Staff, nam.id)
        staff.status, staff.left_on = StaffStatus.LEFT, date(2019, 6, 30)
        db.session.commit()
    client = oidc_app.test_client()
    assert come_back(client, sign_in_at_provider(start(client), "nam.le")).status_code == 403
    with oidc_app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "login.failed"))
        assert (event.target, event.details["person"]) == ("nam.le@thanhtra.gov.vn", "00456")
        mine = export.gather(export.subject_of_staff(db.session.get(Staff, nam.id)))["audit_events"]
        assert [item["target"] for item in mine] == ["nam.le@thanhtra.gov.vn"]
    result = oidc_app.test_cli_runner().invoke(args=["privacy", "purge"])
    assert "Pseudonymised 1 people" in result.output, result.output
    with oidc_app.app_context():
        assert traces_of({"nam.le@thanhtra.gov.vn", "nam.lv@thanhtra.gov.vn", "00456", "Lê Văn Nam"}) == []


def test_the_providers_address_for_a_refused_person_is_kept_as_theirs(oidc_app, provider, roster):
    """``directory_names`` (what the audit log reads): Nam, who left, is refused at the callback
    (a reading request: the event and the tie are written in a short transaction of their own);
    the provider's address is tied to him by his staff code, as the roster was searched. Khách,
    not on the roster, is tied to his staff code too, for when he is added. Mai's sign-in types
    no user name here: it ties nothing."""
    for login_name in ("nam.le", "khach.pham", "mai.tran"):
        client = oidc_app.test_client()
        come_back(client, sign_in_at_provider(start(client), login_name))
    assert failures(oidc_app) == ["left", "unknown"]
    with oidc_app.app_context():
        kept = {(row.name, row.user_id, row.person) for row in db.session.scalars(sa.select(DirectoryName))}
    assert kept == {("nam.le@thanhtra.gov.vn", None, "00456"), ("khach.pham@thanhtra.gov.vn", None, "99999")}
