"""Exports stream (issue 20): every export is a generator sent as it is made, its rows read
from the database cursor while the file is written; the XLSX reads back in openpyxl with every
feature of the old files (title, stamp, bold headers, frozen panes, widths, numbers and dates
as such, formulas neutralised, several sheets); memory does not grow with the rows; a failure
half-way leaves no transaction open."""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from mooc import clock, downloads
from mooc.auth.models import Role
from mooc.courses.models import Course
from mooc.extensions import db
from mooc.reports import exports, xlsx
from mooc.roster.models import OrgUnit, Staff
from mooc.training import assign
from mooc.training.completion import complete
from mooc.training.models import AssignmentRule, Enrolment
from tests.conftest import login


@pytest.fixture
def listed(org, person, make_user):
    """Six people of Ninh Bình under a rule (one completed, the others not started), and a
    reporter signed in."""
    app, o = org
    clock.set_now(datetime(2026, 4, 2, 3, tzinfo=UTC))
    people = [person(o.section_a if i % 2 else o.section_b, name=f"Nguyễn Văn Người {i}")[0]
              for i in range(6)]
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules(today=date(2026, 4, 2))
        first = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == people[0].id))
        complete(first, db.session.get(Course, o.course_id), None, datetime(2026, 4, 20, 3, 15, tzinfo=UTC))
        db.session.commit()
    clock.set_now(datetime(2026, 6, 1, 3, tzinfo=UTC))
    client = app.test_client()
    login(client, make_user(role=Role.REPORTER, email="bo@example.vn").email)
    return app, o, client, people


def _streamed(client, url: str) -> bytes:
    """The body of ``url``, checked to be a generator sent as it is made."""
    response = client.get(url, buffered=False)
    try:
        assert response.status_code == 200, url
        assert response.is_streamed, url
        return b"".join(response.response)
    finally:
        response.close()


def _urls(o, people) -> list[str]:
    return [
        "/reports/people?export={}",
        f"/reports/people?unit={o.section_a.id}&export={{}}",
        f"/reports/compliance?unit={o.province.id}&export={{}}",
        "/reports/compliance?unit=all&export={}",
        "/reports/?export={}",
        f"/reports/units/{o.province.id}?export={{}}",
        f"/reports/courses/{o.course_id}?export={{}}&table=questions",
        f"/reports/courses/{o.course_id}?export={{}}&table=lessons",
        "/reports/trend?export={}",
    ]


def test_every_xlsx_export_is_streamed_and_reads_back_with_its_features(listed):
    app, o, client, people = listed
    for url in _urls(o, people):
        workbook = openpyxl.load_workbook(io.BytesIO(_streamed(client, url.format("xlsx"))))
        for sheet in workbook.worksheets:
            assert sheet["A1"].font.b and sheet["A1"].font.sz == 13, url  # the title
            assert "bo@example.vn" in sheet["A2"].value, url  # the stamp: who exported it
            assert sheet["A3"].value is None
            headers = [cell for cell in sheet[4] if cell.value is not None]
            assert headers and all(cell.font.b for cell in headers), url
            assert sheet.freeze_panes == "A5", url
            for cell in headers:  # as wide as the header at least
                assert sheet.column_dimensions[cell.column_letter].width >= len(cell.value) + 2, url
            for row in sheet.iter_rows(min_row=5):
                for cell in row:
                    assert cell.data_type != "f", url


def test_the_people_export_holds_numbers_and_dates_as_such(listed):
    app, o, client, people = listed
    sheet = openpyxl.load_workbook(io.BytesIO(_streamed(client, "/reports/people?export=xlsx"))).active
    header = [cell.value for cell in sheet[4]]
    rows = list(sheet.iter_rows(min_row=5))
    assert len(rows) == 6
    by_name = {row[1].value: row for row in rows}
    done = by_name["Nguyễn Văn Người 0"]
    completed = done[header.index("Đã hoàn thành")]
    assert completed.value == datetime(2026, 4, 20, 10, 15)  # local time (UTC+7)
    assert completed.number_format == "DD/MM/YYYY HH:MM"
    due = done[header.index("Hạn")]
    assert due.value == datetime(2026, 5, 2) and due.number_format == "DD/MM/YYYY"
    late = by_name["Nguyễn Văn Người 1"]
    overdue = late[header.index("Số ngày quá hạn")]
    assert overdue.value == 30 and overdue.data_type == "n"
    code = late[header.index("Mã cán bộ")]
    assert code.data_type == "s" and isinstance(code.value, str)  # a code stays text ("000123")
    assert sheet.column_dimensions["B"].width == len("Nguyễn Văn Người 0") + 2


def test_the_writer_keeps_every_kind_of_cell_and_neutralises_formulas():
    aware = datetime(2026, 1, 31, 17, 30, 15, tzinfo=UTC)  # 01/02/2026 00:30:15 in Hà Nội
    rows = [
        ["a & <b>", "  spaced  ", "\x01=1+2", "=HYPERLINK(\"x\")", "+84 912", "ok\x0bok", ""],
        [7, 2.5, Decimal("3.25"), True, date(2026, 2, 3), aware, None],
    ]
    tables = [exports.Table("Một & hai", ["A", "B", "C", "D", "E", "F", "G"], rows),
              exports.Table("Một & hai", ["Khác"], iter([["x"]]))]
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(exports.xlsx_chunks("Tiêu đề", tables, "dấu"))))
    assert workbook.sheetnames == ["Một & hai", "Một & hai (2)"]
    sheet = workbook.worksheets[0]
    assert sheet["A1"].value == "Tiêu đề — Một & hai"
    text = [cell.value for cell in sheet[5]]
    assert text == ["a & <b>", "  spaced  ", "'=1+2", "'=HYPERLINK(\"x\")", "'+84 912", "okok", None]
    values = [cell.value for cell in sheet[6]]
    assert values[:4] == [7, 2.5, 3.25, True]
    assert values[4] == datetime(2026, 2, 3) and sheet["E6"].number_format == "DD/MM/YYYY"
    assert values[5] == datetime(2026, 2, 1, 0, 30, 15) and sheet["F6"].number_format == "DD/MM/YYYY HH:MM"
    assert values[6] is None
    assert [c.value for c in workbook.worksheets[1][5]] == ["x"]


