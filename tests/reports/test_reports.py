"""Reports: every number of the dashboard against a hand-computed fixture (leavers, transfers,
exemptions, renewals), scope in pages and exports, export files opened, and a query count
that does not grow with the roster."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role
from mooc.courses.models import Course
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from mooc.training import assign
from mooc.training.completion import complete
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentState
from tests.conftest import count_queries, engine_events_of_get, login

TODAY = date(2026, 6, 1)


@pytest.fixture
def world(org, person, make_user):
    """Ninh Bình (two sections) and Hà Nội; one rule for the province NB, 30 days, yearly.

    NB-1: An (completed), Bình (in progress, due 01/07), Cường (overdue since 02/05), Dũng (left)
    NB-2: Em (exempt), Giang (moved here from Hà Nội after the rule; not started, not yet due)
    HN:   Hà (no rule covers Hà Nội; enrolled by hand, overdue)
    """
    app, o = org
    clock.set_now(datetime(2026, 4, 2, 3, tzinfo=UTC))  # the rule is applied 60 days before TODAY
    people = {}
    for key, unit, name in [
        ("an", o.section_a, "Nguyễn Văn An"),
        ("binh", o.section_a, "Trần Thị Bình"),
        ("cuong", o.section_a, "Lê Văn Cường"),
        ("dung", o.section_a, "Phạm Văn Dũng"),
        ("em", o.section_b, "Hoàng Thị Em"),
        ("giang", o.other, "Vũ Thị Giang"),
        ("ha", o.other, "Đỗ Thu Hà"),
    ]:
        people[key] = person(unit, name=name, email=f"{key}@example.vn")[0]
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30, renew_months=12)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules(today=date(2026, 4, 2))

        def enrolment(key: str) -> Enrolment:
            return db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == people[key].id))

        course = db.session.get(Course, o.course_id)
        complete(enrolment("an"), course, None, datetime(2026, 4, 20, 3, tzinfo=UTC))
        enrolment("binh").state = EnrolmentState.IN_PROGRESS
        enrolment("binh").due_on = date(2026, 7, 1)  # given more time: in progress, not overdue
        enrolment("em").state = EnrolmentState.EXEMPT
        db.session.get(Staff, people["dung"].id).status = StaffStatus.LEFT
        # Giang moves into NB-2 on 20/05: enrolled then, due 19/06.
        db.session.get(Staff, people["giang"].id).unit_id = o.section_b.id
        assign.apply_rules(today=date(2026, 5, 20), staff_ids={people["giang"].id})
        # Hà is enrolled by hand with a date already past.
        assign.enrol(
            db.session.get(Staff, people["ha"].id),
            o.course_id,
            assign.EnrolmentSource.MANUAL,
            due_on=date(2026, 5, 1),
            today=date(2026, 4, 10),
        )
        db.session.commit()
    clock.set_now(datetime(2026, 6, 1, 3, tzinfo=UTC))
    admin = make_user(role=Role.REPORTER, email="bo@example.vn")
    return app, o, people, admin


def test_dashboard_numbers_match_the_hand_count(world):
    app, o, _people, reporter = world
    from mooc.reports.queries import Filters, rollup

    with app.app_context():
        from mooc.auth.models import User

        viewer = db.session.get(User, reporter.id)
        result = rollup(viewer, None, Filters(), TODAY)
        nb = next(r for r in result.rows if r.unit.code == "NB")
        hn = next(r for r in result.rows if r.unit.code == "HN")
        # NB: An, Bình, Cường, Em, Giang active (Dũng left); everyone of them has the course.
        assert (nb.headcount, nb.people_required) == (5, 5)
        assert nb.counts == {"completed": 1, "in_progress": 1, "not_started": 1, "overdue": 1, "exempt": 1}
        assert nb.rate == 25.0  # 1 completed of 4 owed (the exemption owes nothing)
        assert (hn.headcount, hn.people_required) == (1, 1)
        assert hn.counts["overdue"] == 1 and hn.rate == 0.0
        assert result.total.headcount == 6 and result.total.counts["overdue"] == 2
        drill = rollup(viewer, o.province.id, Filters(), TODAY)
        sections = {r.unit.code: r for r in drill.rows}
        assert sections["NB-1"].counts == {
            "completed": 1,
            "in_progress": 1,
            "not_started": 0,
            "overdue": 1,
            "exempt": 0,
        }
        assert sections["NB-2"].counts == {
            "completed": 0,
            "in_progress": 0,
            "not_started": 1,
            "overdue": 0,
            "exempt": 1,
        }
        only_overdue = rollup(viewer, None, Filters(status="overdue"), TODAY)
        assert only_overdue.total.counts["overdue"] == 2 and only_overdue.total.total == 2


def test_renewal_counts_the_current_cycle(world):
    app, o, people, reporter = world
    with app.app_context():
        assign.apply_rules(today=date(2027, 3, 25))  # An's certificate expires 20/04/2027
        db.session.commit()
        from mooc.auth.models import User
        from mooc.reports.queries import Filters, rollup

        result = rollup(db.session.get(User, reporter.id), o.province.id, Filters(), date(2027, 3, 25))
        a = next(r for r in result.rows if r.unit.code == "NB-1")
        assert a.counts["completed"] == 0 and a.counts["not_started"] >= 1  # the new cycle is what counts now


def test_overdue_list_has_days_unit_and_manager(world, make_user):
    app, o, _people, reporter = world
    make_user(role=Role.MANAGER, scope_unit=o.province, name="Trưởng Phòng Ninh Bình")
    client = app.test_client()
    login(client, reporter.email)
    page = client.get("/reports/people?status=overdue").get_data(as_text=True)
    assert "Lê Văn Cường" in page and "Đỗ Thu Hà" in page and "Nguyễn Văn An" not in page
    assert "Trưởng Phòng Ninh Bình" in page
    assert ">30<" in page  # Cường: due 02/05, 30 days before 01/06
    never = client.get("/reports/people?status=not_started").get_data(as_text=True)
    assert "Vũ Thị Giang" in never and "Lê Văn Cường" not in never


def test_compliance_as_of_a_date(world):
    app, o, people, reporter = world
    client = app.test_client()
    login(client, reporter.email)
    page = client.get(f"/reports/compliance?unit={o.section_a.id}&date=2026-04-25").get_data(as_text=True)
    # On 25/04 nobody in NB-1 was overdue yet (due 02/05): all three active people compliant.
    assert "3/3 người đạt yêu cầu vào ngày 25/04/2026" in page
    late = client.get(f"/reports/compliance?unit={o.section_a.id}&date=2026-05-15").get_data(as_text=True)
    assert "2/3 người đạt yêu cầu vào ngày 15/05/2026" in late  # Cường is overdue by then


def test_a_manager_sees_only_their_subtree_in_pages_and_exports(world, make_user):
    app, o, _people, _reporter = world
    manager = make_user(role=Role.MANAGER, scope_unit=o.section_b)
    client = app.test_client()
    login(client, manager.email)
    page = client.get("/reports/").get_data(as_text=True)
    assert "Phòng 2" in page and "Phòng 1" not in page and "Hà Nội" not in page
    assert client.get(f"/reports/units/{o.section_a.id}").status_code == 404
    assert client.get(f"/reports/units/{o.other.id}").status_code == 404
    assert client.get(f"/reports/compliance?unit={o.province.id}").status_code == 404
    people = client.get("/reports/people").get_data(as_text=True)
    assert "Hoàng Thị Em" in people and "Lê Văn Cường" not in people and "Đỗ Thu Hà" not in people
    exported = client.get("/reports/people?export=csv").get_data(as_text=True)
    assert "Hoàng Thị Em" in exported and "Lê Văn Cường" not in exported
    assert client.get(f"/reports/people?unit={o.section_a.id}").status_code == 404
    trainee = app.test_client()
    login(trainee, "an@example.vn")
    assert trainee.get("/reports/").status_code == 403


def test_exports_open_and_carry_the_data(world):
    app, _o, _people, reporter = world
    client = app.test_client()
    login(client, reporter.email)
    response = client.get("/reports/people?export=xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert "bo@example.vn" in values[1][0]  # stamped with who exported it
    header = values[3]
    assert header[:2] == ["Mã cán bộ", "Họ và tên"]
    due = [row[header.index("Hạn")] for row in values[4:]]
    assert any(isinstance(d, datetime) for d in due)  # dates as dates
    text = client.get("/reports/?export=csv").data
    assert text.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig")), delimiter=";"))
    assert rows[3][0] == "Đơn vị" and any(r and r[0] == "Thanh tra tỉnh Ninh Bình" for r in rows)


def test_formula_cells_are_neutralised(org, person, make_user):
    app, o = org
    person(o.section_a, name='=HYPERLINK("http://x","y")')
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
    client = app.test_client()
    login(client, make_user(role=Role.ADMIN).email)
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/reports/people?export=xlsx").data)).active
    names = [row[1].value for row in sheet.iter_rows(min_row=5)]
    assert names == ['\'=HYPERLINK("http://x","y")']
    assert sheet.cell(row=5, column=2).data_type == "s"
    assert "'=HYPERLINK" in client.get("/reports/people?export=csv").get_data(as_text=True)


def test_the_dashboard_query_count_does_not_grow_with_the_roster(org, person, make_user):
    app, o = org
    viewer = make_user(role=Role.ADMIN)
    client = app.test_client()
    login(client, viewer.email)

    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.province.id), db.session.get(OrgUnit, o.other.id)]
        db.session.add(rule)
        db.session.commit()
    person(o.section_a, name="Một Người")
    with app.app_context():
        assign.apply_rules()
        db.session.commit()
    client.get("/reports/")  # the unit tree and the counts read and kept for their versions
    small = count_queries(app, client, "/reports/")
    for n in range(30):
        person([o.section_a, o.section_b, o.other][n % 3], name=f"Người Thứ {n}")
    with app.app_context():
        assign.apply_rules()
        db.session.commit()
    # the counts of the new version (reports/counts.py): one statement, then kept
    assert count_queries(app, client, "/reports/") == small + 1
    assert count_queries(app, client, "/reports/") == small
    assert small < 20


def test_a_kept_dashboard_reads_in_three_statements(org, person, make_user):
    """A province manager's dashboard, its unit tree and counts kept: the session check, one
    statement for the filter choices, the rules' coverage and the tree's version, and the counts'
    glance (five before: the version, the rules and the choices each had their own)."""
    app, o = org
    manager = make_user(role=Role.MANAGER, scope_unit=o.province)
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.section_a.id)]
        db.session.add(rule)
        db.session.commit()
    person(o.section_a, name="Một Người")
    client = app.test_client()
    login(client, manager.email)
    for path in ("/reports/", f"/reports/units/{o.province.id}"):
        client.get(path)  # the tree, the counts and the page kept
        statements = engine_events_of_get(app, client, path, "before_cursor_execute",
                                          lambda conn, cursor, statement, *args: statement)
        read = [s for s in statements if not s.startswith(("BEGIN", "COMMIT"))]
        assert len(read) == 3 + (path != "/reports/"), read  # (a drill-down loads its parent)
        assert sum("data_versions" in s for s in read) == 2  # the tree's and the counts'


def test_course_analytics_and_trend(world):
    app, o, _people, reporter = world
    client = app.test_client()
    login(client, reporter.email)
    page = client.get(f"/reports/courses/{o.course_id}").get_data(as_text=True)
    assert "Bài một" in page and "Bài hai" in page
    trend = client.get("/reports/trend").get_data(as_text=True)
    assert "04/2026" in trend
    with app.app_context():
        from mooc.auth.models import User
        from mooc.reports.queries import completions_per_month

        months = dict(completions_per_month(db.session.get(User, reporter.id), TODAY))
        assert months["2026-04"] == 1 and months["2026-05"] == 0 and len(months) == 12
    assert (TODAY - timedelta(days=1)).year == 2026


def test_an_export_after_the_session_went_stale_is_recorded(world):
    """The request refreshes the session on its own connection, then writes its audit event:
    on SQLite a reading transaction that tried to turn writer here met 'database is locked'."""
    app, o, people, reporter = world
    client = app.test_client()
    login(client, reporter.email)
    clock.set_now(clock.now() + timedelta(minutes=5))  # the session is refreshed by the next request
    assert client.get("/reports/people?export=csv").status_code == 200
    clock.set_now(clock.now() + timedelta(minutes=5))
    assert client.get(f"/training/people/{people['an'].id}/record.csv").status_code == 200
    with app.app_context():
        from mooc.auth.models import AuditEvent

        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["report.exported", "training.record_exported"]


def test_report_pages_read_while_someone_else_writes(world):
    """A report page is a reader: it must not wait for (or block) the writers of lessons and quizzes."""
    app, o, _people, reporter = world
    client = app.test_client()
    login(client, reporter.email)
    with app.app_context(), db.engine.connect() as other:
        if other.dialect.name == "sqlite":
            other.exec_driver_sql("PRAGMA busy_timeout = 0")  # fail at once rather than wait
            other.commit()
        with other.begin():  # a writer holds the lock (BEGIN IMMEDIATE on SQLite) for the whole visit
            other.execute(sa.update(Staff).where(Staff.id == -1).values(full_name="x"))
            for path in ["/reports/", f"/reports/units/{o.province.id}", "/reports/people",
                         "/reports/compliance", "/reports/trend", f"/reports/courses/{o.course_id}"]:
                assert client.get(path).status_code == 200, path


def test_an_export_too_long_asks_to_narrow_the_list(world, monkeypatch):
    from mooc.reports import views

    app, _o, _people, reporter = world
    client = app.test_client()
    login(client, reporter.email)
    monkeypatch.setattr(views, "EXPORT_MAX_ROWS", 3)  # the fixture's list has 6 rows
    response = client.get("/reports/people?status=&export=xlsx")
    assert response.status_code == 302 and "export" not in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "hơn 3 dòng" in page
    monkeypatch.setattr(views, "EXPORT_MAX_ROWS", 6)
    assert client.get("/reports/people?export=csv").status_code == 200


def test_the_narrow_the_list_redirect_keeps_url_for_options_out(world, monkeypatch):
    """A query parameter named like url_for's own options (_external, _scheme, _anchor) is not
    the page's: the redirect back to the list neither becomes absolute nor gains an anchor."""
    from mooc.reports import views

    app, _o, _people, reporter = world
    client = app.test_client()
    login(client, reporter.email)
    monkeypatch.setattr(views, "EXPORT_MAX_ROWS", 3)  # the fixture's list has 6 rows
    for page, kept in (("people", "status="), ("compliance", "unit=all")):
        response = client.get(f"/reports/{page}?{kept}&export=xlsx&_external=1&_scheme=javascript&_anchor=x")
        assert response.status_code == 302, page
        location = response.headers["Location"]
        assert location.startswith(f"/reports/{page}?") and "#" not in location, location
        assert kept in location and "export" not in location and "_" not in location.split("?")[1]


