"""Extending a due date (managers and officers, in scope, with a reason, audited), exempting
from the record page, and the links between a person's roster page and training record."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent, Role
from mooc.extensions import db
from mooc.training.models import Enrolment, EnrolmentSource, EnrolmentState
from tests.conftest import csrf_token, login, save

TODAY = date(2026, 3, 4)


def setup(org, person, make_user, role=Role.MANAGER, scope="province"):
    app, o = org
    clock.set_now(datetime(2026, 3, 4, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    staff, _ = person(o.section_a, name="Trần Văn Trễ", email="tre@example.vn")
    enrolment = save(app, Enrolment(staff_id=staff.id, course_id=o.course_id, source=EnrolmentSource.RULE,
                                    assigned_on=TODAY - timedelta(days=60), due_on=TODAY - timedelta(days=5)))
    make_user(email="ql@example.vn", name="Quản Lý", role=role, scope_unit=getattr(o, scope))
    client = app.test_client()
    assert login(client, "ql@example.vn").status_code == 302
    return app, client, staff, enrolment


def extend(client, staff, enrolment, **data):
    token = csrf_token(client, f"/training/people/{staff.id}")
    return client.post(f"/training/enrolments/{enrolment.id}/extend", data={"csrf_token": token, **data})


def due_of(app, enrolment):
    with app.app_context():
        return db.session.get(Enrolment, enrolment.id).due_on


def test_a_manager_extends_an_overdue_due_date_with_a_reason(org, person, make_user):
    app, client, staff, enrolment = setup(org, person, make_user)
    record = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert f'action="/training/enrolments/{enrolment.id}/extend"' in record
    response = extend(client, staff, enrolment, due_on="2026-04-30", reason="Nghỉ ốm dài ngày")
    assert response.status_code == 302
    assert due_of(app, enrolment) == date(2026, 4, 30)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "training.due_extended"))
        assert event.target == staff.staff_code
        assert event.details == {"enrolment_id": enrolment.id, "old": "2026-02-27", "new": "2026-04-30",
                                 "reason": "Nghỉ ốm dài ngày"}
    page = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert "30/04/2026" in page and "badge-overdue" not in page and "badge-not_started" in page


def test_an_earlier_date_or_no_reason_changes_nothing(org, person, make_user):
    app, client, staff, enrolment = setup(org, person, make_user)
    extend(client, staff, enrolment, due_on="2026-02-01", reason="Nhầm")
    extend(client, staff, enrolment, due_on="2026-03-02", reason="Vẫn trong quá khứ")
    extend(client, staff, enrolment, due_on="2026-04-30", reason="")
    assert due_of(app, enrolment) == TODAY - timedelta(days=5)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "training.due_extended")) == 0


def test_a_completed_course_keeps_its_due_date(org, person, make_user):
    app, client, staff, enrolment = setup(org, person, make_user)
    with app.app_context():
        db.session.get(Enrolment, enrolment.id).state = EnrolmentState.COMPLETED
        db.session.commit()
    response = extend(client, staff, enrolment, due_on="2026-04-30", reason="Muộn")
    assert response.status_code == 302
    assert due_of(app, enrolment) == TODAY - timedelta(days=5)


def test_out_of_scope_and_reporters_cannot_extend(org, person, make_user):
    app, client, staff, enrolment = setup(org, person, make_user, scope="other")
    assert client.get(f"/training/people/{staff.id}").status_code == 404
    token = csrf_token(client, "/")
    response = client.post(f"/training/enrolments/{enrolment.id}/extend",
                           data={"csrf_token": token, "due_on": "2026-04-30", "reason": "x"})
    assert response.status_code == 404
    make_user(email="bc@example.vn", role=Role.REPORTER)
    reporter = app.test_client()
    login(reporter, "bc@example.vn")
    page = reporter.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert "/extend" not in page and "/remind" not in page
    token = csrf_token(reporter, "/")
    assert reporter.post(f"/training/enrolments/{enrolment.id}/extend",
                         data={"csrf_token": token, "due_on": "2026-04-30", "reason": "x"}).status_code == 403
    assert due_of(app, enrolment) == TODAY - timedelta(days=5)


def test_an_officer_sees_extend_and_exempt_on_the_record(org, person, make_user):
    app, client, staff, enrolment = setup(org, person, make_user, role=Role.OFFICER)
    page = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert f'action="/training/enrolments/{enrolment.id}/extend"' in page
    assert f'action="/training/enrolments/{enrolment.id}/exempt"' in page


def test_the_roster_page_and_the_record_link_to_each_other(org, person, make_user):
    app, client, staff, _enrolment = setup(org, person, make_user)
    roster = client.get(f"/roster/staff/{staff.id}").get_data(as_text=True)
    assert f'href="/training/people/{staff.id}"' in roster
    record = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert f'href="/roster/staff/{staff.id}"' in record
    trainee = app.test_client()
    login(trainee, "tre@example.vn")
    own = trainee.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert "/roster/staff/" not in own and "/extend" not in own


def test_a_person_who_left_is_offered_no_reminder_or_later_due_date(org, person, make_user):
    """Their due dates count no more (status.held_to_due_dates): the record says so instead of
    offering a reminder or an extension, and an extension sent anyway changes nothing."""
    from mooc.roster.models import Staff, StaffStatus

    app, client, staff, enrolment = setup(org, person, make_user)
    with app.app_context():
        db.session.get(Staff, staff.id).status = StaffStatus.LEFT
        db.session.commit()
    record = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert "đã nghỉ, không còn trong danh sách cán bộ: không giao khóa học, không gửi nhắc nhở" in record
    assert f'action="/training/enrolments/{enrolment.id}/extend"' not in record
    assert f'action="/training/people/{staff.id}/remind"' not in record
    response = extend(client, staff, enrolment, due_on="2026-04-30", reason="Muộn")
    assert response.status_code == 302
    assert due_of(app, enrolment) == TODAY - timedelta(days=5)
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Người này đã nghỉ" in followed
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "training.due_extended")) == 0


def test_a_person_who_left_is_offered_no_enrolment_and_the_record_says_why(org, person, make_user):
    """Enrolling a person who left is refused (assign.enrol: "left"), so their record offers no
    "enrol in a course" form; the notice says so even when nothing is left to do."""
    from mooc.roster.models import Staff, StaffStatus

    app, client, staff, enrolment = setup(org, person, make_user)
    with app.app_context():
        db.session.get(Enrolment, enrolment.id).state = EnrolmentState.COMPLETED
        db.session.get(Enrolment, enrolment.id).completed_at = clock.now()
        db.session.commit()
    enrol_form = f'action="/training/people/{staff.id}/enrol"'
    assert enrol_form in client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    with app.app_context():
        db.session.get(Staff, staff.id).status = StaffStatus.LEFT
        db.session.commit()
    record = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert enrol_form not in record
    assert "đã nghỉ, không còn trong danh sách cán bộ: không giao khóa học" in record
    token = csrf_token(client, f"/training/people/{staff.id}")
    response = client.post(f"/training/people/{staff.id}/enrol",
                           data={"csrf_token": token, "course": org[1].course_id, "due_on": "2026-06-30"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)
                                 .where(Enrolment.staff_id == staff.id)) == 1


def test_the_new_due_date_is_typed_dd_mm_yyyy_and_a_day_that_does_not_exist_is_named(org, person, make_user):
    """A text box for dd/mm/yyyy, whatever the browser's language (an <input type=date> shows
    mm/dd/yyyy in an English Chromium); ISO (older scripts and links) still reads; 31/02 is said,
    naming the box and the way to write a date."""
    app, client, staff, enrolment = setup(org, person, make_user)
    record = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    box = record.split(f'action="/training/enrolments/{enrolment.id}/extend"')[1].split("</form>")[0]
    assert 'type="date"' not in box and 'type="text" name="due_on"' in box and 'inputmode="numeric"' in box
    assert "Hạn mới <span class=\"hint\">(dd/mm/yyyy)</span>" in box
    extend(client, staff, enrolment, due_on="31/02/2026", reason="Đi công tác")
    page = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert ("Hạn mới: “31/02/2026” không phải là ngày. Hãy ghi theo dạng dd/mm/yyyy, ví dụ 31/12/2026."
            in page)
    assert due_of(app, enrolment) == TODAY - timedelta(days=5)
    extend(client, staff, enrolment, due_on="30/04/2026", reason="Đi công tác")
    assert due_of(app, enrolment) == date(2026, 4, 30)
    extend(client, staff, enrolment, due_on="2026-05-31", reason="Còn đi công tác")
    assert due_of(app, enrolment) == date(2026, 5, 31)


def test_a_form_date_shows_dd_mm_yyyy_with_its_hint_and_names_itself_when_wrong(org, person, make_user):
    app, client, staff, enrolment = setup(org, person, make_user, role=Role.OFFICER)
    page = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    box = _input_tag(page, "due_on")
    assert 'type="text"' in box and 'inputmode="numeric"' in box and 'aria-describedby="due_on-hint"' in box
    assert '<p class="hint" id="due_on-hint">dạng dd/mm/yyyy, ví dụ 31/12/2026</p>' in page
    token = csrf_token(client, f"/training/people/{staff.id}")
    wrong = client.post(f"/training/people/{staff.id}/enrol",
                        data={"csrf_token": token, "course": org[1].course_id, "due_on": "12/31/2026"})
    assert wrong.status_code == 302  # back to the record, saying why
    assert ("Hạn hoàn thành: “12/31/2026” không phải là ngày. Hãy ghi theo dạng dd/mm/yyyy, ví dụ 31/12/2026."
            in client.get(f"/training/people/{staff.id}").get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 1


def _input_tag(page: str, id_: str) -> str:
    return re.search(rf'<input [^>]*id="{id_}"[^>]*>', page)[0]
