"""Hostile input: names with HTML and newlines are shown as text everywhere people read them;
names with formulas are never a live formula in an export, read back with ',' or ';'; any staff
code names a download; hostile query parameters get a page that says what was ignored."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from urllib.parse import unquote

import openpyxl
import pytest
import sqlalchemy as sa
from werkzeug.http import parse_options_header

from mooc import clock, params
from mooc.auth.models import Role
from mooc.courses.models import Course
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff
from mooc.training import assign
from mooc.training.models import AssignmentRule
from tests.conftest import login
from tests.courses.tree import lesson, write

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>\nDòng hai'


def test_hostile_names_are_escaped_in_pages_and_exports(org, person, make_user):
    app, o = org
    staff, _user = person(o.section_a, name=HOSTILE)
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    pages = [f"/roster/staff/{staff.id}", "/roster/", f"/training/people/{staff.id}", "/reports/people",
             f"/reports/compliance?unit={o.section_a.id}"]
    for url in pages:
        page = admin.get(url).get_data(as_text=True)
        assert "&lt;script&gt;" in page, url
        assert "<script>alert" not in page and "<img src=x" not in page, url
    csv_text = admin.get("/reports/people?export=csv").get_data(as_text=True)
    assert "<script>" in csv_text  # CSV is data, not HTML: kept as written, but…
    assert "\n=" not in csv_text  # …never a formula


def test_audit_details_refuse_secrets(app):
    import pytest

    from mooc.auth import audit

    with app.app_context(), pytest.raises(ValueError):
        audit.record("x", password="hunter2")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("audit_events"))) == 0


# --- exports: formulas, separators, file names -----------------------------------------------------

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
HOSTILE_NAMES = ["Lê x;=1+2", "Trần y,@SUM(A1:A9)", "Phạm z\n=cmd|' /C calc'!A0", "\t=1+1",
                 " -2+3", "Đỗ\x01Hà"]


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def _live_formulas(cells) -> list[str]:
    """Cells a spreadsheet would run: they start (after blanks and quotes) with a trigger."""
    live = []
    for cell in cells:
        text = cell.strip(' "\n')
        if text.startswith(TRIGGERS) and not _is_number(text):
            live.append(cell)
    return live


def _csv_cells(body: str):
    """Every cell as a spreadsheet would see it splitting on ',' or ';', honouring quotes or not."""
    for delimiter in (",", ";"):
        for row in csv.reader(io.StringIO(body), delimiter=delimiter):
            yield from row
        for line in body.splitlines():
            yield from line.split(delimiter)


@pytest.fixture
def hostile_world(org, person, make_unit, make_user):
    """People, a unit and a course whose names carry formulas after separators."""
    app, o = org
    unit = make_unit("Phòng;=1+2", parent=o.province, code="NB-X")
    people = [person(unit if i % 2 else o.section_a, name=name)[0] for i, name in enumerate(HOSTILE_NAMES)]
    write(o.root, "doc/course.md", "---\ntitle: 'Khóa: [a]*?/\\ ;=1+2'\ncode: DOC\nedition: 2026\n"
          "summary: x\nhours: 1\n---\n\nx\n")
    write(o.root, "doc/01-m/module.md", "---\ntitle: M\n---\n")
    write(o.root, "doc/01-m/01-bai.md", lesson("'Bài,=1+2'", "## A\n\nB."))
    write(o.root, "doc/01-m/09-kt.quiz.md", "---\ntitle: 'Kiểm tra;@x'\n---\n\n## Câu;=2+2 {#c}\n\n"
          "- [ ] a\n- [x] b\n")
    with app.app_context():
        sync_tree(o.root)
        doc = db.session.scalar(sa.select(Course.id).where(Course.key == "doc"))
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    return app, o, admin, people, doc


def _exports(o, people, doc) -> list[str]:
    """The URL of every export: people, compliance, dashboard (all, by unit), course analytics
    (both tables), trend; a personal record is CSV only."""
    return [
        "/reports/people?export={}",
        f"/reports/compliance?unit={o.province.id}&export={{}}",
        "/reports/?export={}",
        f"/reports/units/{o.province.id}?export={{}}",
        f"/reports/courses/{doc}?export={{}}&table=questions",
        f"/reports/courses/{doc}?export={{}}&table=lessons",
        "/reports/trend?export={}",
        *(f"/training/people/{staff.id}/record.csv?{{}}" for staff in people),
    ]


def test_csv_exports_read_back_with_comma_or_semicolon_hold_no_formula(hostile_world):
    app, o, admin, people, doc = hostile_world
    for url in _exports(o, people, doc):
        response = admin.get(url.format("csv"))
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert body.startswith("\ufeff"), url
        body = body[1:]
        assert _live_formulas(_csv_cells(body)) == [], url
        rows = list(csv.reader(io.StringIO(body)))
        assert all(line.startswith('"') for line in body.split("\r\n") if line), url  # every field quoted
        assert rows, url
    # Read back with ';' (the Vietnamese interface's separator) each name is one cell, kept as
    # written but for the apostrophes.
    rows = list(csv.reader(io.StringIO(admin.get("/reports/people?export=csv").get_data(as_text=True)),
                           delimiter=";"))
    names = {row[1] for row in rows[4:]}
    assert {"Lê x;'=1+2", "Trần y,'@SUM(A1:A9)", "Phạm z\n'=cmd|' /C calc'!A0", "'\t'=1+1",
            "' -2+3"} <= names
    compliance = admin.get(f"/reports/compliance?unit={o.province.id}&export=csv").get_data(as_text=True)
    assert "Lê x;'=1+2" in compliance
    assert "Phòng;'=1+2" in admin.get(f"/reports/units/{o.province.id}?export=csv").get_data(as_text=True)
    lessons = admin.get(f"/reports/courses/{doc}?export=csv&table=lessons").get_data(as_text=True)
    assert "Bài,'=1+2" in lessons


def test_xlsx_exports_open_and_hold_no_formula(hostile_world):
    app, o, admin, people, doc = hostile_world
    for url in _exports(o, people, doc):
        if "record.csv" in url:
            continue
        response = admin.get(url.format("xlsx"))
        assert response.status_code == 200, url  # was 500: sheet titles with ':' or '[', '\x01'
        sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
        cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
        assert cells, url
        assert [c.value for c in cells if c.data_type == "f"] == [], url
        assert _live_formulas(c.value for c in cells if isinstance(c.value, str)) == [], url
    sheet = openpyxl.load_workbook(io.BytesIO(admin.get("/reports/people?export=xlsx").data)).active
    assert "Đỗ Hà" not in [c.value for c in sheet["B"]]  # the control character is dropped…
    assert "ĐỗHà" in [c.value for c in sheet["B"]]  # …and the rest kept


def test_file_names_carry_any_staff_code_and_cannot_be_renamed(org, person, make_user):
    """RFC 6266: the real name in filename*, an ASCII fallback; a code is never header syntax."""
    app, o = org
    staff, _user = person(o.section_a, name="Nguyễn Văn Đức")
    crafted, _user = person(o.section_a, name="Trần Văn Bình")
    with app.app_context():
        db.session.get(Staff, staff.id).staff_code = "CB-Đ01"
        db.session.get(Staff, crafted.id).staff_code = 'x"; filename="evil.exe'
        db.session.commit()
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    for suffix in ("csv", "pdf"):
        response = admin.get(f"/training/people/{staff.id}/record.{suffix}")
        assert response.status_code == 200  # was 500: a non-Latin-1 header
        header = response.headers["Content-Disposition"]
        header.encode("latin-1")  # what a WSGI server sends (PEP 3333); "Đ" raw made gunicorn fail
        assert f'filename="ho-so-dao-tao-CB-D01.{suffix}"' in header
        assert f"filename*=UTF-8''ho-so-dao-tao-CB-%C4%9001.{suffix}" in header
        assert parse_options_header(header)[1]["filename"] == f"ho-so-dao-tao-CB-Đ01.{suffix}"
        header = admin.get(f"/training/people/{crafted.id}/record.{suffix}").headers["Content-Disposition"]
        assert header.count("filename=") == 1 and header.count('"') == 2, header
        fallback = re.search(r'filename="([^"]*)"', header).group(1)
        assert fallback == f"ho-so-dao-tao-x-filename-evil.exe.{suffix}"
        real = unquote(header.split("filename*=UTF-8''")[1])
        assert real == f'ho-so-dao-tao-x"; filename="evil.exe.{suffix}'
    export = admin.get("/reports/people?export=csv").headers["Content-Disposition"]
    # named after the report, the unit and the filters (ASCII in the fallback and the real name alike)
    stem = "tinh-hinh-hoc-tap-theo-tung-nguoi_tat-ca-don-vi-cua-toi_"
    assert export.startswith(f'attachment; filename="{stem}') and f"filename*=UTF-8''{stem}" in export


# --- parameters -----------------------------------------------------------------------------------


NOT_A_DAY = "không phải là ngày: hãy ghi ngày theo dạng dd/mm/yyyy"  # a date filter's own message


def test_the_reported_parameters_get_a_page_and_say_what_was_ignored(org, person, make_user):
    """The cases the review found (a 500 each); tests/test_security_sweeps.py sweeps the rest."""
    app, o = org
    person(o.section_a, name="Nguyễn Văn An")
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    ignored = "trong địa chỉ trang không hợp lệ nên đã được bỏ qua"
    for url in ["/reports/people?unit=³", "/reports/compliance?unit=³", "/roster/?unit=³",
                "/roster/?page=²", "/admin/reminders/?page=²", "/reports/?months=²", "/reports/?course=²",
                "/reports/people?course=²", "/search/?q=luat&page=²",
                f"/reports/people?unit={2**63}", f"/roster/?unit={10**20}", f"/reports/?course={2**63}",
                f"/reports/compliance?unit={o.section_a.id}&date=9999-12-31",
                f"/reports/compliance?unit={o.section_a.id}&date=0001-01-01",
                "/reports/people?due_from=9999-12-31&due_to=0001-01-01"]:
        response = admin.get(url)
        assert response.status_code == 200, url
        said = ignored if "date=" not in url and "due_" not in url else NOT_A_DAY
        assert said in response.get_data(as_text=True), url
    today = admin.get(f"/reports/compliance?unit={o.section_a.id}&date=9999-12-31").get_data(as_text=True)
    assert f"vào ngày {clock.today():%d/%m/%Y}." in today  # the day asked for was ignored: today instead
    for url in [f"/reports/units/{2**63}", f"/roster/staff/{10**20}", f"/training/people/{2**31}",
                f"/reports/courses/{2**63}", f"/roster/units/{2**40}"]:
        assert admin.get(url).status_code == 404, url
    assert ignored not in admin.get("/reports/people?unit=&course=").get_data(as_text=True)  # "all"
    with app.test_request_context("/?page=%C2%B2"):
        assert params.int_arg("page") is None


def test_the_parser_takes_ascii_digits_and_dates_from_1900_to_2200():
    assert params.parse_int("42") == 42
    for text in ("²", "٣", "１", "-1", " 1", "1 ", "", None, "1e3", str(params.MAX_ID + 1), "9" * 5000):
        assert params.parse_int(text) is None, text
    assert params.parse_int("0") == 0 and params.parse_int("0", low=1) is None
    assert params.parse_date("2026-06-01") == date(2026, 6, 1)
    assert params.parse_date("1900-01-01") and params.parse_date("2200-12-31")
    for text in ("9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01", "2026-02-30", "01/06/2026",
                 "2026-06-01T00:00", "２０２６-06-01", "", None):
        assert params.parse_date(text) is None, text
