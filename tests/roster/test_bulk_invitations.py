"""Every person on the roster can train: invitations for everyone an import added, for a
filtered roster list, and each person's account status in the roster."""

from __future__ import annotations

import email
import email.policy
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mooc import clock, mail
from mooc.auth import tokens
from mooc.auth.models import AuditEvent, Role, User
from mooc.auth.tokens import AccountToken, TokenPurpose
from mooc.config import settings
from mooc.extensions import db
from mooc.roster import accounts
from mooc.roster.models import Staff, StaffStatus
from tests.conftest import TEST_PASSWORD, csrf_token, login
from tests.roster.helpers import csv_bytes


def outbox(app) -> list[email.message.EmailMessage]:
    assert mail.wait_for_background()
    folder = settings(app).instance_dir / "outbox"
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("*.eml"))] if folder.exists() else []


def recipients(app) -> list[str]:
    return sorted(message["To"].addresses[0].addr_spec for message in outbox(app))


def actions(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.execute(sa.select(AuditEvent.action)).scalars())


def post(client, path: str, page: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


@pytest.fixture
def roster(app, make_unit, make_staff, make_user):
    """Unit A (with section A1) and unit B. In A, one person of each kind:
    2 without an account (one in A1), 1 without an e-mail, 1 who can sign in, 1 invited with a
    live link, 1 invited with an expired link, 1 who left, 1 whose account is disabled. In B,
    one person without an account."""
    unit_a = make_unit("Thanh tra tỉnh A", code="A")
    section = make_unit("Phòng A1", parent=unit_a, code="A1")
    unit_b = make_unit("Thanh tra tỉnh B", code="B")
    people = {
        "new1": make_staff("Nguyễn Văn Một", unit=unit_a, email="mot@example.vn"),
        "new2": make_staff("Nguyễn Văn Hai", unit=section, email="hai@example.vn"),
        "no_email": make_staff("Trần Văn Không", unit=unit_a),
        "active": make_staff("Lê Thị Có", unit=unit_a, email="co@example.vn"),
        "invited": make_staff("Phạm Văn Mời", unit=unit_a, email="moi@example.vn"),
        "expired": make_staff("Phạm Văn Cũ", unit=unit_a, email="cu@example.vn"),
        "left": make_staff("Đỗ Văn Nghỉ", unit=unit_a, email="nghi@example.vn"),
        "disabled": make_staff("Vũ Văn Khóa", unit=unit_a, email="khoa@example.vn"),
        "other": make_staff("Hoàng Văn Khác", unit=unit_b, email="khac@example.vn"),
    }
    make_user(email="co@example.vn", staff=people["active"])
    make_user(email="khoa@example.vn", staff=people["disabled"], active=False)
    with app.app_context():
        db.session.get(Staff, people["left"].id).status = StaffStatus.LEFT
        for key, age in (("invited", timedelta(0)), ("expired", timedelta(days=8))):
            staff = db.session.get(Staff, people[key].id)
            user = User(email=staff.email, display_name=staff.full_name, staff_id=staff.id)
            db.session.add(user)
            db.session.flush()
            clock.set_now(clock.now() - age)
            tokens.issue(user, TokenPurpose.INVITE)
            clock.set_now(None)
        db.session.commit()
    return {"A": unit_a, "A1": section, "B": unit_b, **people}


def test_the_roster_shows_each_persons_account_status(client, auth, roster):
    auth.login(role=Role.ADMIN)
    page = client.get("/roster/", query_string={"unit": roster["A"].id}).get_data(as_text=True)
    rows = {name: row for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
            for name in re.findall(r'href="/roster/staff/\d+">([^<]+)</a>', row)}
    assert "Chưa có tài khoản" in rows["Nguyễn Văn Một"]
    assert "Đăng nhập được" in rows["Lê Thị Có"]
    assert "Đã mời" in rows["Phạm Văn Mời"]
    assert "Đã vô hiệu hóa" in rows["Vũ Văn Khóa"]


def test_a_person_without_an_email_says_why_no_invitation_is_possible(client, auth, roster):
    auth.login(role=Role.ADMIN)
    page = client.get(f"/roster/staff/{roster['no_email'].id}").get_data(as_text=True)
    assert "Không thể gửi lời mời: người này chưa có địa chỉ e-mail" in page
    assert "tệp của bộ phận tổ chức cán bộ" in page
    assert "Gửi lời mời" not in page


def test_invite_a_filtered_list_confirms_the_counts_then_invites(app, client, auth, roster):
    admin = auth.login(role=Role.ADMIN)
    query = {"unit": roster["A"].id}
    page = client.get("/roster/invite", query_string=query).get_data(as_text=True)
    assert "Số người trong danh sách: 8." in page
    # new1, new2 (in the sub-unit) and the expired invitation; the rest are skipped, with why.
    assert "3 người trong số đó có e-mail và chưa đăng nhập được" in page
    for line in ("chưa có địa chỉ e-mail: 1", "đã đăng nhập được: 1",
                 "đã được mời, đường dẫn vẫn còn hiệu lực: 1", "tài khoản bị vô hiệu hóa: 1", "đã nghỉ: 1"):
        assert line in page, line
    response = post(client, f"/roster/invite?unit={roster['A'].id}", f"/roster/invite?unit={roster['A'].id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/roster/?unit={roster['A'].id}"
    assert recipients(app) == ["cu@example.vn", "hai@example.vn", "mot@example.vn"]
    assert "Đã gửi lời mời: 3." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        events = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        sent = [event for event in events if event.action == "invitation.sent"]
        assert sorted(event.target for event in sent) == ["cu@example.vn", "hai@example.vn", "mot@example.vn"]
        assert all(event.actor_id == admin.id for event in sent)
        (summary,) = [event for event in events if event.action == "invitation.bulk"]
        assert summary.details["invited"] == 3
        assert summary.details["skipped"] == {"no_email": 1, "has_account": 1, "already_invited": 1,
                                              "account_disabled": 1, "staff_left": 1}
        # Unit B was not in the list.
        assert db.session.scalar(sa.select(User).where(User.email == "khac@example.vn")) is None
    # Done again: everybody left has a live link now, nobody is mailed twice.
    again = post(client, f"/roster/invite?unit={roster['A'].id}", "/roster/invite")
    assert "Hiện không có ai trong danh sách này có thể mời." in client.get(
        again.headers["Location"]).get_data(as_text=True)
    assert len(outbox(app)) == 3


def test_the_invitation_link_of_a_bulk_invite_works(app, client, auth, roster):
    auth.login(role=Role.ADMIN)
    post(client, "/roster/invite?q=nguyen+van+mot", "/roster/invite")
    (message,) = outbox(app)
    path = re.search(r"http://localhost(/invite/[A-Za-z0-9_-]+)", message.get_content()).group(1)
    visitor = app.test_client()
    done = post(visitor, path, path, new_password="mot cau mat khau moi", confirm="mot cau mat khau moi")
    assert done.headers["Location"] == "/login"
    assert login(app.test_client(), "mot@example.vn", "mot cau mat khau moi").status_code == 302


def test_a_training_officer_invites_only_inside_their_units(app, client, auth, make_user, roster):
    officer = auth.login(role=Role.OFFICER, scope_unit=roster["A1"])
    page = client.get("/roster/invite").get_data(as_text=True)
    assert "Số người trong danh sách: 1." in page  # A1 only, whatever the filter
    post(client, "/roster/invite", "/roster/invite")
    assert recipients(app) == ["hai@example.vn"]
    # The domain refuses a list with anyone outside, before writing anything.
    with app.test_request_context():
        actor = db.session.get(User, officer.id)
        outside = [db.session.get(Staff, roster["new2"].id), db.session.get(Staff, roster["other"].id)]
        with pytest.raises(accounts.AccountError) as refused:
            accounts.invite_many(outside, actor)
        assert refused.value.code == "out_of_scope"
        assert not db.session.new and not db.session.dirty


@pytest.mark.parametrize("role", [Role.TRAINEE, Role.MANAGER, Role.REPORTER])
def test_only_roster_managers_invite_lists(app, client, auth, roster, role):
    auth.login(role=role, scope_unit=roster["A"] if role.scoped else None)
    assert client.get("/roster/invite").status_code == 403
    token = csrf_token(client, "/courses/")
    assert client.post("/roster/invite", data={"csrf_token": token}).status_code == 403
    assert outbox(app) == []
    page = client.get("/roster/").get_data(as_text=True)
    assert "/roster/invite" not in page


def test_a_mail_server_down_from_the_start_writes_nothing(app, client, auth, roster, monkeypatch):
    auth.login(role=Role.ADMIN)

    def down(*args, **kwargs):
        raise mail.MailError("down")

    monkeypatch.setattr(mail, "send", down)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = post(client, f"/roster/invite?unit={roster['A'].id}", "/roster/invite")
    assert "Không gửi được e-mail" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before
    assert "invitation.sent" not in actions(app) and "invitation.bulk" not in actions(app)


def test_a_mail_server_failing_part_way_keeps_exactly_the_invitations_that_went_out(
        app, client, auth, roster, monkeypatch):
    auth.login(role=Role.ADMIN)
    real_send = mail.send
    calls = []

    def fails_second(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise mail.MailError("gone")
        return real_send(*args, **kwargs)

    monkeypatch.setattr(mail, "send", fails_second)
    response = post(client, f"/roster/invite?unit={roster['A'].id}", "/roster/invite")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã gửi lời mời: 1." in page and "2 người chưa được mời" in page
    assert len(calls) == 2  # sending stopped at the failure
    (sent,) = recipients(app)
    with app.app_context():
        invited = db.session.execute(
            sa.select(User.email).where(User.password_hash.is_(None))).scalars().all()
        # The one mailed has an account and a live link; the one whose mail failed has nothing.
        live = db.session.execute(sa.select(User.email).join(AccountToken, AccountToken.user_id == User.id)
                                  .where(AccountToken.used_at.is_(None),
                                         AccountToken.expires_at > clock.now())).scalars().all()
        assert sent in invited and sent in live
        failed = calls[1].split("<")[-1].rstrip(">")
        assert failed not in live
        summary = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "invitation.bulk"))
        assert (summary.details["invited"], summary.details["not_sent"]) == (1, 2)


def test_at_most_a_batch_at_a_time(app, roster):
    with app.app_context():
        people = db.session.execute(sa.select(Staff).where(Staff.unit_id == roster["A"].id)).scalars().all()
        plan = accounts.plan_invitations(people, limit=1)
        assert (plan.count, plan.later) == (1, 1)


UPLOAD = [["100001", "Ngô Văn Mới", "moi1@example.vn", "A", ""],
          ["100002", "Ngô Thị Mới", "moi2@example.vn", "A", ""],
          ["100003", "Ngô Văn Không Thư", "", "A", ""]]


def _apply(client, rows) -> str:
    token = csrf_token(client, "/roster/import")
    form = {"csrf_token": token, "file": (io.BytesIO(csv_bytes(rows)), "ds.csv")}
    uploaded = client.post("/roster/import", data=form, content_type="multipart/form-data")
    preview_url = uploaded.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page).group(1)
    mapping = dict(re.findall(r'name="(col_\d+)" value="(\w+)"', page))
    checksum = re.search(r"/roster/import/([0-9a-f]{64})", preview_url).group(1)
    applied = client.post(f"/roster/import/{checksum}", data={
        "csrf_token": csrf_token(client, preview_url), "fingerprint": fingerprint, "name": "ds.csv",
        **mapping})
    assert applied.status_code == 302
    return applied.headers["Location"]


