"""The sign-in lock is the account's, whichever way its password is typed, and "Locked" on the
roster says what a sign-in attempt then does.

- Wrong passwords count against one lock per account: the platform's password typed as the
  e-mail in any case, the current-password check, and the directory's password (LDAP) typed as
  the staff code, the uid or the e-mail in any case (passwords.lock_key, the key the roster reads).
- The lock pauses passwords only. The OpenID provider's button checks no password here: it still
  lets the person in, so the roster says "Can sign in (password paused)" and counts them as able;
  with no such way, "Locked", and they cannot.
- Too many wrong codes of the authenticator app lock the code step: every way in then stops at
  the code page (the provider's button too, unless the provider itself proved a second factor),
  so the roster says "Locked (wrong codes)" and counts them as unable to sign in.
- An administrator's "Unlock" ends whatever lock holds, and the person gets in at once.

Every claim is checked against a real sign-in: the form through the test client, the suite's
slapd, the oidc-provider of oidc_server.py. The roster list, the person's page, the dashboard's
count, the CSV and XLSX exports and the reminders page are read as an administrator reads them."""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth import second_factor
from mooc.auth.models import AuditEvent, LoginThrottle, Role, SecondFactor, User
from mooc.extensions import db
from mooc.formatting import format_datetime
from mooc.roster import account_status
from mooc.roster.account_status import AccountStatus, Way
from mooc.roster.models import Staff
from tests.conftest import TEST_PASSWORD, answer_code, csrf_token, login
from tests.conftest import enrol as set_up_authenticator
from tests.directory.oidc_server import running_provider, sign_in_at_provider
from tests.directory.slapd import MAI
from tests.directory.test_local_passwords import (
    ADMIN_EMAIL,
    FLASH_RE,
    LABEL,
    oidc_settings,
    post,
)
from tests.directory.test_oidc import AFTER_LOGOUT, CALLBACK, come_back, start
from tests.directory.test_who_signs_in import (
    TOTAL_ROW,
    WAYS,
    cannot_section,
    settings_of,
    signed_in,
    text,
)
from tests.reminders.conftest import enrol
from tests.training.conftest import org  # noqa: F401 (shared fixture)

LOCKED_FORM = "Quá nhiều lần đăng nhập sai. Hãy thử lại sau"
WRONG_LOCAL = "Sai e-mail hoặc mật khẩu."
WRONG_DIRECTORY = "Sai tên đăng nhập, e-mail hoặc mật khẩu."
BUTTON_STILL_WORKS = f"Nút “Đăng nhập bằng {LABEL}” vẫn dùng được."
LABELS = {AccountStatus.ACTIVE: "Đăng nhập được", AccountStatus.LOCKED: "Đang bị khóa",
          AccountStatus.PASSWORD_PAUSED: "Đăng nhập được (mật khẩu tạm khóa)",
          AccountStatus.CODE_LOCKED: "Đang bị khóa (sai mã xác thực)"}
CODES_LOCKED = "Nhập sai mã quá nhiều lần."
MAX_FAILURES = 3


@pytest.fixture(scope="module")
def provider():
    with running_provider([CALLBACK], [AFTER_LOGOUT]) as running:
        yield running


@pytest.fixture
def mai(org, make_staff, make_user):  # noqa: F811
    """Mai, a trainee on the roster (staff code 00123, the directory's employeeNumber) with a
    password on the platform too, behind on a required course; and an administrator."""
    app, o = org
    staff = make_staff(MAI.cn, unit=o.section_a, email=MAI.mail.lower(), staff_code=MAI.staff_code)
    make_user(email=MAI.mail.lower(), name=MAI.cn, staff=staff)
    today = clock.today()
    enrol(app, staff, o.course_id, today - timedelta(days=60), today - timedelta(days=10))
    make_user(email=ADMIN_EMAIL, role=Role.ADMIN, name="Quản Trị Viên")
    clock.set_now(datetime.now(UTC))  # frozen, near the provider's own time (its tokens are checked)
    return o, staff


