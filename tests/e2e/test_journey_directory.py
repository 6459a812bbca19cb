"""Journey: an inspector signs in with the user name and password of the ministry's directory (a
real OpenLDAP server started for this module, tests/directory/slapd.py, spoken to over
StartTLS), lands on their home page and signs out; a wrong password and a directory account
that is not on the roster are refused with what to do; the demo administrator still signs in
with the platform's own password.

The site is the e2e package's database and demo, served by a second app whose settings point
at the directory (the package's server has none); the person made here is removed at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.serving import make_server

from mooc import create_app
from mooc.auth.demo_accounts import DEMO_PASSWORD
from mooc.auth.models import AuditEvent, AuthSession, User
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff
from mooc.text import split_full_name
from tests.conftest import FAST_HASH
from tests.directory.slapd import MAI, NAM, Slapd, slapd_server  # noqa: F401 (the fixture `slapd`)
from tests.e2e.conftest import SECRET_KEY, Browsing, LiveServer, _QuietHandler, serving
from tests.e2e.pages import authenticator_code, go, set_up_authenticator


@pytest.fixture
def directory_site(live: LiveServer, slapd: Slapd, browsing: Browsing) -> Iterator[LiveServer]:
    server = make_server("127.0.0.1", 0, None, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app({
        "ENV": "testing", "DATABASE_URL": live.database_url, "INSTANCE_DIR": str(live.instance_dir),
        "COURSES_DIR": str(live.courses_dir), "SECRET_KEY": SECRET_KEY, "PASSWORD_METHOD": FAST_HASH,
        "BASE_URL": url, "LOCAL_PASSWORD_ROLES": "admin", **slapd.settings("starttls"),
    })
    try:
        with serving(server, app):
            try:
                yield LiveServer(url, app, live.courses_dir, live.instance_dir, live.database_url)
            finally:
                browsing.close()  # its pages first: a logo still loading would be cut off
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def mai_on_the_roster(live: LiveServer) -> Iterator[int]:
    """Trần Thị Mai on the demo roster (Phòng Nghiệp vụ 2, Hà Nội) with a trainee account,
    her staff code the one the directory holds; removed afterwards."""
    family, middle, given = split_full_name(MAI.cn)
    with live.db() as session:
        unit = session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "HN-P2"))
        staff = Staff(staff_code=MAI.staff_code, full_name=MAI.cn, family_name=family, middle_name=middle,
                      given_name=given, email=MAI.mail, unit=unit)
        session.add(staff)
        session.flush()
        user = User(email=MAI.mail.lower(), display_name=MAI.cn, staff_id=staff.id)  # no local password
        session.add(user)
        session.flush()
        user_id, staff_id = user.id, staff.id
    try:
        yield user_id
    finally:
        with live.db() as session:
            session.execute(sa.delete(AuthSession).where(AuthSession.user_id == user_id))
            session.execute(sa.delete(AuditEvent).where(AuditEvent.actor_id == user_id))
            session.execute(sa.delete(User).where(User.id == user_id))
            session.execute(sa.delete(Staff).where(Staff.id == staff_id))


def _sign_in(page, name: str, password: str) -> None:
    page.get_by_label("Tên đăng nhập hoặc e-mail").fill(name)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_an_inspector_signs_in_with_the_directory(browsing, directory_site, mai_on_the_roster) -> None:
    site = directory_site
    page = browsing.new_page()
    go(page, f"{site.url}/login")
    expect(page.get_by_text("mật khẩu tài khoản của bạn trong hệ thống thư mục")).to_be_visible()

    # A mistyped password: the directory refuses it, the page says so, the form is there again.
    _sign_in(page, "mai.tran", "mat khau sai")
    expect(page.get_by_text("Sai tên đăng nhập, e-mail hoặc mật khẩu.")).to_be_visible()

    # The directory's password (Vietnamese letters and spaces in it): home, as herself.
    _sign_in(page, "mai.tran", MAI.password)
    expect(page).to_have_url(f"{site.url}/")
    expect(page.get_by_text(MAI.cn).first).to_be_attached()
    with site.db() as session:
        methods = session.scalars(sa.select(AuditEvent.details).where(
            AuditEvent.action == "login.succeeded", AuditEvent.actor_id == mai_on_the_roster)).all()
    assert [details["method"] for details in methods] == ["ldap"]

    page.get_by_role("button", name="Đăng xuất", include_hidden=True).click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_directory_account_not_on_the_roster_is_told_whom_to_ask(browsing, directory_site) -> None:
    page = browsing.new_page()
    go(page, f"{directory_site.url}/login")
    _sign_in(page, NAM.uid, NAM.password)
    expect(page.get_by_text("bạn không có trong danh sách cán bộ")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))


def test_the_administrator_keeps_the_platform_password(browsing, directory_site) -> None:
    page = browsing.new_page()
    go(page, f"{directory_site.url}/login")
    _sign_in(page, "quantri@example.vn", DEMO_PASSWORD)
    expect(page).not_to_have_url(re.compile(r"/login(\?|$)"))  # the password was right
    if "/login/code" in page.url:  # an administrator proves the second factor too
        page.get_by_label("Mã", exact=True).fill(authenticator_code("quantri@example.vn"))
        page.get_by_role("button", name="Đăng nhập").click()
    elif "/account/two-factor" in page.url:
        set_up_authenticator(page, "quantri@example.vn")
    expect(page).to_have_url(f"{directory_site.url}/")
    expect(page.get_by_role("button", name="Đăng xuất", include_hidden=True)).to_be_attached()
