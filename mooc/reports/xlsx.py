"""A streaming XLSX writer for the report exports: the workbook comes out as a generator of
bytes while the rows are still being read, so an export's memory does not grow with its rows.

Why our own (docs/performance.md, "Exports (issue 20)"): openpyxl's write-only mode spent
10-17 x the query on building and serialising cell objects; XlsxWriter's ``constant_memory``
mode writes a temporary file and then zips it, about twice openpyxl's speed. This writer
formats each row as one string of SpreadsheetML and deflates it straight into a zip on a
non-seekable stream (``zipfile`` then writes data descriptors), with:

- inline strings (``t="inlineStr"``): no shared-string table to hold until the end;
- four fixed styles (bold title, bold header, date, date and time) in a fixed styles.xml;
- column widths from the headers and the first ``WIDTH_ROWS`` rows (the ``<cols>`` element
  comes before the rows in the file, so later rows cannot widen a column).

Cells hold what the caller gives: ``None`` (empty), ``bool``, ``int``, ``float``, ``date``,
``datetime`` (naive, as local time), anything else as text. Text is not neutralised here
(see mooc.reports.exports): only characters XML cannot hold are dropped.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any
from xml.sax.saxutils import escape

WIDTH_ROWS = 1000  # rows read before the sheet's column widths are fixed
WIDTH_MAX = 60
FLUSH_BYTES = 64 * 1024  # hand the compressed bytes on once this many are waiting
# XML 1.0 refuses these (openpyxl's ILLEGAL_CHARACTERS_RE: the same set).
ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_SPECIAL = re.compile(r"[&<>\000-\010\013\014\016-\037]")  # escaped or dropped in a text cell
_EPOCH = datetime(1899, 12, 30)
_EPOCH_DATE = _EPOCH.date()

# Style indexes in styles.xml's cellXfs.
# A number stays a number (sums, charts, sorting work) shown with its thousands grouped, in the
# separators of the reader's Excel: 57.000 in Vietnamese, 57,000 in English (docs/architecture.md).
PLAIN, TITLE, BOLD, DATE, DATETIME, INTEGER, DECIMAL = 0, 1, 2, 3, 4, 5, 6

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"

_STYLES = (
    _XML + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="3"><numFmt numFmtId="164" formatCode="DD/MM/YYYY"/>'
    '<numFmt numFmtId="165" formatCode="DD/MM/YYYY HH:MM"/>'
    '<numFmt numFmtId="166" formatCode="#,##0.0##"/></numFmts>'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="13"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_ROOT_RELS = (
    _XML + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)


@dataclass
class Sheet:
    """One sheet: its name (already acceptable to Excel), its top rows (title, stamp, blank,
    headers: written as they come, each a list of (value, style)), and its body rows."""

    name: str
    top: Sequence[Sequence[tuple[Any, int]]]
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    freeze_below: int = 0  # rows above the frozen pane (0: none)


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _Sink:
    """A write-only stream that keeps what zipfile writes until the generator hands it on."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def _text(value: str) -> str:
    value = escape(ILLEGAL_CHARACTERS.sub("", value))
    if value[:1].isspace() or value[-1:].isspace():
        return f'<is><t xml:space="preserve">{value}</t></is>'
    return f"<is><t>{value}</t></is>"


def _cell(ref: str, value: Any, style: int = PLAIN) -> str:
    """One ``<c>`` element ('' for an empty cell)."""
    s = f' s="{style}"' if style else ""
    if value is None:
        return ""
    if isinstance(value, str):
        return f'<c r="{ref}"{s} t="inlineStr">{_text(value)}</c>' if value else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float | Decimal):
        number_style = style or (INTEGER if isinstance(value, int) else DECIMAL)
        return f'<c r="{ref}" s="{number_style}"><v>{value}</v></c>'
    if isinstance(value, datetime):
        serial = (value.replace(tzinfo=None) - _EPOCH).total_seconds() / 86400
        return f'<c r="{ref}" s="{style or DATETIME}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{style or DATE}"><v>{(value - _EPOCH_DATE).days}</v></c>'
    return f'<c r="{ref}"{s} t="inlineStr">{_text(str(value))}</c>'


