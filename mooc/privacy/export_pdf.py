"""A person's data (``export.gather``) as a readable PDF: one heading per section, one block per
row, labels in Vietnamese, dates dd/mm/yyyy, in the bundled font that has every Vietnamese
letter (as the certificates: mooc/training/certificate_pdf.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from fpdf import FPDF

from mooc.formatting import format_date, format_datetime
from mooc.training.certificate_pdf import FONT_DIR, INK, MUTED, RED

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


def _value(key: str, value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "Có" if value else "Không"
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


def _record(pdf: FPDF, row: Mapping[str, Any]) -> None:
    for key, value in row.items():
        pdf.set_font("DejaVu", "B", 9)
        pdf.set_text_color(*MUTED)
        pdf.cell(48, 5, LABELS.get(key) or key)
        pdf.set_font("DejaVu", "", 9)
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 5, _value(key, value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _heading(pdf: FPDF, text: str, size: int = 13) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", size)
    pdf.set_text_color(*RED)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)


def _rows(pdf: FPDF, rows: list[Mapping[str, Any]]) -> None:
    if not rows:
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(0, 6, "(không có)", new_x="LMARGIN", new_y="NEXT")
    for row in rows:
        _record(pdf, row)


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
            _rows(pdf, value)
        elif isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            for part, rows in value.items():
                _heading(pdf, LABELS.get(part) or part, 10)
                _rows(pdf, rows)
        else:
            _rows(pdf, [value] if value else [])
    return bytes(pdf.output())
