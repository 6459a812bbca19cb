"""Who can really sign in when the ministry's directory (LDAP) or an OpenID provider is on, and
what people are told about it.

- A person the directory finds signs in through it whatever their password here: an account
  with no password chosen is "Can sign in", never "Invited" / "cannot sign in", on every page,
  count, export and reminder that says so (mooc/roster/account_status.py: one rule, in SQL and in
  Python). Where the directory cannot find someone (it matches by e-mail and the roster has
  none), nor can they sign in through it.
- With LDAP and OpenID both on, what a person without a local password is told names both ways.
- `mooc demo` says how each demo account signs in: the demo's password only where it works.

Each claim is checked against a real sign-in: the suite's slapd, or the oidc-provider of
oidc_server.py."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mooc import demo
from mooc.auth import demo_accounts, tokens
from mooc.auth.models import Role, User
from mooc.auth.tokens import TokenPurpose
from mooc.extensions import db
from mooc.i18n import LANG_COOKIE
from mooc.roster import account_status
from mooc.roster.account_status import AccountStatus, Way
from mooc.roster.models import Staff
from tests.conftest import login
from tests.directory.oidc_server import running_provider, sign_in_at_provider
from tests.directory.slapd import DUNG, HA, MAI
from tests.directory.test_local_passwords import (
    ADMIN_EMAIL,
    FLASH_RE,
    LABEL,
    OFFLINE_ISSUER,
    oidc_settings,
    outbox,
    post,
)
from tests.directory.test_oidc import AFTER_LOGOUT, CALLBACK, come_back, start
from tests.reminders.conftest import at, enrol
from tests.training.conftest import org, person  # noqa: F401 (shared fixtures)

MONDAY = date(2026, 3, 2)  # the managers' digest goes on Mondays
MANAGER = "quan.ly@thanhtra.gov.vn"
TOTAL_ROW = re.compile(r'<tfoot><tr>\s*<th scope="row">[^<]*</th>\s*<td>([\d.]+)</td><td>([\d.]+)</td>')


@pytest.fixture(scope="module")
def provider():
    with running_provider([CALLBACK], [AFTER_LOGOUT]) as running:
        yield running


@pytest.fixture(params=["ldap", "oidc"])
def kind(request) -> str:
    return request.param


def directory_settings(kind: str, request, **more: str) -> dict:
    """The app's settings for LDAP (the suite's slapd) or an OpenID provider (the real one)."""
    if kind == "ldap":
        return request.getfixturevalue("slapd").settings(**more)
    return {**oidc_settings(request.getfixturevalue("provider").issuer), **more}


def signs_in_at_the_directory(app, kind: str, who=MAI) -> bool:
    """Whether ``who`` gets in through the directory (its form) or the provider (its button)."""
    client = app.test_client()
    if kind == "ldap":
        answer = login(client, who.uid, who.password)
    else:
        answer = come_back(client, sign_in_at_provider(start(client), who.uid))
    return answer.status_code == 302 and client.get("/").status_code == 200


@pytest.fixture
def behind(org, make_staff, make_user):  # noqa: F811
    """Mai, invited but with no password chosen, and Dũng, with no account, both on the roster and
    behind on a required course (ten days overdue); the province's manager and an administrator."""
    app, o = org
    mai_staff = make_staff(MAI.cn, unit=o.section_a, email=MAI.mail.lower(), staff_code=MAI.staff_code)
    mai = make_user(email=MAI.mail.lower(), name=MAI.cn, staff=mai_staff)
    dung_staff = make_staff(DUNG.cn, unit=o.section_a, email=DUNG.mail, staff_code=DUNG.staff_code)
    for staff in (mai_staff, dung_staff):
        enrol(app, staff, o.course_id, MONDAY - timedelta(days=60), MONDAY - timedelta(days=10))
    with app.app_context():
        db.session.get(User, mai.id).password_hash = None  # the invitation was never followed
        db.session.commit()
    make_user(email=MANAGER, role=Role.MANAGER, scope_unit=o.province, name="Quản Lý Tỉnh")
    make_user(email=ADMIN_EMAIL, role=Role.ADMIN, name="Quản Trị Viên")
    return o, mai_staff, dung_staff


