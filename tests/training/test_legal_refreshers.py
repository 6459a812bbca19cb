"""Refreshers after a legal document was superseded: what a completion rested on is the basis
of the edition completed (not what the lessons declare now), the impact report and the
reports' "current with the legal basis" column follow it, and a training officer previews and
opens refresher cycles for the people of their units (never automatically), which ask only
the lessons changed since."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent, Role, User
from mooc.courses.models import CourseEdition, LegalDocument
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.reports.legal import superseded_impact
from mooc.roster.models import OrgUnit
from mooc.training import assign
from mooc.training.legal import completions_resting_on
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentSource, EnrolmentState
from tests.conftest import csrf_token, login
from tests.courses.tree import LAW_2025, legal_entry, lesson, write
from tests.reports.test_readable import Tables
from tests.training.test_completion import read_and_pass, take_quiz

LAW_2022_IN_FORCE = legal_entry("11/2022/QH15", "Luật", "Luật Thanh tra", "Quốc hội", "14/11/2022",
                                "01/07/2023")
LAW_2022_SUPERSEDED = legal_entry("11/2022/QH15", "Luật", "Luật Thanh tra", "Quốc hội", "14/11/2022",
                                  "01/07/2023", superseded="by: 84/2025/QH15, from: 01/07/2025")
MOT_2022 = "## Thời hạn\n\nThời hạn thanh tra không quá 45 ngày theo Luật Thanh tra số 11/2022/QH15.\n"
MOT_2025 = "## Thời hạn\n\nThời hạn thanh tra không quá 30 ngày theo Luật Thanh tra số 84/2025/QH15.\n"
LESSON_URL = "/courses/luat/lessons/co-ban/mot"
NOW = datetime(2026, 12, 5, 3, tzinfo=UTC)


def edition_2022(root):
    write(root, "_phap-ly.yaml", "documents:\n" + LAW_2025 + LAW_2022_IN_FORCE)
    write(root, "luat/01-co-ban/01-mot.md", lesson("Bài một", MOT_2022, extra="legal: [11/2022/QH15]\n"))


def supersede(root):
    """The author's commit: the registry supersedes 11/2022/QH15, the lesson moves to 84/2025/QH15."""
    write(root, "_phap-ly.yaml", "documents:\n" + LAW_2025 + LAW_2022_SUPERSEDED)
    write(root, "luat/01-co-ban/01-mot.md", lesson("Bài một", MOT_2025, extra="legal: [84/2025/QH15]\n"))


def sync(app, root, when):
    clock.set_now(when)
    with app.app_context():
        sync_tree(root)
        db.session.commit()


@pytest.fixture
def world(org, person, make_user):
    """Course "luat" in its 2022-law edition, required in the province. An and Bình (NB-1) and
    Hà (HN) complete it through the site; Em (NB-2) has it from an imported record (edition not
    known); Cường (NB-1) has not finished it. Then the author supersedes the law."""
    app, o = org
    edition_2022(o.root)
    sync(app, o.root, datetime(2025, 3, 1, 3, tzinfo=UTC))
    people = {}
    for key, unit, name in [("an", o.section_a, "Nguyễn Văn An"), ("binh", o.section_a, "Trần Thị Bình"),
                            ("cuong", o.section_a, "Lê Văn Cường"), ("em", o.section_b, "Hoàng Thị Em"),
                            ("ha", o.other, "Đỗ Thu Hà")]:
        people[key] = person(unit, name=name, email=f"{key}@example.vn")[0]
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=90)
        rule.units = [db.session.get(OrgUnit, o.province.id), db.session.get(OrgUnit, o.other.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        em = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == people["em"].id))
        em.state, em.completed_at, em.source = EnrolmentState.COMPLETED, clock.now(), EnrolmentSource.IMPORT
        db.session.commit()
    for key in ("an", "binh", "ha"):
        client = app.test_client()
        login(client, f"{key}@example.vn")
        read_and_pass(client, app)
    client = app.test_client()
    login(client, "cuong@example.vn")
    client.post(f"{LESSON_URL}/done", data={"csrf_token": csrf_token(client, LESSON_URL)})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(
            Enrolment.state == EnrolmentState.COMPLETED)) == 4
    clock.set_now(NOW)  # the tests sign in from here on
    return app, o, {key: staff.id for key, staff in people.items()}


def _officer(app, make_user, unit):
    client = app.test_client()
    officer = make_user(role=Role.OFFICER, scope_unit=unit, email=f"officer-{unit.id}@example.vn")
    assert login(client, officer.email).status_code == 302
    return client


def _document_id(app, number="11/2022/QH15"):
    with app.app_context():
        return db.session.scalar(sa.select(LegalDocument.id).where(LegalDocument.number == number))


