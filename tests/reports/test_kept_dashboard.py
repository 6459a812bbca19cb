"""The report dashboard is kept (mooc/kept.py) per locale, role, address, filters, breadcrumbs
and filter choices, with its chart and its table's rows as holes filled per request: the kept
page must be the page its template renders, whatever the filters and the unit, and what the
rows count (people, their training) or the choices list (courses) must show at the next
request on every worker."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from mooc import kept
from mooc.auth.models import Role
from mooc.courses.models import Course
from mooc.extensions import db
from mooc.training import assign
from mooc.training.models import AssignmentRule
from tests.conftest import login

TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def _without_tokens(html: str) -> str:
    return TOKEN.sub('name="csrf_token" value=""', html)


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


@pytest.fixture
def dashboards(org, make_app, person, make_user, make_unit):
    """A province with two sections and a team, people in each, a rule; a reporter and the
    province's manager signed in on worker A, the manager on worker B too."""
    app, o = org
    make_unit("Tổ Giám sát", parent=o.section_b, code="NB-2-T")
    person(o.section_a, name="Nguyễn Văn An", email="an@example.vn")
    person(o.section_b, position=o.inspector, name="Trần Thị Bình", email="binh@example.vn")
    person(o.other, name="Lê Văn Cường", email="cuong@example.vn")
    with app.app_context():
        db.session.add(AssignmentRule(course_id=o.course_id, all_units=True, due_days=30))
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
    reporter = make_user(role=Role.REPORTER, email="baocao@example.vn")
    manager = make_user(role=Role.MANAGER, email="quanly@example.vn", scope_unit=o.province)
    clients = {"reporter": app.test_client(), "manager": app.test_client()}
    login(clients["reporter"], reporter.email)
    login(clients["manager"], manager.email)
    other = make_app(COURSES_DIR=str(o.root)).test_client()
    login(other, manager.email)
    return app, o, clients, other


def test_every_kept_dashboard_is_the_page_its_template_renders(dashboards, monkeypatch):
    app, o, clients, _other = dashboards
    paths = ["/reports/", f"/reports/units/{o.province.id}", f"/reports/units/{o.section_b.id}",
             f"/reports/units/{o.section_a.id}", f"/reports/units/{o.province.id}?sort=headcount",
             f"/reports/units/{o.province.id}?position={o.inspector.id}",
             f"/reports/units/{o.province.id}?course={o.course_id}&status=not_started",
             "/reports/?due_from=01/01/2026&due_to=31/12/2026&months=3"]
    seen = {}
    for who, client in clients.items():
        for path in paths:
            seen[who, path] = (_page(client, path), _page(client, path))  # rendered to be kept, then kept
    clients["reporter"].set_cookie("lang", "en")  # the language switch's choice
    for path in paths:
        seen["reporter", path + "#en"] = (_page(clients["reporter"], path), _page(clients["reporter"], path))
    assert app.extensions["mooc.kept_pages"].entries
    monkeypatch.setattr(kept, "keepable", lambda: False)
    for (who, path), (first, again) in seen.items():
        clients[who].set_cookie("lang", "en" if path.endswith("#en") else "vi")
        rendered = _without_tokens(_page(clients[who], path.removesuffix("#en")))
        assert _without_tokens(first) == rendered, (who, path)
        assert _without_tokens(again) == rendered, (who, path)
    assert "Tổ Giám sát" in seen["manager", f"/reports/units/{o.section_b.id}"][1]
    assert "Training completion by unit" in seen["reporter", "/reports/#en"][1]
    assert "Kết quả đào tạo theo đơn vị" in seen["reporter", "/reports/"][1]


def _headcount(page: str, label: str) -> str:
    """The row of the unit ``label``: its active staff."""
    row = page[page.index(f">{label}</a>"):]
    return re.search(r"<td>([^<]*)</td>", row).group(1)


def test_new_people_and_their_training_show_on_the_next_kept_dashboard_of_every_worker(
        dashboards, person):
    app, o, clients, other = dashboards
    path = f"/reports/units/{o.province.id}"
    for client in (clients["manager"], other):
        _page(client, path)
        assert _headcount(_page(client, path), "Phòng 1") == "1"
    person(o.section_a, name="Phạm Thu Dung", email="dung@example.vn")
    with app.app_context():
        assign.apply_rules()
        db.session.commit()
    for client in (clients["manager"], other):
        page = _page(client, path)
        assert _headcount(page, "Phòng 1") == "2"
        assert "Chưa bắt đầu" in page


def test_a_course_renamed_shows_in_the_filters_of_the_next_kept_dashboard(dashboards):
    app, o, clients, other = dashboards
    assert "Khoá học mới" not in _page(other, "/reports/") + _page(other, "/reports/")
    with app.app_context():
        db.session.get(Course, o.optional_id).title = "Khoá học mới"
        db.session.commit()
    assert "Khoá học mới" in _page(other, "/reports/")
    assert "Khoá học mới" in _page(clients["manager"], "/reports/")


def test_a_bad_date_in_the_filters_is_said_and_shown_back_on_a_page_rendered_in_full(dashboards):
    app, o, clients, _other = dashboards
    client = clients["manager"]
    _page(client, "/reports/")
    page = _page(client, "/reports/?due_from=31/02/2026")
    assert 'value="31/02/2026" aria-invalid="true"' in page
    assert 'value="31/02/2026"' not in _page(client, "/reports/")
    with app.app_context():
        pages = app.extensions["mooc.kept_pages"].entries.values()
        assert all("31/02/2026" not in "".join(p for p in parts if isinstance(p, str)) for parts in pages)


def test_the_kept_dashboard_reads_no_unit_object_of_the_rows(dashboards):
    """Its units are the tree's rows of this version (mooc/roster/tree.py): a drill-down loads the
    unit it shows (its page checks it exists), never its sub-units, nor their parent again."""
    app, o, clients, _other = dashboards
    path = f"/reports/units/{o.province.id}"
    _page(clients["manager"], path)
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        _page(clients["manager"], path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    # (rows of units: the counts' glance reads the ids of the units counted, no unit's row)
    units_read = [s for s in statements if re.search(r"FROM org_units\b", s) and "org_units.name" in s]
    assert len(units_read) == 1, units_read  # the page's own check of the unit
