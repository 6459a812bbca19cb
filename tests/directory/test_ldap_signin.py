"""Signing in on the sign-in page through a real OpenLDAP server (tests/directory/slapd.py):
the directory checks the password, the roster decides who comes in, local passwords stay for
the roles allowed to keep them, the throttle counts directory failures too, a role that reads
others' records is asked for its second factor, and the retention purge forgets the user name."""

from __future__ import annotations

import csv
import io
import socket
import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent, DirectoryName, LoginThrottle, Role, User
from mooc.extensions import db
from mooc.privacy import export
from mooc.roster import importer
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from tests.conftest import TEST_PASSWORD, answer_code, csrf_token, enrol, login
from tests.directory.slapd import DUNG, HA, MAI, NAM, free_port
from tests.privacy.scan import traces_of
from tests.roster.helpers import csv_bytes

WRONG = "Sai tên đăng nhập, e-mail hoặc mật khẩu."
NOT_ON_ROSTER = "bạn không có trong danh sách cán bộ"
LEFT = "danh sách cán bộ ghi bạn đã nghỉ việc"
LOCKED = "Quá nhiều lần đăng nhập sai"
ADMIN_EMAIL = "quan.tri@thanhtra.gov.vn"


@pytest.fixture
def roster(app, make_unit, make_staff, make_user):
    """The roster of the directory's inspectorate: Mai (a trainee with an old local password),
    Dũng, Hà (left), and a local administrator who is not in the directory. Nam is in the
    directory only."""
    unit = make_unit("Thanh tra tỉnh Ninh Bình", code="NB")
    people = {}
    for person in (MAI, DUNG, HA):
        staff = make_staff(person.cn, unit=unit, email=person.mail, staff_code=person.staff_code)
        people[person.uid] = make_user(email=person.mail.lower(), name=person.cn, staff=staff)
    with_status(app, HA, StaffStatus.LEFT)
    people["admin"] = make_user(email=ADMIN_EMAIL, role=Role.ADMIN, name="Quản Trị Viên")
    return people


def with_status(app, person, status):
    with app.app_context():
        db.session.execute(sa.update(Staff).where(Staff.staff_code == person.staff_code)
                           .values(status=status))
        db.session.commit()


@pytest.fixture
def directory_app(make_app, slapd):
    def factory(tls: str = "starttls", **more):
        return make_app(**slapd.settings(tls, **more))
    return factory


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return list(rows)


def signed_in_as(client) -> str | None:
    home = client.get("/")
    return home.get_data(as_text=True) if home.status_code == 200 else None


@pytest.mark.parametrize("tls", ["starttls", "ldaps"])
def test_the_right_directory_password_signs_in_and_lands_on_home(directory_app, roster, tls):
    app = directory_app(tls)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Tên đăng nhập hoặc e-mail" in page and 'type="text"' in page
    response = login(client, "mai.tran", MAI.password)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Trần Thị Mai" in (signed_in_as(client) or "")
    succeeded = events(app, "login.succeeded")
    assert [(e.target, e.details["method"]) for e in succeeded] == [("mai.tran@thanhtra.gov.vn", "ldap")]
    with app.app_context():
        assert db.session.get(User, roster["mai.tran"].id).last_login_at is not None


def test_the_directory_email_works_as_the_user_name(directory_app, roster):
    client = directory_app().test_client()
    assert login(client, "MAI.TRAN@thanhtra.gov.vn", MAI.password, next="/courses/").headers["Location"] \
        == "/courses/"


@pytest.mark.parametrize("typed, password, reason, counted", [
    ("mai.tran", "not her password", "directory_wrong_password", MAI.mail.lower()),  # her account
    ("khong.co.ai", MAI.password, "directory_unknown_user", "khong.co.ai"),  # what was typed
])
def test_a_wrong_password_or_an_unknown_user_is_refused_alike(directory_app, roster, typed, password, reason,
                                                              counted):
    app = directory_app()
    client = app.test_client()
    response = login(client, typed, password)
    assert response.status_code == 200 and WRONG in response.get_data(as_text=True)
    assert signed_in_as(client) is None
    assert [e.details["reason"] for e in events(app, "login.failed")] == [reason]
    with app.app_context():
        assert db.session.get(LoginThrottle, counted).failures == 1