def test_the_dashboard_counts_on_the_day_and_at_the_time_it_runs(world):
    """The dashboard's aggregates are built once per process with the day and the time as
    parameters: each run counts as of its own day (Giang's course, due 19/06, is overdue
    from 20/06) and its own moment (a lock counts while it lasts)."""
    app, o, people, reporter = world
    from mooc.auth.models import LoginThrottle, User
    from mooc.reports.queries import Filters, rollup

    with app.app_context():
        viewer = db.session.get(User, reporter.id)

        def nb2() -> tuple[dict[str, int], int]:
            row = next(r for r in rollup(viewer, o.province.id, Filters(), clock.today()).rows
                       if r.unit.code == "NB-2")
            db.session.rollback()
            return row.counts, row.cannot_sign_in

        counts, locked_before = nb2()
        assert (counts["not_started"], counts["overdue"]) == (1, 0)
        clock.set_now(datetime(2026, 6, 20, 3, tzinfo=UTC))
        counts, _ = nb2()
        assert (counts["not_started"], counts["overdue"]) == (0, 1)
        db.session.add(LoginThrottle(email="giang@example.vn", failures=0,
                                     locked_until=clock.now() + timedelta(minutes=10)))
        db.session.commit()
        assert nb2()[1] == locked_before + 1
        clock.set_now(clock.now() + timedelta(minutes=20))  # the lock has run out
        assert nb2()[1] == locked_before


