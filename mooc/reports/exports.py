"""Every report table as CSV (UTF-8 with BOM, so Excel in Vietnamese opens it right) or XLSX
(headers, widths, dates as dates), both streamed (generators of bytes: a view sends them as
they are made, its rows read from the database cursor in batches), stamped with its filters,
who exported it and when (one header line). Cells that a spreadsheet would run as a formula
(= + - @ ...) are neutralised: mooc/downloads.py.

CSV follows the interface's language: in Vietnamese, fields are separated by ``;`` and
decimals written with a comma (``25,5``), as Excel set to Vietnamese reads them; in English,
``,`` and a decimal point.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mooc import clock
from mooc.downloads import FORMULA_TRIGGERS, csv_stream, neutralise
from mooc.formatting import format_date, format_datetime
from mooc.reports import xlsx

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_MAX = 31  # Excel's limit on a sheet name
# Excel refuses a sheet named with any of these, or starting or ending with an apostrophe.
_SHEET_UNSAFE = re.compile(r"[:\\/?*\[\]]|[\x00-\x1f]")


@dataclass
class Table:
    """One table of an export: a sheet of the workbook, a section of the CSV. ``rows`` may be
    a generator (read once, while the file is sent: a list of people straight from the
    database cursor)."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]


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


# A text starting with one of these may be (or hide) a formula: _xlsx_safe looks at it. A
# character XML refuses further in is dropped by the writer (it cannot make a formula there).
_CAREFUL_FIRST = frozenset(FORMULA_TRIGGERS + " " + "".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32)])))


def _xlsx_safe(value: Any) -> Any:
    """Neutralised, and without the control characters XML cannot hold (dropped first, so that
    a formula behind one is neutralised too)."""
    if isinstance(value, str):
        value = xlsx.ILLEGAL_CHARACTERS.sub("", value)
    return neutralise(value)


def _local(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(clock.LOCAL_TZ).replace(tzinfo=None) if value.tzinfo else value
    return value


def _csv_cell(value: Any, decimal_comma: bool) -> Any:
    if type(value) is str:  # most cells
        return value
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, float) and decimal_comma:
        return repr(value).replace(".", ",")
    return value


def csv_chunks(title: str, tables: Sequence[Table], stamp: str, *,
               vietnamese: bool = True) -> Iterator[bytes]:
    """The title, the header line (filters, who, when), then each table (its title first when
    there are several) with a blank line between: a generator, each table's rows read as the
    file is sent."""

    def lines() -> Iterator[Sequence[Any]]:
        yield [title]
        yield [stamp]
        for table in tables:
            yield []
            if len(tables) > 1:
                yield [table.title]
            yield list(table.headers)
            for row in table.rows:
                yield [_csv_cell(v, vietnamese) for v in row]

    return csv_stream(lines(), delimiter=";" if vietnamese else ",")


def tables_to_csv(title: str, tables: Sequence[Table], stamp: str, *, vietnamese: bool = True) -> bytes:
    return b"".join(csv_chunks(title, tables, stamp, vietnamese=vietnamese))


def to_csv(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], stamp: str,
           *, vietnamese: bool = True) -> bytes:
    return tables_to_csv(title, [Table("", headers, rows)], stamp, vietnamese=vietnamese)


def xlsx_chunks(title: str, tables: Sequence[Table], stamp: str) -> Iterator[bytes]:
    """One sheet per table, each with the title (bold), the header line, a blank row, the
    headers (bold, frozen above the rows) and the rows: a generator of the file's bytes
    (mooc/reports/xlsx.py), each table's rows read as the file is sent. Columns are as wide
    as their header and their longest cell in the first ``xlsx.WIDTH_ROWS`` rows (up to 60)."""
    names: list[str] = []
    for table in tables:
        names.append(sheet_title(table.title or title, names))
    return xlsx.stream(_sheet(name, title, table, stamp) for name, table in zip(names, tables, strict=True))


def tables_to_xlsx(title: str, tables: Sequence[Table], stamp: str) -> bytes:
    return b"".join(xlsx_chunks(title, tables, stamp))


def to_xlsx(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], stamp: str) -> bytes:
    return tables_to_xlsx(title, [Table(title, headers, rows)], stamp)


def _xlsx_row(row: Sequence[Any]) -> list[Any]:
    """A row as the workbook holds it (the hot loop of a long export: most cells pass as they are)."""
    out = list(row)
    for index, value in enumerate(out):
        kind = type(value)
        if kind is str:
            if value[:1] in _CAREFUL_FIRST:
                out[index] = _xlsx_safe(value)
        elif kind is datetime:
            out[index] = _local(value)
        elif not (value is None or kind is int or kind is float or kind is date
                  or isinstance(value, int | float | Decimal | date)):
            out[index] = _xlsx_safe(str(value))  # text of another kind (a lazy translation...)
    return out


def _sheet(name: str, title: str, table: Table, stamp: str) -> xlsx.Sheet:
    heading = title if not table.title or table.title == title else f"{title} — {table.title}"
    top = [
        [(_xlsx_safe(heading), xlsx.TITLE)],
        [(_xlsx_safe(stamp), xlsx.PLAIN)],
        [],
        [(_xlsx_safe(h), xlsx.BOLD) for h in table.headers],
    ]
    headers = [_xlsx_safe(h) for h in table.headers]
    return xlsx.Sheet(name, top, headers, (_xlsx_row(row) for row in table.rows), freeze_below=len(top))
