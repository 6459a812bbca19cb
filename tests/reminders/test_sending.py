"""Sending through a real SMTP server on loopback: the messages as received, idempotency,
interruption, a mail server that is down or refuses, the dry run and the file outbox."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mooc import clock, mail
from mooc.config import settings
from mooc.extensions import db
from mooc.reminders import sender
from mooc.reminders.models import ReminderLog, ReminderStatus
from mooc.reminders.schedule import Schedule, plan
from tests.reminders.conftest import BASE_URL, Inbox, Smtp, at, enrol, free_port, html_of, run, text_of

MONDAY = date(2026, 3, 2)
DUE = MONDAY + timedelta(days=3)  # 05/03/2026: the "3 days before" reminder is due on MONDAY


def log_rows(app) -> list[ReminderLog]:
    with app.app_context():
        rows = db.session.scalars(sa.select(ReminderLog).order_by(ReminderLog.id)).all()
        db.session.expunge_all()
        return rows


def people_due(o, person, n: int, app) -> list:
    """``n`` people each with the luat course due in 3 days (assigned a month ago)."""
    people = []
    for i in range(n):
        staff, user = person(o.section_a, name=f"Trần Văn Số {i}", email=f"so{i}@example.vn")
        enrol(app, staff, o.course_id, MONDAY - timedelta(days=30), DUE)
        people.append((staff, user))
    return people


def test_a_reminder_as_the_trainee_receives_it(mail_app, person, smtp):
    app, o, _factory = mail_app
    staff, user = person(o.section_a, name="Nguyễn Thị Hoà", email="hoa@example.vn")
    enrol(app, staff, o.course_id, MONDAY - timedelta(days=30), DUE)
    at(MONDAY)
    result = run(app)
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed" in result.output
    (envelope,) = smtp.inbox.envelopes
    assert envelope.rcpt_tos == ["hoa@example.vn"] and envelope.mail_from == "daotao@example.vn"
    (message,) = smtp.inbox.messages
    assert message["Subject"] == "Nhắc việc: khóa học “Luật Thanh tra 2025” đến hạn ngày 05/03/2026"
    assert message["To"].addresses[0].display_name == "Nguyễn Thị Hoà"
    text, html = text_of(message), html_of(message)
    assert "Xin chào Nguyễn Thị Hoà," in text
    assert "Luật Thanh tra 2025: hạn hoàn thành ngày 05/03/2026, còn 3 ngày." in text
    assert f"{BASE_URL}/courses/luat" in text
    assert f'<a href="{BASE_URL}/courses/luat">Mở khóa học</a>' in html
    assert '<html lang="vi">' in html
    (row,) = log_rows(app)
    assert (row.key, row.status, row.attempts, row.recipient) == (
        f"e{row.enrolment_id}:due-3", ReminderStatus.SENT, 1, "hoa@example.vn")
    assert row.message_id == message["Message-ID"] and row.sent_at == clock.now()
    with app.test_client() as client:  # the link leads to the course
        assert client.get("/courses/luat").status_code in (200, 302)


def test_names_arrive_escaped_in_html_and_unaltered_in_text(mail_app, person, smtp):
    app, o, _factory = mail_app
    name = "<b>Lê</b> & \"Văn\" <script>x</script>"
    staff, _user = person(o.section_a, name=name, email="le@example.vn")
    enrol(app, staff, o.course_id, MONDAY, MONDAY + timedelta(days=30))
    at(MONDAY)
    assert run(app).exit_code == 0
    (message,) = smtp.inbox.messages
    assert message["Subject"] == "Khóa học bắt buộc mới: Luật Thanh tra 2025"
    assert f"Xin chào {name}," in text_of(message)
    html = html_of(message)
    assert "<b>Lê</b>" not in html and "<script>" not in html
    assert "Xin chào &lt;b&gt;Lê&lt;/b&gt; &amp; &#34;Văn&#34; &lt;script&gt;x&lt;/script&gt;," in html


def test_one_mail_per_person_with_their_own_courses_only(mail_app, person, smtp):
    app, o, _factory = mail_app
    an, _ = person(o.section_a, name="Phạm Văn An", email="an@example.vn")
    binh, _ = person(o.section_a, name="Đỗ Thị Bình", email="binh@example.vn")
    enrol(app, an, o.course_id, MONDAY - timedelta(days=30), MONDAY - timedelta(days=7))  # overdue a week
    enrol(app, an, o.optional_id, MONDAY - timedelta(days=30), DUE)
    enrol(app, binh, o.course_id, MONDAY - timedelta(days=30), DUE)
    at(MONDAY)
    assert run(app).exit_code == 0
    by_to = {m["To"].addresses[0].addr_spec: m for m in smtp.inbox.messages}
    assert set(by_to) == {"an@example.vn", "binh@example.vn"}
    mail_an = by_to["an@example.vn"]
    assert mail_an["Subject"] == "Nhắc việc đào tạo: 2 khóa học cần bạn chú ý"
    text = text_of(mail_an)
    assert text.index("QUÁ HẠN") < text.index("SẮP ĐẾN HẠN")  # the overdue first
    assert "Luật Thanh tra 2025: hạn hoàn thành ngày 23/02/2026, đã quá hạn 7 ngày." in text
    assert "Kỹ năng mềm: hạn hoàn thành ngày 05/03/2026, còn 3 ngày." in text
    assert f"{BASE_URL}/courses/tuy-chon" in text
    assert "Bình" not in text and "Bình" not in html_of(mail_an)  # nobody else's name
    assert "An" not in text_of(by_to["binh@example.vn"]).replace("Thanh", "")


def test_running_twice_sends_nothing_twice(mail_app, person, smtp):
    app, o, _factory = mail_app
    people_due(o, person, 3, app)
    at(MONDAY)
    assert "3 sent" in run(app).output
    second = run(app)
    assert second.exit_code == 0 and "0 sent, 0 failed" in second.output
    at(MONDAY, hour=18)  # later the same day, and the next day: still nothing new
    assert "0 sent" in run(app).output
    at(MONDAY + timedelta(days=1))
    assert "0 sent" in run(app).output
    assert sorted(smtp.inbox.recipients()) == ["so0@example.vn", "so1@example.vn", "so2@example.vn"]
    assert {r.status for r in log_rows(app)} == {ReminderStatus.SENT}


def test_dry_run_lists_what_would_go_to_whom_and_writes_nothing(mail_app, person, smtp):
    app, o, _factory = mail_app
    people_due(o, person, 2, app)
    at(MONDAY)
    result = run(app, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "to Trần Văn Số 0 <so0@example.vn>: due-3 “Luật Thanh tra 2025” (05/03/2026)" in result.output
    assert "2 message(s) would be sent (2 to trainees, 0 digest(s))" in result.output
    assert "nothing was sent or written" in result.output
    assert smtp.inbox.envelopes == [] and log_rows(app) == []
    assert "2 sent" in run(app).output  # the real run afterwards


def _plan(app):
    return plan(clock.today(), Schedule.of(settings(app)))


def test_an_interrupted_run_is_finished_by_the_next_one_and_nothing_goes_twice(mail_app, person, smtp):
    """A crash before the third hand-over: the next run sends the others at once, and the
    one in doubt after the pending window (at least once)."""
    app, o, _factory = mail_app
    people_due(o, person, 5, app)
    at(MONDAY)
    calls = []

    def crash_on_third(to, subject, text, html):
        calls.append(to)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return mail.send(to, subject, text, html)

    with app.app_context(), pytest.raises(RuntimeError):
        sender.send_plan(_plan(app), deliver=crash_on_third)
    assert len(smtp.inbox.envelopes) == 2
    statuses = [r.status for r in log_rows(app)]
    assert statuses == [ReminderStatus.SENT] * 2 + [ReminderStatus.PENDING]  # the rest never claimed

    assert "2 sent" in run(app).output  # the two never claimed; the claimed one is left alone
    assert len(smtp.inbox.envelopes) == 4
    at(MONDAY, hour=8)  # the pending window (30 minutes) has passed: the one in doubt counts as unsent
    assert "1 sent" in run(app).output
    recipients = smtp.inbox.recipients()
    assert sorted(recipients) == [f"so{i}@example.vn" for i in range(5)]  # each exactly once
    rows = log_rows(app)
    assert {r.status for r in rows} == {ReminderStatus.SENT}
    assert sorted(r.attempts for r in rows) == [1, 1, 1, 1, 2]
    assert "0 sent" in run(app).output


def test_a_crash_between_hand_over_and_confirmation_sends_that_one_again(mail_app, person, smtp):
    """At least once: the message the server accepted but the run could not confirm is sent
    again after the pending window (the documented trade-off: at most one per crash)."""
    app, o, _factory = mail_app
    people_due(o, person, 3, app)
    at(MONDAY)
    calls = []

    def crash_after_second(to, subject, text, html):
        calls.append(to)
        sent = mail.send(to, subject, text, html)
        if len(calls) == 2:
            raise KeyboardInterrupt  # killed after the server took it
        return sent

    with app.app_context(), pytest.raises(KeyboardInterrupt):
        sender.send_plan(_plan(app), deliver=crash_after_second)
    assert len(smtp.inbox.envelopes) == 2
    assert "1 sent" in run(app).output  # the third; the second is in doubt and left alone
    at(MONDAY, hour=8)
    assert "1 sent" in run(app).output
    recipients = smtp.inbox.recipients()
    assert len(recipients) == 4 and recipients.count("so1@example.vn") == 2  # the one in doubt
    assert "0 sent" in run(app).output


def test_a_stopped_run_leaves_nothing_in_doubt(mail_app, person, smtp):
    """Ctrl+C / SIGTERM stop the run between two messages (commands.stop_on_signals)."""
    app, o, _factory = mail_app
    people_due(o, person, 4, app)
    at(MONDAY)
    with app.app_context():
        report = sender.send_plan(_plan(app), should_stop=lambda: len(smtp.inbox.envelopes) >= 2)
    assert (report.sent, report.left, report.stopped) == (2, 2, "interrupted")
    assert [r.status for r in log_rows(app)] == [ReminderStatus.SENT] * 2  # nothing pending
    assert "2 sent" in run(app).output
    assert sorted(smtp.inbox.recipients()) == [f"so{i}@example.vn" for i in range(4)]


def test_mail_server_down_nothing_is_marked_sent_and_the_next_run_sends_everything(mail_app, person):
    app_factory = mail_app[2]
    port = free_port()
    app = app_factory(MAIL_PORT=port)  # nothing listens there yet: connection refused
    o = mail_app[1]
    people_due(o, person, 3, app)
    at(MONDAY)
    result = run(app)
    assert result.exit_code == 1
    assert "0 sent, 1 failed" in result.output
    assert "stopped (mail server unavailable), 2 left" in result.output
    assert "not sent: so0@example.vn: could not send mail through 127.0.0.1" in result.output
    (row,) = log_rows(app)  # the run stopped at the first failure: the others were not even claimed
    assert row.status == ReminderStatus.FAILED and "127.0.0.1" in row.last_error

    server = Smtp(port, Inbox())  # the server comes back
    server.start()
    try:
        result = run(app)
        assert result.exit_code == 0, result.output
        assert "3 sent, 0 failed" in result.output
    finally:
        server.stop()
    assert sorted(server.inbox.recipients()) == ["so0@example.vn", "so1@example.vn", "so2@example.vn"]
    rows = log_rows(app)
    assert [r.status for r in rows] == [ReminderStatus.SENT] * 3
    assert [r.attempts for r in rows] == [2, 1, 1] and rows[0].last_error is None


def test_a_refused_recipient_fails_alone_and_is_retried(mail_app, person, smtp):
    app, o, _factory = mail_app
    people_due(o, person, 3, app)
    smtp.inbox.refused = {"so1@example.vn"}
    at(MONDAY)
    result = run(app)
    assert result.exit_code == 1 and "2 sent, 1 failed" in result.output
    assert "stopped" not in result.output  # one address refused: the others still go
    failed = [r for r in log_rows(app) if r.status == ReminderStatus.FAILED]
    assert [r.recipient for r in failed] == ["so1@example.vn"] and "No such user" in failed[0].last_error
    smtp.inbox.refused = set()
    at(MONDAY + timedelta(days=1))  # the next day the step is still current: retried
    assert "1 sent" in run(app).output
    assert sorted(smtp.inbox.recipients()) == ["so0@example.vn", "so1@example.vn", "so2@example.vn"]


def test_the_file_backend_writes_eml_files_and_nothing_leaves_the_machine(org, person):
    app, o = org  # MOOC_MAIL_BACKEND defaults to file outside production
    people_due(o, person, 2, app)
    at(MONDAY)
    assert "2 sent" in run(app).output
    files = sorted((settings(app).instance_dir / "outbox").glob("*.eml"))
    assert len(files) == 2
    assert b"Subject: =?utf-8?" in files[0].read_bytes()


def test_the_audit_trail_records_each_run(mail_app, person, smtp):
    """A run with nothing to send is recorded too: `mooc doctor` tells when the last run was."""
    from mooc.auth.models import AuditEvent

    app, o, _factory = mail_app
    people_due(o, person, 1, app)
    at(MONDAY)
    run(app)
    run(app)  # nothing left to send: still a run
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reminders.sent")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.details["sent"], e.details["failed"]) for e in events] == [(1, 0), (0, 0)]


def test_two_runs_at_once_never_claim_the_same_message(mail_app, person, smtp):
    """Both runs planned before either sent: the second finds the keys claimed and skips them."""
    app, o, _factory = mail_app
    people_due(o, person, 3, app)
    at(MONDAY)
    with app.app_context():
        first, second = _plan(app), _plan(app)
        assert first.messages == second.messages == 3
        report_one = sender.send_plan(first)
        report_two = sender.send_plan(second)
    assert (report_one.sent, report_one.skipped) == (3, 0)
    assert (report_two.sent, report_two.skipped) == (0, 3)
    assert len(smtp.inbox.envelopes) == 3
    with app.app_context():  # a claim younger than the pending window is never taken over
        db.session.execute(sa.update(ReminderLog).values(status=ReminderStatus.PENDING,
                                                         claimed_at=clock.now() - timedelta(minutes=29)))
        db.session.commit()
        message = sender.outgoing(first, BASE_URL)[0]
        now = clock.now()
        assert sender.claim(message, now, now - timedelta(minutes=30)) == set()
        assert sender.claim(message, now, now - timedelta(minutes=28)) == set(message.rows)  # stale