def form(app, typed: str, password: str) -> str:
    """What the sign-in page answers; "signed in" when it let the person in."""
    client = app.test_client()
    response = login(client, typed, password)
    if response.status_code == 302 and client.get("/").status_code == 200:
        return "signed in"
    return response.get_data(as_text=True)


def provider_lets_her_in(app, *, otp: bool = False) -> bool:
    """Whether the provider's button signs her in (``otp``: she proves a second factor there)."""
    client = app.test_client()
    answer = come_back(client, sign_in_at_provider(start(client), "mai.tran", otp=otp))
    if answer.status_code == 302 and answer.headers["Location"].startswith("/login/code"):
        answer = answer_code(client, MAI.mail)  # the right code of her app: refused while locked
    return answer.status_code == 302 and client.get("/").status_code == 200


def until() -> str:
    """When a lock begun now ends, as the pages write it (dd/mm/yyyy HH:MM, Vietnam's time)."""
    return format_datetime(clock.now() + timedelta(minutes=15))


def what_the_pages_say(app, o, staff: Staff) -> dict[str, object]:
    """Mai's status as every page that shows it says it, read by an administrator; and the rule
    itself, in SQL (``of``) and in Python (``open_ways``)."""
    with app.app_context():
        user = db.session.query(User).filter_by(staff_id=staff.id).one()
        person = db.session.get(Staff, staff.id)
        rule = (account_status.of(person), bool(account_status.open_ways(user, person)))
    admin = signed_in(app, ADMIN_EMAIL)
    row = text(admin, f"/roster/?unit={o.section_a.id}").split(MAI.cn, 1)[1].split("</tr>", 1)[0]
    total = TOTAL_ROW.search(text(admin, "/reports/"))
    assert total is not None
    csv = admin.get("/reports/people?export=csv").get_data().decode("utf-8-sig")
    sheet = openpyxl.load_workbook(io.BytesIO(admin.get("/reports/people?export=xlsx").get_data())).active
    return {
        "rule": rule,
        "roster": row,
        "person": text(admin, f"/roster/staff/{staff.id}"),
        "cannot sign in": int(total.group(2)),
        "csv": next(line for line in csv.splitlines() if MAI.cn in line),
        "xlsx": next(" | ".join(str(c) for c in r) for r in sheet.iter_rows(values_only=True) if MAI.cn in r),
        "reminders": MAI.cn in cannot_section(text(admin, "/admin/reminders/")),
    }


def assert_the_pages_say(said: dict[str, object], status: AccountStatus) -> None:
    label = LABELS[status]
    assert said["rule"] == (status, status.can_sign_in)
    assert f"<td>{label}</td>" in str(said["roster"])
    assert f"<strong>{label}</strong>" in str(said["person"])
    assert said["cannot sign in"] == (0 if status.can_sign_in else 1)
    assert str(said["csv"]).endswith(f';"{label}"') and str(said["xlsx"]).endswith(f" | {label}")
    assert said["reminders"] is not status.can_sign_in


def wrong_codes(app, times: int) -> str:
    """Her right password, then wrong codes of her authenticator app: the last code page."""
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": csrf_token(client), "email": MAI.mail.lower(),
                                           "password": TEST_PASSWORD})
    assert response.headers["Location"].startswith("/login/code")
    for _ in range(times):
        page = client.post("/login/code", data={"csrf_token": csrf_token(client, "/login/code"),
                                                "code": "000000"})
    return html.unescape(page.get_data(as_text=True))


def unlock(app, staff: Staff) -> str:
    admin = signed_in(app, ADMIN_EMAIL)
    page = f"/roster/staff/{staff.id}"
    assert post(admin, f"{page}/account/unlock", page).status_code == 302
    return " ".join(FLASH_RE.findall(text(admin, page))).replace("<wbr>", "")


