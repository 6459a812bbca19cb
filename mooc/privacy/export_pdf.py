"""A person's data (``export.gather``) as a readable PDF: one heading per section, one block per
row, labels in Vietnamese, dates dd/mm/yyyy, in the bundled font that has every Vietnamese
letter (as the certificates: mooc/training/certificate_pdf.py).

A stored code (a report's frequency ``weekly``, an enrolment's state ``in_progress``, a role)
is printed by the name the interface gives it (``VALUES``: the pages' own labels, in the
request's language). The JSON export keeps the codes: it is for machines, and a code means the
same in every language."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from fpdf import FPDF

from mooc.auth import audit_actions
from mooc.auth.labels import PURPOSE_LABELS, ROLE_LABELS
from mooc.formatting import format_date, format_datetime
from mooc.i18n import gettext as _
from mooc.privacy import corrections
from mooc.quizzes.attempts import STATUS_LABELS as ATTEMPT_LABELS
from mooc.reminders import messages as reminders
from mooc.reports.subscriptions import FREQUENCY_LABELS, REPORT_LABELS
from mooc.roster.display import IMPORT_KIND_LABELS
from mooc.roster.display import STATUS_LABELS as STAFF_STATUS_LABELS
from mooc.training.certificate_pdf import FONT_DIR, INK, MUTED, RED
from mooc.training.records import SOURCE_LABELS
from mooc.training.status import status_label

LABELS = {
    "staff_code": "Mã cán bộ", "full_name": "Họ và tên", "family_name": "Họ", "middle_name": "Tên đệm",
    "given_name": "Tên", "email": "Thư điện tử", "unit_code": "Mã đơn vị", "unit": "Đơn vị",
    "position": "Chức vụ", "status": "Trạng thái", "joined_on": "Ngày vào", "left_on": "Ngày nghỉ",
    "created_at": "Tạo lúc", "updated_at": "Cập nhật lúc", "last_training_at": "Học gần nhất",
    "pseudonymised_at": "Ẩn danh hóa lúc", "valid_from": "Từ ngày", "valid_to": "Đến ngày",
    "import_id": "Lần nhập", "id": "Số", "display_name": "Tên hiển thị", "role": "Vai trò",
    "active": "Đang hoạt động", "last_login_at": "Đăng nhập gần nhất",
    "password_changed_at": "Đổi mật khẩu lúc",
    "has_password": "Có mật khẩu", "scope_unit": "Phụ trách đơn vị", "user_id": "Tài khoản",
    "last_seen_at": "Dùng gần nhất", "expires_at": "Hết hạn lúc", "revoked_at": "Thu hồi lúc",
    "ip": "Địa chỉ IP", "user_agent": "Trình duyệt", "purpose": "Mục đích", "used_at": "Đã dùng lúc",
    "course_key": "Mã khóa học", "course": "Khóa học", "cycle": "Chu kỳ", "required": "Bắt buộc",
    "source": "Nguồn", "state": "Tình trạng", "assigned_on": "Ngày giao", "due_on": "Hạn",
    "started_at": "Bắt đầu lúc", "completed_at": "Hoàn thành lúc", "expires_on": "Hết hạn ngày",
    "score": "Điểm", "exempt_reason": "Lý do miễn", "closed_at": "Đóng lúc", "note": "Ghi chú",
    "code": "Số chứng nhận", "holder_name": "Người được cấp", "course_title": "Khóa học",
    "issued_at": "Cấp lúc", "lesson": "Bài học", "quiz": "Bài kiểm tra", "number": "Lần",
    "submitted_at": "Nộp lúc", "max_score": "Điểm tối đa", "percent": "Tỉ lệ (%)", "passed": "Đạt",
    "questions": "Câu hỏi", "answers": "Câu trả lời", "results": "Kết quả từng câu", "extra": "Số lần thêm",
    "granted_at": "Cho lúc", "kind": "Loại", "step": "Bước", "recipient": "Người nhận",
    "claimed_at": "Xử lý lúc", "sent_at": "Gửi lúc", "field": "Trường", "value_then": "Giá trị khi báo",
    "resolved_at": "Giải quyết lúc", "resolution": "Cách giải quyết", "resolution_note": "Ghi chú giải quyết",
    "at": "Lúc", "action": "Hành động", "target": "Đối tượng", "details": "Chi tiết", "by": "Người thực hiện",
    "filename": "Tệp", "rows": "Số dòng", "roster_imports": "Các lần nhập danh sách",
    "rules_created": "Quy tắc giao khóa học đã tạo", "links_issued": "Liên kết mời/đặt lại đã gửi",
    "exemptions_granted": "Miễn học đã cho", "attempts_granted": "Lượt làm bài thêm đã cho",
    "corrections_resolved": "Yêu cầu sửa đã giải quyết",
    "user_name": "Tên đăng nhập", "first_at": "Gắn với bạn từ",
    "confirmed_at": "Xác nhận lúc", "recovery_codes_left": "Số mã khôi phục còn lại",
    "frequency": "Tần suất", "last_sent_at": "Gửi gần nhất", "last_used_at": "Dùng gần nhất",
    "name": "Tên gọi", "prefix": "Phần đầu của khóa", "program": "Chương trình",
    "program_key": "Mã chương trình", "steps_done": "Số bước đã xong", "steps_required": "Số bước bắt buộc",
    "service_tokens_made": "Khóa API dịch vụ đã tạo",
    "report_mail_set_up": "Thư báo cáo định kỳ đã lập cho địa chỉ không có tài khoản",
}


Row = Mapping[str, Any]


def _named(labels: Mapping[Any, Any]) -> Callable[[Any, Row], str]:
    """The label of a code (a lazy string, or a function that gives one); an unknown code as stored."""
    def name(value: Any, _row: Row) -> str:
        label = labels.get(value)
        if label is None:
            return str(value)
        return str(label() if callable(label) else label)
    return name


# The fields that hold a stored code, by (section or part of ``export.SECTIONS``, field): how each
# is named. tests/privacy/test_export.py checks that every code of every field is named.
VALUES: dict[tuple[str, str], Callable[[Any, Row], str]] = {
    ("person", "status"): _named(STAFF_STATUS_LABELS),
    ("roster_history", "status"): _named(STAFF_STATUS_LABELS),
    ("accounts", "role"): _named(ROLE_LABELS),
    ("account_links", "purpose"): _named(PURPOSE_LABELS),
    ("links_issued", "purpose"): _named(PURPOSE_LABELS),
    ("enrolments", "source"): _named(SOURCE_LABELS),
    ("enrolments", "state"): lambda value, _row: status_label(value),
    ("programs", "source"): _named(SOURCE_LABELS),
    ("quiz_attempts", "status"): _named(ATTEMPT_LABELS),
    ("reminders", "kind"): _named(reminders.KIND_LABELS),
    ("reminders", "step"): lambda value, row: reminders.step_label(row["kind"], value),
    ("reminders", "status"): _named(reminders.STATUS_LABELS),
    ("report_mail", "kind"): _named(REPORT_LABELS),
    ("report_mail", "frequency"): _named(FREQUENCY_LABELS),
    ("corrections", "field"): _named(corrections.FIELDS),
    ("corrections", "value_then"): lambda value, row: corrections.shown(row["field"], value),
    ("corrections", "status"): _named(corrections.STATUS_LABELS),
    ("corrections", "resolution"): _named(corrections.RESOLUTION_LABELS),
    ("audit_events", "action"): lambda value, _row: audit_actions.label(value),
    ("roster_imports", "kind"): _named(IMPORT_KIND_LABELS),
}


def readable(section: str, row: Row) -> list[tuple[str, str]]:
    """A row of a section (or of a part of one) as the PDF prints it: (label, value) per field."""
    return [(LABELS.get(key) or key, _value(section, key, value, row)) for key, value in row.items()]


def _value(section: str, key: str, value: Any, row: Row) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if (section, key) in VALUES:
        return VALUES[section, key](value, row)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            if len(value) == 10:
                return format_date(date.fromisoformat(value))
            return format_datetime(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _record(pdf: FPDF, section: str, row: Row) -> None:
    for label, text in readable(section, row):
        pdf.set_font("DejaVu", "B", 9)
        pdf.set_text_color(*MUTED)
        pdf.cell(48, 5, label)
        pdf.set_font("DejaVu", "", 9)
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _heading(pdf: FPDF, text: str, size: int = 13) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", size)
    pdf.set_text_color(*RED)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)


def _rows(pdf: FPDF, section: str, rows: list[Row]) -> None:
    if not rows:
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(0, 6, "(không có)", new_x="LMARGIN", new_y="NEXT")
    for row in rows:
        _record(pdf, section, row)


def render_export(data: Mapping[str, Any], sections: Mapping[str, str], title: str, subject: str,
                  stamp: str) -> bytes:
    """``sections``: section key -> its translated heading, in the order to print them."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"{title} {subject}")
    pdf.set_creator("mooc")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans-vi.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold-vi.ttf"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    _heading(pdf, title.upper(), 16)
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 7, subject, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 5, stamp, new_x="LMARGIN", new_y="NEXT")
    for key, heading in sections.items():
        value = data.get(key)
        _heading(pdf, heading)
        if isinstance(value, list):
            _rows(pdf, key, value)
        elif isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            for part, rows in value.items():
                _heading(pdf, LABELS.get(part) or part, 10)
                _rows(pdf, part, rows)
        else:
            _rows(pdf, key, [value] if value else [])
    return bytes(pdf.output())