def test_a_completion_rests_on_the_basis_of_the_edition_completed(world):
    app, o, ids = world
    with app.app_context():
        editions = db.session.scalars(
            sa.select(CourseEdition).where(CourseEdition.course_id == o.course_id).order_by(CourseEdition.id))
        assert [e.legal for e in editions] == [[], ["11/2022/QH15"]]  # the org's first sync, then 2022
        assert completions_resting_on("11/2022/QH15") == {ids["an"], ids["binh"], ids["ha"], ids["em"]}
    supersede(o.root)
    sync(app, o.root, NOW)
    with app.app_context():
        rows = db.session.scalars(sa.select(CourseEdition).where(CourseEdition.course_id == o.course_id)
                                  .order_by(CourseEdition.id)).all()
        assert [(e.legal, e.legal_superseded_from) for e in rows] == [
            ([], None), (["11/2022/QH15"], date(2025, 7, 1)), (["84/2025/QH15"], None)]
        # No live lesson declares 11/2022/QH15 any more; what An, Bình and Hà read did. Em's
        # imported completion (edition unknown) stands on the lessons as they are now.
        assert completions_resting_on("11/2022/QH15") == {ids["an"], ids["binh"], ids["ha"]}
        assert completions_resting_on("84/2025/QH15") == {ids["em"]}
        reporter = User(role=Role.REPORTER)
        [row] = superseded_impact(reporter, clock.today(), 0)
        assert (row.document.number, row.people) == ("11/2022/QH15", 3)
        assert [(c.key, c.lessons, c.updated) for c in row.courses] == [("luat", [], True)]


def _dashboard(client, path="/reports/?sort=name"):
    tables = Tables(client.get(path).get_data(as_text=True)).tables[0]
    header = tables[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in tables[1:]}


LEGAL = "Cập nhật theo căn cứ pháp lý hiện hành (người)"
LATEST = "Cập nhật theo phiên bản mới nhất (người)"


def test_the_reports_count_people_current_with_the_legal_basis(world, make_user):
    app, o, ids = world
    client = app.test_client()
    login(client, make_user(role=Role.REPORTER).email)
    before = _dashboard(client)
    # An, Bình: done on a recorded edition resting on a law in force; Em: imported (not known)
    assert (before["Thanh tra tỉnh Ninh Bình"][LEGAL], before["Thanh tra TP Hà Nội"][LEGAL]) == ("2", "1")
    supersede(o.root)
    sync(app, o.root, NOW)
    after = _dashboard(client)
    assert (after["Tổng cộng"][LEGAL], after["Tổng cộng"][LATEST]) == ("0", "0")
    # the filtered path (read from the enrolments, not the summary) says the same
    filtered = _dashboard(client, f"/reports/?sort=name&course={o.course_id}")
    assert filtered["Tổng cộng"][LEGAL] == "0"
    # a supersession the registry dates ahead: current until that day
    ahead = LAW_2022_SUPERSEDED.replace("01/07/2025", "01/01/2027")
    write(o.root, "_phap-ly.yaml", "documents:\n" + LAW_2025 + ahead)
    sync(app, o.root, NOW)
    assert _dashboard(client)["Tổng cộng"][LEGAL] == "3"
    assert _dashboard(client, f"/reports/?sort=name&course={o.course_id}")["Tổng cộng"][LEGAL] == "3"
    clock.set_now(datetime(2027, 1, 2, 3, tzinfo=UTC))
    client = app.test_client()
    login(client, make_user(role=Role.REPORTER, email="bo@example.vn").email)  # the old session timed out
    assert _dashboard(client)["Tổng cộng"][LEGAL] == "0"


def _refreshers_page(world, make_user):
    """The law superseded; the province's training officer on its refreshers page."""
    app, o, _ids = world
    supersede(o.root)
    sync(app, o.root, NOW)
    return f"/admin/legal/{_document_id(app)}/refreshers", _officer(app, make_user, o.province)


