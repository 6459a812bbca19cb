"""Journey 2: an administrator imports HR's roster file. The first upload has bad rows: they read
the errors (row, column, what is wrong), fix the file, upload it again, read the dry-run diff,
apply it; then they create an assignment rule after looking at its preview, and invite the
new people. One of them opens the e-mail, chooses a password and finds the course required.

Everything happens in Thanh tra tỉnh Ninh Bình, which no other e2e test counts on exactly.
"""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from mooc.text import fold
from tests.e2e.pages import HomePage, Roster, RosterImport, RuleForm, go, sign_in

HEADER = "Mã cán bộ;Họ và tên;Email;Đơn vị;Chức vụ;Trạng thái"
UNCHANGED = "000401;Dương Minh Khoa;khoa.dm@example.vn;NB;Thanh tra viên chính;Đang công tác"
CHANGED = "000402;Lý Thị Mai;mai.lt@example.vn;NB;Thanh tra viên chính;Đang công tác"  # was Thanh tra viên
NEW = [  # (the row as HR first sent it, the row once fixed)
    ("000411;Hà Văn Sơn;son.hv@example.vn;NB;Thanh tra viên;Đang công tác", None),
    ("1.23E+05;Quách Thị Yến;yen.qt@example.vn;NB;Chuyên viên;Đang công tác",  # Excel ate the code
     "000412;Quách Thị Yến;yen.qt@example.vn;NB;Chuyên viên;Đang công tác"),
    ("000413;Mạc Đình Tú;tu.md@@example.vn;NB;Thanh tra viên;Đang công tác",  # a typo in the address
     "000413;Mạc Đình Tú;tu.md@example.vn;NB;Thanh tra viên;Đang công tác"),
    ("000414;Kiều Thị Ngân;ngan.kt@example.vn;Phòng Tiếp dân;Chuyên viên;Đang công tác",  # no such unit
     "000414;Kiều Thị Ngân;ngan.kt@example.vn;NB;Chuyên viên;Đang công tác"),
]
NEW_PEOPLE = ["Hà Văn Sơn", "Quách Thị Yến", "Mạc Đình Tú", "Kiều Thị Ngân"]
COURSE = "Soạn thảo văn bản trong hoạt động thanh tra"


def write_roster(path: Path, fixed: bool) -> Path:
    rows = [HEADER, UNCHANGED, CHANGED] + [(good or first) if fixed else first for first, good in NEW]
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8-sig")  # as Excel saves "CSV UTF-8"
    return path


