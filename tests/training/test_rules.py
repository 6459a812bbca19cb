"""Changing assignment rules: a course's enrolments follow the whole set of its active rules.

Creating or switching off one rule never closes what another active rule still requires;
a course left with no active rule closes what is left.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from mooc.extensions import db
from mooc.training import assign, rules
from mooc.training.models import AssignmentRule, Enrolment
from tests.training.test_assign import make_rule

TODAY = date(2026, 3, 2)


def open_enrolments(course_id: int) -> dict[int, Enrolment]:
    return {e.staff_id: e for e in db.session.scalars(
        sa.select(Enrolment).where(Enrolment.course_id == course_id, Enrolment.closed_at.is_(None)))}


def test_switching_off_a_section_rule_keeps_the_course_for_people_the_province_rule_covers(org, person):
    app, o = org
    section_person, _ = person(o.section_a, o.inspector, "Lê Thị Phòng")
    province_person, _ = person(o.province, o.inspector, "Lê Văn Tỉnh")
    with app.app_context():
        section_rule = make_rule(o, [o.section_a])
        province_rule = make_rule(o, [o.province])
        assign.apply_rules(today=TODAY)
        assert open_enrolments(o.course_id)[section_person.id].rule_id == section_rule.id

        report = rules.deactivate_rule(db.session.get(AssignmentRule, section_rule.id))
        db.session.commit()

        assert report.closed == 0
        still = open_enrolments(o.course_id)
        assert set(still) == {section_person.id, province_person.id}
        assert still[section_person.id].rule_id == province_rule.id  # adopted, not orphaned


def test_switching_off_the_last_rule_of_a_course_closes_what_is_left(org, person):
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    b, _ = person(o.section_b, o.inspector, "Lê Thị B")
    with app.app_context():
        first = make_rule(o, [o.section_a])
        second = make_rule(o, [o.section_b])
        assign.apply_rules(today=TODAY)
        assert rules.deactivate_rule(db.session.get(AssignmentRule, first.id)).closed == 1
        assert set(open_enrolments(o.course_id)) == {b.id}
        assert rules.deactivate_rule(db.session.get(AssignmentRule, second.id)).closed == 1
        assert open_enrolments(o.course_id) == {}
        assert a.id not in open_enrolments(o.course_id)


def test_a_new_rule_does_not_close_the_enrolments_of_other_rules(org, person):
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    b, _ = person(o.section_b, o.inspector, "Lê Thị B")
    with app.app_context():
        make_rule(o, [o.section_a])
        assign.apply_rules(today=TODAY)
        _rule, report = rules.create_rule(assign.RuleDraft(o.course_id, [o.section_b.id], due_days=30))
        assert report.enrolled == 1 and report.closed == 0
        assert set(open_enrolments(o.course_id)) == {a.id, b.id}


def test_a_rule_switched_off_twice_is_refused(org):
    app, o = org
    with app.app_context():
        rule = make_rule(o, [o.section_a])
        rules.deactivate_rule(rule)
        with pytest.raises(rules.RuleError):
            rules.deactivate_rule(rule)


def test_the_nightly_run_closes_enrolments_of_a_course_with_no_active_rule(org, person):
    """An open rule enrolment whose course has no active rule any more is closed by the next
    run, even though no rule of that course is left to apply."""
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    with app.app_context():
        rule = make_rule(o, [o.section_a])
        assign.apply_rules(today=TODAY)
        rule.active = False  # as an older version left it: switched off, enrolments still open
        db.session.flush()
        assert assign.apply_rules(today=TODAY).closed == 1
        assert open_enrolments(o.course_id) == {}


def test_the_rules_page_switches_a_rule_off_through_the_domain(org, person, client, make_user):
    from mooc.auth.models import Role
    from tests.conftest import csrf_token, login

    app, o = org
    section_person, _ = person(o.section_a, o.inspector, "Lê Thị Phòng")
    person(o.province, o.inspector, "Lê Văn Tỉnh")
    with app.app_context():
        section_rule = make_rule(o, [o.section_a])
        make_rule(o, [o.province])
        assign.apply_rules(today=TODAY)
        db.session.commit()
        rule_id = section_rule.id
    admin = make_user(email="qt@example.vn", role=Role.ADMIN)
    login(client, admin.email)
    token = csrf_token(client, "/admin/rules")
    page = client.post(f"/admin/rules/{rule_id}/deactivate", data={"csrf_token": token, "confirm": "1"},
                       follow_redirects=True)
    assert "0" in page.get_data(as_text=True)
    with app.app_context():
        assert section_person.id in open_enrolments(o.course_id)
        assert not db.session.get(AssignmentRule, rule_id).active


def test_a_person_who_left_is_told_so_when_joining_a_course(org, person):
    """Not "already enrolled": the refusal says why (an account re-enabled after leaving)."""
    from mooc.roster.models import Staff, StaffStatus
    from tests.conftest import csrf_token, login

    app, o = org
    staff, _user = person(o.section_a, o.inspector, "Lê Đã Nghỉ", email="danghi@example.vn")
    with app.app_context():
        db.session.get(Staff, staff.id).status = StaffStatus.LEFT
        db.session.commit()
    client = app.test_client()
    login(client, "danghi@example.vn")
    token = csrf_token(client, "/courses/tuy-chon")
    page = client.post("/courses/tuy-chon/join", data={"csrf_token": token}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "không thể tham gia khóa học" in text and "đã tham gia khóa học này rồi" not in text
