"""Administrators act on a person's account from the roster page: a reset link, unlock,
disable and re-enable, and a corrected e-mail. Audited; refused for everyone else."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from mooc.auth.models import AuditEvent, AuthSession, LoginThrottle, Role, User
from mooc.auth.tokens import AccountToken
from mooc.extensions import db
from mooc.roster import account_admin
from mooc.roster.accounts import AccountError
from mooc.roster.models import Staff, StaffStatus
from tests.conftest import TEST_PASSWORD, csrf_token, login
from tests.roster.test_bulk_invitations import outbox, post

NEW_PASSWORD = "mot cau mat khau moi"


@pytest.fixture
def person(app, make_unit, make_staff, make_user):
    staff = make_staff("Nguyễn Văn Đức", unit=make_unit(code="HN"), email="duc@example.vn")
    user = make_user(email="duc@example.vn", name="Nguyễn Văn Đức", staff=staff)
    return staff, user


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


def _act(client, staff, action: str):
    return post(client, f"/roster/staff/{staff.id}/account/{action}", f"/roster/staff/{staff.id}")


def _flash(client, response) -> str:
    """The page after the action, as read (a long address in a flash may break: its <wbr>s out)."""
    return client.get(response.headers["Location"]).get_data(as_text=True).replace("<wbr>", "")


def test_an_administrator_sends_a_reset_link(app, client, auth, person):
    staff, user = person
    admin = auth.login(role=Role.ADMIN)
    response = _act(client, staff, "reset")
    assert "Đã gửi đường dẫn đặt mật khẩu mới đến duc@example.vn" in _flash(client, response)
    (message,) = outbox(app)
    assert message["To"].addresses[0].addr_spec == "duc@example.vn"
    path = re.search(r"http://localhost(/reset/[A-Za-z0-9_-]+)", message.get_content()).group(1)
    visitor = app.test_client()
    assert post(visitor, path, path, new_password=NEW_PASSWORD, confirm=NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), "duc@example.vn", NEW_PASSWORD).status_code == 302
    (event,) = _audit(app, "password.reset_link_sent")
    assert (event.actor_id, event.target) == (admin.id, "duc@example.vn")


def test_a_locked_account_is_unlocked_by_an_administrator(make_app, make_user, person):
    staff, user = person
    app = make_app(LOGIN_MAX_FAILURES=3, LOGIN_LOCK_MINUTES=15)
    trainee = app.test_client()
    for _ in range(3):
        page = login(trainee, "duc@example.vn", "sai mat khau").get_data(as_text=True)
    # The message's advice is true: an administrator can unlock the account.
    assert "đề nghị quản trị viên mở khóa tài khoản" in page
    assert "đề nghị quản trị viên mở khóa" in login(trainee, "duc@example.vn").get_data(as_text=True)
    admin_client = app.test_client()
    admin = make_user(role=Role.ADMIN)
    login(admin_client, admin.email)
    person_page = admin_client.get(f"/roster/staff/{staff.id}").get_data(as_text=True)
    assert "Đang bị khóa" in person_page and "Mở khóa tài khoản" in person_page
    response = _act(admin_client, staff, "unlock")
    assert "Đã mở khóa tài khoản duc@example.vn" in _flash(admin_client, response)
    assert login(trainee, "duc@example.vn", TEST_PASSWORD).status_code == 302
    with app.app_context():
        assert db.session.get(LoginThrottle, "duc@example.vn") is None
    (event,) = _audit(app, "account.unlocked")
    assert event.actor_id == admin.id
    # Not locked any more: unlocking again is refused, and says so.
    assert "không bị khóa" in _flash(admin_client, _act(admin_client, staff, "unlock"))


def test_a_lock_of_the_network_only_does_not_send_people_to_an_administrator(make_app, make_user):
    app = make_app(LOGIN_ADDRESS_MAX_FAILURES=3, LOGIN_MAX_FAILURES=10)
    client = app.test_client()
    for n in range(3):
        page = login(client, f"khac{n}@example.vn", "sai mat khau").get_data(as_text=True)
    assert "Quá nhiều lần đăng nhập sai từ mạng này" in page
    assert "quản trị viên" not in page.split("Quá nhiều lần đăng nhập sai")[1][:200]


def test_disable_ends_the_sessions_and_enable_lets_the_person_back(app, client, auth, person):
    staff, user = person
    trainee = app.test_client()
    assert login(trainee, "duc@example.vn").status_code == 302
    admin = auth.login(role=Role.ADMIN)
    response = _act(client, staff, "disable")
    assert "Đã vô hiệu hóa tài khoản duc@example.vn" in _flash(client, response)
    assert trainee.get("/").status_code == 302  # signed out at once
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuthSession).where(
            AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))) == 0
    assert login(app.test_client(), "duc@example.vn").status_code == 200  # refused
    assert "Đã vô hiệu hóa" in client.get(f"/roster/staff/{staff.id}").get_data(as_text=True)
    response = _act(client, staff, "enable")
    assert "đã có thể đăng nhập lại" in _flash(client, response)
    assert login(app.test_client(), "duc@example.vn").status_code == 302
    assert [event.actor_id for event in _audit(app, "account.disabled")] == [admin.id]
    assert [event.actor_id for event in _audit(app, "account.enabled")] == [admin.id]


def test_an_administrator_cannot_disable_themselves(app, client, auth, make_unit, make_staff, make_user):
    staff = make_staff("Quản Trị Viên", unit=make_unit(code="BO"), email="qt@example.vn")
    auth.login(make_user(email="qt@example.vn", role=Role.ADMIN, staff=staff))
    assert "Vô hiệu hóa tài khoản" not in client.get(f"/roster/staff/{staff.id}").get_data(as_text=True)
    response = _act(client, staff, "disable")
    assert "không thể vô hiệu hóa tài khoản của chính mình" in _flash(client, response)
    with app.app_context():
        assert db.session.scalar(sa.select(User.active).where(User.email == "qt@example.vn")) is True
    assert _audit(app, "account.disabled") == []


def test_the_last_active_administrator_cannot_be_disabled(app, make_unit, make_staff, make_user):
    staff = make_staff("Quản Trị Cuối", unit=make_unit(code="BO"), email="cuoi@example.vn")
    make_user(email="cuoi@example.vn", role=Role.ADMIN, staff=staff)
    with app.test_request_context():
        # An actor allowed to manage accounts who is not an active administrator in the database
        # (a role that may come): the target is the only active administrator left.
        actor = User(id=999_999, email="ngoai@example.vn", display_name="Ngoài", role=Role.ADMIN, active=True)
        with pytest.raises(AccountError) as refused:
            account_admin.disable(actor, db.session.get(Staff, staff.id))
        assert refused.value.code == "last_admin"


def test_enable_is_refused_for_someone_who_left(app, client, auth, person):
    staff, user = person
    with app.app_context():
        db.session.get(Staff, staff.id).status = StaffStatus.LEFT
        db.session.get(User, user.id).active = False
        db.session.commit()
    auth.login(role=Role.ADMIN)
    assert "đã nghỉ" in _flash(client, _act(client, staff, "enable"))
    with app.app_context():
        assert db.session.get(User, user.id).active is False


def test_an_administrator_corrects_the_email_of_the_person_and_the_account(app, client, auth, person,
                                                                           make_user):
    staff, user = person
    admin = auth.login(role=Role.ADMIN)
    page = client.get(f"/roster/staff/{staff.id}").get_data(as_text=True)
    assert "Lần nhập danh sách tiếp theo có thể ghi đè" in page  # the import may overwrite it
    _act(client, staff, "reset")  # a link went to the old address
    response = post(client, f"/roster/staff/{staff.id}/email", f"/roster/staff/{staff.id}",
                    email="  Duc.Nguyen@Example.VN ")
    assert "E-mail đã đổi thành duc.nguyen@example.vn" in _flash(client, response)
    with app.app_context():
        assert db.session.get(Staff, staff.id).email == "duc.nguyen@example.vn"
        assert db.session.get(User, user.id).email == "duc.nguyen@example.vn"
        # The link in the old mailbox no longer opens the account.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountToken).where(
            AccountToken.used_at.is_(None))) == 0
    assert login(app.test_client(), "duc.nguyen@example.vn").status_code == 302
    (event,) = _audit(app, "account.email_changed")
    assert (event.actor_id, event.target, event.details["previous"]) == (
        admin.id, "duc.nguyen@example.vn", "duc@example.vn")
    # Another account's address, or not an address: refused, nothing changes.
    make_user(email="khac@example.vn")
    for value, said in (("khac@example.vn", "đã dùng địa chỉ e-mail này"),
                        ("khong-phai-email", "không phải là địa chỉ e-mail hợp lệ")):
        response = post(client, f"/roster/staff/{staff.id}/email", f"/roster/staff/{staff.id}", email=value)
        assert said in _flash(client, response)
    with app.app_context():
        assert db.session.get(Staff, staff.id).email == "duc.nguyen@example.vn"


def test_an_email_for_someone_without_an_account_makes_them_invitable(app, client, auth, make_unit,
                                                                      make_staff):
    staff = make_staff("Trần Văn Không", unit=make_unit(code="HN"))
    auth.login(role=Role.ADMIN)
    assert "chưa có địa chỉ e-mail" in client.get(f"/roster/staff/{staff.id}").get_data(as_text=True)
    post(client, f"/roster/staff/{staff.id}/email", f"/roster/staff/{staff.id}", email="khong@example.vn")
    page = client.get(f"/roster/staff/{staff.id}").get_data(as_text=True)
    assert "Gửi lời mời" in page and "khong@example.vn" in page


@pytest.mark.parametrize("role", [Role.TRAINEE, Role.MANAGER, Role.OFFICER, Role.REPORTER])
def test_only_administrators_act_on_accounts(app, client, auth, person, make_unit, role):
    staff, user = person
    auth.login(role=role, scope_unit=db_unit(app, staff) if role.scoped else None)
    token = csrf_token(client, "/courses/")
    for action in ("reset", "unlock", "disable", "enable"):
        response = client.post(f"/roster/staff/{staff.id}/account/{action}", data={"csrf_token": token})
        assert response.status_code == 403, action
    response = client.post(f"/roster/staff/{staff.id}/email",
                           data={"csrf_token": token, "email": "x@example.vn"})
    assert response.status_code == 403
    if role.scoped:  # sees the person, not the buttons
        page = client.get(f"/roster/staff/{staff.id}").get_data(as_text=True)
        assert "Vô hiệu hóa tài khoản" not in page and "Lưu e-mail" not in page
    with app.app_context():
        account = db.session.get(User, user.id)
        assert (account.active, account.email) == (True, "duc@example.vn")
    assert outbox(app) == []


def db_unit(app, staff):
    from mooc.roster.models import OrgUnit

    with app.app_context():
        unit = db.session.get(OrgUnit, staff.unit_id)
        db.session.expunge(unit)
        return unit


def test_an_administrator_scoped_out_cannot_reach_the_person(app, make_unit, make_staff, make_user):
    """The domain checks the scope too (views answer 404 first): a scoped actor outside."""
    staff = make_staff("Lý Văn Xa", unit=make_unit(code="XA"), email="xa@example.vn")
    make_user(email="xa@example.vn", staff=staff)
    other = make_unit(code="GAN")
    with app.test_request_context():
        actor = User(id=999_998, email="o@example.vn", display_name="O", role=Role.OFFICER,
                     scope_unit_id=other.id, active=True)
        for act in (account_admin.unlock, account_admin.disable, account_admin.enable,
                    account_admin.send_reset_link):
            with pytest.raises(AccountError):
                act(actor, db.session.get(Staff, staff.id))


def test_an_unknown_account_action_is_not_found(client, auth, person):
    staff, _user = person
    auth.login(role=Role.ADMIN)
    assert _act(client, staff, "delete").status_code == 404