@pytest.mark.parametrize("person, says, reason", [
    (NAM, NOT_ON_ROSTER, "roster_unknown"),  # in the directory, not on the roster
    (HA, LEFT, "roster_left"),               # on the roster, left
])
def test_a_directory_account_without_an_active_roster_entry_is_told_why(directory_app, roster, person, says,
                                                                        reason):
    app = directory_app()
    client = app.test_client()
    response = login(client, person.uid, person.password)
    assert response.status_code == 200 and says in response.get_data(as_text=True)
    assert signed_in_as(client) is None
    assert [e.details["reason"] for e in events(app, "login.failed")] == [reason]
    with app.app_context():  # the password was right: nothing is counted
        assert db.session.get(LoginThrottle, person.uid) is None


def test_matching_by_email_when_the_directory_has_no_staff_codes(directory_app, roster):
    app = directory_app(LDAP_MATCH_BY="email", LDAP_STAFF_CODE_ATTRIBUTE="departmentNumber")
    assert login(app.test_client(), "dung.nguyen", DUNG.password).status_code == 302


def test_a_person_whose_roster_entry_leaves_loses_access_on_the_next_request(directory_app, roster):
    app = directory_app()
    client = app.test_client()
    assert login(client, "mai.tran", MAI.password).status_code == 302
    assert signed_in_as(client) is not None
    # HR's next full roster: Mai is no longer on it, so she is marked as left and her account disabled.
    rows = [[DUNG.staff_code, DUNG.cn, DUNG.mail, "NB", ""]]
    with app.app_context():
        plan = importer.plan_import(importer.open_sheet(csv_bytes(rows)), full=True)
        importer.apply_plan(plan, source="test", confirmed=True)
        db.session.commit()
        assert db.session.scalar(sa.select(Staff.status).where(Staff.staff_code == MAI.staff_code)) \
            == StaffStatus.LEFT
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].startswith("/login")
    again = login(client, "mai.tran", MAI.password)
    assert again.status_code == 200 and LEFT in again.get_data(as_text=True)


def test_local_passwords_for_the_allowed_roles_only(directory_app, roster):
    app = directory_app(LOCAL_PASSWORD_ROLES="admin")
    # The administrator, who is not in the directory, signs in with the local password.
    admin = app.test_client()
    assert login(admin, ADMIN_EMAIL, TEST_PASSWORD).status_code == 302
    assert signed_in_as(admin) is not None
    # A trainee's old local password is not taken any more; the directory's is.
    trainee = app.test_client()
    refused = login(trainee, MAI.mail, TEST_PASSWORD)
    assert refused.status_code == 200 and WRONG in refused.get_data(as_text=True)
    assert signed_in_as(trainee) is None
    assert login(trainee, MAI.mail, MAI.password).status_code == 302
    assert [(e.target, e.details["method"]) for e in events(app, "login.succeeded")] == [
        (ADMIN_EMAIL, "password"), ("mai.tran@thanhtra.gov.vn", "ldap")]
    assert [e.details["reason"] for e in events(app, "login.failed")] == ["local_password_not_allowed"]


def test_every_role_keeps_its_local_password_by_default(directory_app, roster):
    app = directory_app()
    assert login(app.test_client(), MAI.mail, TEST_PASSWORD).status_code == 302
    assert events(app, "login.succeeded")[0].details["method"] == "password"


def test_a_directory_that_is_down_refuses_without_counting_and_the_administrator_still_gets_in(
        make_app, slapd, roster):
    app = make_app(**slapd.settings(LDAP_URL=f"ldap://127.0.0.1:{free_port()}", LOCAL_PASSWORD_ROLES="admin"))
    client = app.test_client()
    response = login(client, "mai.tran", MAI.password)
    assert response.status_code == 200
    assert "Hiện không kết nối được hệ thống thư mục" in response.get_data(as_text=True)
    assert [e.details["reason"] for e in events(app, "login.failed")] == ["directory_unavailable"]
    with app.app_context():
        assert db.session.get(LoginThrottle, "mai.tran") is None
    assert login(client, ADMIN_EMAIL, TEST_PASSWORD).status_code == 302


