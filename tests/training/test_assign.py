"""Assignment rules: matching (unit subtree, position, both, all), due dates, idempotence,
renewal cycles, transfers and leavers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from mooc import clock
from mooc.extensions import db
from mooc.roster.models import Staff, StaffStatus
from mooc.training import assign
from mooc.training.completion import complete
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentState
from mooc.training.status import EnrolmentStatus

TODAY = date(2026, 3, 2)


def make_rule(org, units, positions=(), due_days=30, due_on=None, renew_months=None):
    from mooc.roster.models import OrgUnit, Position

    rule = AssignmentRule(
        course_id=org.course_id,
        due_days=None if due_on else due_days,
        due_on=due_on,
        renew_months=renew_months,
    )
    rule.units = list(db.session.scalars(sa.select(OrgUnit).where(OrgUnit.id.in_([u.id for u in units]))))
    rule.positions = list(
        db.session.scalars(sa.select(Position).where(Position.id.in_([p.id for p in positions])))
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def enrolled(course_id: int) -> dict[int, list[Enrolment]]:
    result: dict[int, list[Enrolment]] = {}
    for e in db.session.scalars(
        sa.select(Enrolment).where(Enrolment.course_id == course_id).order_by(Enrolment.cycle)
    ):
        result.setdefault(e.staff_id, []).append(e)
    return result


def test_a_rule_covers_the_unit_subtree_and_the_positions(org, person):
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Trần Văn A")
    b, _ = person(o.section_b, o.chief, "Trần Văn B")
    c, _ = person(o.province, o.inspector, "Trần Văn C")
    d, _ = person(o.other, o.inspector, "Trần Văn D")
    with app.app_context():
        make_rule(o, [o.province], positions=[o.inspector])
        report = assign.apply_rules(today=TODAY)
        assert report.enrolled == 2
        assert set(enrolled(o.course_id)) == {a.id, c.id}  # subtree x position
        make_rule(o, [o.section_b])  # every position
        assign.apply_rules(today=TODAY)
        assert set(enrolled(o.course_id)) == {a.id, b.id, c.id}
        assert d.id not in enrolled(o.course_id)  # another province


def test_applying_twice_enrols_nobody_twice(org, person):
    app, o = org
    person(o.section_a)
    with app.app_context():
        make_rule(o, [o.province])
        assert assign.apply_rules(today=TODAY).enrolled == 1
        assert assign.apply_rules(today=TODAY).enrolled == 0
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["training", "assign"])
    assert result.exit_code == 0 and "0 enrolled" in result.output


def test_due_dates(org, person):
    app, o = org
    a, _ = person(o.section_a)
    with app.app_context():
        make_rule(o, [o.province], due_days=45)
        assign.apply_rules(today=TODAY)
        assert enrolled(o.course_id)[a.id][0].due_on == TODAY + timedelta(days=45)
    draft = assign.RuleDraft(o.course_id, [o.province.id], due_on=date(2026, 6, 30))
    assert assign.due_date(draft, TODAY) == date(2026, 6, 30)
    assert assign.due_date(draft, date(2026, 7, 5)) == date(2026, 7, 5)  # assigned after the date


def test_preview_counts_and_lists_without_writing(org, person):
    app, o = org
    person(o.section_a, name="Vũ Thị Hòa")
    person(o.section_b, name="Bùi Văn Bình")
    person(o.other, name="Lê Văn Cường")
    with app.app_context():
        result = assign.preview(assign.RuleDraft(o.course_id, [o.province.id], due_days=10), today=TODAY)
        assert (result.matched, result.to_enrol) == (2, 2)
        assert [s.full_name for s in result.sample] == ["Bùi Văn Bình", "Vũ Thị Hòa"]  # by given name
        assert result.due_on == TODAY + timedelta(days=10)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 0


def test_transfer_in_enrols_and_transfer_out_closes(org, person):
    app, o = org
    moving, _ = person(o.other, name="Người Chuyển")
    with app.app_context():
        make_rule(o, [o.province])
        assign.apply_rules(today=TODAY)
        assert moving.id not in enrolled(o.course_id)
        db.session.get(Staff, moving.id).unit_id = o.section_a.id
        assert assign.apply_rules(today=TODAY, staff_ids={moving.id}).enrolled == 1
        db.session.get(Staff, moving.id).unit_id = o.other.id
        assert assign.apply_rules(today=TODAY, staff_ids={moving.id}).closed == 1
        enrolment = enrolled(o.course_id)[moving.id][0]
        assert EnrolmentStatus.of(enrolment, TODAY) == "closed"
        db.session.get(Staff, moving.id).unit_id = o.section_b.id  # and back again: the same cycle reopens
        assign.apply_rules(today=TODAY, staff_ids={moving.id})
        assert [e.closed_at for e in enrolled(o.course_id)[moving.id]] == [None]


def test_leavers_keep_history_and_stop_counting_as_overdue(org, person):
    app, o = org
    leaver, _ = person(o.section_a)
    with app.app_context():
        make_rule(o, [o.province], due_days=10)
        assign.apply_rules(today=TODAY)
        enrolment = enrolled(o.course_id)[leaver.id][0]
        later = TODAY + timedelta(days=30)
        assert EnrolmentStatus.of(enrolment, later) == "overdue"
        db.session.get(Staff, leaver.id).status = StaffStatus.LEFT
        assign.apply_rules(today=later)
        assert enrolment.closed_at is None  # history kept as it was
        assert EnrolmentStatus.of(enrolment, later, StaffStatus.LEFT) == "not_started"


def test_renewal_opens_a_new_cycle_and_keeps_the_old(org, person):
    app, o = org
    staff, _ = person(o.section_a)
    with app.app_context():
        rule = make_rule(o, [o.province], renew_months=12)
        assign.apply_rules(today=TODAY)
        first = enrolled(o.course_id)[staff.id][0]
        from mooc.courses.models import Course

        complete(first, db.session.get(Course, o.course_id), None, datetime(2026, 3, 10, 3, tzinfo=UTC))
        assert first.expires_on == date(2027, 3, 10)
        assert assign.apply_rules(today=date(2027, 1, 1)).renewed == 0  # too early
        assert assign.apply_rules(today=date(2027, 2, 20)).renewed == 1  # 30 days before expiry
        assert assign.apply_rules(today=date(2027, 2, 21)).renewed == 0  # once
        cycles = enrolled(o.course_id)[staff.id]
        assert [(e.cycle, e.state) for e in cycles] == [
            (1, EnrolmentState.COMPLETED),
            (2, EnrolmentState.NOT_STARTED),
        ]
        assert cycles[1].due_on == date(2027, 3, 10) and cycles[1].rule_id == rule.id


def test_manual_enrolment_and_joining_optional_courses(org, person):
    app, o = org
    staff, _ = person(o.section_a)
    with app.app_context():
        staff = db.session.get(Staff, staff.id)
        optional = assign.enrol(staff, o.optional_id, assign.EnrolmentSource.SELF)
        assert optional.required is False
        again = assign.enrol(staff, o.optional_id, assign.EnrolmentSource.MANUAL, due_on=date(2026, 5, 1))
        assert again.id == optional.id and again.required is True and again.due_on == date(2026, 5, 1)
        try:
            assign.enrol(staff, o.optional_id, assign.EnrolmentSource.MANUAL)
        except assign.EnrolError as error:
            assert error.code == "already"
        else:
            raise AssertionError("enrolled twice")


def test_clock_today_is_local(org):
    clock.set_now(datetime(2026, 1, 1, 18, 0, tzinfo=UTC))  # 01:00 on 2 January in Vietnam
    assert clock.today() == date(2026, 1, 2)
