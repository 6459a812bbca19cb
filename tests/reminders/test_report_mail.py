"""Reports by e-mail: a subscription made on the web is mailed once per period through a
real SMTP server, with the XLSX and the PDF (opened and read here), a summary and an inline
chart; the reader's scope is checked again at every sending; an administrator can mail an
address without an account, with the unit fixed; a failed mail is retried."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timedelta

import openpyxl
import sqlalchemy as sa
from pypdf import PdfReader

from mooc.auth.models import AuditEvent, Role, User
from mooc.extensions import db
from mooc.reports.models import DeliveryStatus, ReportDelivery, ReportSubscription
from mooc.roster.models import Position
from mooc.training.models import Enrolment, EnrolmentState
from tests.conftest import csrf_token, login, save
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
    assert "50,0%" in text and "Phòng 2: 0,0%" in text and "Phòng 1: 66,7%" in text
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
    pdf = PdfReader(io.BytesIO(files[pdf_name]))
    pdf_text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Phòng 1" in pdf_text and "Phòng 2" in pdf_text and "Hà Nội" not in pdf_text
    assert "66,7" in pdf_text and "Thanh tra tỉnh Ninh Bình" in pdf_text
    [chart] = pdf.pages[0].images  # the bar chart is in the PDF, not only its text
    assert chart.image.size[0] == 900 and chart.image.getcolors(2**16) is not None
    assert (31, 95, 153) in {colour for _count, colour in chart.image.convert("RGB").getcolors(2**16)}

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
    assert "75,0%" in latest and "25,0" in latest  # 3 of 4; +25 points


def test_a_percentage_reads_the_same_on_the_page_in_the_mail_and_in_its_pdf(mail_app, person, make_user,
                                                                           smtp):
    """The mails wrote "66,7 %" where the pages wrote "66,7%": one formatter now writes them all
    (mooc.formatting.format_percent), the mail's text and HTML, its PDF and the dashboard alike."""
    app, o, _factory = mail_app
    _people(app, o, person)
    _user, client = _manager(app, make_user, o)
    page = client.get(f"/reports/units/{o.province.id}").get_data(as_text=True)
    _subscribe(client, kind="dashboard", unit=o.province.id, frequency="weekly", pdf="1")
    assert "Sent 1" in _run(app).output
    [message] = smtp.inbox.messages
    [pdf] = [data for name, data in _attachments(message).items() if name.endswith(".pdf")]
    read = {"page": page, "mail": text_of(message), "HTML mail": html_of(message),
            "PDF": "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)}
    for where, text in read.items():
        assert "66,7%" in text and "50,0%" in text, where  # Phòng 1: 2 of 3; the province: 2 of 4
        assert not re.search(r"\d,\d\s%", text), where


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
    assert "50,0%" in text and "Phòng 1: 66,7%" in text and "Phòng 2: 0,0%" in text
    files = _attachments(message)
    [xlsx] = [data for name, data in files.items() if name.endswith(".xlsx")]
    book = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    people = {row[1]: row[4] for row in book.worksheets[1].iter_rows(values_only=True)
              if len(row) > 4 and isinstance(row[1], str)}
    assert people["Lê Văn Chậm"] == "không" and people["Nguyễn Văn An"] == "có"
    assert "Đỗ Minh Khang" not in people  # Hà Nội
    [pdf] = [data for name, data in files.items() if name.endswith(".pdf")]
    assert "Phòng 1" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


# --- the page's filters go with the subscription -------------------------------------------------


def _hidden_fields(client, page: str) -> dict[str, str]:
    """The page's "Receive this report by e-mail" form: its hidden fields (kind, unit and the
    page's filters), as a browser sends them."""
    html = client.get(page).get_data(as_text=True)
    form = html.split('action="/reports/subscriptions"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))


def _subscribe_from(client, page: str, **choices: str):
    fields = _hidden_fields(client, page)
    return fields, client.post("/reports/subscriptions", data={**fields, "frequency": "monthly", **choices})


def _workbook_rows(message) -> list[tuple]:
    [xlsx] = [data for name, data in _attachments(message).items() if name.endswith(".xlsx")]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0]
    return list(sheet.iter_rows(values_only=True))


def _positioned_people(app, o, person):
    """Ninh Bình by position. Inspectors: An (section 1, done), Chậm (section 1, overdue since
    27/02), Cũ (section 1, overdue since 21/01), Khang (section 2, not yet due); chiefs: Bình
    (section 1, done), Hà (section 2, overdue since 01/03)."""
    at(MONDAY)
    for name, unit, position, state, due in [
        ("Nguyễn Văn An", o.section_a, o.inspector, EnrolmentState.COMPLETED, MONDAY + timedelta(days=5)),
        ("Lê Văn Chậm", o.section_a, o.inspector, EnrolmentState.NOT_STARTED, MONDAY - timedelta(days=3)),
        ("Vũ Văn Cũ", o.section_a, o.inspector, EnrolmentState.NOT_STARTED, MONDAY - timedelta(days=40)),
        ("Đỗ Minh Khang", o.section_b, o.inspector, EnrolmentState.NOT_STARTED, MONDAY + timedelta(days=20)),
        ("Trần Thị Bình", o.section_a, o.chief, EnrolmentState.COMPLETED, MONDAY + timedelta(days=5)),
        ("Phạm Thu Hà", o.section_b, o.chief, EnrolmentState.IN_PROGRESS, MONDAY - timedelta(days=1)),
    ]:
        staff, _user = person(unit, position, name=name)
        finished = state == EnrolmentState.COMPLETED
        done = {"completed_at": at_noon(MONDAY - timedelta(days=2))} if finished else {}
        enrol(app, staff, o.course_id, LONG_AGO, due, state=state, **done)


def test_a_subscription_keeps_the_dashboards_position_filter(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    _positioned_people(app, o, person)
    user, client = _manager(app, make_user, o)
    page = f"/reports/units/{o.province.id}?position={o.inspector.id}"
    fields, answer = _subscribe_from(client, page, xlsx="1", pdf="1")
    assert fields["position"] == str(o.inspector.id) and fields["kind"] == "dashboard"  # carried by the form
    assert answer.status_code == 302
    with app.app_context():
        subscription = db.session.scalar(sa.select(ReportSubscription))
        assert subscription.filters == {"position": o.inspector.id}
    listed = client.get("/reports/subscriptions").get_data(as_text=True)
    assert "Chức vụ: Thanh tra viên" in listed

    assert "Sent 1" in _run(app).output
    [message] = smtp.inbox.messages
    rows = _workbook_rows(message)
    total = next(row for row in rows if row and row[0] == "Tổng cộng")
    # the inspectors only: An done; Chậm and Cũ overdue; Khang not started (the chiefs would make 6)
    assert list(total[3:8]) == [4, 1, 0, 1, 2]
    assert any("Chức vụ: Thanh tra viên" in str(cell) for row in rows[:3] for cell in row if cell)
    assert "25,0%" in text_of(message) and "Chức vụ: Thanh tra viên" in message["Subject"]


def test_the_overdue_lists_position_and_due_dates_are_kept(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    _positioned_people(app, o, person)
    _user, client = _manager(app, make_user, o)
    window = f"due_from={MONDAY - timedelta(days=10)}&due_to={MONDAY - timedelta(days=1)}"
    page = f"/reports/people?status=overdue&unit={o.province.id}&position={o.inspector.id}&{window}"
    fields, answer = _subscribe_from(client, page, xlsx="1")
    assert fields["kind"] == "overdue" and fields["due_from"] == "2026-02-20" and answer.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(ReportSubscription.filters)) == {
            "position": o.inspector.id, "due_from": "2026-02-20", "due_to": "2026-03-01"}
    assert "Hạn: 20/02/2026–01/03/2026" in client.get("/reports/subscriptions").get_data(as_text=True)
    assert "Sent 1" in _run(app).output
    rows = _workbook_rows(smtp.inbox.messages[0])
    names = {row[1] for row in rows if len(row) > 1 and isinstance(row[1], str)}
    # Chậm: an overdue inspector due in the window; not Cũ (due before it), nor Hà (a chief)
    assert names & {"Lê Văn Chậm", "Vũ Văn Cũ", "Phạm Thu Hà", "Nguyễn Văn An"} == {"Lê Văn Chậm"}


def test_a_filter_naming_a_position_that_is_gone_skips_the_mail_and_says_why(mail_app, person, make_user,
                                                                            smtp):
    app, o, _factory = mail_app
    _positioned_people(app, o, person)
    accountant = save(app, Position(code="KT", title="Kế toán", rank=50))
    _user, client = _manager(app, make_user, o)
    page = f"/reports/units/{o.province.id}?position={accountant.id}"
    _fields, answer = _subscribe_from(client, page, xlsx="1")
    assert answer.status_code == 302
    with app.app_context():
        db.session.delete(db.session.get(Position, accountant.id))
        db.session.commit()
    assert "skip (filter position" in _run(app, "--dry-run").output
    result = _run(app)
    assert result.exit_code == 0 and "skipped 1" in result.output, result.output
    assert smtp.inbox.messages == []  # never the whole province instead
    with app.app_context():
        delivery = db.session.scalar(sa.select(ReportDelivery))
        assert delivery.status == DeliveryStatus.SKIPPED and "position" in delivery.detail
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "reports.subscription_skipped"))
        assert event.details["reason"] == "filter position no longer exists"
    assert "Chức vụ: không còn tồn tại" in client.get("/reports/subscriptions").get_data(as_text=True)
    admin = make_user(role=Role.ADMIN)
    with app.test_client() as audit:
        login(audit, admin.email)
        log = audit.get("/admin/audit?action=reports.subscription_skipped").get_data(as_text=True)
    assert "chức vụ dùng làm bộ lọc của báo cáo không còn tồn tại" in log, log  # said, in Vietnamese
    # and a filter that names nothing is refused when subscribing
    refused = _subscribe(client, kind="dashboard", unit=o.province.id, position=accountant.id, xlsx="1")
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportSubscription)) == 1


