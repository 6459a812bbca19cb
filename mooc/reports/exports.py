"""Every report table as CSV (UTF-8 with BOM, so Excel in Vietnamese opens it right) or XLSX
(headers, widths, dates as dates), stamped with who exported it and when. Cells that a
spreadsheet would run as a formula (= + - @ ...) are neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from mooc import clock

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: Any) -> Any:
    """Text that starts like a formula gets a leading apostrophe; numbers and dates stay."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _local(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(clock.LOCAL_TZ).replace(tzinfo=None) if value.tzinfo else value
    return value


def to_csv(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], stamp: str) -> bytes:
    from mooc.formatting import format_date, format_datetime

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(title)])
    writer.writerow([neutralise(stamp)])
    writer.writerow([])
    writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, datetime):
                value = format_datetime(value)
            elif isinstance(value, date):
                value = format_date(value)
            cells.append(neutralise("" if value is None else value))
        writer.writerow(cells)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], stamp: str) -> bytes:
    """Written in openpyxl's write-only mode (rows streamed to the file, not kept as cell
    objects): a province's 30,000 rows take about a second instead of twenty (bench/reports.py)."""
    table = [[neutralise(_local(v)) for v in row] for row in rows]
    widths = [len(str(h)) for h in headers]
    for values in table:
        for index, value in enumerate(values[: len(widths)]):
            text = value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value or "")
            widths[index] = max(widths[index], min(len(text), 60))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31].replace("/", "-") or "Report")
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width + 2
    sheet.freeze_panes = "A5"

    def styled(value: Any, **style: Any) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    sheet.append([styled(neutralise(title), font=Font(bold=True, size=13))])
    sheet.append([neutralise(stamp)])
    sheet.append([])
    sheet.append([styled(neutralise(h), font=Font(bold=True)) for h in headers])
    for values in table:
        sheet.append([
            styled(v, number_format="DD/MM/YYYY HH:MM") if isinstance(v, datetime)
            else styled(v, number_format="DD/MM/YYYY") if isinstance(v, date)
            else v
            for v in values
        ])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