def test_widths_come_from_the_headers_and_the_first_rows():
    rows = [["ngắn"]] * xlsx.WIDTH_ROWS + [["một ô rất dài ở cuối danh sách, sau những dòng đầu"]]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(
        exports.xlsx_chunks("T", [exports.Table("T", ["Tên"], iter(rows))], "s")))).active
    assert sheet.column_dimensions["A"].width == len("ngắn") + 2
    assert sheet.max_row == 4 + len(rows)


def _lazy_rows(count: int, pulled: list[int]) -> Iterator[list]:
    for number in range(count):
        pulled[0] += 1
        yield [f"{9000000 + number}", f"Nguyễn Văn Người Thứ {number}", "Phòng Nghiệp vụ 1 — Thanh tra tỉnh",
               "Đang học", date(2026, 1, 1), number % 40, datetime(2026, 3, 1, 10, number % 60)]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_rows_are_read_as_the_file_is_sent(kind):
    """The first bytes leave before most rows were read: the rows are pulled, not gathered."""
    pulled = [0]
    count = 40_000
    table = exports.Table("T", ["Mã", "Tên", "Đơn vị", "Trạng thái", "Hạn", "Ngày", "Lúc"],
                          _lazy_rows(count, pulled))
    chunks = (exports.xlsx_chunks if kind == "xlsx" else exports.csv_chunks)("T", [table], "s")
    seen = []
    for _chunk in chunks:
        seen.append(pulled[0])
    assert pulled[0] == count and len(seen) > 10
    assert seen[0] < count / 4, seen[:3]


def _peak(kind: str, count: int) -> int:
    """The most memory writing ``count`` rows took, the bytes dropped as they come (as sent)."""
    table = exports.Table("T", ["Mã", "Tên", "Đơn vị", "Trạng thái", "Hạn", "Ngày", "Lúc"],
                          _lazy_rows(count, [0]))
    chunks = (exports.xlsx_chunks if kind == "xlsx" else exports.csv_chunks)("T", [table], "s")
    tracemalloc.start()
    try:
        for _chunk in chunks:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_memory_does_not_grow_with_the_rows(kind):
    """Ten times the rows, about the same peak (not timed: tracemalloc counts bytes)."""
    small, large = _peak(kind, 3_000), _peak(kind, 30_000)
    assert large < 1.5 * small, (small, large)


def test_csv_exports_are_streamed(listed):
    app, o, client, people = listed
    text = _streamed(client, "/reports/people?export=csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[3][:2] == ["Mã cán bộ", "Họ và tên"] and len(rows) == 4 + 6
    record = _streamed(client, f"/training/people/{people[0].id}/record.csv").decode("utf-8-sig")
    assert "Nguyễn Văn Người 0" in record


def test_the_ceiling_is_kept_for_streamed_lists(listed, monkeypatch):
    from mooc.reports import views

    app, o, client, people = listed
    monkeypatch.setattr(views, "EXPORT_MAX_ROWS", 5)  # 6 rows, 6 people
    for url in ("/reports/people?export=xlsx", f"/reports/compliance?unit={o.province.id}&export=csv"):
        response = client.get(url)
        assert response.status_code == 302 and "export" not in response.headers["Location"], url
    monkeypatch.setattr(views, "EXPORT_MAX_ROWS", 6)
    _streamed(client, "/reports/people?export=xlsx")
    _streamed(client, f"/reports/compliance?unit={o.province.id}&export=csv")


def _open_transactions(app) -> int:
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            return 0
        return connection.scalar(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))


def test_a_failure_half_way_leaves_no_transaction_open(listed, monkeypatch):
    """The view has returned when the rows are read: the request's context is kept for the
    stream, and closed (session removed, connection back to the pool) when the stream fails."""
    from mooc.reports import tables

    app, o, client, people = listed
    real = tables.people_table

    def failing(rows):
        headers, table = real(rows)

        def broken():
            yield next(table)
            raise RuntimeError("the disk is full")

        return headers, broken()

    monkeypatch.setattr(tables, "people_table", failing)
    monkeypatch.setattr(downloads, "CSV_BATCH", 1)  # the title leaves before the rows are read
    response = client.get("/reports/people?export=csv", buffered=False)
    assert response.status_code == 200 and response.is_streamed
    with pytest.raises(RuntimeError, match="disk is full"):
        b"".join(response.response)
    response.close()  # as a WSGI server does, whatever happened
    with pytest.raises(RuntimeError, match="disk is full"):  # an XLSX fails before its first bytes
        client.get("/reports/people?export=xlsx")
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
    assert _open_transactions(app) == 0
    monkeypatch.setattr(tables, "people_table", real)
    with app.app_context():  # nothing holds a lock: a writer writes at once
        db.session.get(Staff, people[1].id).full_name = "Nguyễn Văn Đổi Tên"
        db.session.commit()
    assert "Đổi Tên" in _streamed(client, "/reports/people?export=csv").decode("utf-8-sig")
