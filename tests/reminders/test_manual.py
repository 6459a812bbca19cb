"""Reminders a manager sends by hand, from a list of people or a person's record: through the
reminders' log and mail, at most one a day per enrolment, never to people who cannot sign in."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent, Role
from mooc.extensions import db
from mooc.reminders import manual
from mooc.reminders.models import ReminderKind, ReminderLog, ReminderStatus
from mooc.training.models import EnrolmentState
from tests.conftest import csrf_token, login
from tests.reminders.conftest import at, enrol, text_of

TODAY = date(2026, 3, 4)
LONG_AGO = TODAY - timedelta(days=60)


def section(page: str, name: str) -> str:
    """The text of the result page's section ``<name>-heading`` (empty if absent)."""
    match = re.search(rf'<section aria-labelledby="{name}-heading">(.*?)</section>', page, re.S)
    return match.group(1) if match else ""


def setup(app, o, person, make_staff, make_user):
    at(TODAY)
    late, _ = person(o.section_a, name="Trần Văn Trễ", email="tre@example.vn")
    e_late = enrol(app, late, o.course_id, LONG_AGO, TODAY - timedelta(days=10))
    no_account = make_staff(full_name="Lê Chưa Có", unit=o.section_a, email="chuaco@example.vn")
    e_none = enrol(app, no_account, o.course_id, LONG_AGO, TODAY + timedelta(days=5))
    done, _ = person(o.section_b, name="Mai Đã Xong", email="xong@example.vn")
    e_done = enrol(app, done, o.course_id, LONG_AGO, TODAY, state=EnrolmentState.COMPLETED)
    away, _ = person(o.other, name="Hà Ngoài Phạm Vi", email="ngoai@example.vn")
    e_away = enrol(app, away, o.course_id, LONG_AGO, TODAY - timedelta(days=3))
    make_user(email="ql@example.vn", name="Quản Lý Tỉnh", role=Role.MANAGER, scope_unit=o.province)
    client = app.test_client()
    assert login(client, "ql@example.vn").status_code == 302
    return client, {"late": e_late, "none": e_none, "done": e_done, "away": e_away, "late_staff": late}


def post_selection(client, *enrolments):
    token = csrf_token(client, "/reports/people")
    return client.post("/reports/people/remind",
                       data={"csrf_token": token, "enrolment": [str(e.id) for e in enrolments]})


def test_a_selection_is_reminded_and_who_cannot_sign_in_is_listed(mail_app, person, make_staff, make_user,
                                                                  smtp):
    app, o, _factory = mail_app
    client, e = setup(app, o, person, make_staff, make_user)
    response = post_selection(client, e["late"], e["none"], e["done"])
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Trần Văn Trễ" in section(page, "sent")
    cannot = section(page, "cannot")
    assert "Lê Chưa Có" in cannot and f"/roster/staff/{e['none'].staff_id}" in cannot
    assert "Mai Đã Xong" in section(page, "done")
    assert smtp.inbox.recipients() == ["tre@example.vn"]
    text = text_of(smtp.inbox.messages[0])
    assert "Quản Lý Tỉnh" in text and "Luật Thanh tra 2025" in text
    with app.app_context():
        logged = db.session.scalars(sa.select(ReminderLog)).all()
        assert [(r.kind, r.enrolment_id, r.status) for r in logged] == [
            (ReminderKind.MANUAL, e["late"].id, ReminderStatus.SENT)]
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "reminders.manual_sent")).all()
        assert [ev.details["enrolments"] for ev in events] == [[e["late"].id]]


def test_a_second_reminder_within_a_day_is_refused_and_says_when(mail_app, person, make_staff, make_user,
                                                                smtp):
    app, o, _factory = mail_app
    client, e = setup(app, o, person, make_staff, make_user)
    post_selection(client, e["late"])
    at(TODAY, hour=20)
    login(client, "ql@example.vn")  # a new session: the first one went idle
    page = post_selection(client, e["late"]).get_data(as_text=True)
    recent = section(page, "recent")
    assert "Trần Văn Trễ" in recent and "04/03/2026 07:00" in recent
    assert section(page, "sent") == ""
    assert len(smtp.inbox.messages) == 1
    at(TODAY + timedelta(days=1), hour=8)  # 25 hours later
    login(client, "ql@example.vn")
    page = post_selection(client, e["late"]).get_data(as_text=True)
    assert "Trần Văn Trễ" in section(page, "sent")
    assert len(smtp.inbox.messages) == 2


