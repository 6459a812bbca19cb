"""An address or a user name is one name in any case and in any Unicode form, on SQLite and on
PostgreSQL alike: 'ĐÀO.AN', 'Đào.An' decomposed (NFD, as some keyboards and copied text send it)
and 'đào.an' name the same person at the sign-in, in the lock's count, on the roster and in the
audit log.

SQL's lower() cannot be the fold: SQLite's lowers ASCII only ('ĐÀO' stays 'ĐÀo'), PostgreSQL's
follows the database's LC_CTYPE. Every such name is folded by Python (text.name_key) when it is
written and when it is looked up, and SQL compares the folded values. Checked through the real
sign-in (the suite's slapd, the oidc-provider of oidc_server.py) and the audit log's pages."""

from __future__ import annotations

import csv
import io
import unicodedata

import pytest
import sqlalchemy as sa

from mooc.auth.models import DirectoryName, LoginThrottle, Role, User
from mooc.extensions import db
from mooc.roster import account_status
from mooc.roster.account_status import AccountStatus
from mooc.roster.models import Staff
from mooc.text import name_key
from tests.conftest import TEST_PASSWORD
from tests.directory.oidc_server import running_provider, sign_in_at_provider
from tests.directory.slapd import DAO
from tests.directory.test_local_passwords import ADMIN_EMAIL, oidc_settings
from tests.directory.test_oidc import AFTER_LOGOUT, CALLBACK, come_back, start
from tests.directory.test_sign_in_lock import LOCKED_FORM, WRONG_DIRECTORY, WRONG_LOCAL, form
from tests.directory.test_who_signs_in import signed_in
from tests.training.conftest import org  # noqa: F401 (shared fixture)

MAX_FAILURES = 3


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def audit_rows(client, person: str) -> list[list[str]]:
    """The audit log's CSV, filtered by ``person`` as an administrator types it (no header)."""
    response = client.get("/admin/audit", query_string={"export": "csv", "person": person})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))[1:]


def failed(rows: list[list[str]]) -> list[str]:
    """The targets ("Về") of the refused sign-ins among ``rows`` (columns: when, action, its code...)."""
    return [row[3] for row in rows if row[2] == "login.failed"]


@pytest.fixture
def world(org):  # noqa: F811 (the shared fixture)
    return org


@pytest.fixture(scope="module")
def provider():
    with running_provider([CALLBACK], [AFTER_LOGOUT]) as running:
        yield running


def test_a_vietnamese_user_name_typed_in_capitals_or_decomposed_is_one_name(make_app, slapd, world,
        make_staff, make_user):
    """Đào Văn An's directory user name is 'đào.an'. Typed 'ĐÀO.AN' or decomposed, it signs him in,
    counts against his one lock (the roster says Locked, SQL and Python alike), and the audit log
    finds every refusal by any of those spellings; his unit's manager reads them too."""
    _app, o = world
    staff = make_staff(DAO.cn, unit=o.section_a, email=DAO.mail, staff_code=DAO.staff_code)
    make_user(email=DAO.mail, name=DAO.cn, staff=staff)
    make_user(email=ADMIN_EMAIL, role=Role.ADMIN, name="Quản Trị Viên")
    make_user(email="truong.phong@example.vn", role=Role.MANAGER, scope_unit=o.section_a, name="Trưởng Phòng")
    app = make_app(COURSES_DIR=str(o.root), LOGIN_MAX_FAILURES=MAX_FAILURES,
                   **slapd.settings(LDAP_USER_ATTRIBUTE="uid"))
    capitals, decomposed = "ĐÀO.AN", nfd("Đào.An")
    assert form(app, capitals, DAO.password) == "signed in"
    assert form(app, decomposed, DAO.password) == "signed in"
    for typed in (capitals, decomposed):
        assert WRONG_DIRECTORY in form(app, typed, "khong phai mat khau")
    assert LOCKED_FORM in form(app, f" {nfd('đào.AN')} ", "khong phai mat khau")  # the third: his lock
    assert LOCKED_FORM in form(app, "đào.an", DAO.password)
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.staff_id == staff.id)).one()
        person = db.session.get(Staff, staff.id)
        assert account_status.of(person) is AccountStatus.LOCKED
        assert not account_status.open_ways(user, person)
        assert db.session.scalars(sa.select(LoginThrottle.email)).all() == [DAO.mail]  # one count: his
        assert db.session.scalars(sa.select(DirectoryName.name)).all() == ["đào.an"]

    admin = signed_in(app, ADMIN_EMAIL)
    expected = ["đào.an"] * 4  # two wrong, the one that locked, the right one refused
    for typed in (capitals, decomposed, "đào.an", nfd("ĐÀO.AN")):
        assert failed(audit_rows(admin, typed)) == expected, typed
    manager = signed_in(app, "truong.phong@example.vn")  # his unit's: the name is tied to him
    assert failed(audit_rows(manager, "")) == expected


