"""A unit merge shows what it will do first (people, sub-units, managers' and officers'
scopes, the rules that name the unit), moves the scopes with the unit, and counts right."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mooc.auth.models import AuditEvent, Role, User
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from tests.conftest import csrf_token, login
from tests.training.conftest import make_course, org, person  # noqa: F401  (fixtures)
from tests.training.test_assign import make_rule


def _count(text: str, label: str) -> int:
    match = re.search(re.escape(label) + r"[^<]*: <strong>([\d.]+)</strong>", text)
    assert match, f"no count for {label!r}"
    return int(match.group(1).replace(".", ""))


def _setup(org, person, make_user, make_unit):  # noqa: F811
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị Ở Phòng")
    gone, _ = person(o.section_a, o.inspector, "Lê Văn Đã Nghỉ")
    sub = make_unit("Tổ 1", parent=o.section_a, code="NB-1-T1")
    person(sub, o.inspector, "Lê Văn Ở Tổ")
    manager = make_user(email="ql@example.vn", role=Role.MANAGER, scope_unit=o.section_a,
                        name="Quản Lý Phòng")
    officer = make_user(email="cb@example.vn", role=Role.OFFICER, scope_unit=o.section_a,
                        name="Cán Bộ Đào Tạo")
    other_manager = make_user(email="ql2@example.vn", role=Role.MANAGER, scope_unit=o.section_b)
    with app.app_context():
        db.session.get(Staff, gone.id).status = StaffStatus.LEFT
        make_rule(o, [o.section_a])
        db.session.commit()
    admin = make_user(email="qt@example.vn", role=Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    return client, a, sub, manager, officer, other_manager


def test_the_merge_shows_what_moves_and_changes_nothing_until_confirmed(org, person, make_user,  # noqa: F811
                                                                         make_unit):
    app, o = org
    client, a, sub, manager, officer, _other = _setup(org, person, make_user, make_unit)
    token = csrf_token(client, f"/roster/units/{o.section_a.id}")
    page = client.post(f"/roster/units/{o.section_a.id}/merge",
                       data={"csrf_token": token, "merge-target": str(o.section_b.id)})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert _count(text, "Số người chuyển đi") == 1  # the one who left is not counted as moving
    assert _count(text, "Số đơn vị trực thuộc chuyển theo") == 1
    assert _count(text, "Số quản lý và cán bộ đào tạo chuyển phạm vi") == 2
    assert _count(text, "Số quy tắc giao khóa học nêu tên đơn vị này") == 1
    assert "Lê Thị Ở Phòng" in text and "Tổ 1" in text and "Quản Lý Phòng" in text
    assert "Luật Thanh tra 2025" in text
    with app.app_context():
        assert db.session.get(OrgUnit, o.section_a.id).active
        assert db.session.get(User, manager.id).scope_unit_id == o.section_a.id


def test_merging_moves_the_scopes_of_its_managers_and_officers(org, person, make_user, make_unit):  # noqa: F811
    app, o = org
    client, a, sub, manager, officer, other = _setup(org, person, make_user, make_unit)
    token = csrf_token(client, f"/roster/units/{o.section_a.id}")
    done = client.post(f"/roster/units/{o.section_a.id}/merge",
                       data={"csrf_token": token, "merge-target": str(o.section_b.id), "merge-confirm": "y"})
    assert done.status_code == 302
    flashed = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 người đã được chuyển sang" in flashed
    with app.app_context():
        assert db.session.get(User, manager.id).scope_unit_id == o.section_b.id
        assert db.session.get(User, officer.id).scope_unit_id == o.section_b.id
        assert db.session.get(User, other.id).scope_unit_id == o.section_b.id
        assert db.session.get(OrgUnit, sub.id).parent_id == o.section_b.id
        assert db.session.get(Staff, a.id).unit_id == o.section_b.id
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "unit.merged"))
        assert event.details["people"] == 1 and event.details["left"] == 1
        assert sorted(event.details["scopes_moved"]) == sorted([manager.id, officer.id])
    # The manager now sees the person who moved (their scope followed the unit).
    manager_client = app.test_client()
    login(manager_client, "ql@example.vn")
    assert "Lê Thị Ở Phòng" in manager_client.get("/roster/").get_data(as_text=True)