def test_wrong_platform_passwords_in_any_case_and_on_the_password_page_lock_the_account(make_app, mai):
    o, staff = mai
    app = make_app(COURSES_DIR=str(o.root), LOGIN_MAX_FAILURES=MAX_FAILURES)
    client = app.test_client()  # signed in, she gets her current password wrong once
    assert login(client, MAI.mail.lower()).status_code == 302
    page = client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account/password"), "current_password": "khong phai",
        "new_password": "mot mat khau moi dai", "confirm": "mot mat khau moi dai"})
    assert "Mật khẩu hiện tại không đúng." in page.get_data(as_text=True)
    assert WRONG_LOCAL in form(app, MAI.mail.upper(), "sai lan hai")
    assert LOCKED_FORM in form(app, f"  {MAI.mail}  ", "sai lan ba")  # the third: locked
    assert LOCKED_FORM in form(app, MAI.mail.lower(), TEST_PASSWORD)  # the right one too
    said = what_the_pages_say(app, o, staff)
    assert_the_pages_say(said, AccountStatus.LOCKED)
    person = str(said["person"])
    assert f"tài khoản bị khóa đến {until()}" in person and "Mở khóa tài khoản" in person

    assert "Đã mở khóa tài khoản" in unlock(app, staff)
    assert form(app, MAI.mail.lower(), TEST_PASSWORD) == "signed in"
    assert_the_pages_say(what_the_pages_say(app, o, staff), AccountStatus.ACTIVE)


@pytest.mark.parametrize("user_attribute, typed", [
    ("employeeNumber", [MAI.staff_code, MAI.staff_code, MAI.mail.upper()]),  # staff code, then e-mail
    ("uid", [MAI.uid, MAI.mail.lower(), MAI.uid.upper()]),  # her e-mail: a wrong local password too
], ids=["staff code then e-mail", "uid, e-mail, UID"])
def test_wrong_directory_passwords_under_any_of_her_names_lock_her_account(make_app, slapd, mai,
                                                                          user_attribute, typed):
    o, staff = mai
    app = make_app(COURSES_DIR=str(o.root), LOGIN_MAX_FAILURES=MAX_FAILURES,
                   **slapd.settings(LDAP_USER_ATTRIBUTE=user_attribute))
    # A name the directory does not know locks itself, with the same answers as a person's (nothing
    # tells them apart), and counts nothing against anyone's account.
    for _ in range(MAX_FAILURES - 1):
        assert WRONG_DIRECTORY in form(app, "khong.co.ai", "khong phai mat khau")
    locked = form(app, "khong.co.ai", "khong phai mat khau")
    assert LOCKED_FORM in locked and "đề nghị quản trị viên mở khóa tài khoản" in locked
    assert_the_pages_say(what_the_pages_say(app, o, staff), AccountStatus.ACTIVE)

    *first, last = typed
    for name in first:
        assert WRONG_DIRECTORY in form(app, name, "khong phai mat khau")
    assert LOCKED_FORM in form(app, last, "khong phai mat khau")  # one lock, whatever she typed
    for name in typed:  # her right password, under each name: refused, not tried at the directory
        assert LOCKED_FORM in form(app, name, MAI.password)
    said = what_the_pages_say(app, o, staff)
    assert_the_pages_say(said, AccountStatus.LOCKED)
    assert f"tài khoản bị khóa đến {until()}" in str(said["person"])

    assert "Đã mở khóa tài khoản" in unlock(app, staff)
    assert form(app, typed[0], MAI.password) == "signed in"
    assert_the_pages_say(what_the_pages_say(app, o, staff), AccountStatus.ACTIVE)