def signed_in(app, email: str):
    client = app.test_client()
    assert login(client, email).status_code == 302  # their password kept here (every role keeps one)
    return client


def text(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, path
    return html.unescape(page.get_data(as_text=True))


def cannot_section(page: str) -> str:
    return page.split('id="cannot-heading"', 1)[1].split("</section>", 1)[0]


# --- who can sign in -------------------------------------------------------------------------------


def test_someone_the_directory_finds_can_sign_in_on_every_page_that_says_it(kind, request, make_app, behind):
    o, mai_staff, dung_staff = behind
    app = make_app(COURSES_DIR=str(o.root), **directory_settings(kind, request))  # every role keeps one
    with app.app_context():
        assert account_status.of(db.session.get(Staff, mai_staff.id)) is AccountStatus.ACTIVE
    assert signs_in_at_the_directory(app, kind)  # what the status says is so (the provider's time: now)
    at(MONDAY)

    admin = signed_in(app, ADMIN_EMAIL)
    roster = text(admin, f"/roster/?unit={o.section_a.id}")
    row = roster.split(MAI.cn, 1)[1].split("</tr>", 1)[0]
    assert "Đăng nhập được" in row and "Đã mời" not in row
    person_page = text(admin, f"/roster/staff/{mai_staff.id}")
    assert "<strong>Đăng nhập được</strong>" in person_page
    assert "Đăng nhập bằng tài khoản công vụ của Bộ: chưa chọn mật khẩu riêng trên nền tảng này" \
        in person_page
    assert "Gửi lại lời mời" in person_page  # she may still choose one
    total = TOTAL_ROW.search(text(admin, "/reports/"))
    assert total and total.groups() == ("2", "1")  # two on the roster, Dũng alone cannot sign in
    cannot = text(admin, "/reports/people?status=to_do&account=cannot_sign_in")
    assert DUNG.cn in cannot and MAI.cn not in cannot
    export = admin.get("/reports/people?export=csv").get_data().decode("utf-8-sig")
    [mai_line] = [line for line in export.splitlines() if MAI.cn in line]
    assert "Đăng nhập được" in mai_line
    unreachable = cannot_section(text(admin, "/admin/reminders/"))
    assert DUNG.cn in unreachable and MAI.cn not in unreachable

    manager = signed_in(app, MANAGER)
    assert "2 người; 2 người chưa hoàn thành; 2 người quá hạn; 1 người không đăng nhập được." \
        in text(manager, "/")


def test_someone_the_directory_finds_is_reminded(kind, request, make_app, behind):
    """A manual reminder goes to her, and the managers' digest does not flag her."""
    o, mai_staff, _dung_staff = behind
    app = make_app(COURSES_DIR=str(o.root), **directory_settings(kind, request))
    at(MONDAY)
    manager = signed_in(app, MANAGER)
    record = f"/training/people/{mai_staff.id}"
    page = post(manager, f"{record}/remind", record)
    assert page.status_code == 200
    assert "Đã nhắc qua thư điện tử (1)" in page.get_data(as_text=True)
    assert [m["To"].addresses[0].addr_spec for m in outbox(app)] == [MAI.mail.lower()]

    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    [digest] = [m for m in outbox(app) if m["To"].addresses[0].addr_spec == MANAGER]
    body = digest.get_body(("plain",)).get_content()
    [mai_row] = [line for line in body.splitlines() if line.startswith(f"- {MAI.cn}")]
    [dung_row] = [line for line in body.splitlines() if line.startswith(f"- {DUNG.cn}") and "Luật" in line]
    assert "không đăng nhập được" not in mai_row and "[không đăng nhập được: Chưa có tài khoản]" in dung_row
    assert "KHÔNG ĐĂNG NHẬP ĐƯỢC (1)" in body


def test_without_a_directory_she_needs_a_password_each_app_by_its_own_settings(request, make_app, behind):
    """The dashboard's statement is built once per process: it answers each app by its ways in."""
    o, mai_staff, _dung_staff = behind
    ldap = make_app(COURSES_DIR=str(o.root), **directory_settings("ldap", request))
    alone = make_app(COURSES_DIR=str(o.root))
    at(MONDAY)
    able = "Đăng nhập được"
    for app, status, cannot in ((ldap, able, "1"), (alone, "Đã mời", "2"), (ldap, able, "1")):
        admin = signed_in(app, ADMIN_EMAIL)
        assert f"<strong>{status}</strong>" in text(admin, f"/roster/staff/{mai_staff.id}")
        total = TOTAL_ROW.search(text(admin, "/reports/"))
        assert total and total.group(2) == cannot


def test_a_directory_that_matches_by_email_cannot_find_someone_without_one(slapd, make_app, app, make_staff,
                                                                        make_user):
    """Hà is on the roster without an e-mail address. A directory that finds people by staff code
    lets her in; one that finds them by e-mail cannot: with no password here (her role keeps none),
    she has no way in, and every list says so."""
    ha_staff = make_staff(HA.cn, staff_code=HA.staff_code)
    ha = make_user(email="ha.pham@example.vn", name=HA.cn, staff=ha_staff)
    make_user(email=ADMIN_EMAIL, role=Role.ADMIN, name="Quản Trị Viên")
    with app.app_context():
        db.session.get(User, ha.id).password_hash = None
        db.session.commit()
    by_code = make_app(**slapd.settings(LOCAL_PASSWORD_ROLES="admin"))
    by_email = make_app(**slapd.settings(LOCAL_PASSWORD_ROLES="admin", LDAP_MATCH_BY="email"))
    for directory, status, gets_in in ((by_code, AccountStatus.ACTIVE, True),
                                       (by_email, AccountStatus.INVITED, False)):
        with directory.app_context():
            staff = db.session.get(Staff, ha_staff.id)
            assert account_status.of(staff) is status
            assert bool(account_status.ways_of(db.session.get(User, ha.id), staff)) is gets_in
        assert signs_in_at_the_directory(directory, "ldap", HA) is gets_in
    page = text(signed_in(by_email, ADMIN_EMAIL), f"/roster/staff/{ha_staff.id}")
    assert "Chưa đăng nhập được: hệ thống thư mục của Bộ tìm người theo địa chỉ e-mail" in page


WAYS = [  # the settings of each app: no directory, LDAP, OpenID, both; by staff code or e-mail
    {},
    {"ldap": "staff_code"}, {"ldap": "email", "LOCAL_PASSWORD_ROLES": "admin"},
    {"oidc": "email"}, {"oidc": "staff_code", "LOCAL_PASSWORD_ROLES": "admin"},
    {"ldap": "email", "oidc": "staff_code", "LOCAL_PASSWORD_ROLES": "admin,manager"},
]


def settings_of(ways: dict[str, str], slapd) -> dict:
    """The app's settings for one row of WAYS (the suite's slapd; a provider never asked)."""
    config = {"LOCAL_PASSWORD_ROLES": ways.get("LOCAL_PASSWORD_ROLES", "all")}
    if "ldap" in ways:
        config |= slapd.settings(LDAP_MATCH_BY=ways["ldap"])
    if "oidc" in ways:
        config |= oidc_settings(OFFLINE_ISSUER) | {"OIDC_MATCH_BY": ways["oidc"]}
    return config


def test_the_sql_and_the_python_rule_agree(slapd, make_app, app, make_staff, make_user):
    """Every list reads the SQL form, a person's page the Python one: for each kind of account
    (role, password or not, e-mail on the roster or not) under each setting, they agree."""
    people = []
    for role in (Role.TRAINEE, Role.MANAGER, Role.ADMIN):
        for password in (True, False):
            for email in (True, False):
                n = len(people)
                staff = make_staff(f"Người Thứ {n}", email=f"nguoi{n}@example.vn" if email else None)
                user = make_user(email=f"tk{n}@example.vn", role=role, staff=staff, two_factor=False)
                if not password:
                    with app.app_context():
                        db.session.get(User, user.id).password_hash = None
                        db.session.commit()
                people.append((staff.id, user.id))
    for ways in WAYS:
        with make_app(**settings_of(ways, slapd)).app_context():
            statuses = account_status.of_many(staff_id for staff_id, _user_id in people)
            for staff_id, user_id in people:
                user, staff = db.session.get(User, user_id), db.session.get(Staff, staff_id)
                found = account_status.ways_of(user, staff)
                able = statuses[staff_id] is AccountStatus.ACTIVE
                assert able == bool(found), (ways, user.role, staff.email)
                if not ways:  # no directory: a password, nothing else
                    assert found == ({Way.PASSWORD} if user.password_hash else set())


# --- where to sign in, with both -----------------------------------------------------------------------

BOTH_VI = ("hãy nhập tên đăng nhập (hoặc địa chỉ e-mail) và mật khẩu tài khoản của bạn trong hệ thống "
           "thư mục của Bộ, tài khoản bạn dùng để đăng nhập máy tính cơ quan; hoặc chọn “Đăng nhập bằng "
           f"{LABEL}”")
BOTH_EN = ("either type the user name (or e-mail address) and password of your account in the ministry's "
           f"directory, the one you sign in to your work computer with, or choose “Sign in with {LABEL}”")


@pytest.fixture
def both(slapd, make_app, make_unit, make_staff, make_user):
    """LDAP on the form and an OpenID provider's button; only administrators keep a password."""
    app = make_app(**slapd.settings(LOCAL_PASSWORD_ROLES="admin"), **oidc_settings(OFFLINE_ISSUER))
    unit = make_unit("Thanh tra tỉnh Ninh Bình", code="NB")
    mai_staff = make_staff(MAI.cn, unit=unit, email=MAI.mail.lower(), staff_code=MAI.staff_code)
    mai = make_user(email=MAI.mail.lower(), name=MAI.cn, staff=mai_staff)
    dung_staff = make_staff(DUNG.cn, unit=unit, email=DUNG.mail, staff_code=DUNG.staff_code)
    make_user(email=ADMIN_EMAIL, role=Role.ADMIN, name="Quản Trị Viên")
    return app, mai, mai_staff, dung_staff


def test_with_ldap_and_openid_every_page_and_mail_names_both_ways(both):
    app, mai, mai_staff, dung_staff = both
    login_page = app.test_client().get("/login").get_data(as_text=True)
    assert ("mật khẩu tài khoản của bạn trong hệ thống thư mục của Bộ (tài khoản bạn dùng để đăng nhập máy "
            f"tính cơ quan), hoặc nút “Đăng nhập bằng {LABEL}” bên dưới") in login_page

    client = app.test_client()  # Mai signs in with the directory's password: the account page
    assert login(client, MAI.uid, MAI.password).status_code == 302
    assert BOTH_VI in text(client, "/account/password")
    client.set_cookie(LANG_COOKIE, "en")
    assert BOTH_EN in text(client, "/account/password")

    forgot = app.test_client()  # "forgot password" mails how to sign in
    assert post(forgot, "/forgot", "/forgot", email=mai.email).status_code == 302
    [hint] = outbox(app)
    assert BOTH_VI in hint.get_content()

    with app.app_context():  # a link sent before the directory came
        raw = tokens.issue(db.session.get(User, mai.id), TokenPurpose.INVITE)
        db.session.commit()
    assert BOTH_VI in text(app.test_client(), f"/invite/{raw}")

    admin = signed_in(app, ADMIN_EMAIL)  # an invitation opens Dũng's account and says where to go
    dung_page = f"/roster/staff/{dung_staff.id}"
    assert post(admin, f"{dung_page}/invite", dung_page).status_code == 302
    invitation = outbox(app)[-1]
    assert invitation["To"].addresses[0].addr_spec == DUNG.mail and BOTH_VI in invitation.get_content()
    mai_page = f"/roster/staff/{mai_staff.id}"  # the administrator's reset is refused, and says why
    assert post(admin, f"{mai_page}/account/reset", mai_page).status_code == 302
    assert any("không gửi liên kết nào" in flash for flash in FLASH_RE.findall(text(admin, mai_page)))
    assert signs_in_at_the_directory(app, "ldap", DUNG)  # and the mail is right


def test_an_invitation_with_a_password_link_also_names_the_ministry_account(slapd, make_app, make_unit,
                                                                           make_staff, make_user):
    """When every role keeps a password, the invitation's link is a second way in: the mail says
    the person can sign in at once with the ministry account, and where."""
    app = make_app(**slapd.settings(), **oidc_settings(OFFLINE_ISSUER))
    dung_staff = make_staff(DUNG.cn, unit=make_unit(), email=DUNG.mail, staff_code=DUNG.staff_code)
    make_user(email=ADMIN_EMAIL, role=Role.ADMIN, name="Quản Trị Viên")
    admin = signed_in(app, ADMIN_EMAIL)
    page = f"/roster/staff/{dung_staff.id}"
    assert post(admin, f"{page}/invite", page).status_code == 302
    body = outbox(app)[-1].get_content()
    assert "/invite/" in body
    assert "Bạn cũng có thể đăng nhập ngay bằng tài khoản công vụ của Bộ mà không cần chọn mật khẩu ở đây." \
        in body and BOTH_VI in body


# --- mooc demo -------------------------------------------------------------------------------------------


def loaded(app) -> str:
    with app.app_context():
        report = demo.load_demo()
        db.session.commit()
    return demo.describe(report, "http://127.0.0.1:5000")


def lines_of(printed: str) -> dict[str, str]:
    """What `mooc demo` says of each demo account: the heading (how they sign in) it is listed under."""
    said, heading = {}, ""
    for line in printed.splitlines():
        if line.startswith("  ") and not line.startswith("    "):
            heading = line.strip().removesuffix(":")
        elif line.startswith("    "):
            said[line.split()[0]] = heading
    assert set(said) == {email for email, *_ in demo_accounts.ACCOUNTS}
    return said


def demo_password_works(app, email: str) -> bool:
    return login(app.test_client(), email, demo_accounts.DEMO_PASSWORD).status_code == 302


def test_mooc_demo_says_how_each_account_signs_in(slapd, make_app, app):
    printed = loaded(app)  # no directory: the demo's password for every account, as before
    assert f"sign in with any of these (password: {demo_accounts.DEMO_PASSWORD}):" in printed

    ldap = make_app(**slapd.settings(LOCAL_PASSWORD_ROLES="admin,manager"))
    printed = loaded(ldap)
    assert "any of these" not in printed
    said = lines_of(printed)
    for email, role, *_ in demo_accounts.ACCOUNTS:
        if role in (Role.ADMIN, Role.MANAGER):
            assert said[email] == f"with the password {demo_accounts.DEMO_PASSWORD}"
        else:
            assert said[email] == ("with the ministry account: its user name and password in the directory, "
                                   "on the sign-in form (its role keeps no password here)")
        assert demo_password_works(ldap, email) is (role in (Role.ADMIN, Role.MANAGER)), email
    box = text(ldap.test_client(), "/login").split('class="auth-card demo-accounts"', 1)[1]  # the page agrees
    password = f'<code class="nowrap">{demo_accounts.DEMO_PASSWORD}</code>'
    assert f"Hãy thử một tài khoản dưới đây, mật khẩu là {password}." in box
    assert "3 tài khoản demo còn lại chỉ đăng nhập bằng tài khoản công vụ của Bộ" in box
    assert "hocvien@example.vn" not in box and "còn lại" not in text(app.test_client(), "/login")

    both = make_app(**slapd.settings(LOCAL_PASSWORD_ROLES="admin"), **oidc_settings(OFFLINE_ISSUER))
    with both.app_context():  # a changed password is not printed as the demo's
        user = db.session.scalar(sa.select(User).where(User.email == "quantri@example.vn"))
        user.password_hash = "scrypt:32768:8:1$x$" + "0" * 128
        db.session.commit()
    said = lines_of(loaded(both))
    ministry = ("with the ministry account: its user name and password in the directory, on the sign-in "
                f"form, or the “Sign in with {LABEL}” button")
    changed = "with its own password (changed since the demo was loaded)"
    assert said["quantri@example.vn"] == f"{changed}, or {ministry}"
    assert said["hocvien@example.vn"] == f"{ministry} (its role keeps no password here)"
    assert not demo_password_works(both, "quantri@example.vn")
