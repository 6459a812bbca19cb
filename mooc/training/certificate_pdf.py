"""PDFs of training: the certificate (with a QR code to /verify/<code>) and a person's record,
in a bundled font that has every Vietnamese letter."""

from __future__ import annotations

import io
from pathlib import Path

import segno
from fpdf import FPDF, FontFace

from mooc.formatting import format_date, format_number
from mooc.training.models import Certificate, ProgramCertificate

FONT_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
RED = (179, 38, 30)
INK = (28, 27, 31)
MUTED = (91, 89, 96)


def render_certificate(certificate: Certificate, verify_url: str, organisation: str) -> bytes:
    """The certificate: ``organisation`` is the issuing body (MOOC_ISSUER); the holder's staff
    code and unit and the course's hours (when its front matter gives them) are printed."""
    pdf = _page(certificate.code, organisation, "hoàn thành khóa học")
    _holder_and_course(pdf, certificate)
    _verification(pdf, certificate, verify_url)
    return bytes(pdf.output())


def render_program_certificate(certificate: ProgramCertificate, verify_url: str, organisation: str,
                               courses: list[str]) -> bytes:
    """A programme's certificate: as a course's, with the courses the person completed in it."""
    pdf = _page(certificate.code, organisation, "hoàn thành chương trình bồi dưỡng")
    width = pdf.w
    _holder_and_title(pdf, certificate, "đã hoàn thành chương trình", certificate.program_title,
                      top=68, name_height=13)
    if courses:
        pdf.set_font("DejaVu", "", 10)
        pdf.set_text_color(*MUTED)
        pdf.set_x(40)
        pdf.multi_cell(width - 80, 5, "gồm các khóa học: " + "; ".join(courses), align="C",
                       new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "", 12)
    pdf.ln(2)
    completed = certificate.enrolment.completed_at or certificate.issued_at
    pdf.cell(0, 7, f"Ngày hoàn thành: {format_date(completed)}", align="C", new_x="LMARGIN", new_y="NEXT")
    _validity(pdf, certificate)
    _verification(pdf, certificate, verify_url)
    return bytes(pdf.output())