def test_a_locked_password_leaves_the_openid_button_open_and_the_roster_says_so(make_app, provider, mai):
    o, staff = mai
    app = make_app(COURSES_DIR=str(o.root), LOGIN_MAX_FAILURES=MAX_FAILURES, **oidc_settings(provider.issuer))
    for attempt in range(MAX_FAILURES):
        answer = form(app, MAI.mail.lower(), f"sai lan {attempt}")
    assert LOCKED_FORM in answer and BUTTON_STILL_WORKS in answer
    assert LOCKED_FORM in form(app, MAI.mail.lower(), TEST_PASSWORD)  # the form refuses her password
    assert provider_lets_her_in(app)  # the provider's button does not ask it
    said = what_the_pages_say(app, o, staff)
    assert_the_pages_say(said, AccountStatus.PASSWORD_PAUSED)
    assert (f"tạm dừng đăng nhập bằng mật khẩu đến {until()}. Trong thời gian đó, người này vẫn đăng nhập "
            f"được bằng nút “Đăng nhập bằng {LABEL}”.") in str(said["person"])
    assert "Mở khóa tài khoản" in str(said["person"])

    assert "Đã mở khóa tài khoản" in unlock(app, staff)
    assert form(app, MAI.mail.lower(), TEST_PASSWORD) == "signed in"
    assert_the_pages_say(what_the_pages_say(app, o, staff), AccountStatus.ACTIVE)

    # A provider that finds people by e-mail, and no e-mail for her on the roster: her password was
    # her only way in, so the lock shuts her out, and the roster says "Locked".
    by_email = make_app(COURSES_DIR=str(o.root), LOGIN_MAX_FAILURES=MAX_FAILURES,
                        **oidc_settings(provider.issuer) | {"OIDC_MATCH_BY": "email"})
    with by_email.app_context():
        db.session.get(Staff, staff.id).email = None
        db.session.commit()
    for attempt in range(MAX_FAILURES):
        form(by_email, MAI.mail.lower(), f"sai lan {attempt}")
    assert LOCKED_FORM in form(by_email, MAI.mail.lower(), TEST_PASSWORD)
    assert not provider_lets_her_in(by_email)
    assert_the_pages_say(what_the_pages_say(by_email, o, staff), AccountStatus.LOCKED)


def each_way(make_app, slapd, people: list[tuple[int, int, bool]]):
    """Under each setting of ``WAYS``, for each (staff id, user id, flag) of ``people``: (ways,
    user, staff, flag, status, the ways open now), once the SQL status (every list), the count's
    condition (``signs_in``) and the ways open now (Python, a person's page) are seen to agree."""
    ids = [staff_id for staff_id, _user_id, _flag in people]
    for ways in WAYS:
        with make_app(**settings_of(ways, slapd)).app_context():
            statuses = account_status.of_many(ids)
            able = set(db.session.scalars(account_status.join(sa.select(Staff.id))
                                          .where(account_status.signs_in(), Staff.id.in_(ids))))
            for staff_id, user_id, flag in people:
                user, staff = db.session.get(User, user_id), db.session.get(Staff, staff_id)
                now_open = account_status.open_ways(user, staff)
                status = statuses[staff_id]
                assert status.can_sign_in == bool(now_open) == (staff_id in able), (ways, staff_id)
                yield ways, user, staff, flag, status, now_open


def test_the_sql_and_the_python_rule_agree_on_locked_accounts(slapd, make_app, app, make_staff, make_user):
    """For each kind of account (role, password or not, e-mail on the roster or not, locked or
    not) under each setting of tests/directory/test_who_signs_in.py: the status (SQL, every list),
    the count's condition (``signs_in``) and the ways open now (Python, a person's page) agree,
    and a locked account can sign in only at the provider."""
    people = []
    for role in (Role.TRAINEE, Role.ADMIN):
        for password in (True, False):
            for email in (True, False):
                for locked in (True, False):
                    n = len(people)
                    staff = make_staff(f"Người Thứ {n}", email=f"nguoi{n}@example.vn" if email else None)
                    user = make_user(email=f"tk{n}@example.vn", role=role, staff=staff, two_factor=False)
                    with app.app_context():
                        if not password:
                            db.session.get(User, user.id).password_hash = None
                        if locked:
                            db.session.add(LoginThrottle(email=user.email, failures=0,
                                                         locked_until=clock.now() + timedelta(minutes=10)))
                        db.session.commit()
                    people.append((staff.id, user.id, locked))
    for ways, user, staff, locked, status, now_open in each_way(make_app, slapd, people):
        said = (ways, user.role, staff.email, locked)
        if locked and now_open:
            assert status is AccountStatus.PASSWORD_PAUSED and now_open == {Way.PROVIDER}, said
        if locked and not now_open and account_status.ways_of(user, staff):
            assert status is AccountStatus.LOCKED, said


