"""Rules changed on the web: an edit and a switch-off each show what they will do first
(counted by the same ``apply_rules`` that confirming runs), and a rule can cover every unit.

What an edit does to open enrolments (mooc/training/rules.py): people newly covered are
enrolled; open enrolments nobody requires any more close, unless another active rule
adopts them; open enrolments of the rule whose due date followed the old terms take the
new terms; a due date changed by hand is kept.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mooc.auth.models import AuditEvent, Role
from mooc.extensions import db
from mooc.training import assign
from mooc.training.models import AssignmentRule, Enrolment
from tests.conftest import csrf_token, login
from tests.training.test_assign import make_rule


def open_enrolments(course_id: int) -> dict[int, Enrolment]:
    return {e.staff_id: e for e in db.session.scalars(
        sa.select(Enrolment).where(Enrolment.course_id == course_id, Enrolment.closed_at.is_(None)))}


@pytest.fixture
def admin_client(org, make_user):
    app, _o = org
    client = app.test_client()
    admin = make_user(email="qt@example.vn", role=Role.ADMIN)
    login(client, admin.email)
    return client


def _count(text: str, label: str) -> int:
    """The number shown after a label in a preview's list of counts."""
    match = re.search(re.escape(label) + r"[^<]*: <strong>([\d.]+)</strong>", text)
    assert match, f"no count for {label!r}: " + text[text.find("<main"):][:5000]
    return int(match.group(1).replace(".", ""))


def _edit(client, rule_id: int, confirm: bool = False, **fields):
    path = f"/admin/rules/{rule_id}/edit"
    data = {"csrf_token": csrf_token(client, "/admin/rules"), "scope": "units", "due_kind": "days",
            "due_days": "30", **fields}
    if confirm:
        data["confirm"] = "1"
    return client.post(path, data=data)


def test_an_edit_shows_who_is_enrolled_and_whose_enrolment_stops_then_saves(org, person, admin_client):
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    b, _ = person(o.section_b, o.inspector, "Lê Văn B")
    with app.app_context():
        rule = make_rule(o, [o.section_a])
        assign.apply_rules()
        db.session.commit()
        rule_id = rule.id
    page = _edit(admin_client, rule_id, units=str(o.section_b.id))
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert _count(text, "Người được giao mới") == 1
    assert _count(text, "Lượt giao đang mở không còn bắt buộc") == 1
    assert "Lê Văn B" in text and "Lê Thị A" in text
    with app.app_context():  # the preview kept nothing
        assert set(open_enrolments(o.course_id)) == {a.id}
        assert [u.id for u in db.session.get(AssignmentRule, rule_id).units] == [o.section_a.id]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "training.rule_updated")) == 0

    saved = _edit(admin_client, rule_id, confirm=True, units=str(o.section_b.id))
    assert saved.status_code == 302
    with app.app_context():
        assert set(open_enrolments(o.course_id)) == {b.id}
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "training.rule_updated"))
        assert event.details["enrolled"] == 1 and event.details["closed"] == 1
        assert event.details["before"]["units"] == [o.section_a.id]


def test_an_edit_that_narrows_a_rule_lets_another_rule_adopt_the_enrolment(org, person, admin_client):
    """Not closed, not left with a rule that no longer covers the person: adopted."""
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    with app.app_context():
        section_rule = make_rule(o, [o.section_a])
        province_rule = make_rule(o, [o.province])
        assign.apply_rules()
        db.session.commit()
        assert open_enrolments(o.course_id)[a.id].rule_id == section_rule.id
        ids = section_rule.id, province_rule.id
    page = _edit(admin_client, ids[0], units=str(o.section_b.id))
    text = page.get_data(as_text=True)
    assert _count(text, "Lượt giao đang mở không còn bắt buộc") == 0
    assert _count(text, "Lượt giao đang mở của quy tắc này vẫn bắt buộc theo quy tắc khác") == 1
    _edit(admin_client, ids[0], confirm=True, units=str(o.section_b.id))
    with app.app_context():
        assert open_enrolments(o.course_id)[a.id].rule_id == ids[1]


