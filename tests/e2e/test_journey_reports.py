"""Journey 3: the manager of Thanh tra Thành phố Hà Nội opens the report, drills down to a section
and to a person, and exports the section's list as XLSX, which is opened and checked against
what the page showed.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from openpyxl import load_workbook
from playwright.sync_api import expect

from mooc import clock
from tests.e2e.pages import Report, menu, sign_in

MANAGER = "quanly.hanoi@example.vn"
HN = "Thanh tra Thành phố Hà Nội"
SECTION = f"Phòng Nghiệp vụ 1 — {HN}"  # other provinces have a "Phòng Nghiệp vụ 1" too


def test_manager_drills_down_and_exports(browsing, tmp_path) -> None:
    page = browsing.new_page()
    sign_in(page, MANAGER, "matkhau-demo")
    menu(page, "Báo cáo")

    # The report by unit: the manager's own province only; then its sections, then one section.
    report = Report(page)
    assert report.row_headers() == ["Thanh tra Thành phố Hà Nội"]
    expect(page.get_by_role("img", name="Tỷ lệ hoàn thành theo đơn vị")).to_be_visible()
    report.drill("Thanh tra Thành phố Hà Nội")
    inactive = re.compile(r" không hoạt động trong 6 tháng$")  # a badge, depending on who studied lately
    assert [inactive.sub("", unit) for unit in report.row_headers()] == [
        SECTION, "Phòng Nghiệp vụ 2", f"{HN} (trực thuộc trực tiếp)"]  # a name only HN has: short
    report.drill(SECTION)
    expect(page.get_by_role("navigation", name="Vị trí hiện tại")).to_have_text(
        f"Tất cả đơn vị › {HN} › {SECTION}")
    page.get_by_role("link", name="Cán bộ của đơn vị này").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tình hình học tập theo từng người")
    shown = report.people()
    assert ("Nguyễn Văn An", "Giám sát số cho thanh tra viên", "Quá hạn") in shown, shown
    assert {name for name, _, _ in shown} >= {"Nguyễn Văn An", "Vũ Thị Hòa"}, shown

    # The person: their whole record, with the overdue course.
    report.table.get_by_role("link", name="Nguyễn Văn An").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ đào tạo")
    expect(page.locator(".lead")).to_contain_text(f"Nguyễn Văn An · 000202 · {SECTION}")
    overdue = page.get_by_role("row").filter(has_text="Giám sát số cho thanh tra viên")
    expect(overdue.locator(".badge")).to_have_text("Quá hạn")
    page.go_back()

    # The export of the list the page showed, as a spreadsheet, opened.
    path = report.export("XLSX", tmp_path)
    # named after the list, the unit and the date
    assert re.fullmatch(r"tinh-hinh-hoc-tap-theo-tung-nguoi_phong-nghiep-vu-1-thanh-tra-thanh-pho-ha-noi_"
                        r"\d{4}-\d{2}-\d{2}\.xlsx", path.name), path.name
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][0] == "Tình hình học tập theo từng người"
    assert MANAGER in rows[1][0] and f"Đơn vị: {SECTION}" in rows[1][0]  # its filters, who, when
    headers = list(rows[3])
    assert headers == ["Mã cán bộ", "Họ và tên", "Đơn vị", "Chức vụ", "Khóa học", "Trạng thái", "Hạn",
                       "Số ngày quá hạn", "Đã hoàn thành", "Người quản lý", "Lần học gần nhất",
                       "Tài khoản"], headers
    data = [dict(zip(headers, row, strict=True)) for row in rows[4:]]
    assert [(r["Họ và tên"], r["Khóa học"], r["Trạng thái"]) for r in data] == shown
    an = next(r for r in data if r["Họ và tên"] == "Nguyễn Văn An" and r["Trạng thái"] == "Quá hạn")
    assert an["Mã cán bộ"] == "000202" and an["Đơn vị"] == SECTION, an
    assert isinstance(an["Hạn"], datetime) and an["Số ngày quá hạn"] > 0, an  # a date cell, a number
    assert an["Hạn"].date() + timedelta(days=an["Số ngày quá hạn"]) == clock.today(), an