def test_wrong_codes_lock_the_code_step_and_the_roster_says_she_cannot_sign_in(make_app, provider, mai):
    """Mai turned two-factor sign-in on. Wrong codes lock her code step: her right password and her
    right code no longer sign her in, nor does the provider's button (it stops at the same code
    page) unless the provider asked her for a second factor itself. Every list says "Locked (wrong
    codes)" and counts her among those who cannot sign in; the administrator's Unlock lifts it,
    audited, and she gets in."""
    o, staff = mai
    app = make_app(COURSES_DIR=str(o.root), TWO_FACTOR_MAX_FAILURES=MAX_FAILURES,
                   **oidc_settings(provider.issuer))
    with app.app_context():
        user = db.session.query(User).filter_by(staff_id=staff.id).one()
    set_up_authenticator(app, user)
    assert_the_pages_say(what_the_pages_say(app, o, staff), AccountStatus.ACTIVE)
    assert CODES_LOCKED in wrong_codes(app, MAX_FAILURES)
    assert form(app, MAI.mail.lower(), TEST_PASSWORD) != "signed in"  # her right password, her right code
    assert not provider_lets_her_in(app)
    assert provider_lets_her_in(app, otp=True)  # the provider proved a second factor: no code asked

    said = what_the_pages_say(app, o, staff)
    assert_the_pages_say(said, AccountStatus.CODE_LOCKED)
    person = str(said["person"])
    assert f"bước nhập mã khi đăng nhập bị khóa đến {until()}" in person
    assert f"Nút “Đăng nhập bằng {LABEL}” chỉ bỏ qua bước nhập mã khi chính nhà cung cấp" in person
    assert "Mở khóa tài khoản" in person

    assert "Đã mở khóa tài khoản" in unlock(app, staff)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("%unlocked"))).all()
        assert [(e.action, e.target, e.details["staff_code"]) for e in events] == [
            ("second_factor.unlocked", MAI.mail.lower(), MAI.staff_code)]  # her passwords were not locked
    assert form(app, MAI.mail.lower(), TEST_PASSWORD) == "signed in"
    assert provider_lets_her_in(app)
    assert_the_pages_say(what_the_pages_say(app, o, staff), AccountStatus.ACTIVE)


def test_the_sql_and_the_python_rule_agree_on_locked_code_steps(slapd, make_app, app, make_staff, make_user):
    """Code-step locks: of an account with an active authenticator (it cannot sign in), of one whose
    authenticator is only being set up (no code is asked at sign-in: it can), with the password
    locked too or not, under every setting; SQL (status, count) and Python agree."""
    people = []
    for factor in ("active", "setting up"):
        for password_locked in (True, False):
            n = len(people)
            staff = make_staff(f"Người Khóa Mã {n}", email=f"khoama{n}@example.vn")
            user = make_user(email=f"khoama{n}@example.vn", staff=staff, two_factor=factor == "active")
            with app.app_context():
                if factor != "active":
                    secret = second_factor.encrypt("A" * 32)
                    db.session.add(SecondFactor(user_id=user.id, secret_encrypted=secret))
                until = clock.now() + timedelta(minutes=10)
                code_key = second_factor.code_lock_key(user)
                db.session.add(LoginThrottle(email=code_key, failures=0, locked_until=until))
                if password_locked:
                    db.session.add(LoginThrottle(email=user.email, failures=0, locked_until=until))
                db.session.commit()
            people.append((staff.id, user.id, factor == "active"))
    for ways, _user, _person, factor_active, status, _now_open in each_way(make_app, slapd, people):
        assert (status is AccountStatus.CODE_LOCKED) is factor_active, (ways, status)
