"""Reading HR files as they really are: CSV from Excel in any of its Vietnamese guises,
and XLSX. Produces rows of cell values keyed by field, with the row numbers a spreadsheet
shows, and knows the column names HR uses in English and Vietnamese.

What arrives: UTF-8 with or without BOM, or Windows-1258 (with decomposed tone marks);
``;`` (Excel with Vietnamese regional settings), ``,`` or tab; CRLF; quoted newlines;
title rows above the header. Anything that is neither CSV nor XLSX (an old .xls, a PDF,
a zip bomb) is refused before it is parsed.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from mooc.errors import DomainError
from mooc.text import clean, fold

MAX_UNZIPPED_BYTES = 400 * 1024 * 1024   # an XLSX of 100,000 people unpacks to ~60 MB
MAX_ZIP_RATIO = 200                      # real XLSX parts compress 5-20x; bombs 1000x
HEADER_SEARCH_ROWS = 10                  # title rows HR puts above the header
DELIMITERS = (";", ",", "\t")
# Excel's own limit for a cell. Longer cells (a 200,000-character "name", or the rest of a
# file swallowed by an unclosed quote) are refused with the row, never a crash.
MAX_CELL_CHARS = 32_767
# Invisible characters that make look-alike values (a NUL, a zero-width space, a bidi
# override): removed from every cell of every file, and the plan says where.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u2064\ufeff\ufff9-\ufffb]")
# ="002001": how Excel users force a number to stay text in a CSV. It means 002001.
EXCEL_TEXT_RE = re.compile(r'^\s*="(.*)"\s*$', re.S)

# field -> the header texts that mean it, compared after fold() (no accents, lower case) and
# with punctuation turned into spaces. The first spelling is the one docs/roster.md shows.
STAFF_FIELDS: dict[str, tuple[str, ...]] = {
    "staff_code": ("ma can bo", "staff code", "ma cb", "ma so can bo", "ma nhan vien", "ma nv",
                   "ma cong chuc", "ma so", "so hieu", "staff id", "employee id", "employee code", "code"),
    "full_name": ("ho va ten", "full name", "ho ten", "ho va ten can bo", "ten can bo", "name"),
    "email": ("email", "e mail", "thu dien tu", "dia chi email", "dia chi thu dien tu", "mail"),
    "unit": ("don vi", "unit", "ma don vi", "ten don vi", "don vi cong tac", "co quan", "phong ban",
             "unit code", "department"),
    "position": ("chuc vu", "position", "chuc danh", "chuc vu chuc danh", "title", "job title"),
    "status": ("trang thai", "status", "tinh trang"),
    "joined_on": ("ngay vao", "joined on", "ngay bat dau", "ngay bat dau cong tac", "ngay tuyen dung",
                  "start date", "joined"),
    "left_on": ("ngay nghi", "left on", "ngay nghi viec", "ngay thoi viec", "end date", "left"),
}
STAFF_REQUIRED = ("staff_code", "full_name", "unit")
# field -> header spellings as people write them (messages list them; the first is the usual one).
STAFF_HEADERS_SHOWN: dict[str, tuple[str, ...]] = {
    "staff_code": ("Mã cán bộ", "Mã CB", "Mã số cán bộ", "Mã nhân viên", "Mã công chức", "Số hiệu",
                   "Staff code", "Employee ID"),
    "full_name": ("Họ và tên", "Họ tên", "Full name", "Name"),
    "email": ("Email", "E-mail", "Thư điện tử", "Địa chỉ email"),
    "unit": ("Đơn vị", "Mã đơn vị", "Tên đơn vị", "Đơn vị công tác", "Phòng ban", "Unit"),
    "position": ("Chức vụ", "Chức danh", "Position", "Title"),
    "status": ("Trạng thái", "Tình trạng", "Status"),
    "joined_on": ("Ngày vào", "Ngày bắt đầu", "Ngày tuyển dụng", "Joined on"),
    "left_on": ("Ngày nghỉ", "Ngày nghỉ việc", "Ngày thôi việc", "Left on"),
}

UNIT_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("ma don vi", "code", "unit code", "ma"),
    "name": ("ten don vi", "name", "unit name", "ten"),
    "parent_code": ("ma don vi cap tren", "parent code", "don vi cap tren", "ma cap tren", "truc thuoc",
                    "parent"),
    "merged_into": ("sap nhap vao", "merged into", "hop nhat vao", "sap nhap vao don vi", "merge into"),
    "kind": ("loai don vi", "kind", "loai", "cap", "type"),
}
UNIT_REQUIRED = ("code", "name")
# field -> header spellings as people write them (messages and the upload page list them).
UNIT_HEADERS_SHOWN: dict[str, tuple[str, ...]] = {
    "code": ("Mã đơn vị", "Mã", "Unit code", "Code"),
    "name": ("Tên đơn vị", "Tên", "Unit name", "Name"),
    "parent_code": ("Mã đơn vị cấp trên", "Đơn vị cấp trên", "Trực thuộc", "Parent code"),
    "merged_into": ("Sáp nhập vào", "Hợp nhất vào", "Merged into"),
    "kind": ("Loại đơn vị", "Loại", "Cấp", "Kind"),
}


class FileRefused(DomainError):
    """The file cannot be read as a roster. ``code`` selects the message shown to people."""


@dataclass(frozen=True)
class NumberCell:
    """A number from an XLSX cell, with its display format (a staff code as a number loses zeros)."""

    value: int | float
    number_format: str = "General"

    def as_text(self) -> str:
        value = self.value
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            value = int(value)
        if isinstance(value, int) and re.fullmatch(r"0+", self.number_format or ""):
            return str(value).zfill(len(self.number_format))
        return str(value)

    @property
    def zero_padded(self) -> bool:
        return bool(re.fullmatch(r"0+", self.number_format or ""))


Cell = str | NumberCell | date | datetime | bool | None
# (row number, cells) of a file, as a generator: closing it closes the file
Records = Generator[tuple[int, list[Cell]], None, None]


@dataclass
class Sheet:
    """A table read from a file: its header, how columns map to fields, and its rows."""

    kind: str                      # csv | xlsx
    headers: list[str]             # header texts as in the file (cleaned)
    header_row: int                # 1-based, as a spreadsheet numbers rows
    mapping: dict[int, str]        # column index -> field
    encoding: str = ""
    delimiter: str = ""
    # field -> rows where invisible control characters were removed (filled while rows are read)
    stripped: dict[str, list[int]] = field(default_factory=dict)
    _records: Callable[[], Records] | None = field(default=None, repr=False)
    lines: int | None = None       # the file's rows, as far as can be told cheaply (for progress)

    @property
    def rows_hint(self) -> int | None:
        """About how many data rows ``rows()`` yields (for a progress bar's estimate only)."""
        return None if self.lines is None else max(self.lines - self.header_row, 0)

    @property
    def labels(self) -> dict[str, str]:
        """field -> the header text that holds it (error messages name the column as HR wrote it)."""
        return {name: self.headers[index] or name for index, name in self.mapping.items()}

    def rows(self) -> Iterator[tuple[int, dict[str, Cell]]]:
        """(row number, {field: cell}) for every non-empty row below the header."""
        assert self._records is not None
        wanted = sorted(self.mapping.items())
        self.stripped = {}
        try:
            with closing(_guarded(self._records)) as records:
                for number, cells in records:
                    if number <= self.header_row:
                        continue
                    if not _blank_row(cells):
                        yield number, self._row(number, cells, wanted)
        except FileRefused as refused:
            index = refused.params.get("column")
            if isinstance(index, int):
                refused.params["column"] = (self.headers[index] if index < len(self.headers)
                                            and self.headers[index] else column_letter(index))
            raise

    def _row(self, number: int, cells: list[Cell], wanted: list[tuple[int, str]]) -> dict[str, Cell]:
        row: dict[str, Cell] = {}
        for index, name in wanted:
            cell = cells[index] if index < len(cells) else None
            if isinstance(cell, str) and ('="' in cell or CONTROL_RE.search(cell)):  # rare: skip the call
                cell, removed = _sanitise(cell)
                if removed:
                    self.stripped.setdefault(name, []).append(number)
            row[name] = cell
        return row

    def unknown_headers(self, fields: dict[str, tuple[str, ...]] = STAFF_FIELDS
                        ) -> list[tuple[str, str | None]]:
        """(header, suggested field or None) for each named column that is not used."""
        taken = set(self.mapping.values())
        unknown = []
        for index, header in enumerate(self.headers):
            if index in self.mapping or not header:
                continue
            unknown.append((header, suggest_field(header, fields, taken)))
        return unknown


def suggest_field(header: str, fields: dict[str, tuple[str, ...]], taken: set[str]) -> str | None:
    """The field an unknown header was probably meant to name ("Emial" -> email), if any."""
    key = header_key(header)
    aliases = {alias: name for name, names in fields.items() for alias in names if name not in taken}
    if not key or not aliases:
        return None
    close = difflib.get_close_matches(key, list(aliases), n=1, cutoff=0.8)
    return aliases[close[0]] if close else None


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sanitise(cell: Cell) -> tuple[Cell, bool]:
    """A cell with Excel's ="..." text trick undone and control characters removed; True if
    characters were removed."""
    if not isinstance(cell, str):
        return cell, False
    match = EXCEL_TEXT_RE.match(cell) if '="' in cell else None
    if match:
        cell = match.group(1).replace('""', '"')
    if CONTROL_RE.search(cell):
        return CONTROL_RE.sub("", cell), True
    return cell, False


def _guarded(records: Callable[[], Records]) -> Records:
    """The records of any reader, refused with the row when a cell is too long to be real
    (the csv module's own limit raises csv.Error; XLSX cells are checked the same way)."""
    number = 0
    with closing(records()) as inner:
        try:
            for number, cells in inner:
                for index, cell in enumerate(cells):
                    if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                        raise FileRefused("cell_too_long", row=number, column=index, n=MAX_CELL_CHARS)
                yield number, cells
        except csv.Error as error:
            if "field larger" in str(error):
                raise FileRefused("cell_too_long", row=number + 1, column=None, n=MAX_CELL_CHARS) from None
            raise FileRefused("not_a_table") from None


def _blank_row(cells: list[Cell]) -> bool:
    """No cell holds anything but spaces (one test per cell, no call: this runs for every row)."""
    return not any(cell is not None and (not isinstance(cell, str) or cell.strip()) for cell in cells)


def header_key(text: str) -> str:
    """How header texts are compared: "Mã cán bộ (*)" and "MA_CAN_BO" are the same column."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(clean(text))).split())


def map_headers(headers: list[str], fields: dict[str, tuple[str, ...]] = STAFF_FIELDS) -> dict[int, str]:
    """column index -> field for the headers that name a known field (the first column wins)."""
    aliases = {alias: name for name, names in fields.items() for alias in names}
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        name = aliases.get(header_key(header))
        if name and name not in taken:
            mapping[index] = name
            taken.add(name)
    return mapping


def read_rows(source: Path | str | bytes, fields: dict[str, tuple[str, ...]] = STAFF_FIELDS,
              mapping: dict[int, str] | None = None) -> Iterator[tuple[int, dict[str, Cell]]]:
    """(row number, {field: cell}) for each data row of a CSV or XLSX file."""
    return open_sheet(source, fields, mapping).rows()


def open_sheet(source: Path | str | bytes, fields: dict[str, tuple[str, ...]] = STAFF_FIELDS,
               mapping: dict[int, str] | None = None) -> Sheet:
    """Sniff the file, find its header row and map its columns (``mapping`` overrides)."""
    opener = _opener(source)
    with opener() as handle:
        head = handle.read(8192)
    if head.startswith(b"PK\x03\x04"):
        sheet = _open_xlsx(opener)
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused("old_excel")
    elif not head.strip():
        raise FileRefused("empty")
    elif b"\x00" in head or head.startswith((b"%PDF", b"\x1f\x8b", b"\x89PNG", b"Rar!", b"7z")):
        raise FileRefused("not_a_table")
    else:
        sheet = _open_csv(opener)
    _choose_header(sheet, fields, mapping)
    return sheet


def _opener(source: Path | str | bytes) -> Callable[[], IO[bytes]]:
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        return lambda: io.BytesIO(data)
    path = Path(source)
    return lambda: path.open("rb")


def _choose_header(sheet: Sheet, fields: dict[str, tuple[str, ...]], mapping: dict[int, str] | None) -> None:
    """The header is the first of the top rows that names the most known columns."""
    (number, score, texts), unreadable = _best_header(sheet, fields)
    if score == 0 and mapping is None:
        raise FileRefused("no_header")
    while texts and not texts[-1]:
        texts.pop()
    sheet.header_row = number
    sheet.headers = texts
    if mapping is not None:
        sheet.mapping = {index: name for index, name in mapping.items()
                         if 0 <= index < max(len(texts), 1) and name in fields}
    else:
        sheet.mapping = map_headers(texts, fields)
    if unreadable is not None:
        index = unreadable.params.get("column")
        if isinstance(index, int) and index < len(texts) and texts[index]:
            unreadable.params["column"] = texts[index]
        raise unreadable


def _best_header(sheet: Sheet, fields: dict[str, tuple[str, ...]]
                 ) -> tuple[tuple[int, int, list[str]], FileRefused | None]:
    """((row number, known columns, texts) of the best header row, a cell too long to read below
    it, to be raised once the header can name its column)."""
    best: tuple[int, int, list[str]] | None = None
    unreadable: FileRefused | None = None
    assert sheet._records is not None
    try:
        with closing(_guarded(sheet._records)) as records:
            for number, cells in records:
                if number > HEADER_SEARCH_ROWS:
                    break
                texts = [cell_text(_sanitise(cell)[0]) for cell in cells]
                score = len(map_headers(texts, fields))
                if best is None or score > best[1]:
                    best = (number, score, texts)
    except FileRefused as refused:
        if best is None or refused.code != "cell_too_long":
            raise
        unreadable = refused  # raised by the caller, naming the column by the header above it
    if best is None:
        raise FileRefused("empty")
    return best, unreadable


def cell_text(cell: Cell) -> str:
    """A cell as cleaned text: numbers as a spreadsheet shows them, dates dd/mm/yyyy. The one
    way every import (and the header search) turns a cell into text."""
    if type(cell) is str:
        return " ".join(cell.split()) if cell.isascii() else clean(cell)
    if cell is None:
        return ""
    if isinstance(cell, NumberCell):
        return cell.as_text()
    if isinstance(cell, datetime | date):
        return cell.strftime("%d/%m/%Y")
    return clean(str(cell))


# --- CSV --------------------------------------------------------------------------------


def _sniff_encoding(opener: Callable[[], IO[bytes]]) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes strictly, else Windows-1258."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    try:
        with opener() as handle:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1258"
    return "utf-8-sig"


def _open_csv(opener: Callable[[], IO[bytes]]) -> Sheet:
    encoding = _sniff_encoding(opener)
    with io.TextIOWrapper(opener(), encoding=encoding, newline="") as text:
        sample = text.read(65536)
    delimiter = _sniff_delimiter(sample)

    def records() -> Records:
        with io.TextIOWrapper(opener(), encoding=encoding, newline="") as text:
            # A spreadsheet shows each record as one row, even with newlines inside quotes.
            parsed = csv.reader(text, delimiter=delimiter)
            number, line = 0, 0
            try:
                for number, cells in enumerate(parsed, start=1):
                    line = parsed.line_num
                    yield number, cells  # type: ignore[misc]
            except csv.Error as error:
                if "field larger" not in str(error):
                    raise FileRefused("not_a_table") from None
                column = _long_column(opener, encoding, delimiter, line)
                raise FileRefused("cell_too_long", row=number + 1, column=column, n=MAX_CELL_CHARS) from None

    return Sheet(kind="csv", headers=[], header_row=1, mapping={}, encoding=encoding,
                 delimiter=delimiter, _records=records, lines=_count_lines(opener))


def _count_lines(opener: Callable[[], IO[bytes]]) -> int:
    """Physical lines (a record with a newline inside quotes counts twice: an estimate)."""
    lines, last = 0, b"\n"
    with opener() as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _long_column(opener: Callable[[], IO[bytes]], encoding: str, delimiter: str,
                 lines_before: int) -> int | None:
    """The column of the record after ``lines_before`` physical lines that holds a cell too long
    to read, or opens a quote that is never closed (None when it cannot be told)."""
    with io.TextIOWrapper(opener(), encoding=encoding, newline="") as text:
        for _ in range(lines_before):
            if not text.readline(1 << 24):
                return None
        line = text.readline(1 << 24)
    index, length, quoted = 0, 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            if length > MAX_CELL_CHARS:
                return index
            index, length = index + 1, 0
            continue
        elif char in "\r\n" and not quoted:
            break
        length += 1
    return index if quoted or length > MAX_CELL_CHARS else None


def _sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the top lines into the most columns (the header decides ties)."""
    lines = sample.splitlines()[:HEADER_SEARCH_ROWS] or [""]
    best, best_score = ";", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
        except csv.Error:
            continue
        widest = max((len(row) for row in rows), default=0)
        known = max((len(map_headers(row, STAFF_FIELDS)) + len(map_headers(row, UNIT_FIELDS))
                     for row in rows), default=0)
        score = (known, widest)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --- XLSX -------------------------------------------------------------------------------


def _check_zip(opener: Callable[[], IO[bytes]]) -> None:
    with opener() as handle:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError):
            raise FileRefused("not_a_table") from None
        with archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise FileRefused("not_a_table")
            total = 0
            for info in archive.infolist():
                total += info.file_size
                ratio = info.file_size / max(info.compress_size, 1)
                if total > MAX_UNZIPPED_BYTES or (info.file_size > 1_000_000 and ratio > MAX_ZIP_RATIO):
                    raise FileRefused("zip_bomb")