def _page(code: str, organisation: str, what: str) -> FPDF:
    """A landscape A4 certificate page with the site's fonts, its frame and heading
    ("CHỨNG NHẬN", then ``what``)."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(f"Chứng nhận {code}")
    pdf.set_author(organisation)
    pdf.set_creator("mooc")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans-vi.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold-vi.ttf"))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    _frame_and_heading(pdf, organisation, what)
    return pdf


def _validity(pdf: FPDF, certificate: Certificate | ProgramCertificate) -> None:
    validity = (f"Có giá trị đến ngày {format_date(certificate.expires_on)}" if certificate.expires_on
                else "Không thời hạn")
    pdf.cell(0, 7, validity, align="C", new_x="LMARGIN", new_y="NEXT")


def _frame_and_heading(pdf: FPDF, organisation: str, what: str) -> None:
    width = pdf.w
    pdf.set_draw_color(*RED)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, width - 20, pdf.h - 20)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, width - 26, pdf.h - 26)

    pdf.set_text_color(*MUTED)
    pdf.set_font("DejaVu", "", 12)
    pdf.set_y(24)
    pdf.cell(0, 7, organisation.upper(), align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.set_text_color(*RED)
    pdf.set_font("DejaVu", "B", 26)
    pdf.set_y(40)
    pdf.cell(0, 14, "CHỨNG NHẬN", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 14)
    pdf.cell(0, 8, what, align="C", new_x="LMARGIN", new_y="NEXT")


def _holder_and_title(pdf: FPDF, certificate: Certificate | ProgramCertificate, done: str, title: str,
                      *, top: float, name_height: float) -> None:
    """"Chứng nhận Ông/Bà", the holder's name and details, ``done`` ("đã hoàn thành ...") and
    the course's or programme's ``title``, centred from ``top``."""
    pdf.set_text_color(*INK)
    pdf.set_y(top)
    pdf.set_font("DejaVu", "", 13)
    pdf.cell(0, 8, "Chứng nhận Ông/Bà", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 24)
    pdf.cell(0, name_height, certificate.holder_name, align="C", new_x="LMARGIN", new_y="NEXT")
    who = _holder_details(certificate)
    if who:
        pdf.set_font("DejaVu", "", 11)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 6, who, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "", 13)
    pdf.cell(0, 8, done, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 17)
    pdf.set_x(30)
    pdf.multi_cell(pdf.w - 60, 9, title, align="C", new_x="LMARGIN", new_y="NEXT")


def _holder_and_course(pdf: FPDF, certificate: Certificate) -> None:
    _holder_and_title(pdf, certificate, "đã hoàn thành khóa học", certificate.course_title,
                      top=70, name_height=14)
    pdf.set_font("DejaVu", "", 12)
    pdf.ln(3)
    completed = certificate.enrolment.completed_at if certificate.enrolment else certificate.issued_at
    course = certificate.enrolment.course if certificate.enrolment else None
    hours = course.hours if course is not None else 0
    line = f"Ngày hoàn thành: {format_date(completed)}"
    if hours:
        line += f" · Thời lượng: {format_number(hours, None, locale='vi')} giờ"  # Vietnamese, as the page
    pdf.cell(0, 7, line, align="C", new_x="LMARGIN", new_y="NEXT")
    _validity(pdf, certificate)


def _holder_details(certificate: Certificate | ProgramCertificate) -> str:
    """"Mã cán bộ: 000202 · Phòng Nghiệp vụ 1 — Thanh tra Thành phố Hà Nội" (the unit now), on a
    course's certificate and a programme's alike."""
    staff = certificate.enrolment.staff if certificate.enrolment else None
    if staff is None:
        return ""
    parts = [f"Mã cán bộ: {staff.staff_code}"]
    if staff.unit is not None:
        unit = staff.unit
        parts.append(unit.name + (f" — {unit.parent.name}" if unit.parent is not None else ""))
    return " · ".join(parts)


def _verification(pdf: FPDF, certificate: Certificate | ProgramCertificate, verify_url: str) -> None:
    """The QR code to the verification page, the certificate's number and that page's address."""
    width = pdf.w
    qr = segno.make(verify_url, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=6, border=2)
    buffer.seek(0)
    size = 34
    pdf.image(buffer, x=width - 20 - size - 8, y=pdf.h - 20 - size - 10, w=size, h=size)

    pdf.set_text_color(*MUTED)
    pdf.set_font("DejaVu", "", 10)
    pdf.set_xy(24, pdf.h - 44)
    pdf.cell(0, 6, f"Số chứng nhận: {certificate.code}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(24)
    pdf.cell(0, 6, "Kiểm tra tính xác thực: quét mã QR hoặc mở", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(24)
    pdf.cell(0, 6, verify_url, new_x="LMARGIN", new_y="NEXT")


def render_record(
    staff_name: str,
    staff_code: str,
    unit: str,
    rows: list[list[str]],
    headers: list[str],
    title: str,
    stamp: str,
    programs: tuple[str, list[str], list[list[str]]] | None = None,
) -> bytes:
    """A person's training record as a PDF table (A4 landscape), for files and signatures;
    ``programs``: a second table under its heading (heading, headers, rows), when they follow any."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(f"{title} {staff_code}")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans-vi.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold-vi.ttf"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.set_text_color(*RED)
    pdf.cell(0, 10, title.upper(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "", 11)
    pdf.cell(0, 7, f"{staff_name} · {staff_code} · {unit}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*MUTED)
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 6, stamp, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _record_table(pdf, headers, rows, (70, 14, 30, 24, 24, 24, 24, 16, 35))
    if programs is not None and programs[2]:
        heading, program_headers, program_rows = programs
        pdf.ln(5)
        pdf.set_font("DejaVu", "B", 12)
        pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        _record_table(pdf, program_headers, program_rows, (56, 14, 30, 24, 24, 24, 24, 15, 15, 35))
    return bytes(pdf.output())


def _record_table(pdf: FPDF, headers: list[str], rows: list[list[str]], widths: tuple[int, ...]) -> None:
    """A table of the record (a course's cycles, or a programme's), its columns ``widths`` mm wide."""
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        line_height=6,
        headings_style=FontFace(emphasis="BOLD", fill_color=(239, 237, 242)),
    ) as table:
        table.row(headers)
        for row in rows:
            table.row([str(value) for value in row])