def test_the_summary_names_the_five_units_furthest_behind(mail_app, person, make_user, make_unit, smtp):
    """Seven teams: three at 0%, two at 50%, two at 100%: the five listed are the five
    lowest, lowest first; the two at 100% are not."""
    app, o, _factory = mail_app
    at(MONDAY)
    for n, done_of in enumerate([(0, 1), (0, 1), (0, 1), (1, 2), (1, 2), (1, 1), (1, 1)], 1):
        team = make_unit(f"Đội {n}", parent=o.province, code=f"NB-D{n}")
        done, people = done_of
        for k in range(people):
            staff, _user = person(team, name=f"Cán Bộ {n}{k}")
            finished = k < done
            enrol(app, staff, o.course_id, LONG_AGO, MONDAY + timedelta(days=5),
                  state=EnrolmentState.COMPLETED if finished else EnrolmentState.NOT_STARTED,
                  **({"completed_at": at_noon(MONDAY - timedelta(days=1))} if finished else {}))
    _user, client = _manager(app, make_user, o)
    _subscribe(client, kind="dashboard", unit=o.province.id, frequency="monthly", xlsx="1")
    assert "Sent 1" in _run(app).output
    text = text_of(smtp.inbox.messages[0])
    behind = text.split("Các đơn vị chậm nhất:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert sorted(behind[:3]) == ["Đội 1: 0,0%", "Đội 2: 0,0%", "Đội 3: 0,0%"]
    assert sorted(behind[3:]) == ["Đội 4: 50,0%", "Đội 5: 50,0%"]
    assert len(behind) == 5 and "Đội 6" not in "\n".join(behind) and "Đội 7" not in "\n".join(behind)


def test_a_dry_run_changes_nothing(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    _people(app, o, person)
    _user, client = _manager(app, make_user, o)
    _subscribe(client, kind="dashboard", unit=o.province.id, frequency="weekly", xlsx="1")

    def state():
        with app.app_context():
            return (db.session.scalar(sa.select(sa.func.count()).select_from(ReportDelivery)),
                    db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
                    db.session.scalar(sa.select(ReportSubscription.active)))

    before = state()
    dry = _run(app, "--dry-run")
    assert dry.exit_code == 0 and "send" in dry.output and "1 subscriptions due" in dry.output
    assert state() == before == (0, before[1], True) and smtp.inbox.messages == []
    assert "Sent 1" in _run(app).output  # it was due: the dry run only looked
    assert state()[0] == 1


def test_the_dashboard_downloads_the_pdf_its_subscribers_are_mailed(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    _positioned_people(app, o, person)
    _user, client = _manager(app, make_user, o)
    page = f"/reports/units/{o.province.id}?position={o.inspector.id}"
    assert f"position={o.inspector.id}&amp;export=pdf" in client.get(page).get_data(as_text=True)
    answer = client.get(page + "&export=pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith("attachment") and ".pdf" in \
        answer.headers["Content-Disposition"]
    pdf = PdfReader(io.BytesIO(answer.data))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Phòng 1" in text and "Phòng 2" in text and "Hà Nội" not in text
    assert "Chức vụ: Thanh tra viên" in text and "25,0" in text  # the inspectors: 1 of 4
    assert len(pdf.pages[0].images) == 1  # the chart
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.details).where(
            AuditEvent.action == "report.exported"))["format"] == "pdf"


def test_a_report_filtered_to_what_is_still_to_finish_can_be_exported_and_subscribed(
        mail_app, person, make_user, smtp):
    """The pages and the subscriptions read a report's filters in one place: the lists' "still
    to finish" status (overdue, in progress or not started), which a page shows, is one a
    subscription takes and a file's header names (a subscription was refused as a bad filter,
    and the list's export failed with a 500 naming it)."""
    app, o, _factory = mail_app
    _people(app, o, person)
    user, client = _manager(app, make_user, o)
    exported = client.get(f"/reports/people?unit={o.province.id}&status=to_do&export=csv")
    assert exported.status_code == 200
    text = exported.get_data().decode("utf-8-sig")
    assert "Chưa hoàn thành" in text and "Lê Văn Chậm" in text and "Nguyễn Văn An" not in text
    fields, answer = _subscribe_from(client, f"/reports/units/{o.province.id}?status=to_do", xlsx="1")
    assert fields["status"] == "to_do" and answer.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(ReportSubscription.filters)) == {"status": "to_do"}
    assert "Trạng thái: Chưa hoàn thành" in client.get("/reports/subscriptions").get_data(as_text=True)
    assert "Sent 1" in _run(app).output
    rows = _workbook_rows(smtp.inbox.messages[0])
    assert any("Chưa hoàn thành" in str(cell) for row in rows[:3] for cell in row if cell)


def test_a_mail_written_in_english_writes_its_numbers_in_english(mail_app, person, make_user, smtp):
    """A site whose language is English mails "50.0%", not the Vietnamese "50,0%": the numbers
    of a mail follow the language it is written in (``force_locale``), outside any request."""
    _app, o, factory = mail_app
    app = factory(DEFAULT_LOCALE="en")
    _people(app, o, person)
    _user, client = _manager(app, make_user, o)
    answer = _subscribe(client, kind="dashboard", unit=o.province.id, frequency="weekly", pdf="1")
    assert answer.status_code == 302
    result = _run(app)
    assert result.exit_code == 0, result.output
    assert "Sent 1" in result.output, result.output
    [message] = smtp.inbox.messages
    text = text_of(message)
    assert "Completion rate: 50.0%" in text and "Phòng 1: 66.7%" in text and "50,0" not in text