def test_the_managers_dashboard_reads_the_tree_once_and_no_unit_list(world, make_user):
    """A manager's dashboard: the session, the tree as plain rows (the scope walked in it),
    the two aggregates, the units shown, labels, rules, courses and positions; not the unit
    select box it does not show (15 statements before)."""
    app, o, _people, _reporter = world
    manager = make_user(role=Role.MANAGER, email="ql@example.vn", scope_unit=o.province)
    client = app.test_client()
    login(client, manager.email)
    assert count_queries(app, client, "/reports/") <= 12


def test_units_without_a_rule_are_flagged_wherever_the_rule_sits(org, make_user, make_staff):
    """A row is "no required training here" when no active rule covers any unit of its
    subtree: a rule on a sub-unit covers the province's row, a rule on the province covers its
    sections, a rule for every unit covers all; the province's own row (people placed in it
    directly) only by a rule on it or above."""
    app, o = org
    reporter = make_user(role=Role.REPORTER)
    make_staff("Người Ở Tỉnh", unit=o.province)  # placed in the province directly: its own row
    from mooc.auth.models import User
    from mooc.reports.queries import Filters, rollup

    client = app.test_client()
    login(client, reporter.email)
    codes = {}
    with app.app_context():
        codes = {unit.id: unit.code for unit in db.session.scalars(sa.select(OrgUnit))}

    def shown(parent_id: int | None) -> dict[str, bool]:
        """The page's flags (the rules' coverage read with its choices and the tree's version), as
        another app on the database shows them at its next request."""
        page = client.get(f"/reports/units/{parent_id}" if parent_id else "/reports/").get_data(as_text=True)
        rows = page.split('<th scope="row">')[1:]
        found = {}
        for row in rows:
            head = row.split("</th>")[0]
            link = re.search(r'href="/reports/units/(\d+)', head)
            if link is None and 'class="meta"' not in head:
                continue  # the total
            unit_id = int(link.group(1)) if link else parent_id
            found[codes[unit_id]] = "badge-not_started" in head
        return found

    with app.app_context():
        viewer = db.session.get(User, reporter.id)

        def flags(parent_id: int | None) -> dict[str, bool]:
            result = rollup(viewer, parent_id, Filters(), TODAY)
            found = {r.unit.code: r.uncovered for r in result.rows}
            db.session.rollback()
            assert shown(parent_id) == found
            return found

        assert flags(None) == {"NB": True, "HN": True}
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.section_a.id)]
        db.session.add(rule)
        db.session.commit()
        assert flags(None) == {"NB": False, "HN": True}
        assert flags(o.province.id) == {"NB-1": False, "NB-2": True, "NB": True}
        rule = db.session.get(AssignmentRule, rule.id)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.commit()
        assert flags(o.province.id) == {"NB-1": False, "NB-2": False, "NB": False}
        rule = db.session.get(AssignmentRule, rule.id)
        rule.active = False
        db.session.add(AssignmentRule(course_id=o.course_id, due_days=30, all_units=True))
        db.session.commit()
        assert flags(None) == {"NB": False, "HN": False}
        assert flags(o.province.id) == {"NB-1": False, "NB-2": False, "NB": False}