def test_a_directory_that_is_down_does_not_lift_the_throttle_on_local_passwords(make_app, slapd, roster):
    app = make_app(**slapd.settings(LDAP_URL=f"ldap://127.0.0.1:{free_port()}", LOCAL_PASSWORD_ROLES="admin",
                                    LOGIN_MAX_FAILURES=2))
    client = app.test_client()
    assert "Hiện không kết nối được" in login(client, ADMIN_EMAIL, "guess-1").get_data(as_text=True)
    assert LOCKED in login(client, ADMIN_EMAIL, "guess-2").get_data(as_text=True)
    assert LOCKED in login(client, ADMIN_EMAIL, TEST_PASSWORD).get_data(as_text=True)
    # A trainee's local password cannot let anyone in: an outage does not count against them.
    for _ in range(3):
        login(client, MAI.mail, "guess")
    with app.app_context():
        assert db.session.get(LoginThrottle, MAI.mail.lower()) is None


def test_throttling_counts_directory_failures(directory_app, roster):
    app = directory_app(LOGIN_MAX_FAILURES=3, LOGIN_LOCK_MINUTES=10)
    client = app.test_client()
    start = clock.now()
    clock.set_now(start)
    for _ in range(2):
        assert WRONG in login(client, "mai.tran", "guess").get_data(as_text=True)
    assert LOCKED in login(client, "mai.tran", "guess").get_data(as_text=True)
    # Locked: the right directory password is refused too, and not tried at the directory.
    locked = login(client, "mai.tran", MAI.password)
    assert locked.status_code == 200 and LOCKED in locked.get_data(as_text=True)
    assert [e.details["reason"] for e in events(app, "login.failed")][-1] == "locked"
    clock.set_now(start + timedelta(minutes=11))
    assert login(client, "mai.tran", MAI.password).status_code == 302
    with app.app_context():
        assert db.session.get(LoginThrottle, MAI.mail.lower()) is None  # a success starts the count again


def test_the_client_address_limit_counts_directory_failures_over_many_user_names(directory_app, roster):
    app = directory_app(LOGIN_ADDRESS_MAX_FAILURES=3, LOGIN_MAX_FAILURES=50)
    client = app.test_client()
    for name in ("mai.tran", "dung.nguyen"):
        assert WRONG in login(client, name, "Matkhau@2026").get_data(as_text=True)
    assert LOCKED in login(client, "nobody", "Matkhau@2026").get_data(as_text=True)
    # The whole address is locked now: the right password of another person is refused too.
    assert LOCKED in login(client, "dung.nguyen", DUNG.password).get_data(as_text=True)


def test_the_directory_is_asked_outside_the_request_transaction(make_app, slapd, roster, database_url):
    """On SQLite a POST's transaction holds the one write lock: while the directory answers
    (seconds, when it is slow), others must be able to write. This "directory" is a socket that
    writes to the database, with no waiting, when the sign-in connects to it, then hangs up."""
    engine = sa.create_engine(database_url, connect_args={"timeout": 0} if database_url.startswith("sqlite")
                              else {})
    outcome: list[str] = []

    def directory_that_writes(listener: socket.socket) -> None:
        connection, _ = listener.accept()
        try:
            with engine.begin() as other:
                other.execute(sa.update(User).where(User.email == ADMIN_EMAIL).values(display_name="Đã ghi"))
            outcome.append("written")
        except sa.exc.OperationalError as error:
            outcome.append(str(error.orig))
        finally:
            connection.close()

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        thread = threading.Thread(target=directory_that_writes, args=(listener,))
        thread.start()
        app = make_app(**slapd.settings(LDAP_URL=f"ldap://127.0.0.1:{listener.getsockname()[1]}"))
        response = login(app.test_client(), "mai.tran", MAI.password)
        thread.join(timeout=30)
    engine.dispose()
    assert outcome == ["written"]
    assert "Hiện không kết nối được hệ thống thư mục" in response.get_data(as_text=True)


def _manager_with_a_code(app, dung, make_unit):
    """Dũng made a unit's manager, with an authenticator set up (his role asks for its code)."""
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == dung.id)
                           .values(role=Role.MANAGER, scope_unit_id=make_unit().id))
        db.session.commit()
    enrol(app, dung)
    return dung