def test_admin_imports_the_roster_assigns_and_invites(browsing, live, tmp_path) -> None:
    page = browsing.new_page()
    sign_in(page, "quantri@example.vn", "matkhau-demo")

    # The first file: three bad rows, each reported by row and column; nothing can be applied.
    roster = RosterImport(page).upload(write_roster(tmp_path / "danh-sach-ninh-binh.csv", fixed=False))
    expect(page.get_by_role("heading", name="Số lỗi: 3")).to_be_visible()
    assert roster.errors() == [
        ["5", "Mã cán bộ", "Excel đã biến mã cán bộ này thành số (1.23E+05). "
                           "Hãy định dạng cột là Text (Văn bản) rồi nhập lại mã."],
        ["6", "Email", "“tu.md@@example.vn” không phải là địa chỉ e-mail hợp lệ."],
        ["7", "Đơn vị", "Không có đơn vị “Phòng Tiếp dân”. Hãy ghi mã hoặc đúng tên của một đơn vị đã có."],
    ]
    expect(page.get_by_role("button", name="Áp dụng")).to_have_count(0)

    # The fixed file: the dry run lists who is added and what changes, field by field.
    roster.upload(write_roster(tmp_path / "danh-sach-ninh-binh-da-sua.csv", fixed=True))
    expect(page.get_by_role("heading", name="Những gì sẽ thay đổi khi nhập")).to_be_visible()
    expect(roster.count("Thêm mới")).to_have_text("Thêm mới: 4")
    expect(roster.count("Thay đổi")).to_have_text("Thay đổi: 1")
    expect(roster.count("Không đổi")).to_have_text("Không đổi: 1")
    assert roster.changes("Thêm mới") == [
        ["4", "000411", "Hà Văn Sơn", "Thanh tra tỉnh Ninh Bình · Thanh tra viên"],
        ["5", "000412", "Quách Thị Yến", "Thanh tra tỉnh Ninh Bình · Chuyên viên"],
        ["6", "000413", "Mạc Đình Tú", "Thanh tra tỉnh Ninh Bình · Thanh tra viên"],
        ["7", "000414", "Kiều Thị Ngân", "Thanh tra tỉnh Ninh Bình · Chuyên viên"],
    ]
    assert roster.changes("Thay đổi") == [
        ["3", "000402", "Lý Thị Mai", "Chức vụ: Thanh tra viên → Thanh tra viên chính"]]
    roster.apply()
    expect(page.locator(".flash-success")).to_have_text(
        "Đã nhập: thêm 4, thay đổi 1, chuyển đơn vị 0, đánh dấu đã nghỉ 0, trở lại công tác 0.")
    expect(page.locator("table.details")).to_contain_text("danh-sach-ninh-binh-da-sua.csv")

    # A rule: every position of Ninh Bình takes the writing course within 30 days. Preview first.
    rule = RuleForm(page).open()
    rule.fill(f"{COURSE} (VBTT-2026)", "Thanh tra tỉnh Ninh Bình", days=30,
              note="Cán bộ mới của Thanh tra tỉnh Ninh Bình")
    preview = rule.preview()
    covered = _active_staff_in("NB", live)
    expect(preview).to_contain_text(f"{covered} người thuộc phạm vi; {covered} người sẽ được giao ngay")
    for name in NEW_PEOPLE + ["Lý Thị Mai", "Dương Minh Khoa"]:
        person = preview.get_by_role("listitem").filter(has_text=name)
        expect(person).to_contain_text("Thanh tra tỉnh Ninh Bình")
    rule.save()
    expect(page.locator(".flash-success")).to_have_text(f"Đã lưu quy tắc: giao khóa học cho {covered} người.")
    rule_row = page.get_by_role("row", name=re.compile(COURSE)).filter(  # other rules may name it too
        has_text="Cán bộ mới của Thanh tra tỉnh Ninh Bình")
    expect(rule_row).to_contain_text("Thanh tra tỉnh Ninh Bình")

    # Invitations, one person at a time, found by name typed without accents.
    people = Roster(page)
    for name in NEW_PEOPLE:
        people.open_person(fold(name), name)
        people.invite()
        expect(page.get_by_text("Đã mời; người này chưa chọn mật khẩu.")).to_be_visible()

    # One of them opens the e-mail, chooses a password, signs in: the course is required.
    newcomer = browsing.new_page()
    go(newcomer, _invitation_link(live, "son.hv@example.vn"))
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Chào mừng")
    newcomer.get_by_label("Mật khẩu mới", exact=True).fill("Thanh tra Ninh Binh 2026")
    newcomer.get_by_label("Nhập lại mật khẩu mới").fill("Thanh tra Ninh Binh 2026")
    newcomer.get_by_role("button", name="Đặt mật khẩu").click()
    expect(newcomer.locator(".flash-success")).to_have_text(
        "Đã đặt mật khẩu. Hãy đăng nhập bằng e-mail và mật khẩu mới.")
    sign_in(newcomer, "son.hv@example.vn", "Thanh tra Ninh Binh 2026")
    required = HomePage(newcomer).card("Khóa học bắt buộc", COURSE)
    expect(required.locator(".badge")).to_have_text("Chưa bắt đầu")


def _active_staff_in(unit_code: str, live) -> int:
    from mooc.roster.models import OrgUnit, Staff, StaffStatus
    from mooc.roster.units import subtrees

    with live.db() as session:
        unit_id = session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == unit_code))
        return session.scalar(sa.select(sa.func.count()).select_from(Staff).where(
            Staff.unit_id.in_(subtrees([unit_id])), Staff.status != StaffStatus.LEFT))


def _invitation_link(live, address: str) -> str:
    for path in sorted((live.instance_dir / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] and address in message["To"]:
            body = message.get_body(("plain",)).get_content()
            return re.search(r"https?://\S+/invite/\S+", body).group(0)
    raise AssertionError(f"no invitation to {address} in the outbox")