def _open_xlsx(opener: Callable[[], IO[bytes]]) -> Sheet:
    _check_zip(opener)

    def records() -> Records:
        import openpyxl  # only the XLSX path pays for the import

        with opener() as handle, warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not read; none matter here.
            warnings.simplefilter("ignore")
            try:
                workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            except Exception as error:  # openpyxl raises many kinds on a damaged file
                raise FileRefused("not_a_table") from error
            try:
                sheet = workbook.active or workbook.worksheets[0]
                result.lines = sheet.max_row  # as the file says (a progress estimate only)
                sheet.reset_dimensions()
                counter = 0
                for row in sheet.iter_rows():
                    counter += 1
                    number = next((getattr(cell, "row", None) for cell in row
                                   if getattr(cell, "row", None)), None) or counter
                    counter = number
                    yield number, [_xlsx_value(cell) for cell in row]
            finally:
                workbook.close()

    result = Sheet(kind="xlsx", headers=[], header_row=1, mapping={}, _records=records)
    return result


def _xlsx_value(cell: Any) -> Cell:
    value = cell.value
    if value is None or isinstance(value, str | bool | datetime | date):
        return value
    if isinstance(value, int | float):
        return NumberCell(value, getattr(cell, "number_format", "General") or "General")
    return str(value)
