"""MOOC_LOCAL_PASSWORD_ROLES beyond the sign-in form: a person whose role signs in with the
ministry account (LDAP, or an OpenID provider) is never offered, mailed or allowed a password
kept on the platform, and every page or mail that would have done so says where to sign in
instead; the administrator still keeps one. One rule (backends.may_use_local_password), each
path tested with LDAP and with OpenID Connect.

Most paths never ask the directory: the LDAP app points at the suite's slapd, the OpenID app at
an issuer on a closed loopback port. The account page is reached after a real sign-in (slapd, or
the oidc-provider of oidc_server.py), since that is the only way in for such a person."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date

import pytest
import sqlalchemy as sa

from mooc import mail
from mooc.auth import backends, recovery, tokens
from mooc.auth.models import AuditEvent, AuthSession, LoginThrottle, Role, User
from mooc.auth.tokens import AccountToken, TokenPurpose
from mooc.config import settings
from mooc.extensions import db
from mooc.reports.queries import Filters, _per_unit_counts
from mooc.roster import account_status, accounts
from mooc.roster.account_status import AccountStatus
from mooc.roster.models import Staff
from mooc.training import first_steps
from tests.conftest import TEST_PASSWORD, csrf_token, login
from tests.directory.oidc_server import CLIENT_ID, CLIENT_SECRET, running_provider, sign_in_at_provider
from tests.directory.slapd import DUNG, MAI
from tests.directory.test_oidc import AFTER_LOGOUT, CALLBACK, come_back, start

OFFLINE_ISSUER = "http://127.0.0.1:9/realms/thanhtra"  # nothing listens: these paths never ask it
LABEL = "Tài khoản ngành Thanh tra"
ADMIN_EMAIL = "quan.tri@thanhtra.gov.vn"
NEW_PASSWORD = "mot cau mat khau moi"

# A flash's text; a long address in it may break (its <wbr>s: read without them).
FLASH_RE = re.compile(r'<p class="flash [^"]*" role="status">((?:[^<]|<wbr>)*)</p>')
NO_PASSWORD_HERE = "nền tảng đào tạo không lưu mật khẩu riêng cho tài khoản này"
HOW = {
    "ldap": "hãy nhập tên đăng nhập (hoặc địa chỉ e-mail) và mật khẩu tài khoản của bạn trong hệ thống "
            "thư mục của Bộ",
    "oidc": f"hãy chọn “Đăng nhập bằng {LABEL}”",
}


def oidc_settings(issuer: str) -> dict[str, str]:
    return {"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_SCOPES": "openid email profile staff", "OIDC_MATCH_BY": "staff_code", "OIDC_LABEL": LABEL}


@pytest.fixture(params=["ldap", "oidc"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def limited(kind, make_app, request):
    """The app with only administrators keeping a local password, the others signing in with
    the ministry account: through LDAP, or through an OpenID provider."""
    if kind == "ldap":
        return make_app(**request.getfixturevalue("slapd").settings(LOCAL_PASSWORD_ROLES="admin"))
    return make_app(**oidc_settings(OFFLINE_ISSUER), LOCAL_PASSWORD_ROLES="admin")


@pytest.fixture
def roster(app, make_unit, make_staff, make_user):
    """Mai, a trainee with the local password she had before the directory came; Dũng, on the
    roster without an account; an administrator with a local password."""
    unit = make_unit("Thanh tra tỉnh Ninh Bình", code="NB")
    mai_staff = make_staff(MAI.cn, unit=unit, email=MAI.mail.lower(), staff_code=MAI.staff_code)
    return {
        "unit": unit,
        "mai_staff": mai_staff,
        "mai": make_user(email=MAI.mail.lower(), name=MAI.cn, staff=mai_staff),
        "dung_staff": make_staff(DUNG.cn, unit=unit, email=DUNG.mail, staff_code=DUNG.staff_code),
        "admin": make_user(email=ADMIN_EMAIL, role=Role.ADMIN, name="Quản Trị Viên"),
    }


def outbox(app) -> list[email.message.EmailMessage]:
    assert mail.wait_for_background()
    folder = settings(app).instance_dir / "outbox"
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("*.eml"))] if folder.exists() else []


def actions(app) -> list[tuple[str, str, dict]]:
    with app.app_context():
        return [(e.action, e.target, e.details) for e in db.session.scalars(
            sa.select(AuditEvent).order_by(AuditEvent.id))]


def account(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def live_links(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(AccountToken).where(
            AccountToken.user_id == user_id, AccountToken.used_at.is_(None)))


def issue(app, user_id: int, purpose: TokenPurpose) -> str:
    with app.app_context():
        raw = tokens.issue(db.session.get(User, user_id), purpose)
        db.session.commit()
        return raw


def admin_client(app):
    client = app.test_client()
    assert login(client, ADMIN_EMAIL).status_code == 302  # the administrator's local password works
    return client


def post(client, path: str, page: str, **data: str):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


# --- the rule ------------------------------------------------------------------------------------


def test_the_rule_follows_the_setting_and_the_way_in(limited, make_app):
    with limited.app_context():
        assert backends.may_use_local_password(Role.ADMIN)
        assert not any(backends.may_use_local_password(role) for role in Role if role is not Role.ADMIN)
    for app in (make_app(LOCAL_PASSWORD_ROLES="admin"),  # nothing else to sign in with: no effect
                make_app(**oidc_settings(OFFLINE_ISSUER))):  # every role by default
        with app.app_context():
            assert all(backends.may_use_local_password(role) for role in Role)


# --- the account page ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def provider():
    with running_provider([CALLBACK], [AFTER_LOGOUT]) as running:
        yield running


def signed_in_mai(kind, make_app, request):
    """Mai signed in the only way she can: the directory's password, or the provider's button."""
    if kind == "ldap":
        app = make_app(**request.getfixturevalue("slapd").settings(LOCAL_PASSWORD_ROLES="admin"))
        client = app.test_client()
        assert login(client, MAI.uid, MAI.password).status_code == 302
    else:
        issuer = request.getfixturevalue("provider").issuer
        app = make_app(**oidc_settings(issuer), LOCAL_PASSWORD_ROLES="admin")
        client = app.test_client()
        assert come_back(client, sign_in_at_provider(start(client), "mai.tran")).status_code == 302
    assert client.get("/").status_code == 200
    return app, client


def test_the_account_page_offers_no_password_and_a_post_changes_nothing(kind, make_app, request, roster):
    app, client = signed_in_mai(kind, make_app, request)
    page = client.get("/account/password")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="new_password"' not in text and 'name="current_password"' not in text
    assert NO_PASSWORD_HERE in text and HOW[kind] in text
    assert "/account/two-factor" in text and "/account/tokens" in text  # the rest of the page stays
    before = account(app, roster["mai"].id).password_hash
    refused = post(client, "/account/password", "/account/password", current_password=TEST_PASSWORD,
                   new_password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert refused.status_code == 200
    assert "Không có gì thay đổi" in refused.get_data(as_text=True)
    assert 'name="new_password"' not in refused.get_data(as_text=True)
    assert account(app, roster["mai"].id).password_hash == before
    with app.app_context():  # the old password was not even tried: nothing counted
        assert db.session.get(LoginThrottle, roster["mai"].email) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuthSession).where(
            AuthSession.user_id == roster["mai"].id, AuthSession.revoked_at.is_(None))) == 1
    assert ("password.change_failed", roster["mai"].email, {"reason": "local_password_not_allowed"}) \
        in actions(app)


def test_the_administrator_still_changes_their_password(limited, roster):
    client = admin_client(limited)
    assert 'name="new_password"' in client.get("/account/password").get_data(as_text=True)
    done = post(client, "/account/password", "/account/password", current_password=TEST_PASSWORD,
                new_password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert done.status_code == 302
    assert login(limited.test_client(), ADMIN_EMAIL, NEW_PASSWORD).status_code == 302


# --- the sign-in page --------------------------------------------------------------------------------


def test_the_sign_in_page_says_which_password_is_kept_here(limited, kind, app, make_user):
    make_user(email="quantri@example.vn", role=Role.ADMIN)  # the demo's accounts, outside production
    make_user(email="hocvien@example.vn")
    page = limited.test_client().get("/login").get_data(as_text=True)
    assert "Quên mật khẩu riêng trên nền tảng này?" in page
    assert "Quên mật khẩu tài khoản công vụ của Bộ?" in page
    if kind == "oidc":
        assert f"Hãy đăng nhập bằng nút “{LABEL}” bên dưới" in page and ": Quản trị viên." in page
    # The demo's password is listed for the accounts it lets in: not the trainee's.
    assert "quantri@<wbr>example.vn" in page and "hocvien@<wbr>example.vn" not in page
    everyone = app.test_client().get("/login").get_data(as_text=True)  # no directory: as before
    assert "Quên mật khẩu?" in everyone and "hocvien@<wbr>example.vn" in everyone
    assert "mật khẩu riêng" not in everyone


# --- "forgot password" ------------------------------------------------------------------------------


def forgot(app, address: str) -> list[str]:
    """Ask for a reset link; the messages the next page shows."""
    client = app.test_client()
    response = post(client, "/forgot", "/forgot", email=address)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    return [flash.replace("<wbr>", "") for flash in FLASH_RE.findall(page)]


def test_forgot_password_mails_how_to_sign_in_instead_of_a_link(limited, kind, roster):
    page = limited.test_client().get("/forgot").get_data(as_text=True)
    assert "Phần lớn mọi người đăng nhập bằng tài khoản công vụ của Bộ" in page
    answer = forgot(limited, "MAI.TRAN@thanhtra.gov.vn")
    assert answer == forgot(limited, "khong.co.ai@thanhtra.gov.vn")  # unknown: the same answer
    assert len(answer) == 1 and "hướng dẫn cách đăng nhập" in answer[0]
    [message] = outbox(limited)
    body = message.get_content()
    assert message["Subject"] == "Cách đăng nhập nền tảng đào tạo" and message["To"].addresses[0].addr_spec \
        == roster["mai"].email
    assert NO_PASSWORD_HERE in body and HOW[kind] in body and "http://localhost/login" in body
    assert "/reset/" not in body
    assert live_links(limited, roster["mai"].id) == 0
    forgot(limited, roster["mai"].email)  # again within five minutes: no second mail
    assert len(outbox(limited)) == 1
    told = [(action, details) for action, target, details in actions(limited) if target == roster["mai"].email
            and action != "password.reset_requested"]
    assert told == [("password.directory_hint_sent", {}),
                    ("password.reset_not_sent", {"reason": "rate_limited"})]


def test_forgot_password_still_sends_the_administrator_a_link(limited, roster):
    forgot(limited, ADMIN_EMAIL)
    [message] = outbox(limited)
    assert "/reset/" in message.get_content()


# --- links already sent --------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", [TokenPurpose.RESET, TokenPurpose.INVITE])
def test_a_link_sent_before_sets_no_password(limited, kind, roster, purpose):
    """A reset or invitation link mailed before the role lost its local password (or before the
    directory came) shows where to sign in, and a POST made anyway sets nothing."""
    raw = issue(limited, roster["mai"].id, purpose)
    path = f"/{purpose.value}/{raw}"
    client = limited.test_client()
    page = client.get(path)
    text = page.get_data(as_text=True).replace("<wbr>", "")  # an address's line-break hints
    assert page.status_code == 200 and 'name="new_password"' not in text
    assert roster["mai"].email in text and HOW[kind] in text and 'href="/login"' in text
    before = account(limited, roster["mai"].id).password_hash
    refused = post(client, path, "/login", new_password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert refused.status_code == 403 and "Không đặt mật khẩu nào" in refused.get_data(as_text=True)
    assert account(limited, roster["mai"].id).password_hash == before
    assert live_links(limited, roster["mai"].id) == 1
    with limited.app_context(), pytest.raises(recovery.LocalPasswordNotAllowed):
        recovery.set_password_with_token(raw, purpose, NEW_PASSWORD)  # the domain refuses it too


# --- what administrators do ------------------------------------------------------------------------------


def test_an_invitation_opens_the_account_and_says_to_sign_in_with_the_ministry_account(limited, kind, roster):
    client = admin_client(limited)
    with limited.test_request_context():
        [hint] = [step.hint for step in first_steps.steps(roster["admin"]) if step.key == "invite"]
        assert hint.startswith("Mở tài khoản cho những người trong danh sách cán bộ")
    listing = client.get(f"/roster/invite?unit={roster['unit'].id}").get_data(as_text=True)
    assert "không có mật khẩu riêng trên nền tảng này" in listing
    assert "đường dẫn để đặt mật khẩu" not in listing
    person = f"/roster/staff/{roster['dung_staff'].id}"
    sent = post(client, f"{person}/invite", person)
    assert sent.status_code == 302
    assert "tài khoản đăng nhập được ngay" in client.get(person).get_data(as_text=True)
    [message] = outbox(limited)
    body = message.get_content()
    assert "/invite/" not in body and HOW[kind] in body and "http://localhost/login" in body
    with limited.app_context():
        dung = db.session.scalar(sa.select(User).where(User.staff_id == roster["dung_staff"].id))
        assert (dung.role, dung.password_hash, dung.active) == (Role.TRAINEE, None, True)
        # No password needed: the account can sign in (not "invited"), and is not invited again.
        assert account_status.of(db.session.get(Staff, roster["dung_staff"].id)) is AccountStatus.ACTIVE
        assert accounts.plan_invitations([db.session.get(Staff, roster["dung_staff"].id)]).skipped \
            == {"has_account": 1}
        dung_id = dung.id
    assert live_links(limited, dung_id) == 0
    page = client.get(person).get_data(as_text=True)
    assert "Đăng nhập được" in page and "Gửi lại lời mời" not in page and "Gửi lời mời" not in page
    assert [details for action, _target, details in actions(limited) if action == "invitation.sent"] \
        == [{"staff_code": DUNG.staff_code, "way": "ministry_account"}]
    if kind == "ldap":  # and the mail is right: Dũng signs in with the directory at once
        assert login(limited.test_client(), DUNG.uid, DUNG.password).status_code == 302


def test_an_administrator_sends_no_password_link_to_a_directory_role(limited, roster, make_user):
    client = admin_client(limited)
    person = f"/roster/staff/{roster['mai_staff'].id}"
    page = client.get(person).get_data(as_text=True)
    assert "Gửi đường dẫn đặt mật khẩu mới" not in page
    assert "vai trò này không có mật khẩu riêng trên nền tảng" in page
    refused = post(client, f"{person}/account/reset", person)
    assert refused.status_code == 302
    assert "không gửi liên kết nào" in client.get(person).get_data(as_text=True)
    assert outbox(limited) == [] and live_links(limited, roster["mai"].id) == 0
    # An administrator on the roster still gets one: the role may keep a local password.
    other = make_user(email="quan.tri.2@thanhtra.gov.vn", role=Role.ADMIN, staff=roster["dung_staff"])
    other_page = f"/roster/staff/{roster['dung_staff'].id}"
    assert "Gửi đường dẫn đặt mật khẩu mới" in client.get(other_page).get_data(as_text=True)
    assert post(client, f"{other_page}/account/reset", other_page).status_code == 302
    assert live_links(limited, other.id) == 1 and "/reset/" in outbox(limited)[0].get_content()


def grant(client, staff_id: int, role: Role) -> str:
    person = f"/roster/staff/{staff_id}"
    assert post(client, f"{person}/role", person, role=role.value, scope="0").status_code == 302
    return client.get(person).get_data(as_text=True).replace("<wbr>", "")  # as read


def test_a_role_change_across_the_rule_deletes_the_local_password(limited, roster, make_user):
    """Taken away, the password could never let the person in; given back, an old one (from
    before the role lost it) must not come back to life with more rights. Either way it is
    deleted with its links, and the page says so."""
    client = admin_client(limited)
    issue(limited, roster["mai"].id, TokenPurpose.RESET)
    page = grant(client, roster["mai_staff"].id, Role.ADMIN)  # given back
    assert "%(email)s" not in page and f"{roster['mai'].email} chưa có mật khẩu riêng" in page
    mai = account(limited, roster["mai"].id)
    assert (mai.role, mai.password_hash) == (Role.ADMIN, None) and live_links(limited, mai.id) == 0
    assert "Gửi lại lời mời" in page  # to choose a new one, if she needs it
    assert login(limited.test_client(), mai.email, TEST_PASSWORD).status_code == 200  # not in with it

    other = make_user(email="quan.tri.2@thanhtra.gov.vn", role=Role.ADMIN, staff=roster["dung_staff"])
    issue(limited, other.id, TokenPurpose.INVITE)
    page = grant(client, roster["dung_staff"].id, Role.TRAINEE)  # taken away
    assert f"mật khẩu riêng của {other.email} trên nền tảng này đã bị xóa" in page
    other = account(limited, other.id)
    assert other.password_hash is None and live_links(limited, other.id) == 0
    granted = [details.get("local_password") for action, _target, details in actions(limited)
               if action == "role.granted"]
    assert granted == ["given_back", "taken_away"]


def test_a_role_change_within_the_rule_keeps_the_password(make_app, roster):
    client = admin_client(make_app())  # no directory: every role keeps its password
    page = grant(client, roster["mai_staff"].id, Role.REPORTER)
    assert "mật khẩu riêng" not in page
    assert account(make_app(), roster["mai"].id).password_hash is not None


# --- who can sign in ------------------------------------------------------------------------------------


def test_a_directory_role_without_a_password_counts_as_able_to_sign_in(limited, make_app, roster):
    """Lists, reports and reminders count who cannot sign in: without a local password, Mai signs
    in with the ministry account all the same. The dashboard's statement, built once per process,
    answers each app by its own setting."""
    with limited.app_context():
        db.session.get(User, roster["mai"].id).password_hash = None
        db.session.commit()
    everyone = make_app()  # no directory: she would need a password
    # Dũng, without an account, cannot sign in anywhere.
    for app, status, cannot in ((limited, AccountStatus.ACTIVE, 1), (everyone, AccountStatus.INVITED, 2),
                                (limited, AccountStatus.ACTIVE, 1)):
        with app.app_context():
            assert account_status.of(db.session.get(Staff, roster["mai_staff"].id)) is status
            counts = _per_unit_counts(Filters(), date.today(), None)
            assert counts[roster["unit"].id].cannot_sign_in == cannot