def test_due_date_filters_are_typed_dd_mm_yyyy_and_old_iso_links_still_work(world):
    """The filter boxes are text boxes that show and take dd/mm/yyyy, whatever the browser's language
    (an <input type=date> showed mm/dd/yyyy in an English Chromium); the ISO links made before,
    and the export links, still read; a day that does not exist is said, naming the box."""
    app, _o, _people, reporter = world
    client = app.test_client()
    login(client, reporter.email)
    typed = client.get("/reports/people?due_from=1/5/2026&due_to=02/05/2026").get_data(as_text=True)
    old_link = client.get("/reports/people?due_from=2026-05-01&due_to=2026-05-02").get_data(as_text=True)
    for page in (typed, old_link):
        assert "Lê Văn Cường" in page and "Đỗ Thu Hà" in page and "Trần Thị Bình" not in page
        box = page.split('name="due_from"')[1].split(">")[0]
        assert 'value="01/05/2026"' in box and 'inputmode="numeric"' in box
        assert 'type="date"' not in page and "Hạn từ ngày <span class=\"hint\">(dd/mm/yyyy)</span>" in page
    assert "due_from=2026-05-01" in typed  # the export links: the stored (ISO) form
    bad = client.get("/reports/people?due_from=31/02/2026").get_data(as_text=True)
    assert ("“Hạn từ ngày” không phải là ngày: hãy ghi ngày theo dạng dd/mm/yyyy, ví dụ 31/12/2026. "
            "Giá trị này đã được bỏ qua.") in bad
    box = bad.split('name="due_from"')[1].split(">")[0]
    assert 'value="31/02/2026"' in box and 'aria-invalid="true"' in box  # what was typed, marked
    assert "Trần Thị Bình" in bad  # the filter was not applied
    day = client.get("/reports/compliance?unit=all&date=25/04/2026").get_data(as_text=True)
    assert "người đạt yêu cầu vào ngày 25/04/2026" in day and 'value="25/04/2026"' in day