def test_a_privileged_role_signing_in_through_the_directory_is_asked_for_its_code(directory_app, roster,
                                                                                    make_unit):
    """Dũng manages a unit: after the directory's password comes his authenticator's code."""
    app = directory_app()
    dung = _manager_with_a_code(app, roster["dung.nguyen"], make_unit)
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": csrf_token(client), "email": "dung.nguyen",
                                           "password": DUNG.password})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/code")
    assert signed_in_as(client) is None  # the password alone is no session
    assert [(e.target, e.details) for e in events(app, "login.second_factor_asked")] == [
        (dung.email, {"method": "ldap", "login": "dung.nguyen"})]
    assert answer_code(client, dung.email).status_code == 302
    assert "Nguyễn Tiến Dũng" in (signed_in_as(client) or "")
    assert [(e.target, e.details["method"], e.details["second_factor"])
            for e in events(app, "login.succeeded")] == [(dung.email, "ldap", "totp")]


def test_the_purge_forgets_the_user_name_a_person_who_left_signed_in_with(directory_app, roster):
    """Mai signs in as ``mai.tran`` (after a wrong password), leaves, is refused by the roster
    with her right password and tries a wrong one again. Five years on, the purge leaves no
    ``mai.tran`` anywhere: not in the failures' audit events, not in the sign-in counts (kept
    under her account's address, whatever name was typed)."""
    app = directory_app()
    assert WRONG in login(app.test_client(), "mai.tran", "sai mat khau").get_data(as_text=True)
    assert login(app.test_client(), "mai.tran", MAI.password).status_code == 302
    with app.app_context():
        staff = db.session.scalar(sa.select(Staff).where(Staff.staff_code == MAI.staff_code))
        staff.status, staff.left_on = StaffStatus.LEFT, date(2019, 6, 30)
        staff_id = staff.id
        db.session.commit()
    assert LEFT in login(app.test_client(), "mai.tran", MAI.password).get_data(as_text=True)
    assert WRONG in login(app.test_client(), "mai.tran", "sai lan nua").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(LoginThrottle, MAI.mail.lower()) is not None
        assert {table for table, _c, _n in traces_of({"mai.tran"})} >= {"audit_events"}
    result = app.test_cli_runner().invoke(args=["privacy", "purge"])
    assert "Pseudonymised 1 people" in result.output, result.output
    with app.app_context():
        assert traces_of({"mai.tran", MAI.cn, MAI.staff_code}) == []
        assert db.session.get(LoginThrottle, MAI.mail.lower()) is None
        pseudonym = db.session.scalar(sa.select(Staff.staff_code).where(Staff.id == staff_id))
    refused = [e.target for e in events(app, "login.failed")]
    assert refused == [pseudonym] * 3  # wrong password, left, wrong password


def test_the_data_export_holds_the_failed_sign_ins_typed_under_her_directory_user_name(directory_app, roster):
    """Mai types her directory user name ``mai.tran`` with a wrong password, then signs in with
    it: the directory ties the user name to her. Her export (her own download, and the one an
    administrator makes on her written request) holds that failure, as the retention purge
    would rewrite it; Hà's failure under ``ha.pham`` and a user name nobody has are not hers."""
    app = directory_app()
    assert WRONG in login(app.test_client(), "mai.tran", "sai mat khau").get_data(as_text=True)
    assert WRONG in login(app.test_client(), "ha.pham", "sai mat khau").get_data(as_text=True)
    assert WRONG in login(app.test_client(), "mai.tra", MAI.password).get_data(as_text=True)
    client = app.test_client()
    assert login(client, "mai.tran", MAI.password).status_code == 302
    response = client.get("/account/data.json")
    assert response.status_code == 200
    failed = [(event["target"], event["details"]["reason"])
              for event in response.get_json()["audit_events"] if event["action"] == "login.failed"]
    assert failed == [("mai.tran", "directory_wrong_password")]
    with app.app_context():
        for person, typed in ((MAI, ["mai.tran"]), (HA, [])):
            staff = db.session.scalar(sa.select(Staff).where(Staff.staff_code == person.staff_code))
            events_of = export.gather(export.subject_of_staff(staff))["audit_events"]
            assert [event["target"] for event in events_of if event["action"] == "login.failed"] == typed


BY_EMAIL = {"LDAP_MATCH_BY": "email", "LDAP_STAFF_CODE_ATTRIBUTE": "departmentNumber"}