def test_after_an_import_invite_the_new_people_with_an_email(app, client, auth, roster):
    auth.login(role=Role.ADMIN)
    # Nguyễn Văn Một is on the roster already (no account): the import moves them, it does not add them.
    moved = [roster["new1"].staff_code, "Nguyễn Văn Một", "mot@example.vn", "B", ""]
    detail_url = _apply(client, [*UPLOAD, moved])
    page = client.get(detail_url).get_data(as_text=True)
    # Two new people with an e-mail; the one without is counted apart.
    assert "Mời 2 người mới có e-mail" in page
    assert "chưa có địa chỉ e-mail: 1" in page
    import_id = int(detail_url.rsplit("/", 1)[1])
    response = post(client, f"/roster/imports/{import_id}/invite", detail_url)
    assert response.headers["Location"] == detail_url
    assert recipients(app) == ["moi1@example.vn", "moi2@example.vn"]
    assert actions(app).count("invitation.sent") == 2
    # The person already on the roster before the import (moved by it) was not invited.
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "mot@example.vn")) is None
    assert "Hiện không có ai trong số người được thêm" in client.get(detail_url).get_data(as_text=True)


def test_the_import_invitation_refused_for_a_manager(app, client, auth, make_user, roster):
    admin_client = app.test_client()
    admin = make_user(role=Role.ADMIN)
    assert login(admin_client, admin.email, TEST_PASSWORD).status_code == 302
    detail_url = _apply(admin_client, UPLOAD[:1])
    import_id = int(detail_url.rsplit("/", 1)[1])
    auth.login(role=Role.MANAGER, scope_unit=roster["A"])
    token = csrf_token(client, "/courses/")
    assert client.post(f"/roster/imports/{import_id}/invite", data={"csrf_token": token}).status_code == 403
    assert outbox(app) == []
