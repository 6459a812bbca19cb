"""The schedule: which step is current on which day (pure), and the clock set by the tests
driving real runs: 14 days before, 3 days before, on the day, weekly while overdue, the
certificate's renewal; who gets nothing; and the home page warning from the same day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from mooc.auth.models import User
from mooc.config import ConfigError, build_settings, settings
from mooc.extensions import db
from mooc.reminders.schedule import Schedule, digest_step, expiry_step, plan, trainee_step
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import AssignmentRule, EnrolmentSource, EnrolmentState
from tests.conftest import login, save
from tests.reminders.conftest import at, enrol, run, text_of

S = Schedule()
MONDAY = date(2026, 3, 2)


def steps_by_day(assigned_on: date, due_on: date | None, days: int, schedule: Schedule = S) -> dict:
    """{day: step} over ``days`` days from the assignment, as a daily cron would see them,
    keeping only the first day of each step (the log makes the later days no-ops)."""
    seen: dict[str, date] = {}
    for n in range(days):
        day = assigned_on + timedelta(days=n)
        step = trainee_step(schedule, day, assigned_on, due_on)
        if step is not None and step not in seen:
            seen[step] = day
    return {day: step for step, day in seen.items()}


def test_steps_of_a_course_due_in_30_days():
    assigned = date(2026, 3, 2)
    assert steps_by_day(assigned, date(2026, 4, 1), 60) == {
        date(2026, 3, 2): "assigned",
        date(2026, 3, 18): "due-14",
        date(2026, 3, 29): "due-3",
        date(2026, 4, 1): "due-0",
        date(2026, 4, 8): "overdue-1",
        date(2026, 4, 15): "overdue-2",
        date(2026, 4, 22): "overdue-3",
        date(2026, 4, 29): "overdue-4",
    }


def test_a_short_deadline_skips_the_windows_its_assignment_mail_covered():
    assigned = date(2026, 3, 2)
    assert list(steps_by_day(assigned, assigned + timedelta(days=10), 12).values()) == [
        "assigned", "due-3", "due-0"]
    assert list(steps_by_day(assigned, assigned + timedelta(days=2), 4).values()) == ["assigned", "due-0"]
    assert list(steps_by_day(assigned, assigned, 2).values()) == ["assigned"]  # due the day it came
    assert list(steps_by_day(assigned, None, 30).values()) == ["assigned"]  # no deadline


def test_only_the_current_step_is_sent_after_missed_runs():
    assigned, due = date(2025, 1, 6), date(2025, 2, 5)
    # 200 days overdue: one "overdue" step (the 28th week), not a backlog
    assert trainee_step(S, due + timedelta(days=200), assigned, due) == "overdue-28"
    assert trainee_step(S, due - timedelta(days=2), assigned, due) == "due-3"  # due-14 was missed
    # an old assignment is not announced any more; a renewal cycle is never announced
    assert trainee_step(S, assigned + timedelta(days=7), assigned, due) is None
    assert trainee_step(S, assigned, assigned, due, announce=False) is None


def test_overdue_weeks_and_days_follow_the_settings():
    schedule = Schedule(days_before=(21, 7), overdue_every=3)
    due = date(2026, 6, 30)
    assert steps_by_day(date(2026, 5, 1), due, 82, schedule) == {
        date(2026, 5, 1): "assigned", date(2026, 6, 9): "due-21", date(2026, 6, 23): "due-7",
        date(2026, 7, 3): "overdue-1", date(2026, 7, 6): "overdue-2", date(2026, 7, 9): "overdue-3",
        date(2026, 7, 12): "overdue-4", date(2026, 7, 15): "overdue-5", date(2026, 7, 18): "overdue-6",
        date(2026, 7, 21): "overdue-7",
    }
    assert trainee_step(Schedule(overdue_every=0), due + timedelta(days=30), date(2026, 5, 1), due) is None


def test_expiry_and_digest_steps():
    expires, completed = date(2027, 3, 1), date(2026, 3, 1)
    assert expiry_step(S, expires - timedelta(days=31), expires, completed) is None
    assert expiry_step(S, expires - timedelta(days=30), expires, completed) == "expiry-30"
    assert expiry_step(S, expires, expires, completed) == "expiry-30"
    assert expiry_step(S, expires + timedelta(days=1), expires, completed) is None
    # a certificate that expires within 30 days of its completion is not "about to expire" at once
    assert expiry_step(S, expires - timedelta(days=20), expires, expires - timedelta(days=25)) is None
    assert digest_step(S, MONDAY) == "digest-2026-W10"
    assert digest_step(S, MONDAY + timedelta(days=6)) == "digest-2026-W10"  # a later day catches up
    wednesday = Schedule(digest_weekday=3)
    assert digest_step(wednesday, MONDAY) is None and digest_step(wednesday, MONDAY + timedelta(days=2))
    assert digest_step(Schedule(digest_weekday=0), MONDAY) is None
    assert digest_step(S, date(2027, 1, 1)) == "digest-2026-W53"  # ISO year and week


def test_the_settings_are_read_and_checked(tmp_path):
    env = {"MOOC_INSTANCE_DIR": str(tmp_path)}
    config = build_settings(environ=env)
    assert Schedule.of(config) == Schedule()
    assert config.reminder_due_soon_days == 14
    config = build_settings(environ=env | {"MOOC_REMINDER_DAYS_BEFORE": "3, 21,0",
                                           "MOOC_REMINDER_EXPIRY_DAYS": "off",
                                           "MOOC_REMINDER_DIGEST_WEEKDAY": "5"})
    assert config.reminder_days_before == (21, 3, 0) and config.reminder_due_soon_days == 21
    assert config.reminder_expiry_days == () and config.reminder_digest_weekday == 5
    for name, value in [("DAYS_BEFORE", "14,ba"), ("DAYS_BEFORE", "-1"), ("DIGEST_WEEKDAY", "8"),
                        ("OVERDUE_EVERY_DAYS", "-7"), ("PENDING_MINUTES", "0")]:
        with pytest.raises(ConfigError, match=f"MOOC_REMINDER_{name}"):
            build_settings(environ=env | {f"MOOC_REMINDER_{name}": value})


# --- the clock drives real runs -------------------------------------------------------------------------


def test_the_clock_drives_the_reminders_of_a_course(mail_app, person, smtp):
    app, o, _factory = mail_app
    staff, _user = person(o.section_a, name="Vũ Thị Hạnh", email="hanh@example.vn")
    enrol(app, staff, o.course_id, date(2026, 3, 2), date(2026, 4, 1))
    received: dict[date, str] = {}
    day = date(2026, 3, 2)
    while day <= date(2026, 4, 16):
        at(day)
        before = len(smtp.inbox.envelopes)
        result = run(app)
        assert result.exit_code == 0, result.output
        for message in smtp.inbox.messages[before:]:
            received[day] = message["Subject"]
        day += timedelta(days=1)
    assert received == {
        date(2026, 3, 2): "Khóa học bắt buộc mới: Luật Thanh tra 2025",
        date(2026, 3, 18): "Nhắc việc: khóa học “Luật Thanh tra 2025” đến hạn ngày 01/04/2026",
        date(2026, 3, 29): "Nhắc việc: khóa học “Luật Thanh tra 2025” đến hạn ngày 01/04/2026",
        date(2026, 4, 1): "Hôm nay đến hạn: khóa học “Luật Thanh tra 2025”",
        date(2026, 4, 8): "Quá hạn từ ngày 01/04/2026: khóa học “Luật Thanh tra 2025”",
        date(2026, 4, 15): "Quá hạn từ ngày 01/04/2026: khóa học “Luật Thanh tra 2025”",
    }
    texts = [text_of(m) for m in smtp.inbox.messages]
    assert "Luật Thanh tra 2025: bắt buộc, hạn hoàn thành ngày 01/04/2026." in texts[0]
    assert "hạn hoàn thành ngày 01/04/2026, còn 14 ngày." in texts[1]
    assert "hạn hoàn thành ngày 01/04/2026, còn 3 ngày." in texts[2]
    assert "hạn hoàn thành là hôm nay, 01/04/2026." in texts[3]
    assert "hạn hoàn thành ngày 01/04/2026, đã quá hạn 7 ngày." in texts[4]
    assert "đã quá hạn 14 ngày." in texts[5]


def test_completing_the_course_stops_the_reminders(mail_app, person, smtp):
    app, o, _factory = mail_app
    staff, _user = person(o.section_a, email="xong@example.vn")
    enrolment = enrol(app, staff, o.course_id, date(2026, 3, 2), date(2026, 4, 1))
    at(date(2026, 3, 18))
    assert "1 sent" in run(app).output  # 14 days before
    with app.app_context():
        db.session.get(type(enrolment), enrolment.id).state = EnrolmentState.COMPLETED
        db.session.commit()
    for day in (date(2026, 3, 29), date(2026, 4, 1), date(2026, 4, 8)):
        at(day)
        assert "0 sent" in run(app).output
    assert len(smtp.inbox.envelopes) == 1


def test_leavers_on_leave_done_exempt_closed_optional_and_accountless_get_nothing(mail_app, person, smtp):
    app, o, _factory = mail_app
    due = MONDAY + timedelta(days=3)
    assigned = MONDAY - timedelta(days=30)

    def someone(email: str, **fields) -> Staff:
        staff, _user = person(o.section_a, name=f"Người {email}", email=email)
        enrol(app, staff, o.course_id, assigned, due, **fields)
        return staff

    someone("con-hoc@example.vn")  # the only one who gets a mail
    someone("xong@example.vn", state=EnrolmentState.COMPLETED)
    someone("mien@example.vn", state=EnrolmentState.EXEMPT)
    someone("tu-chon@example.vn", required=False, source=EnrolmentSource.SELF)
    someone("chuyen-di@example.vn", closed_at=datetime(2026, 2, 20, tzinfo=UTC))  # moved out
    left = someone("nghi-viec@example.vn")
    on_leave = someone("nghi-phep@example.vn")
    someone("khoa@example.vn")
    with app.app_context():
        db.session.get(Staff, left.id).status = StaffStatus.LEFT
        db.session.get(Staff, on_leave.id).status = StaffStatus.ON_LEAVE
        db.session.scalar(sa.select(User).where(User.email == "khoa@example.vn")).active = False
        db.session.commit()
    no_account = save(app, Staff(staff_code="999001", full_name="Không Tài Khoản", email="none@example.vn",
                                 unit_id=o.section_a.id))
    enrol(app, no_account, o.course_id, assigned, due)
    at(MONDAY)
    result = run(app)
    assert "1 sent, 0 failed" in result.output
    assert "2 reminder(s) skipped: no active account" in result.output  # the disabled and the accountless
    assert smtp.inbox.recipients() == ["con-hoc@example.vn"]


def test_the_renewal_reminder_30_days_before_the_certificate_expires(mail_app, person, smtp):
    from mooc.training import assign

    app, o, _factory = mail_app
    staff, _user = person(o.section_a, name="Lý Văn Gia", email="gia@example.vn")
    rule = save(app, AssignmentRule(course_id=o.course_id, due_days=30, renew_months=12))
    with app.app_context():
        rule_row = db.session.get(AssignmentRule, rule.id)
        rule_row.units = [db.session.get(type(o.section_a), o.section_a.id)]
        db.session.commit()
    expires = date(2027, 3, 31)
    enrol(app, staff, o.course_id, date(2026, 2, 1), date(2026, 3, 3), state=EnrolmentState.COMPLETED,
          rule_id=rule.id, expires_on=expires,
          completed_at=datetime(2026, 3, 31, 3, tzinfo=UTC))
    at(expires - timedelta(days=31))
    assert "0 sent" in run(app).output
    at(expires - timedelta(days=30))
    with app.app_context():  # the nightly `mooc training assign` opens the renewal cycle the same day
        assert assign.apply_rules().renewed == 1
        db.session.commit()
    result = run(app)
    assert "1 sent" in result.output, result.output  # one mail: the renewal, no "new course" for cycle 2
    (message,) = smtp.inbox.messages
    assert message["Subject"] == "Chứng nhận khóa học “Luật Thanh tra 2025” của bạn hết hạn ngày 31/03/2027"
    assert "chứng nhận của bạn hết hạn ngày 31/03/2027" in text_of(message)
    at(expires - timedelta(days=14))  # then the renewal cycle's own steps
    assert "1 sent" in run(app).output
    assert "đến hạn ngày 31/03/2027" in smtp.inbox.messages[-1]["Subject"]


def test_the_home_warns_from_the_day_of_the_first_reminder(mail_app, person, smtp):
    app, o, factory = mail_app
    staff, user = person(o.section_a, email="nha@example.vn")
    due = date(2026, 4, 1)
    enrol(app, staff, o.course_id, date(2026, 2, 1), due)
    warning = "Khóa học “Luật Thanh tra 2025” đến hạn ngày 01/04/2026."

    def home(app_, day: date) -> str:
        at(day)
        client = app_.test_client()
        assert login(client, user.email).status_code == 302
        return client.get("/").get_data(as_text=True)

    assert warning not in home(app, due - timedelta(days=15))
    assert "0 sent" in run(app).output
    assert warning in home(app, due - timedelta(days=14))
    assert "1 sent" in run(app).output
    # another schedule: the warning follows the first reminder
    wider = factory(REMINDER_DAYS_BEFORE=(21, 3))
    assert warning not in home(wider, due - timedelta(days=22))
    assert warning in home(wider, due - timedelta(days=21))
    with wider.app_context():
        assert [i.step for m in plan(date(2026, 3, 11), Schedule.of(settings(wider))).trainees
                for i in m.items] == ["due-21"]