@pytest.mark.parametrize("match_by", [{}, BY_EMAIL], ids=["by staff code", "by e-mail"])
def test_each_province_manager_reads_the_directory_sign_ins_of_their_people(directory_app, roster, make_unit,
                                                                            make_user, match_by):
    """Mai signs in as ``mai.tran`` after a wrong password; Hà, who left, types ``ha.pham`` with
    her right password and is refused by the roster (she never signed in); Dũng, of another
    province, does as Mai did; ``khong.ai`` is only ever typed wrong. Ninh Bình's manager reads
    the refusals under Mai's and Hà's user names, not Dũng's; Hà Nam's reads Dũng's only; the
    administrator finds each person's by their staff code or address."""
    app = directory_app(**match_by)
    with app.app_context():
        ninh_binh = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "NB"))
        db.session.expunge(ninh_binh)
    ha_nam = make_unit("Thanh tra tỉnh Hà Nam", code="HNA")
    with app.app_context():
        db.session.execute(sa.update(Staff).where(Staff.staff_code == DUNG.staff_code)
                           .values(unit_id=ha_nam.id))
        db.session.commit()
    for person in (MAI, DUNG):
        assert WRONG in login(app.test_client(), person.uid, "sai mat khau").get_data(as_text=True)
        assert login(app.test_client(), person.uid, person.password).status_code == 302
    assert LEFT in login(app.test_client(), HA.uid, HA.password).get_data(as_text=True)
    assert WRONG in login(app.test_client(), "khong.ai", "sai mat khau").get_data(as_text=True)

    def refused(reader, query: str = "") -> set[str]:
        client = app.test_client()
        assert login(client, reader.email).status_code == 302
        response = client.get(f"/admin/audit?export=csv&action=login.failed{query}")
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        return {row[3] for row in rows[1:]}

    ours = make_user(role=Role.MANAGER, scope_unit=ninh_binh, email="chanh.ninhbinh@thanhtra.gov.vn")
    theirs = make_user(role=Role.MANAGER, scope_unit=ha_nam, email="chanh.hanam@thanhtra.gov.vn")
    assert refused(ours) == {"mai.tran", "ha.pham"}
    assert refused(theirs) == {"dung.nguyen"}
    admin = roster["admin"]
    assert "khong.ai" in refused(admin)
    assert refused(admin, f"&person={MAI.staff_code}") == {"mai.tran"}
    assert refused(admin, f"&person={HA.mail.upper()}") == {"ha.pham"}


@pytest.mark.parametrize("match_by", [{}, BY_EMAIL], ids=["by staff code", "by e-mail"])
def test_the_user_names_the_directory_vouched_for_are_kept_at_sign_in(directory_app, roster, make_unit,
                                                                       match_by):
    """``directory_names`` (what the audit log reads): Mai's ``mai.tran`` is her account's once she
    signs in with it (twice: kept once); Hà (left) and Nam (not on the roster) are refused with
    their right password: their user names are tied to whom the directory named, by staff code
    or address as the roster was searched; Dũng's is his account's when his code is asked. A
    wrong password, a user name nobody has, and Mai's address typed as her user name tie
    nothing."""
    app = directory_app(**match_by)
    dung = _manager_with_a_code(app, roster["dung.nguyen"], make_unit)
    assert WRONG in login(app.test_client(), "mai.tran", "sai mat khau").get_data(as_text=True)
    assert WRONG in login(app.test_client(), "khong.ai", MAI.password).get_data(as_text=True)
    for typed in ("mai.tran", "Mai.Tran", MAI.mail):
        assert login(app.test_client(), typed, MAI.password).status_code == 302
    assert LEFT in login(app.test_client(), HA.uid, HA.password).get_data(as_text=True)
    assert NOT_ON_ROSTER in login(app.test_client(), NAM.uid, NAM.password).get_data(as_text=True)
    client = app.test_client()
    client.post("/login", data={"csrf_token": csrf_token(client), "email": "dung.nguyen",
                                "password": DUNG.password})
    with app.app_context():
        kept = {(row.name, row.user_id, row.person) for row in db.session.scalars(sa.select(DirectoryName))}
    named = {person.uid: person.staff_code if not match_by else person.mail.lower() for person in (HA, NAM)}
    assert kept == {("mai.tran", roster["mai.tran"].id, None), ("ha.pham", None, named["ha.pham"]),
                    ("nam.le", None, named["nam.le"]), ("dung.nguyen", dung.id, None)}
