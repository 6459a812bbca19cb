"""A manager lands on their team: the home page counts people, behind, overdue and who cannot
sign in, per section, against a hand-computed fixture, with one click to each filtered list;
the lists show progress, last activity and account status."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role, User
from mooc.courses.models import Lesson, LessonProgress
from mooc.extensions import db
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import Enrolment, EnrolmentSource, EnrolmentState
from tests.conftest import login, save

TODAY = date(2026, 3, 4)
PAST, FUTURE = TODAY - timedelta(days=10), TODAY + timedelta(days=20)


def enrol(app, staff, course_id, due_on, state=EnrolmentState.NOT_STARTED, **fields):
    return save(app, Enrolment(staff_id=staff.id, course_id=course_id, source=EnrolmentSource.RULE,
                               assigned_on=TODAY - timedelta(days=60), due_on=due_on, state=state, **fields))


def build(org, person, make_staff, make_user):
    """Section 1: An (overdue twice: one person), Bình (no account, not started), Cúc (done);
    section 2: Dung (invited, in progress); the province itself: Em (overdue); not counted:
    a leaver and a person of another province."""
    app, o = org
    clock.set_now(datetime(2026, 3, 4, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    an, an_user = person(o.section_a, name="Lê Văn An", email="an@example.vn")
    enrol(app, an, o.course_id, PAST, EnrolmentState.IN_PROGRESS)
    enrol(app, an, o.optional_id, PAST)
    binh = make_staff(full_name="Trần Thị Bình", unit=o.section_a, email="binh@example.vn")
    enrol(app, binh, o.course_id, FUTURE)
    cuc, _ = person(o.section_a, name="Phạm Thị Cúc", email="cuc@example.vn")
    enrol(app, cuc, o.course_id, PAST, EnrolmentState.COMPLETED,
          completed_at=datetime(2026, 2, 1, tzinfo=UTC))
    dung, dung_user = person(o.section_b, name="Võ Văn Dung", email="dung@example.vn")
    enrol(app, dung, o.course_id, FUTURE, EnrolmentState.IN_PROGRESS)
    em, _ = person(o.province, name="Đỗ Văn Em", email="em@example.vn")
    enrol(app, em, o.course_id, PAST)
    gone, _ = person(o.section_a, name="Hồ Đã Nghỉ", email="gone@example.vn")
    enrol(app, gone, o.course_id, PAST)
    away, _ = person(o.other, name="Hà Ngoài", email="away@example.vn")
    enrol(app, away, o.course_id, PAST)
    with app.app_context():
        db.session.get(Staff, gone.id).status = StaffStatus.LEFT
        db.session.get(User, dung_user.id).password_hash = None  # invited, no password yet
        db.session.get(Staff, an.id).last_training_at = datetime(2026, 3, 1, 3, tzinfo=UTC)
        lesson = db.session.scalar(
            sa.select(Lesson).where(Lesson.course_id == o.course_id).order_by(Lesson.id))
        db.session.add(LessonProgress(user_id=an_user.id, lesson_id=lesson.id))
        db.session.commit()
    make_user(email="ql@example.vn", name="Quản Lý", role=Role.MANAGER, scope_unit=o.province)
    client = app.test_client()
    assert login(client, "ql@example.vn").status_code == 302
    return app, o, client, {"an": an, "binh": binh, "dung": dung}


def table_rows(page: str, table_class: str) -> list[list[str]]:
    body = re.search(rf'<table class="{table_class}">(.*?)</table>', page, re.S).group(1)
    body = body.split("<tbody>", 1)[1]
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell.replace("<br>", "\n"))).strip()
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_home_page_counts_the_team_in_people(org, person, make_staff, make_user):
    _app, o, client, _people = build(org, person, make_staff, make_user)
    page = client.get("/").get_data(as_text=True)
    rows = table_rows(page, "team-summary")
    assert rows[0] == ["Phòng 1", "3", "2", "1", "1"]
    assert rows[1] == ["Phòng 2", "1", "1", "0", "1"]
    assert rows[2][1:] == ["1", "1", "1", "0"] and "Thanh tra tỉnh Ninh Bình" in rows[2][0]
    assert rows[3][1:] == ["5", "4", "2", "2"]
    assert f'href="/reports/units/{o.section_a.id}"' in page
    assert f'href="/reports/people?unit={o.section_a.id}&amp;status=overdue"' in page
    assert f'href="/reports/people?unit={o.section_a.id}&amp;status=to_do&amp;account=cannot_sign_in"' in page


def test_each_count_leads_to_a_list_of_those_people(org, person, make_staff, make_user):
    _app, o, client, _people = build(org, person, make_staff, make_user)
    a = o.section_a.id
    cannot = client.get(f"/reports/people?unit={a}&status=to_do&account=cannot_sign_in")
    cannot = cannot.get_data(as_text=True)
    assert [r[1].split("\n")[0] for r in table_rows(cannot, "report people")] == ["Trần Thị Bình"]
    behind = client.get(f"/reports/people?unit={a}&status=to_do").get_data(as_text=True)
    names = {r[1].split("\n")[0] for r in table_rows(behind, "report people")}
    assert names == {"Lê Văn An", "Trần Thị Bình"}
    province = client.get(f"/reports/people?unit={o.province.id}&status=to_do&account=cannot_sign_in")
    names = {r[1].split("\n")[0] for r in table_rows(province.get_data(as_text=True), "report people")}
    assert names == {"Trần Thị Bình", "Võ Văn Dung"}


def test_the_list_shows_progress_last_activity_and_account(org, person, make_staff, make_user):
    _app, o, client, people = build(org, person, make_staff, make_user)
    page = client.get(f"/reports/people?unit={o.province.id}&status=to_do").get_data(as_text=True)
    rows = {(r[1].split("\n")[0], r[3]): r for r in table_rows(page, "report people")}
    an = rows[("Lê Văn An", "Luật Thanh tra 2025")]
    assert an[5] == "1/2" and an[8] == "01/03/2026"
    binh = rows[("Trần Thị Bình", "Luật Thanh tra 2025")]
    assert binh[5] == "0/2" and binh[9] != an[9]
    assert 'name="enrolment"' in page and 'action="/reports/people/remind"' in page


def test_a_trainee_sees_no_team(org, person, make_staff, make_user):
    app, _o, _client, _people = build(org, person, make_staff, make_user)
    client = app.test_client()
    login(client, "an@example.vn")
    page = client.get("/").get_data(as_text=True)
    assert "team-summary" not in page and 'action="/reports/people/remind"' not in page
