"""Every report table as CSV (UTF-8 with BOM, so Excel in Vietnamese opens it right) or XLSX
(headers, widths, dates as dates), stamped with who exported it and when. Cells that a
spreadsheet would run as a formula (= + - @ ...) are neutralised: mooc/downloads.py."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from mooc import clock
from mooc.downloads import csv_bytes, neutralise
from mooc.formatting import format_date, format_datetime

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel refuses a sheet named with any of these, or starting or ending with an apostrophe.
_SHEET_UNSAFE = re.compile(r"[:\\/?*\[\]]|[\x00-\x1f]")


def sheet_title(title: str) -> str:
    """A sheet name Excel (and openpyxl) accepts: at most 31 characters, none of : \\ / ? * [ ]."""
    return _SHEET_UNSAFE.sub("-", title).strip("' ")[:31].strip("' ") or "Report"


def _xlsx_safe(value: Any) -> Any:
    """Neutralised, and without the control characters XML cannot hold (openpyxl refuses them)."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return neutralise(value)


def _local(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(clock.LOCAL_TZ).replace(tzinfo=None) if value.tzinfo else value
    return value


def to_csv(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], stamp: str) -> bytes:
    def cell(value: Any) -> Any:
        if isinstance(value, datetime):
            return format_datetime(value)
        if isinstance(value, date):
            return format_date(value)
        return value

    return csv_bytes([[title], [stamp], [], list(headers), *([cell(v) for v in row] for row in rows)])


def to_xlsx(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], stamp: str) -> bytes:
    """Written in openpyxl's write-only mode (rows streamed to the file, not kept as cell
    objects): a province's 30,000 rows take about a second instead of twenty (bench/reports.py)."""
    table = [[_xlsx_safe(_local(v)) for v in row] for row in rows]
    widths = [len(str(h)) for h in headers]
    for values in table:
        for index, value in enumerate(values[: len(widths)]):
            text = value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value or "")
            widths[index] = max(widths[index], min(len(text), 60))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(title))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width + 2
    sheet.freeze_panes = "A5"

    def styled(value: Any, **style: Any) -> Cell:
        cell = WriteOnlyCell(sheet, value=value)
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    sheet.append([styled(_xlsx_safe(title), font=Font(bold=True, size=13))])
    sheet.append([_xlsx_safe(stamp)])
    sheet.append([])
    sheet.append([styled(_xlsx_safe(h), font=Font(bold=True)) for h in headers])
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