def test_a_list_reads_its_people_s_progress_from_the_people(world, database_url):
    """The lessons done of a page of people are read from those people's progress rows. Without
    statistics SQLite began from every lesson of the listed courses and read all their progress
    rows (2.8 s for a page of 161 people at 100,000 staff); the plan must start from the people,
    whatever the number of people on the page."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's planner: PostgreSQL plans from its statistics")
    from types import SimpleNamespace

    from mooc.reports import queries

    app, o, _people, _reporter = world
    with app.app_context():
        key = db.session.get_one(Course, o.course_id).key
        rows = [SimpleNamespace(course_key=key, staff=SimpleNamespace(id=n), progress=None)
                for n in range(1, 161)]
        seen: list = []

        def caught(conn, cursor, statement, parameters, *rest):
            if "lesson_progress" in statement and "count(" in statement:
                seen.append((statement, parameters))

        sa.event.listen(db.engine, "before_cursor_execute", caught)
        try:
            queries.lesson_progress(rows)  # type: ignore[arg-type]
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", caught)
        assert len(seen) == 1
        plan = [row[3] for row in db.session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + seen[0][0], seen[0][1])]
    assert plan[0].startswith("SEARCH users"), plan
    assert not any("ix_lesson_progress_lesson_id" in step for step in plan), plan
