"""Reports that cannot be misread (issue 19): units shown with their path where names repeat,
the dashboard counting people only (checked cell by cell against a hand count where people
and enrolments differ), "cannot sign in" counted apart, units no rule covers flagged,
compliance by unit and by person, and exports that say what they hold."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import openpyxl
import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role, User
from mooc.extensions import db
from mooc.reports.exports import sheet_title
from mooc.roster.models import OrgUnit
from mooc.training import assign
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentState
from tests.conftest import login

TODAY = date(2026, 6, 1)


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (th and td alike), captions left out."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._skip = 0
        self._in_th = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell, self._in_th = [], tag == "th"
        elif tag == "caption" or (tag == "span" and self._in_th and "badge" in str(dict(attrs).get("class"))):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag in ("caption", "span") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if self._cell is not None and not self._skip:
            self._cell.append(data)


@pytest.fixture
def small_org(org, person, make_staff, make_unit, make_user):
    """Two courses (luat for NB and HN, tuy-chon for NB only), people with two obligations each
    in NB, so that people (6) and enrolments (12) differ. Two units are called "Phòng 1".

    NB-1 "Phòng 1":  An      luat completed, tuy-chon completed          -> completed   (account active)
                     Bình    luat completed, tuy-chon overdue (01/05)    -> overdue     (active)
                     Cường   luat in progress, tuy-chon not started      -> not started (active)
                     Dũng    luat not started, tuy-chon exempt           -> not started (no account)
    NB-2 "Phòng 2":  Em      both exempt                                 -> exempt      (active)
                     Giang   luat in progress, tuy-chon completed        -> in progress (invited)
    HN-1 "Phòng 1":  Hà      luat overdue (01/05)                        -> overdue     (disabled)
    LS (no rule):    Khánh   nothing                                                    (no account)
    Rules due 90 days after 02/04: 01/07/2026, not yet due on 01/06 unless set earlier.
    """
    app, o = org
    hn_1 = make_unit("Phòng 1", parent=o.other, code="HN-1")
    ls = make_unit("Thanh tra tỉnh Lạng Sơn", code="LS", kind="province")
    people = {}
    for key, unit, name in [("an", o.section_a, "Nguyễn Văn An"), ("binh", o.section_a, "Trần Thị Bình"),
                            ("cuong", o.section_a, "Lê Văn Cường"), ("em", o.section_b, "Hoàng Thị Em"),
                            ("giang", o.section_b, "Vũ Thị Giang"), ("ha", hn_1, "Đỗ Thu Hà")]:
        people[key] = person(unit, position=o.inspector if key == "an" else None, name=name,
                             email=f"{key}@example.vn")[0]
    people["dung"] = make_staff(full_name="Phạm Văn Dũng", unit=o.section_a)
    people["khanh"] = make_staff(full_name="Bùi Văn Khánh", unit=ls)
    clock.set_now(datetime(2026, 4, 2, 3, tzinfo=UTC))
    with app.app_context():
        targets = ((o.course_id, [o.province.id, o.other.id]), (o.optional_id, [o.province.id]))
        for course_id, units in targets:
            rule = AssignmentRule(course_id=course_id, due_days=90)
            rule.units = [db.session.get(OrgUnit, u) for u in units]
            db.session.add(rule)
        db.session.flush()
        assign.apply_rules(today=date(2026, 4, 2))
        enrolments = {(e.staff_id, e.course_id): e for e in db.session.scalars(sa.select(Enrolment))}

        def set_state(key: str, course_id: int, state: EnrolmentState, due_on: date | None = None) -> None:
            enrolment = enrolments[(people[key].id, course_id)]
            enrolment.state = state
            if state == EnrolmentState.COMPLETED:
                enrolment.completed_at = datetime(2026, 4, 20, 3, tzinfo=UTC)
            if due_on:
                enrolment.due_on = due_on

        luat, tuy = o.course_id, o.optional_id
        set_state("an", luat, EnrolmentState.COMPLETED)
        set_state("an", tuy, EnrolmentState.COMPLETED)
        set_state("binh", luat, EnrolmentState.COMPLETED)
        set_state("binh", tuy, EnrolmentState.NOT_STARTED, date(2026, 5, 1))
        set_state("cuong", luat, EnrolmentState.IN_PROGRESS)
        set_state("dung", tuy, EnrolmentState.EXEMPT)
        set_state("em", luat, EnrolmentState.EXEMPT)
        set_state("em", tuy, EnrolmentState.EXEMPT)
        set_state("giang", luat, EnrolmentState.IN_PROGRESS)
        set_state("giang", tuy, EnrolmentState.COMPLETED)
        set_state("ha", luat, EnrolmentState.NOT_STARTED, date(2026, 5, 1))
        db.session.scalar(sa.select(User).where(User.email == "giang@example.vn")).password_hash = None
        db.session.scalar(sa.select(User).where(User.email == "ha@example.vn")).active = False
        db.session.commit()
    clock.set_now(datetime(2026, 6, 1, 3, tzinfo=UTC))
    reporter = make_user(role=Role.REPORTER, email="bo@example.vn", name="Vụ Tổ chức")
    client = app.test_client()
    login(client, reporter.email)
    return app, o, people, client, hn_1, ls


HEADER = ["Đơn vị", "Cán bộ đang công tác (người)", "Không đăng nhập được (người)",
          "Có khóa học bắt buộc (người)", "Đã hoàn thành tất cả (người)", "Đang học (người)",
          "Chưa bắt đầu (người)", "Quá hạn (người)", "Được miễn tất cả (người)",
          "Tỷ lệ hoàn thành (% số người)", "Cập nhật theo phiên bản mới nhất (người)",
          "Cập nhật theo căn cứ pháp lý hiện hành (người)"]


def _table(client, path: str) -> list[list[str]]:
    page = client.get(path)
    assert page.status_code == 200, path
    return Tables(page.get_data(as_text=True)).tables[0]


def test_every_cell_of_the_dashboard_counts_people(small_org):
    app, o, _people, client, _hn_1, _ls = small_org
    table = _table(client, "/reports/?sort=name")
    assert table[0] == HEADER
    # Hand count (people, each once by their most urgent status); NB has 12 enrolments, 6 people.
    # The last two columns are 0: none of these completions records the edition it was of.
    assert table[1:] == [
        ["Thanh tra TP Hà Nội", "1", "1", "1", "0", "0", "0", "1", "0", "0,0%", "0", "0"],
        ["Thanh tra tỉnh Lạng Sơn", "1", "1", "0", "0", "0", "0", "0", "0", "—", "0", "0"],
        ["Thanh tra tỉnh Ninh Bình", "6", "2", "6", "1", "1", "2", "1", "1", "20,0%", "0", "0"],
        ["Tổng cộng", "8", "4", "7", "1", "1", "2", "2", "1", "16,7%", "0", "0"],
    ]
    drill = _table(client, f"/reports/units/{o.province.id}?sort=name")
    assert drill[1:] == [
        ["Phòng 1 — Thanh tra tỉnh Ninh Bình", "4", "1", "4", "1", "0", "2", "1", "0", "25,0%", "0", "0"],
        ["Phòng 2", "2", "1", "2", "0", "1", "0", "0", "1", "0,0%", "0", "0"],
        ["Tổng cộng", "6", "2", "6", "1", "1", "2", "1", "1", "20,0%", "0", "0"],
    ]
    # A course filter: one obligation per person, the same people.
    only_tuy = _table(client, f"/reports/units/{o.province.id}?sort=name&course={o.optional_id}")
    assert only_tuy[1] == ["Phòng 1 — Thanh tra tỉnh Ninh Bình", "4", "1", "4", "1", "0", "1", "1", "1",
                           "33,3%", "0", "0"]


def test_units_no_rule_covers_are_flagged(small_org):
    app, o, _people, client, _hn_1, ls = small_org
    page = client.get("/reports/").get_data(as_text=True)
    assert "1 đơn vị không có đào tạo bắt buộc: không quy định nào áp dụng." in page
    rows = page.split("<tbody>")[1].split("<tr")
    assert "không có đào tạo bắt buộc" in next(r for r in rows if "Lạng Sơn" in r)
    assert "không có đào tạo bắt buộc" not in next(r for r in rows if "Ninh Bình" in r)
    with app.app_context():  # switched off, the rule no longer covers NB's sub-units for tuy-chon only
        for rule in db.session.scalars(sa.select(AssignmentRule)):
            rule.active = rule.course_id != o.course_id
        db.session.commit()
    page = client.get("/reports/").get_data(as_text=True)
    assert "2 đơn vị không có đào tạo bắt buộc" in page  # Hà Nội and Lạng Sơn


def test_cannot_sign_in_is_a_filter_and_a_column_of_the_people_list(small_org):
    _app, o, _people, client, _hn_1, _ls = small_org
    page = client.get("/reports/people?account=cannot_sign_in").get_data(as_text=True)
    table = Tables(page).tables[0]
    names = {"Phạm Văn Dũng", "Vũ Thị Giang", "Đỗ Thu Hà"}
    account, name = table[0].index("Tài khoản"), table[0].index("Họ và tên")
    listed = {(next(n for n in names if row[name].startswith(n)), row[account]) for row in table[1:]}
    assert listed == {("Phạm Văn Dũng", "Chưa có tài khoản"), ("Vũ Thị Giang", "Đã mời"),
                      ("Đỗ Thu Hà", "Đã vô hiệu hóa")}
    assert "5 lượt ghi danh · 3 người" in page  # Dũng 2, Giang 2, Hà 1
    everyone = client.get("/reports/people").get_data(as_text=True)
    assert "13 lượt ghi danh · 7 người" in everyone
    assert '<option value="cannot_sign_in">' in everyone
    link = client.get(f"/reports/units/{o.province.id}").get_data(as_text=True)
    assert f"/reports/people?unit={o.section_a.id}&amp;account=cannot_sign_in" in link


def test_a_unit_whose_name_repeats_is_shown_with_its_path(small_org):
    _app, o, _people, client, _hn_1, _ls = small_org
    page = client.get("/reports/people").get_data(as_text=True)
    assert "Phòng 1 — Thanh tra tỉnh Ninh Bình" in page and "Phòng 1 — Thanh tra TP Hà Nội" in page
    assert "Phòng 2 —" not in page  # a name nobody else has stays short
    exported = client.get("/reports/people?export=csv").get_data(as_text=True)
    assert "Phòng 1 — Thanh tra TP Hà Nội" in exported


def test_compliance_by_unit_and_by_person(small_org):
    _app, o, _people, client, _hn_1, _ls = small_org
    page = client.get(f"/reports/compliance?unit={o.province.id}&date=2026-06-01").get_data(as_text=True)
    units, people = Tables(page).tables
    assert units == [
        ["Đơn vị", "Số người", "Đạt yêu cầu (người)", "Đạt yêu cầu (%)"],
        ["Phòng 1 — Thanh tra tỉnh Ninh Bình", "4", "3", "75,0%"],  # Bình misses tuy-chon
        ["Phòng 2", "2", "2", "100,0%"],
        ["Tổng cộng", "6", "5", "83,3%"],
    ]
    assert people[0] == ["Họ và tên", "Đơn vị", "Chức vụ", "Đạt yêu cầu", "Còn thiếu"]
    an = next(row for row in people if row[0].startswith("Nguyễn Văn An"))
    assert an[1:4] == ["Phòng 1 — Thanh tra tỉnh Ninh Bình", "Thanh tra viên", "có"]
    workbook = openpyxl.load_workbook(io.BytesIO(
        client.get(f"/reports/compliance?unit={o.province.id}&date=2026-06-01&export=xlsx").data))
    assert workbook.sheetnames == ["Đáp ứng yêu cầu theo đơn vị", "Đáp ứng yêu cầu theo người"]
    sheets = {name: [[c.value for c in row] for row in workbook[name].iter_rows()]
              for name in workbook.sheetnames}
    by_unit = sheets["Đáp ứng yêu cầu theo đơn vị"][4:]
    assert by_unit[-1] == ["Tổng cộng", 6, 5, 83.3]
    by_person = sheets["Đáp ứng yêu cầu theo người"][3:]
    assert by_person[0][:4] == ["Mã cán bộ", "Họ và tên", "Đơn vị", "Chức vụ"]


def test_exports_say_their_filters_and_follow_the_language(small_org):
    _app, o, _people, client, _hn_1, _ls = small_org
    response = client.get(f"/reports/units/{o.province.id}?status=overdue&course={o.optional_id}&export=csv")
    disposition = response.headers["Content-Disposition"]
    assert re.search(r'filename="[^"]*thanh-tra-tinh-ninh-binh[^"]*tuy-chon[^"]*qua-han[^"]*2026-06-01\.csv"',
                     disposition), disposition
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    header = rows[1][0]
    for part in ("Đơn vị: Thanh tra tỉnh Ninh Bình", "Khóa học: Kỹ năng mềm", "Trạng thái: Quá hạn",
                 "Tính đến ngày: 01/06/2026", "Vụ Tổ chức (bo@example.vn)", "01/06/2026 10:00"):
        assert part in header, (part, header)
    every = client.get("/reports/?export=csv").data.decode("utf-8-sig")
    assert "Đơn vị: Tất cả đơn vị" in every and "Trạng thái: Mọi trạng thái" in every
    assert '"20,0"' in every  # NB's rate with a decimal comma
    client.set_cookie("lang", "en")
    english = client.get("/reports/?export=csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(english)))
    assert rows[3][0] == "Unit" and '"20.0"' in english and "Unit: All units" in rows[1][0]
    xlsx = client.get(f"/reports/people?unit={o.section_a.id}&export=xlsx")
    assert "phong-1-thanh-tra-tinh-ninh-binh" in xlsx.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    assert "Unit: Phòng 1 — Thanh tra tỉnh Ninh Bình" in sheet.cell(row=2, column=1).value
    # XLSX cells stay numbers, shown grouped in the reader's Excel (57.000 or 57,000 as it is set).
    dashboard = openpyxl.load_workbook(io.BytesIO(client.get("/reports/?export=xlsx").data)).active
    numbers = [cell for row in dashboard.iter_rows() for cell in row if type(cell.value) in (int, float)]
    assert 20.0 in [cell.value for cell in numbers]  # NB's rate, a number
    assert {cell.number_format for cell in numbers if type(cell.value) is int} == {"#,##0"}
    assert {cell.number_format for cell in numbers if type(cell.value) is float} == {"#,##0.0##"}


@pytest.mark.parametrize(("title", "taken", "expected"), [
    ("Hoàn thành đào tạo theo đơn vị — Thanh tra tỉnh Ninh Bình", [], "Hoàn thành đào tạo theo đơn vị"),
    ("Tuân thủ của Phòng Nghiệp vụ 1 ngày 01/06/2026", [], "Tuân thủ của Phòng Nghiệp vụ 1"),
    ("Quá hạn", ["Quá hạn"], "Quá hạn (2)"),
    ("Hoàn thành đào tạo theo đơn vị và theo người", ["hoàn thành đào tạo theo đơn vị"],
     "Hoàn thành đào tạo theo đơn (2)"),  # 31 characters, whole words
    ("Mộttừrấtdàikhôngcókhoảngtrắngnàocả", [], "Mộttừrấtdàikhôngcókhoảngtrắngnà"),
])
def test_sheet_names_are_cut_between_words_and_unique(title, taken, expected):
    name = sheet_title(title, taken)
    assert name == expected and len(name) <= 31


def test_a_locked_account_counts_as_cannot_sign_in_until_the_lock_ends(small_org):
    from mooc.auth.models import LoginThrottle

    app, o, people, client, _hn_1, _ls = small_org
    with app.app_context():
        db.session.add(LoginThrottle(email="an@example.vn", failures=10,
                                     locked_until=datetime(2026, 6, 1, 4, tzinfo=UTC)))
        db.session.commit()
    nb = next(r for r in _table(client, "/reports/") if r[0] == "Thanh tra tỉnh Ninh Bình")
    assert nb[2] == "3"  # Dũng, Giang and An (locked for another hour)
    assert "Nguyễn Văn An" in client.get("/reports/people?account=cannot_sign_in").get_data(as_text=True)
    clock.set_now(datetime(2026, 6, 1, 5, tzinfo=UTC))
    nb = next(r for r in _table(client, "/reports/") if r[0] == "Thanh tra tỉnh Ninh Bình")
    assert nb[2] == "2"
