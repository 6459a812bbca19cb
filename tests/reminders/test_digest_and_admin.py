"""The managers' weekly digest (scope, content, once a week), the administrators' page of the
log, and the plan's number of queries, which must not grow with the roster."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event

from mooc.auth.models import Role
from mooc.extensions import db
from mooc.reminders import messages
from mooc.reminders.models import ReminderKind, ReminderLog, ReminderStatus
from mooc.reminders.schedule import Schedule, plan
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import EnrolmentState
from tests.conftest import login, save
from tests.reminders.conftest import BASE_URL, at, enrol, html_of, run, text_of

MONDAY = date(2026, 3, 2)
IN_PROGRESS = {"state": EnrolmentState.IN_PROGRESS}


def setup_units(app, o, person, make_user):
    """People behind in three places, and three managers."""
    long_ago = MONDAY - timedelta(days=60)
    a1, _ = person(o.section_a, name="Trần Văn A", email="a1@example.vn")
    enrol(app, a1, o.course_id, long_ago, MONDAY - timedelta(days=10), **IN_PROGRESS)
    b1, _ = person(o.section_b, name="Bùi <i>Thị</i> B", email="b1@example.vn")
    enrol(app, b1, o.course_id, long_ago, MONDAY + timedelta(days=40))
    b2, _ = person(o.section_b, name="Cao Văn C", email="b2@example.vn")
    enrol(app, b2, o.course_id, long_ago, MONDAY + timedelta(days=5), **IN_PROGRESS)
    p1, _ = person(o.province, name="Đinh Văn D", email="p1@example.vn")
    enrol(app, p1, o.course_id, long_ago, None)
    h1, _ = person(o.other, name="Hà Văn H", email="h1@example.vn")
    enrol(app, h1, o.course_id, long_ago, MONDAY - timedelta(days=3))
    gone, _ = person(o.section_a, name="Lê Đã Nghỉ", email="gone@example.vn")
    enrol(app, gone, o.course_id, long_ago, MONDAY - timedelta(days=10))
    done, _ = person(o.section_a, name="Mai Đã Xong", email="done@example.vn")
    enrol(app, done, o.course_id, long_ago, MONDAY - timedelta(days=10), state=EnrolmentState.COMPLETED,
          completed_at=datetime(2026, 2, 1, tzinfo=UTC))
    with app.app_context():
        db.session.get(Staff, gone.id).status = StaffStatus.LEFT
        db.session.commit()
    managers = {
        "nb": make_user(email="ql-nb@example.vn", name="Quản Lý Tỉnh", role=Role.MANAGER,
                        scope_unit=o.province),
        "b": make_user(email="ql-b@example.vn", name="Quản Lý Phòng 2", role=Role.MANAGER,
                       scope_unit=o.section_b),
        "hn": make_user(email="ql-hn@example.vn", name="Quản Lý Hà Nội", role=Role.MANAGER,
                        scope_unit=o.other),
        "off": make_user(email="ql-off@example.vn", name="Đã Thôi", role=Role.MANAGER, scope_unit=o.province,
                         active=False),
        "none": make_user(email="ql-none@example.vn", name="Chưa Có Đơn Vị", role=Role.MANAGER),
    }
    return managers


def digests(smtp) -> dict:
    return {m["To"].addresses[0].addr_spec: m for m in smtp.inbox.messages
            if m["To"].addresses[0].addr_spec.startswith("ql-")}


def test_each_manager_gets_a_weekly_digest_of_their_subtree_only(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    setup_units(app, o, person, make_user)
    at(MONDAY)
    assert run(app).exit_code == 0
    sent = digests(smtp)
    assert set(sent) == {"ql-nb@example.vn", "ql-b@example.vn", "ql-hn@example.vn"}

    province = sent["ql-nb@example.vn"]
    assert province["Subject"] == ("Tổng hợp đào tạo hằng tuần, Thanh tra tỉnh Ninh Bình: 1 quá hạn, "
                                   "1 sắp đến hạn, 2 chưa bắt đầu")
    text = text_of(province)
    assert "Tình hình đào tạo bắt buộc của Thanh tra tỉnh Ninh Bình và các đơn vị trực thuộc, " \
           "tính đến ngày 02/03/2026." in text
    assert "QUÁ HẠN (1)\n- Trần Văn A (Phòng 1): Luật Thanh tra 2025, hạn 20/02/2026, quá hạn 10 ngày" in text
    assert "ĐẾN HẠN TRONG 14 NGÀY TỚI (1)\n- Cao Văn C (Phòng 2): Luật Thanh tra 2025, hạn 07/03/2026 " \
           "(Đang học)" in text
    assert ("CHƯA BẮT ĐẦU (2)\n- Bùi <i>Thị</i> B (Phòng 2): Luật Thanh tra 2025, hạn 11/04/2026\n"
            "- Đinh Văn D (Thanh tra tỉnh Ninh Bình): Luật Thanh tra 2025\n") in text
    unit_id = o.province.id
    assert f"{BASE_URL}/reports/people?unit={unit_id}&status=overdue" in text
    assert f"{BASE_URL}/reports/people?unit={unit_id}&status=not_started" in text
    for outsider in ("Hà Văn H", "Lê Đã Nghỉ", "Mai Đã Xong", "@example.vn"):
        assert outsider not in text  # another province, a leaver, a completion, nobody's address
    html = html_of(province)
    assert "Bùi &lt;i&gt;Thị&lt;/i&gt; B" in html and "<i>Thị</i>" not in html

    section = text_of(sent["ql-b@example.vn"])
    assert "Cao Văn C" in section and "Bùi <i>Thị</i> B" in section
    assert "Trần Văn A" not in section and "Đinh Văn D" not in section and "Hà Văn H" not in section
    assert "QUÁ HẠN" not in section  # an empty section is left out
    other = text_of(sent["ql-hn@example.vn"])
    assert "Hà Văn H" in other and "Trần Văn A" not in other


def test_the_digest_goes_once_a_week(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    setup_units(app, o, person, make_user)
    for day in range(7):  # a whole week of daily runs
        at(MONDAY + timedelta(days=day))
        assert run(app).exit_code == 0
    assert len(digests(smtp)) == 3 and len([m for m in smtp.inbox.recipients() if m.startswith("ql-")]) == 3
    at(MONDAY + timedelta(days=7))
    run(app)
    assert len([m for m in smtp.inbox.recipients() if m.startswith("ql-")]) == 6
    with app.app_context():
        keys = set(db.session.scalars(
            sa.select(ReminderLog.step).where(ReminderLog.kind == ReminderKind.DIGEST)))
    assert keys == {"digest-2026-W10", "digest-2026-W11"}


def test_the_digest_weekday_and_its_catch_up(mail_app, person, make_user, smtp):
    _app, o, factory = mail_app
    app = factory(REMINDER_DIGEST_WEEKDAY=3)  # Wednesday
    setup_units(app, o, person, make_user)
    at(MONDAY)
    run(app)
    assert digests(smtp) == {}
    at(MONDAY + timedelta(days=3))  # Thursday: Wednesday's run was missed, this one catches up
    run(app)
    assert len(digests(smtp)) == 3


def test_long_lists_are_cut_with_a_count_and_a_link(mail_app, person, make_user, smtp, monkeypatch):
    app, o, _factory = mail_app
    setup_units(app, o, person, make_user)
    monkeypatch.setattr(messages, "DIGEST_LIST_LIMIT", 1)
    at(MONDAY)
    run(app)
    text = text_of(digests(smtp)["ql-nb@example.vn"])
    assert "- Bùi <i>Thị</i> B" in text and "Đinh Văn D" not in text
    assert "… và 1 trường hợp khác." in text


def test_the_digest_links_open_the_managers_report(mail_app, person, make_user, smtp):
    app, o, _factory = mail_app
    managers = setup_units(app, o, person, make_user)
    at(MONDAY)
    run(app)
    text = text_of(digests(smtp)["ql-nb@example.vn"])
    link = next(line.split(" ")[-1] for line in text.splitlines() if "status=overdue" in line)
    client = app.test_client()
    assert login(client, managers["nb"].email).status_code == 302
    page = client.get(link.removeprefix(BASE_URL))
    assert page.status_code == 200 and "Trần Văn A" in page.get_data(as_text=True)


def test_the_plan_takes_a_fixed_number_of_queries(org, person):
    app, o = org

    def count_queries(n_people: int) -> int:
        for i in range(n_people):
            staff, _ = person(o.section_a, name=f"Người {i}")
            enrol(app, staff, o.course_id, MONDAY - timedelta(days=30), MONDAY + timedelta(days=3))
        statements = []
        with app.app_context():
            engine = db.engine

            def count(*args):
                statements.append(args[2])

            event.listen(engine, "before_cursor_execute", count)
            try:
                result = plan(MONDAY, Schedule())
            finally:
                event.remove(engine, "before_cursor_execute", count)
        assert result.messages > 0
        return len(statements)

    few = count_queries(2)
    assert count_queries(40) == few <= 6


# --- the administrators' page --------------------------------------------------------------------------


def make_log(app, user, n: int, status: ReminderStatus, error: str | None = None) -> None:
    rows = [
        ReminderLog(key=f"u{user.id}:digest-{status.value}-{i}", kind=ReminderKind.DIGEST,
                    step=f"digest-2026-W{i:02d}",
                    user_id=user.id, recipient=user.email, status=status, attempts=2 if error else 1,
                    last_error=error, claimed_at=datetime(2026, 3, 2, 1, i % 60, tzinfo=UTC),
                    sent_at=(datetime(2026, 3, 2, 1, i % 60, 5, tzinfo=UTC)
                             if status == ReminderStatus.SENT else None))
        for i in range(n)
    ]
    save(app, *rows)


def test_the_admin_page_lists_what_was_sent_and_what_failed(app, make_user):
    manager = make_user(email="ql@example.vn", name="Quản <b>Lý</b>", role=Role.MANAGER)
    make_log(app, manager, 55, ReminderStatus.SENT)
    make_log(app, manager, 2, ReminderStatus.FAILED, error="could not send mail through smtp:25: refused")
    client = app.test_client()
    admin = make_user(role=Role.ADMIN)
    assert login(client, admin.email).status_code == 302
    page = client.get("/admin/reminders/").get_data(as_text=True)
    assert "Nhắc việc" in page and "Số thư: 57" in page
    assert "Đã gửi: 55" in page and "Không gửi được: 2" in page
    assert "Quản &lt;b&gt;Lý&lt;/b&gt;" in page and "ql@<wbr>example.vn" in page
    assert "Tổng hợp tuần 2026-W" in page and "02/03/2026 08:" in page  # local time, dd/mm/yyyy
    assert "Trang 1 / 2" in page
    assert client.get("/admin/reminders/?page=2").status_code == 200
    failed = client.get("/admin/reminders/?status=failed").get_data(as_text=True)
    assert "Số thư: 2" in failed and "refused" in failed and "2 lần gửi" in failed
    assert client.get("/admin/reminders/?status=nonsense&page=x").status_code == 200


def test_the_admin_page_is_for_administrators_only(app, make_user):
    for role in (Role.TRAINEE, Role.MANAGER, Role.REPORTER):
        client = app.test_client()
        user = make_user(role=role)
        assert login(client, user.email).status_code == 302
        assert client.get("/admin/reminders/").status_code == 403
        assert "/admin/reminders/" not in client.get("/").get_data(as_text=True)  # no menu entry