def test_an_edit_of_the_due_terms_moves_due_dates_but_keeps_one_changed_by_hand(org, person, admin_client):
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    b, _ = person(o.section_a, o.inspector, "Lê Văn B")
    with app.app_context():
        rule = make_rule(o, [o.section_a], due_days=30)
        assign.apply_rules()
        extended = open_enrolments(o.course_id)[b.id]
        extended.due_on = extended.assigned_on + timedelta(days=200)  # extended by hand
        db.session.commit()
        rule_id = rule.id
    text = _edit(admin_client, rule_id, units=str(o.section_a.id), due_days="60").get_data(as_text=True)
    assert _count(text, "Hạn hoàn thành thay đổi") == 1
    _edit(admin_client, rule_id, confirm=True, units=str(o.section_a.id), due_days="60")
    with app.app_context():
        now_open = open_enrolments(o.course_id)
        assert now_open[a.id].due_on == now_open[a.id].assigned_on + timedelta(days=60)
        assert now_open[b.id].due_on == now_open[b.id].assigned_on + timedelta(days=200)
        assert db.session.get(AssignmentRule, rule_id).due_days == 60


def test_a_switched_off_rule_cannot_be_edited(org, admin_client):
    app, o = org
    with app.app_context():
        rule = make_rule(o, [o.section_a])
        rule.active = False
        db.session.commit()
        rule_id = rule.id
    page = _edit(admin_client, rule_id, units=str(o.section_b.id), confirm=True)
    assert page.status_code == 302
    with app.app_context():
        assert [u.id for u in db.session.get(AssignmentRule, rule_id).units] == [o.section_a.id]
    assert admin_client.get(f"/admin/rules/{rule_id}/edit").status_code == 302


def test_a_rule_for_every_unit_covers_units_created_later(org, person, admin_client, make_unit):
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    h, _ = person(o.other, o.inspector, "Lê Văn Hà")
    path = "/admin/rules/new"
    data = {"csrf_token": csrf_token(admin_client, path), "course": str(o.course_id), "scope": "all",
            "due_kind": "days", "due_days": "30", "confirm": "1"}
    assert admin_client.post(path, data=data).status_code == 302
    with app.app_context():
        rule = db.session.scalar(sa.select(AssignmentRule))
        assert rule.all_units and rule.units == []
        assert set(open_enrolments(o.course_id)) == {a.id, h.id}
    later = make_unit("Thanh tra tỉnh Mới", code="MOI")
    newcomer, _ = person(later, o.inspector, "Lê Văn Mới")
    with app.app_context():
        assign.apply_rules()
        db.session.commit()
        assert newcomer.id in open_enrolments(o.course_id)
    assert "mọi đơn vị" in admin_client.get("/admin/rules").get_data(as_text=True)


def test_an_empty_selection_of_units_is_not_every_unit(org, person, admin_client):
    app, o = org
    person(o.section_a, o.inspector, "Lê Thị A")
    path = "/admin/rules/new"
    data = {"csrf_token": csrf_token(admin_client, path), "course": str(o.course_id), "scope": "units",
            "due_kind": "days", "due_days": "30", "confirm": "1"}
    page = admin_client.post(path, data=data)
    assert page.status_code == 200
    assert "hoặc chọn mọi đơn vị" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AssignmentRule)) == 0


def test_switching_a_rule_off_asks_first_with_the_count_that_stops_being_required(org, person, admin_client):
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    b, _ = person(o.section_b, o.inspector, "Lê Văn B")
    with app.app_context():
        province_rule = make_rule(o, [o.province])
        make_rule(o, [o.section_a])
        assign.apply_rules()
        db.session.commit()
        rule_id = province_rule.id
    token = csrf_token(admin_client, "/admin/rules")
    page = admin_client.post(f"/admin/rules/{rule_id}/deactivate", data={"csrf_token": token})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "1 lượt giao đang mở sẽ không còn bắt buộc" in text  # b only
    assert "1 lượt giao đang mở của quy tắc này vẫn bắt buộc" in text  # a: the section rule keeps it
    with app.app_context():
        assert db.session.get(AssignmentRule, rule_id).active
        assert set(open_enrolments(o.course_id)) == {a.id, b.id}
    done = admin_client.post(f"/admin/rules/{rule_id}/deactivate", data={"csrf_token": token, "confirm": "1"})
    assert done.status_code == 302
    with app.app_context():
        assert not db.session.get(AssignmentRule, rule_id).active
        assert set(open_enrolments(o.course_id)) == {a.id}


def test_the_rule_form_is_prefilled_for_an_edit(org, admin_client):
    app, o = org
    with app.app_context():
        rule = make_rule(o, [o.section_b], due_days=45)
        db.session.commit()
        rule_id = rule.id
    text = admin_client.get(f"/admin/rules/{rule_id}/edit").get_data(as_text=True)
    assert f'<option selected value="{o.section_b.id}">' in text
    assert 'value="45"' in text