def test_a_person_out_of_scope_cannot_be_reminded(mail_app, person, make_staff, make_user, smtp):
    app, o, _factory = mail_app
    client, e = setup(app, o, person, make_staff, make_user)
    assert post_selection(client, e["late"], e["away"]).status_code == 404
    token = csrf_token(client, "/reports/people")
    assert client.post(f"/training/people/{e['away'].staff_id}/remind",
                       data={"csrf_token": token}).status_code == 404
    assert smtp.inbox.messages == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderLog)) == 0


def test_remind_one_person_from_their_record(mail_app, person, make_staff, make_user, smtp):
    app, o, _factory = mail_app
    client, e = setup(app, o, person, make_staff, make_user)
    enrol(app, e["late_staff"], o.optional_id, LONG_AGO, None, required=False,
          state=EnrolmentState.IN_PROGRESS)
    record = client.get(f"/training/people/{e['late_staff'].id}").get_data(as_text=True)
    assert f'action="/training/people/{e["late_staff"].id}/remind"' in record
    token = csrf_token(client, f"/training/people/{e['late_staff'].id}")
    response = client.post(f"/training/people/{e['late_staff'].id}/remind", data={"csrf_token": token})
    assert "Trần Văn Trễ" in section(response.get_data(as_text=True), "sent")
    (message,) = smtp.inbox.messages
    assert "Kỹ năng mềm" in text_of(message) and "Luật Thanh tra 2025" in text_of(message)


def test_a_trainee_cannot_send_reminders(mail_app, person, make_staff, make_user, smtp):
    app, o, _factory = mail_app
    _client, e = setup(app, o, person, make_staff, make_user)
    client = app.test_client()
    login(client, "tre@example.vn")
    token = csrf_token(client, "/")
    response = client.post("/reports/people/remind", data={"csrf_token": token, "enrolment": [e["late"].id]})
    assert response.status_code == 403
    assert smtp.inbox.messages == []


def test_two_managers_a_second_apart_send_one_reminder(mail_app, person, make_staff, make_user, smtp,
                                                       monkeypatch):
    """Two managers remind the same person at once: both read "not reminded today", a second
    apart, so their log keys differ. One mail goes; the other manager's page says who reminded
    when. (On PostgreSQL both mails went: nothing but the key kept them apart.)"""
    app, o, _factory = mail_app
    first, e = setup(app, o, person, make_staff, make_user)
    make_user(email="ql2@example.vn", name="Cán Bộ Đào Tạo", role=Role.MANAGER, scope_unit=o.province)
    second = app.test_client()
    assert login(second, "ql2@example.vn").status_code == 302
    tokens = {client: csrf_token(client, "/reports/people") for client in (first, second)}
    read = {"first": threading.Event(), "second": threading.Event()}
    real = manual.last_manual

    def last_manual(*args, **kwargs):
        found = real(*args, **kwargs)
        name = threading.current_thread().name
        if name in read and not read[name].is_set():  # the reading before sending, once per manager
            read[name].set()
            if name == "first":
                read["second"].wait(timeout=3)  # ...until the other has read too (or is held)
        return found

    monkeypatch.setattr(manual, "last_manual", last_manual)
    pages = {}

    def post(name, client):
        pages[name] = client.post("/reports/people/remind", data={
            "csrf_token": tokens[client], "enrolment": [str(e["late"].id)]}).get_data(as_text=True)

    one = threading.Thread(target=post, args=("first", first), name="first")
    one.start()
    assert read["first"].wait(timeout=10)
    at(TODAY, hour=7)
    clock.set_now(clock.now() + timedelta(seconds=1))  # the second manager, a second later
    two = threading.Thread(target=post, args=("second", second), name="second")
    two.start()
    one.join(timeout=30)
    two.join(timeout=30)
    assert smtp.inbox.recipients() == ["tre@example.vn"]
    sent = [name for name, page in pages.items() if "Trần Văn Trễ" in section(page, "sent")]
    recent = [name for name, page in pages.items() if "Trần Văn Trễ" in section(page, "recent")]
    assert len(sent) == 1 and len(recent) == 1, pages
    with app.app_context():
        logged = db.session.scalars(sa.select(ReminderLog.status).where(
            ReminderLog.enrolment_id == e["late"].id)).all()
        assert logged == [ReminderStatus.SENT]