def test_an_address_a_provider_sends_in_vietnamese_capitals_is_found_in_any_case(make_app, provider, world,
        make_user):
    """The OpenID provider names someone by an address in capitals, 'ĐÀO.AN@THANHTRA.GOV.VN', whom
    the roster does not know: the refusal is recorded under the folded address, and the audit log
    finds it however the administrator types it (SQLite's lower() would leave it in capitals)."""
    _app, o = world
    make_user(email=ADMIN_EMAIL, role=Role.ADMIN, name="Quản Trị Viên")
    app = make_app(COURSES_DIR=str(o.root), **oidc_settings(provider.issuer) | {"OIDC_MATCH_BY": "email"})
    client = app.test_client()
    answer = come_back(client, sign_in_at_provider(start(client), "dao.an"))
    assert answer.status_code == 403
    admin = signed_in(app, ADMIN_EMAIL)
    for typed in ("đào.an@thanhtra.gov.vn", "ĐÀO.AN@THANHTRA.GOV.VN", nfd("Đào.An@ThanhTra.gov.vn")):
        assert failed(audit_rows(admin, typed)) == ["đào.an@thanhtra.gov.vn"], typed


def test_an_address_written_in_capitals_is_stored_folded_and_signs_in_typed_in_any_form(make_app, world,
        make_staff, make_user):
    """However an account's address is written (here straight through the models, as a script
    would), it is stored folded, so the sign-in finds it typed in any case or form, its lock is
    the one the roster reads, and the SQL and Python rules agree."""
    _app, o = world
    staff = make_staff("Đào Văn An", unit=o.section_a, email="ĐÀO.AN@EXAMPLE.VN")
    user = make_user(email=nfd("ĐÀO.AN@EXAMPLE.VN"), staff=staff, name="Đào Văn An")
    app = make_app(COURSES_DIR=str(o.root), LOGIN_MAX_FAILURES=MAX_FAILURES)
    with app.app_context():
        stored = (db.session.get(User, user.id).email, db.session.get(Staff, staff.id).email)
        assert stored == ("đào.an@example.vn", "đào.an@example.vn")
        assert name_key(nfd("ĐÀO.AN@EXAMPLE.VN")) == "đào.an@example.vn"
    assert form(app, nfd("Đào.An@Example.VN"), TEST_PASSWORD) == "signed in"
    for typed in ("ĐÀO.AN@EXAMPLE.VN", nfd("đào.an@example.vn")):
        assert WRONG_LOCAL in form(app, typed, "khong phai mat khau")
    assert LOCKED_FORM in form(app, "Đào.An@Example.vn", "khong phai mat khau")
    assert LOCKED_FORM in form(app, "đào.an@example.vn", TEST_PASSWORD)
    with app.app_context():
        person = db.session.get(Staff, staff.id)
        able = db.session.scalars(account_status.join(sa.select(Staff.id))
                                  .where(account_status.signs_in(), Staff.id == staff.id)).all()
        assert account_status.of(person) is AccountStatus.LOCKED and able == []
        assert not account_status.open_ways(db.session.get(User, user.id), person)
