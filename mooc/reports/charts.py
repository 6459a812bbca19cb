"""The pictures a mailed report carries: completion rates as a bar chart (PNG, shown inline
in the mail, never fetched from elsewhere) and the dashboard as a PDF (chart and table), in
the bundled font that has every Vietnamese letter."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF, FontFace
from PIL import Image, ImageDraw, ImageFont

from mooc import clock
from mooc.formatting import format_datetime, format_percent
from mooc.i18n import gettext as _

FONT_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
BAR = (31, 95, 153)  # the site's blue
GRID = (220, 220, 220)
INK = (34, 34, 34)


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / "DejaVuSans-vi.ttf"), size)


def fit_label(label: str, room: float, size: int = 13) -> str:
    """``label`` as drawn in ``room`` pixels at ``size``: whole, or cut with "…" (measured, not
    counted: "Thanh tra Thành phố Hồ Chí Minh" is 28 letters and wider than most). DejaVu Sans
    is wider than most sans fonts, so a browser's own font fits too: for the page's SVG chart
    and the mailed PNG."""
    font = _font(size)
    if font.getlength(label) <= room:
        return label
    while label and font.getlength(label + "…") > room:
        label = label[:-1]
    return label.rstrip() + "…"


def rates_png(rows: Sequence[tuple[str, float]], width: int = 600) -> bytes:
    """A horizontal bar per (label, rate in %), 0-100 %; labels cut to fit."""
    font = _font(13)
    label_width, bar_height, gap, top = 220, 18, 8, 10
    height = top * 2 + max(1, len(rows)) * (bar_height + gap)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    span = width - label_width - 60
    for tick in range(0, 101, 25):
        x = label_width + span * tick / 100
        draw.line([(x, top), (x, height - top)], fill=GRID)
    for n, (label, rate) in enumerate(rows):
        y = top + n * (bar_height + gap)
        draw.text((4, y + 1), fit_label(label, label_width - 10), font=font, fill=INK)
        draw.rectangle([label_width, y, label_width + span * max(0.0, min(rate, 100.0)) / 100,
                        y + bar_height], fill=BAR)
        draw.text((label_width + span * min(rate, 100.0) / 100 + 4, y + 1),
                  format_percent(rate), font=font, fill=INK)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def report_pdf(title: str, stamp: str, issuer: str, rated: Sequence[tuple[str, float]],
               headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> bytes:
    """A report on A4 landscape pages: heading, the chart of ``rated`` (label, %), the table
    (``rows`` as text, the last one, the total, in bold; the header repeats on every page)."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans-vi.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold-vi.ttf"))
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, issuer, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(0, 5, f"{stamp} · {_('Made on %(when)s', when=format_datetime(clock.now()))}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    if rated:
        pdf.image(io.BytesIO(rates_png(list(rated)[:20], width=900)), w=200)
        pdf.ln(3)
    pdf.set_font("DejaVu", "", 8)
    with pdf.table(col_widths=tuple(widths), line_height=5,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(232, 238, 245)),
                   text_align=("LEFT", *["RIGHT"] * (len(headers) - 1))) as table:
        heading = table.row()
        for header in headers:
            heading.cell(header)
        for n, row in enumerate(rows, 1):
            line = table.row(style=FontFace(emphasis="BOLD") if n == len(rows) else None)
            for value in row:
                line.cell(value)
    return bytes(pdf.output())