def test_an_officer_previews_then_opens_refreshers_for_their_units(world, make_user):
    app, o, ids = world
    url, client = _refreshers_page(world, make_user)
    page = client.get(url).get_data(as_text=True)
    assert "Bồi dưỡng cập nhật do 11/2022/QH15 bị thay thế" in page
    rows = Tables(page).tables[0]
    # An and Bình (NB): each will take 1 of the course's 2 lessons (the changed one); Hà is not theirs
    assert rows[1] == ["Luật Thanh tra 2025", "2", "2", "2 người: 1 trên 2 bài học"]
    assert 'checked' in page.split('name="courses"')[1].split(">")[0]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 5  # nothing written
    token = csrf_token(client, url)
    refused = client.post(url, data={"csrf_token": token, "courses": str(o.course_id),
                                     "due_on": "2026-12-01"})
    assert "Hạn hoàn thành đã qua" in refused.get_data(as_text=True)
    nothing = client.post(url, data={"csrf_token": token, "due_on": "2027-01-15"})
    assert "Hãy chọn ít nhất một khóa học." in nothing.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 5
    done = client.post(url, data={"csrf_token": token, "courses": str(o.course_id), "due_on": "2027-01-15"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/reports/legal")
    with app.app_context():
        opened = db.session.scalars(sa.select(Enrolment).where(Enrolment.cycle == 2)).all()
        assert sorted(e.staff_id for e in opened) == sorted([ids["an"], ids["binh"]])
        assert {(e.due_on, e.state, e.refresher_of is not None) for e in opened} == {
            (date(2027, 1, 15), EnrolmentState.NOT_STARTED, True)}
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "legal.refreshers_opened"))
        assert event is not None and event.details["opened"] == 2
    # opening again opens nothing: they are in their refresher cycle now
    again = client.get(url).get_data(as_text=True)
    assert "2 người đã ở đợt sau, hoặc đã nghỉ" in again


def test_a_refresher_asks_the_changed_lesson_and_the_quiz_then_the_person_is_current(world, make_user):
    app, o, ids = world
    supersede(o.root)
    sync(app, o.root, NOW)
    url = f"/admin/legal/{_document_id(app)}/refreshers"
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    admin.post(url, data={"csrf_token": csrf_token(admin, url), "courses": str(o.course_id),
                          "due_on": "2027-01-15"})
    trainee = app.test_client()
    login(trainee, "an@example.vn")
    assert "0/1 bài học, đạt 0/1 bài kiểm tra" in trainee.get("/").get_data(as_text=True)
    course = trainee.get("/courses/luat").get_data(as_text=True)
    assert 'id="edition-changes"' in course and "Bài một" in course.split('id="edition-changes"')[1]
    lesson_page = trainee.get(LESSON_URL).get_data(as_text=True)
    assert "<del>45</del><ins>30</ins>" in lesson_page
    assert "<del>11/2022/QH15</del><ins>84/2025/QH15</ins>" in lesson_page  # a number is one word
    trainee.post(f"{LESSON_URL}/done", data={"csrf_token": csrf_token(trainee, LESSON_URL)})
    take_quiz(trainee, app)
    with app.app_context():
        cycle = db.session.scalar(
            sa.select(Enrolment).where(Enrolment.staff_id == ids["an"], Enrolment.cycle == 2))
        assert cycle.state == EnrolmentState.COMPLETED
        assert ids["an"] not in completions_resting_on("11/2022/QH15")
    reporter = app.test_client()
    login(reporter, make_user(role=Role.REPORTER).email)
    assert _dashboard(reporter)["Tổng cộng"][LEGAL] == "1"


def test_nothing_to_refresh_for_a_document_in_force(world, make_user):
    app, o, _ids = world
    client = _officer(app, make_user, o.province)
    response = client.get(f"/admin/legal/{_document_id(app)}/refreshers")
    assert response.status_code == 302
    assert "chưa bị thay thế" in client.get("/reports/legal").get_data(as_text=True)
    assert client.get("/admin/legal/999999/refreshers").status_code == 404


def test_the_refreshers_due_date_is_typed_dd_mm_yyyy_and_a_wrong_one_is_named_at_its_box(world, make_user):
    """A WTForms date (fields.DayField): shown dd/mm/yyyy with its hint, taken as typed (31/01/2027),
    and a day that does not exist is said under its box, which the error describes."""
    app, o, _ids = world
    url, client = _refreshers_page(world, make_user)
    page = client.get(url).get_data(as_text=True)
    box = re.search(r'<input [^>]*id="due_on"[^>]*>', page)[0]
    assert 'type="text"' in box and 'value="04/01/2027"' in box and 'aria-describedby="due_on-hint"' in box
    token = csrf_token(client, url)
    wrong = client.post(url, data={"csrf_token": token, "courses": str(o.course_id), "due_on": "31/02/2027"})
    text = wrong.get_data(as_text=True)
    assert ('<p class="field-error" id="due_on-error-1">Hạn hoàn thành: “31/02/2027” không phải là ngày. '
            "Hãy ghi theo dạng dd/mm/yyyy, ví dụ 31/12/2026.</p>") in text
    box = re.search(r'<input [^>]*id="due_on"[^>]*>', text)[0]
    assert 'aria-describedby="due_on-hint due_on-error-1"' in box and 'aria-invalid="true"' in box
    assert 'value="31/02/2027"' in box
    done = client.post(url, data={"csrf_token": token, "courses": str(o.course_id), "due_on": "31/01/2027"})
    assert done.status_code == 302
    with app.app_context():
        assert set(db.session.scalars(sa.select(Enrolment.due_on).where(Enrolment.cycle == 2))) == {
            date(2027, 1, 31)}