def _row(number: int, letters: Sequence[str], values: Sequence[Any]) -> str:
    """A body row: the hot loop, so the common types are written inline here."""
    cells = []
    for letter, value in zip(letters, values, strict=False):
        kind = type(value)
        if kind is str:
            if not value:
                continue
            if _SPECIAL.search(value):  # most text has nothing to escape or drop
                value = escape(ILLEGAL_CHARACTERS.sub("", value))
            if value[:1].isspace() or value[-1:].isspace():
                cells.append(f'<c r="{letter}{number}" t="inlineStr"><is><t xml:space="preserve">'
                             f"{value}</t></is></c>")
            else:
                cells.append(f'<c r="{letter}{number}" t="inlineStr"><is><t>{value}</t></is></c>')
        elif value is None:
            continue
        elif kind is int:
            cells.append(f'<c r="{letter}{number}" s="{INTEGER}"><v>{value}</v></c>')
        elif kind is float:
            cells.append(f'<c r="{letter}{number}" s="{DECIMAL}"><v>{value!r}</v></c>')
        elif kind is date:
            cells.append(f'<c r="{letter}{number}" s="{DATE}"><v>{(value - _EPOCH_DATE).days}</v></c>')
        elif kind is datetime and value.tzinfo is None:
            serial = (value - _EPOCH).total_seconds() / 86400
            cells.append(f'<c r="{letter}{number}" s="{DATETIME}"><v>{serial!r}</v></c>')
        else:
            cells.append(_cell(f"{letter}{number}", value))
    return f'<row r="{number}">{"".join(cells)}</row>'


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return min(len(str(value)), WIDTH_MAX)


def widths(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[int]:
    """Each column as wide as its longest cell among ``headers`` and ``rows`` (up to 60)."""
    result = [len(str(h)) for h in headers]
    for row in rows:
        for index, value in enumerate(row[: len(result)]):
            result[index] = max(result[index], _width(value))
    return result


def _sheet_xml(sheet: Sheet) -> Iterator[str]:
    """The worksheet XML, piece by piece; rows read lazily (after the first WIDTH_ROWS)."""
    rows = iter(sheet.rows)
    first = list(islice(rows, WIDTH_ROWS))
    columns = max([1, len(sheet.headers), *(len(r) for r in sheet.top), *(len(r) for r in first)])
    letters = [column_letter(i) for i in range(1, columns + 1)]
    head = [_XML, f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><sheetViews><sheetView workbookViewId="0">']
    if sheet.freeze_below:
        top_left = f"A{sheet.freeze_below + 1}"
        head.append(f'<pane ySplit="{sheet.freeze_below}" topLeftCell="{top_left}" activePane="bottomLeft" '
                    f'state="frozen"/><selection pane="bottomLeft" activeCell="{top_left}" '
                    f'sqref="{top_left}"/>')
    head.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
    if sheet.headers:
        head.append("<cols>")
        for index, width in enumerate(widths(sheet.headers, first), start=1):
            head.append(f'<col min="{index}" max="{index}" width="{width + 2}" customWidth="1"/>')
        head.append("</cols>")
    head.append("<sheetData>")
    number = 0
    for top_row in sheet.top:
        number += 1
        cells = "".join(_cell(f"{letters[i]}{number}", value, style)
                        for i, (value, style) in enumerate(top_row))
        head.append(f'<row r="{number}">{cells}</row>')
    yield "".join(head)
    batch: list[str] = []
    for values in first:
        number += 1
        batch.append(_row(number, letters, values))
    yield "".join(batch)
    batch.clear()
    for values in rows:
        number += 1
        batch.append(_row(number, letters if len(values) <= len(letters) else
                          [column_letter(i) for i in range(1, len(values) + 1)], values))
        if len(batch) >= 500:
            yield "".join(batch)
            batch.clear()
    yield "".join(batch) + "</sheetData></worksheet>"


def _workbook_xml(names: Sequence[str]) -> str:
    sheets = "".join(f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, name in enumerate(names, start=1))
    return (_XML + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView activeTab="0"/>'
            f"</bookViews><sheets>{sheets}</sheets></workbook>")


def _workbook_rels(count: int) -> str:
    parts = [f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
             for i in range(1, count + 1)]
    parts.append(f'<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/>')
    return _XML + f'<Relationships xmlns="{_PKG_REL}">{"".join(parts)}</Relationships>'


def _content_types(count: int) -> str:
    sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sheet}"/>'
                        for i in range(1, count + 1))
    return (
        _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{overrides}</Types>"
    )


def stream(sheets: Iterable[Sheet], *, compresslevel: int = 1) -> Iterator[bytes]:
    """The workbook, as bytes handed on every ``FLUSH_BYTES`` or so of compressed output.

    Each sheet is read (and its rows pulled) only when the previous one is written."""
    sink = _Sink()
    names: list[str] = []
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        for sheet in sheets:
            names.append(sheet.name)
            with archive.open(f"xl/worksheets/sheet{len(names)}.xml", "w", force_zip64=True) as part:
                for piece in _sheet_xml(sheet):
                    part.write(piece.encode("utf-8"))
                    if sink.size >= FLUSH_BYTES:
                        yield sink.take()
        archive.writestr("xl/workbook.xml", _workbook_xml(names))
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(names)))
        archive.writestr("xl/styles.xml", _STYLES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("[Content_Types].xml", _content_types(len(names)))
    yield sink.take()
