"""Reports by e-mail: a subscription made on the web is mailed once per period through a
real SMTP server, with the XLSX and the PDF (opened and read here), a summary and an inline
chart; the reader's scope is checked again at every sending; an administrator can mail an
address without an account, with the unit fixed; a failed mail is retried."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import openpyxl
import sqlalchemy as sa
from pypdf import PdfReader

from mooc.auth.models import AuditEvent, Role, User
from mooc.extensions import db
from mooc.reports.models import DeliveryStatus, ReportDelivery, ReportSubscription
from mooc.training.models import Enrolment, EnrolmentState
from tests.conftest import csrf_token, login
from tests.reminders.conftest import VN, at, enrol, html_of, text_of

MONDAY = date(2026, 3, 2)
LONG_AGO = MONDAY - timedelta(days=60)


def _people(app, o, person):
    """Ninh Bình: section 1 (two done, one overdue), section 2 (one overdue); Hà Nội: one done."""
    at(MONDAY)
    enrolments = {}
    for name, unit, state, due in [
        ("Nguyễn Văn An", o.section_a, EnrolmentState.COMPLETED, MONDAY + timedelta(days=5)),
        ("Trần Thị Bình", o.section_a, EnrolmentState.COMPLETED, MONDAY + timedelta(days=5)),
        ("Lê Văn Chậm", o.section_a, EnrolmentState.NOT_STARTED, MONDAY - timedelta(days=3)),
        ("Phạm Thu Hà", o.section_b, EnrolmentState.IN_PROGRESS, MONDAY - timedelta(days=1)),
        ("Đỗ Minh Khang", o.other, EnrolmentState.COMPLETED, MONDAY + timedelta(days=5)),
    ]:
        staff, _user = person(unit, name=name)
        done = state == EnrolmentState.COMPLETED
        completed = {"completed_at": at_noon(MONDAY - timedelta(days=2))} if done else {}
        enrolments[name] = enrol(app, staff, o.course_id, LONG_AGO, due, state=state, **completed)
    return enrolments


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=VN)


def _manager(app, make_user, o, role=Role.MANAGER):
    user = make_user(email="truongphong@ninhbinh.gov.vn", name="Trưởng Phòng Thanh Tra", role=role,
                     scope_unit=o.province)
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return user, client


def _subscribe(client, **form):
    page = "/reports/units/" + str(form.get("unit", ""))
    return client.post("/reports/subscriptions", data={"csrf_token": csrf_token(client, page), **form})


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["reports", "send", *args])


def _attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def test_a_subscription_made_on_the_web_is_mailed_once_per_period(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    enrolments = _people(app, o, person)
    user, client = _manager(app, make_user, o)
    page = client.get(f"/reports/units/{o.province.id}").get_data(as_text=True)
    assert 'action="/reports/subscriptions"' in page  # the dashboard offers it
    answer = _subscribe(client, kind="dashboard", unit=o.province.id, frequency="weekly", xlsx="1", pdf="1")
    assert answer.status_code == 302
    assert "Thanh tra tỉnh Ninh Bình" in client.get("/reports/subscriptions").get_data(as_text=True)

    result = _run(app)
    assert result.exit_code == 0, result.output
    assert "Sent 1, failed 0, skipped 0" in result.output
    [message] = smtp.inbox.messages
    assert smtp.inbox.recipients() == [user.email]
    assert "Ninh Bình" in message["Subject"] and "02/03/2026" in message["Subject"]
    # The summary: 2 of the 4 people of Ninh Bình completed; the sections furthest behind.
    text = text_of(message)
    assert "50,0 %" in text and "Phòng 2: 0,0 %" in text and "Phòng 1: 66,7 %" in text
    assert "Hà Nội" not in text and "Đỗ Minh Khang" not in text
    body = html_of(message)
    assert 'src="cid:chart"' in body and "http" not in body.split("cid:chart")[0].rsplit("<img", 1)[-1]
    inline = [part for part in message.walk() if part.get("Content-ID") == "<chart>"]
    assert len(inline) == 1 and inline[0].get_content_type() == "image/png"
    assert inline[0].get_content().startswith(b"\x89PNG")
    files = _attachments(message)
    xlsx_name = next(name for name in files if name.endswith(".xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(files[xlsx_name]), read_only=True).worksheets[0]
    cells = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    shown = ("Phòng 1", "Phòng 2", "Tổng cộng", "Thanh tra TP Hà Nội")
    units = [row[0] for row in cells if row and row[0] in shown]
    assert units == ["Phòng 1", "Phòng 2", "Tổng cộng"]
    total = next(row for row in cells if row and row[0] == "Tổng cộng")
    assert total[3:8] == [4, 2, 0, 0, 2]  # required, completed, in progress, not started, overdue
    pdf_name = next(name for name in files if name.endswith(".pdf"))
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(files[pdf_name])).pages)
    assert "Phòng 1" in pdf_text and "Phòng 2" in pdf_text and "Hà Nội" not in pdf_text
    assert "66,7" in pdf_text and "Thanh tra tỉnh Ninh Bình" in pdf_text

    again = _run(app)  # the same week: nothing
    assert again.exit_code == 0 and "Sent 0" in again.output and len(smtp.inbox.messages) == 1

    # Next week, after one more completion: a new mail, with the change since the last one.
    with app.app_context():
        late = db.session.get(Enrolment, enrolments["Lê Văn Chậm"].id)
        late.state, late.completed_at = EnrolmentState.COMPLETED, at_noon(MONDAY + timedelta(days=3))
        db.session.commit()
    at(MONDAY + timedelta(days=7))
    assert "Sent 1" in _run(app).output
    latest = text_of(smtp.inbox.messages[-1])
    assert "75,0 %" in latest and "25,0" in latest  # 3 of 4; +25 points


def test_the_scope_is_checked_again_when_sending(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    _people(app, o, person)
    user, client = _manager(app, make_user, o)
    _subscribe(client, kind="dashboard", unit=o.province.id, frequency="monthly", xlsx="1")
    with app.app_context():  # the manager is moved to another province's unit
        db.session.get(User, user.id).scope_unit_id = o.other.id
        db.session.commit()
    result = _run(app)
    assert result.exit_code == 0 and "skipped 1" in result.output and smtp.inbox.messages == []
    with app.app_context():
        delivery = db.session.scalar(sa.select(ReportDelivery))
        assert delivery.status == DeliveryStatus.SKIPPED and "scope" in delivery.detail
        assert db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "reports.subscription_skipped")) is not None
        db.session.get(User, user.id).role = Role.TRAINEE  # next month: no longer reads reports
        db.session.get(User, user.id).scope_unit_id = None
        db.session.commit()
    at(MONDAY + timedelta(days=31))
    assert "skipped 1" in _run(app).output and smtp.inbox.messages == []


def test_an_administrator_mails_an_address_without_an_account_with_a_fixed_unit(mail_app, person, make_user,
                                                                                smtp):
    app, o, _factory = mail_app
    _people(app, o, person)
    admin = make_user(email="quantri@thanhtra.gov.vn", role=Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    token = csrf_token(client, "/reports/subscriptions")
    answer = client.post("/reports/subscriptions/address", data={
        "csrf_token": token, "email": "VanPhong.LanhDao@thanhtra.gov.vn", "kind": "overdue",
        "unit": o.section_a.id, "frequency": "monthly", "xlsx": "1"})
    assert answer.status_code == 302
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "reports.address_subscribed"))
        assert event.target == "vanphong.lanhdao@thanhtra.gov.vn" and event.details["unit"] == o.section_a.id
    assert "Sent 1" in _run(app).output
    [message] = smtp.inbox.messages
    assert smtp.inbox.recipients() == ["vanphong.lanhdao@thanhtra.gov.vn"]
    [xlsx] = [data for name, data in _attachments(message).items() if name.endswith(".xlsx")]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    names = {row[1] for row in rows if len(row) > 1 and isinstance(row[1], str)}
    assert "Lê Văn Chậm" in names  # overdue, in section 1
    assert not names & {"Nguyễn Văn An", "Phạm Thu Hà", "Đỗ Minh Khang"}  # done / section 2 / Hà Nội


def test_a_mail_that_could_not_be_sent_is_sent_by_the_next_run(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    _people(app, o, person)
    _user, client = _manager(app, make_user, o)
    _subscribe(client, kind="dashboard", unit=o.province.id, frequency="monthly", pdf="1")
    smtp.stop()
    down = _run(app)
    assert down.exit_code == 1 and "failed 1" in down.output
    smtp.start()
    up = _run(app)
    assert up.exit_code == 0 and "Sent 1" in up.output and len(smtp.inbox.messages) == 1
    assert [name for name in _attachments(smtp.inbox.messages[0]) if name.endswith(".pdf")]


def test_a_run_that_died_after_claiming_is_taken_over_later(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    _people(app, o, person)
    _user, client = _manager(app, make_user, o)
    _subscribe(client, kind="dashboard", unit=o.province.id, frequency="monthly", xlsx="1")
    with app.app_context():  # a run claimed it and died before sending
        subscription = db.session.scalar(sa.select(ReportSubscription))
        db.session.add(ReportDelivery(subscription_id=subscription.id, period="2026-03",
                                      status=DeliveryStatus.PENDING))
        db.session.commit()
    held = _run(app)
    assert "Sent 0" in held.output and "held by another run 1" in held.output
    at(MONDAY, hour=9)  # two hours later: taken over
    assert "Sent 1" in _run(app).output and len(smtp.inbox.messages) == 1


def test_who_may_subscribe_to_what(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    _people(app, o, person)
    trainee_staff, trainee = person(o.section_a, name="Học Viên", email="hocvien@example.vn")
    student = app.test_client()
    login(student, "hocvien@example.vn")
    refused = student.post("/reports/subscriptions", data={"csrf_token": csrf_token(student, "/"),
                                                          "kind": "dashboard", "xlsx": "1"})
    assert refused.status_code == 403
    _manager_user, client = _manager(app, make_user, o)
    outside = _subscribe(client, kind="dashboard", unit=o.other.id, frequency="monthly", xlsx="1")
    assert outside.status_code == 302
    no_format = _subscribe(client, kind="dashboard", unit=o.section_a.id, frequency="monthly")
    assert no_format.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSubscription)) == 0
    assert client.post("/reports/subscriptions/address", data={
        "csrf_token": csrf_token(client, "/reports/subscriptions"), "email": "x@y.vn"}).status_code == 403
    mine = _subscribe(client, kind="dashboard", frequency="monthly", xlsx="1")  # "all my units"
    assert mine.status_code == 302
    with app.app_context():
        subscription = db.session.scalar(sa.select(ReportSubscription))
        assert subscription.unit_id == o.province.id  # the manager's own scope
    other = make_user(email="khac@example.vn", role=Role.MANAGER, scope_unit=o.province)
    someone = app.test_client()
    login(someone, other.email)
    ended = someone.post(f"/reports/subscriptions/{subscription.id}/end",
                         data={"csrf_token": csrf_token(someone, "/reports/subscriptions")})
    assert ended.status_code == 404
    dry = _run(app, "--dry-run")
    assert dry.exit_code == 0 and "1 subscriptions due" in dry.output and smtp.inbox.messages == []


def test_compliance_at_the_end_of_the_last_month(mail_app, person, make_user, smtp):
    """Mailed on the first run of April: compliance on 31/03 (section 1: Lê Văn Chậm late)."""
    app, o, _factory = mail_app
    _people(app, o, person)
    _user, client = _manager(app, make_user, o)
    page = client.get(f"/reports/compliance?unit={o.province.id}").get_data(as_text=True)
    assert 'name="kind" value="compliance"' in page
    _subscribe(client, kind="compliance", unit=o.province.id, frequency="monthly", xlsx="1", pdf="1")
    at(date(2026, 4, 1))
    result = _run(app)
    assert result.exit_code == 0 and "Sent 1" in result.output, result.output
    [message] = smtp.inbox.messages
    assert "31/03/2026" in message["Subject"]
    text = text_of(message)
    assert "50,0 %" in text and "Phòng 1: 66,7 %" in text and "Phòng 2: 0,0 %" in text
    files = _attachments(message)
    [xlsx] = [data for name, data in files.items() if name.endswith(".xlsx")]
    book = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    people = {row[1]: row[4] for row in book.worksheets[1].iter_rows(values_only=True)
              if len(row) > 4 and isinstance(row[1], str)}
    assert people["Lê Văn Chậm"] == "không" and people["Nguyễn Văn An"] == "có"
    assert "Đỗ Minh Khang" not in people  # Hà Nội
    [pdf] = [data for name, data in files.items() if name.endswith(".pdf")]
    assert "Phòng 1" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
