"""Every report table as CSV (UTF-8 with BOM, so Excel in Vietnamese opens it right) or XLSX
(headers, widths, dates as dates), stamped with its filters, who exported it and when (one
header line). Cells that a spreadsheet would run as a formula (= + - @ ...) are neutralised:
mooc/downloads.py.

CSV follows the interface's language: in Vietnamese, fields are separated by ``;`` and
decimals written with a comma (``25,5``), as Excel set to Vietnamese reads them; in English,
``,`` and a decimal point.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
SHEET_MAX = 31  # Excel's limit on a sheet name
# Excel refuses a sheet named with any of these, or starting or ending with an apostrophe.
_SHEET_UNSAFE = re.compile(r"[:\\/?*\[\]]|[\x00-\x1f]")


@dataclass
class Table:
    """One table of an export: a sheet of the workbook, a section of the CSV."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


def _cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut before a word, never inside one (a single
    word longer than the limit is the only exception)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    cut = head.rfind(" ")
    head = head[:cut] if cut > 0 else text[:limit]
    return head.rstrip(" —-–·,;.'")


def sheet_title(title: str, taken: Iterable[str] = ()) -> str:
    """A sheet name Excel (and openpyxl) accepts: at most 31 characters, cut at a word boundary,
    none of : \\ / ? * [ ], and not one of ``taken`` (Excel compares them ignoring case): a
    repeated name gets " (2)", " (3)"..."""
    clean = _SHEET_UNSAFE.sub("-", title).strip("' ") or "Report"
    used = {name.casefold() for name in taken}
    name = _cut(clean, SHEET_MAX).strip("' ") or "Report"
    number = 2
    while name.casefold() in used:
        suffix = f" ({number})"
        name = _cut(clean, SHEET_MAX - len(suffix)).strip("' ") + suffix
        number += 1
    return name


def _xlsx_safe(value: Any) -> Any:
    """Neutralised, and without the control characters XML cannot hold (openpyxl refuses them)."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return neutralise(value)


def _local(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(clock.LOCAL_TZ).replace(tzinfo=None) if value.tzinfo else value
    return value


def _csv_cell(value: Any, decimal_comma: bool) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, float) and decimal_comma:
        return repr(value).replace(".", ",")
    return value


def to_csv(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], stamp: str,
           *, vietnamese: bool = True) -> bytes:
    return tables_to_csv(title, [Table("", headers, list(rows))], stamp, vietnamese=vietnamese)


def tables_to_csv(title: str, tables: Sequence[Table], stamp: str, *, vietnamese: bool = True) -> bytes:
    """The title, the header line (filters, who, when), then each table (its title first when
    there are several) with a blank line between."""
    lines: list[Sequence[Any]] = [[title], [stamp]]
    for table in tables:
        lines.append([])
        if len(tables) > 1:
            lines.append([table.title])
        lines.append(list(table.headers))
        lines += [[_csv_cell(v, vietnamese) for v in row] for row in table.rows]
    return csv_bytes(lines, delimiter=";" if vietnamese else ",")


def to_xlsx(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], stamp: str) -> bytes:
    return tables_to_xlsx(title, [Table(title, headers, list(rows))], stamp)


def tables_to_xlsx(title: str, tables: Sequence[Table], stamp: str) -> bytes:
    """One sheet per table, each with the title, the header line and the table. Written in
    openpyxl's write-only mode (rows streamed to the file, not kept as cell objects): a
    province's 30,000 rows take about a second instead of twenty (bench/reports.py)."""
    workbook = Workbook(write_only=True)
    names: list[str] = []
    for table in tables:
        names.append(sheet_title(table.title or title, names))
        _write_sheet(workbook, names[-1], title, table, stamp)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _widths(headers: Sequence[str], values: list[list[Any]]) -> list[int]:
    """Each column as wide as its longest cell (up to 60 characters)."""
    widths = [len(str(h)) for h in headers]
    for row in values:
        for index, value in enumerate(row[: len(widths)]):
            text = value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value or "")
            widths[index] = max(widths[index], min(len(text), 60))
    return widths


def _write_sheet(workbook: Workbook, name: str, title: str, table: Table, stamp: str) -> None:
    values = [[_xlsx_safe(_local(v)) for v in row] for row in table.rows]
    sheet = workbook.create_sheet(name)
    for index, width in enumerate(_widths(table.headers, values), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width + 2
    sheet.freeze_panes = "A5"

    def styled(value: Any, **style: Any) -> Cell:
        cell = WriteOnlyCell(sheet, value=value)
        for attribute, setting in style.items():
            setattr(cell, attribute, setting)
        return cell

    heading = title if not table.title or table.title == title else f"{title} — {table.title}"
    sheet.append([styled(_xlsx_safe(heading), font=Font(bold=True, size=13))])
    sheet.append([_xlsx_safe(stamp)])
    sheet.append([])
    sheet.append([styled(_xlsx_safe(h), font=Font(bold=True)) for h in table.headers])
    for row in values:
        sheet.append([
            styled(v, number_format="DD/MM/YYYY HH:MM") if isinstance(v, datetime)
            else styled(v, number_format="DD/MM/YYYY") if isinstance(v, date)
            else v
            for v in row
        ])
