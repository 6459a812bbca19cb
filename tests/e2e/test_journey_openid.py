"""Journey: an inspector signs in with the ministry's directory account (OpenID Connect) and
signs out of both the platform and the directory.

The provider is real (oidc-provider on loopback, tests/directory/oidc_server.py); the platform
is a second server beside the package's live one, on the same database, configured with that
provider. Trần Thị Mai is on the roster (staff code 00123) with an account but no password she
knows: the directory vouches for her.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.serving import make_server

from mooc import create_app
from mooc.auth.models import AuditEvent, Role, User
from mooc.roster.models import OrgUnit, Position, Staff
from tests.conftest import FAST_HASH
from tests.directory.oidc_server import CLIENT_ID, CLIENT_SECRET, running_provider
from tests.e2e.conftest import SECRET_KEY, Browsing, LiveServer, _QuietHandler, serving
from tests.e2e.pages import go

LABEL = "Tài khoản ngành Thanh tra"


@pytest.fixture
def oidc_site(live: LiveServer, browsing: Browsing) -> Iterator[str]:
    """The platform with the directory configured, served beside the live server."""
    server = make_server("127.0.0.1", 0, None, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    # closed however the fixture ends: a provider that cannot start skips the test, and a
    # socket left open fails a later test with its ResourceWarning
    try:
        with running_provider([f"{url}/oidc/callback"], [f"{url}/login"]) as provider:
            app = create_app({
                "ENV": "testing", "DATABASE_URL": live.database_url, "INSTANCE_DIR": str(live.instance_dir),
                "COURSES_DIR": str(live.courses_dir), "SECRET_KEY": SECRET_KEY, "PASSWORD_METHOD": FAST_HASH,
                "BASE_URL": url, "OIDC_ISSUER": provider.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_SCOPES": "openid email profile staff",
                "OIDC_MATCH_BY": "staff_code", "OIDC_LABEL": LABEL,
            })
            with serving(server, app, name="e2e-oidc-server"):
                try:
                    yield url
                finally:
                    browsing.close()  # its pages first: a logo still loading would be cut off
    finally:
        server.server_close()


@pytest.fixture
def mai(live: LiveServer) -> int:
    with live.db() as session:
        unit = session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "HN-P2"))
        position = session.scalar(sa.select(Position).where(Position.code == "TTV"))
        staff = Staff(staff_code="00123", full_name="Trần Thị Mai", family_name="Trần", middle_name="Thị",
                      given_name="Mai", email="mai.tran@thanhtra.gov.vn", unit=unit, position=position)
        session.add(staff)
        session.flush()
        user = User(email="mai.tran@thanhtra.gov.vn", display_name="Trần Thị Mai", role=Role.TRAINEE,
                    staff_id=staff.id)  # no password: the directory vouches for her
        session.add(user)
        session.flush()
        return user.id


def test_inspector_signs_in_with_the_directory_and_out_of_both(browsing, live, oidc_site, mai) -> None:
    page = browsing.new_page()

    # The sign-in page offers the directory beside the password form.
    go(page, f"{oidc_site}/login")
    page.get_by_role("button", name=f"Đăng nhập bằng {LABEL}").click()

    # The directory's own page asks for her directory login and password.
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập bằng tài khoản ngành")
    page.get_by_label("Tên đăng nhập").fill("mai.tran")
    page.get_by_label("Mật khẩu").fill("mat-khau-mai")
    page.get_by_role("button", name="Đăng nhập").click()

    # Back on the platform, signed in, on "my training".
    expect(page).to_have_url(f"{oidc_site}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Khóa học của tôi")
    expect(page.get_by_role("button", name="Đăng xuất", include_hidden=True)).to_be_attached()

    # Signing out goes on to the directory, which asks to confirm, then back to sign-in.
    sign_out = page.get_by_role("button", name="Đăng xuất", include_hidden=True)
    page.wait_for_load_state("load")  # shown or folded is the stylesheet's decision: once it is in
    if not sign_out.is_visible():  # a phone's menu
        page.get_by_role("button", name="Menu").click()
    sign_out.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng xuất")
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(oidc_site)}/login"))
    expect(page.get_by_text("Bạn đã đăng xuất.")).to_be_visible()

    # Signed out of the directory too: signing in again asks for the password again.
    page.get_by_role("button", name=f"Đăng nhập bằng {LABEL}").click()
    expect(page.get_by_label("Tên đăng nhập")).to_be_visible()

    with live.db() as session:
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.actor_id == mai)).all()
        assert [(event.action, event.details.get("method")) for event in events] == [
            ("login.succeeded", "oidc"), ("logout", None)]
