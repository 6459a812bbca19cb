"""A manager enrols a person in a course another source already holds (docs/architecture.md,
"Sources of a cycle"): the manager becomes a holder of that same open cycle, the strongest
(source manual), which keeps the earlier of the two due dates; the page says whose it was and
both dates; the audit log keeps it. Only a manager's own enrolment is "already enrolled".

Before, the enrolment was refused ("already enrolled") whenever a rule or a programme required
the course: the manager could not make it theirs, nor learn whose it was or by when.

Every step goes through the record page a manager uses, the rules' pages or the nightly command.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent
from mooc.extensions import db
from mooc.formatting import format_date
from mooc.training.models import Enrolment
from tests.conftest import csrf_token, login
from tests.training.test_cycle_sources import START, Cycle, Office, cycle, ids, in_days, nightly
from tests.training.test_programs import program_id, world  # noqa: F401 (a fixture)


@pytest.fixture
def office(world, make_user):  # noqa: F811 (the fixture imported above)
    clock.set_now(START)
    return Office(world, make_user)


def enrol(office: Office, course_id: int, due_on: date | None) -> str:
    """The manager's enrolment through the record's form: the flashed message, spaces folded."""
    path = f"/training/people/{office.staff.id}"
    data = {"csrf_token": csrf_token(office.client, path), "course": str(course_id),
            "due_on": due_on.isoformat() if due_on else ""}
    response = office.client.post(f"{path}/enrol", data=data, follow_redirects=True)
    assert response.status_code == 200
    return " ".join(response.get_data(as_text=True).split())


def open_cycles(app, staff, course_id: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
            Enrolment.staff_id == staff.id, Enrolment.course_id == course_id, Enrolment.closed_at.is_(None),
            Enrolment.state.in_(("not_started", "in_progress")))) or 0


def joined_events(app) -> list[dict]:
    with app.app_context():
        return [event.details for event in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "training.enrolment_joined")
            .order_by(AuditEvent.id))]


def test_a_manager_joins_a_rules_cycle_and_keeps_the_rules_earlier_deadline(office):
    app, staff = office.app, office.staff
    course_id = ids(app)["giam-sat"]
    rule = office.rule(course_id, due_days=30, renew_months=12)
    page = enrol(office, course_id, in_days(90))
    assert (f"Trần Thị Bình đã phải học khóa này theo quy tắc (Thanh tra tỉnh Ninh Bình), hạn "
            f"{format_date(in_days(30))}; nay bạn cũng giao khóa này, "
            f"hạn {format_date(in_days(30))}.") in page
    assert f"Ngày bạn chọn ({format_date(in_days(90))}) muộn hơn: giữ hạn sớm hơn." in page
    # the same cycle, the manager's now, the rule still noted (its expiry and renewal follow it)
    assert cycle(app, staff, "giam-sat") == Cycle("manual", rule, None, True, True, in_days(30))
    assert open_cycles(app, staff, course_id) == 1
    [event] = joined_events(app)
    assert event["held_by"] == "rule" and event["rule_id"] == rule
    assert event["due_before"] == event["due_on"] == in_days(30).isoformat()
    assert event["due_asked"] == in_days(90).isoformat()
    # the manager's source holds it now: enrolling again is "already enrolled"
    assert "Trần Thị Bình đã được quản lý giao khóa học này rồi." in enrol(office, course_id, in_days(10))
    assert cycle(app, staff, "giam-sat") == Cycle("manual", rule, None, True, True, in_days(30))
    # the night and the rule switched off leave it the manager's, open, due as it was
    nightly(app)
    assert cycle(app, staff, "giam-sat") == Cycle("manual", rule, None, True, True, in_days(30))
    assert "0 lượt giao đang mở sẽ không còn bắt buộc" in office.off(rule)
    assert cycle(app, staff, "giam-sat") == Cycle("manual", None, None, True, True, in_days(30))
    assert open_cycles(app, staff, course_id) == 1


def test_a_managers_earlier_date_moves_a_rules_deadline_sooner(office):
    app, staff = office.app, office.staff
    course_id = ids(app)["giam-sat"]
    rule = office.rule(course_id, due_days=30)
    page = enrol(office, course_id, in_days(10))
    assert (f"hạn {format_date(in_days(30))}; nay bạn cũng giao khóa này, "
            f"hạn {format_date(in_days(10))}.") in page
    assert "muộn hơn" not in page
    assert cycle(app, staff, "giam-sat") == Cycle("manual", rule, None, True, True, in_days(10))
    # without a date of their own, the manager keeps the rule's
    other = ids(app)["van-ban"]
    office.rule(other, due_days=20)
    enrol(office, other, None)
    assert cycle(app, staff, "van-ban").due_on == in_days(20)
    assert cycle(app, staff, "van-ban").source == "manual"


def test_a_manager_joins_a_programmes_required_course(office):
    app, staff = office.app, office.staff
    course_id = ids(app)["co-ban"]
    first = office.programme(due_days=60)
    assert cycle(app, staff, "co-ban").source == "program"
    page = enrol(office, course_id, in_days(90))
    assert (f"Trần Thị Bình đã phải học khóa này theo chương trình “Bồi dưỡng thanh tra viên mới”, hạn "
            f"{format_date(in_days(60))}; nay bạn cũng giao khóa này, "
            f"hạn {format_date(in_days(60))}.") in page
    assert cycle(app, staff, "co-ban") == Cycle("manual", None, None, True, True, in_days(60))
    assert joined_events(app)[0]["program_id"] == program_id(app)
    # the programme switched off: the manager's stays open
    office.off(first)
    assert cycle(app, staff, "co-ban") == Cycle("manual", None, None, True, True, in_days(60))
    assert open_cycles(app, staff, course_id) == 1


def test_a_manager_makes_a_course_the_trainee_joined_required_and_says_so(office):
    app, staff, user = office.app, office.staff, office.user
    trainee = app.test_client()
    login(trainee, user.email)
    trainee.post("/courses/van-ban/join", data={"csrf_token": csrf_token(trainee, "/courses/van-ban")})
    assert cycle(app, staff, "van-ban").source == "self"
    page = enrol(office, ids(app)["van-ban"], in_days(45))
    assert (f"Trần Thị Bình đã tự tham gia khóa này (không bắt buộc); nay bạn giao bắt buộc, hạn "
            f"{format_date(in_days(45))}.") in page
    assert cycle(app, staff, "van-ban") == Cycle("manual", None, None, True, True, in_days(45))


def test_a_manager_enrolling_someone_exempt_is_told_so(office):
    app, staff = office.app, office.staff
    course_id = ids(app)["giam-sat"]
    office.rule(course_id, due_days=30)
    with app.app_context():
        enrolment_id = db.session.scalar(sa.select(Enrolment.id).where(Enrolment.staff_id == staff.id,
                                                                       Enrolment.course_id == course_id))
    path = f"/training/people/{staff.id}"
    exempted = office.client.post(f"/training/enrolments/{enrolment_id}/exempt", data={
        "csrf_token": csrf_token(office.client, path), "reason": "Đã học lớp trực tiếp"})
    assert exempted.status_code == 302
    assert "Trần Thị Bình đã được miễn khóa học này: không cần giao." in enrol(office, course_id, in_days(10))
    assert cycle(app, staff, "giam-sat").source == "rule" and joined_events(app) == []
