"""HR files as they really are: encodings, delimiters, line ends, quoted newlines, title
rows, XLSX number cells, and files that are not rosters at all."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import datetime

import pytest

from mooc.roster import reader
from mooc.roster.reader import FileRefused, NumberCell, cell_text, map_headers, open_sheet, read_rows
from tests.roster.helpers import csv_bytes, write_xlsx

ROWS = [["000123", "Nguyễn Văn Đức", "Duc@Example.VN", "HN-P1", "Thanh tra viên"],
        ["000124", "Trần Thị Hòa", "", "HN-P2", "Chuyên viên"]]
TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def windows_1258(text: str) -> bytes:
    """Encode like legacy Vietnamese Windows tools: base letters precomposed, tone marks combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", ch)
        tones = "".join(mark for mark in decomposed if mark in TONES)
        base = unicodedata.normalize("NFC", "".join(mark for mark in decomposed if mark not in TONES))
        out.append(base + tones)
    return "".join(out).encode("cp1258")


def _values(rows) -> list[tuple[int, dict[str, str]]]:
    return [(number, {k: cell_text(v) for k, v in cells.items()}) for number, cells in rows]


EXPECTED = [
    (2, {"staff_code": "000123", "full_name": "Nguyễn Văn Đức", "email": "Duc@Example.VN", "unit": "HN-P1",
         "position": "Thanh tra viên"}),
    (3, {"staff_code": "000124", "full_name": "Trần Thị Hòa", "email": "", "unit": "HN-P2",
         "position": "Chuyên viên"}),
]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_csv_in_every_shape_excel_writes(encoding, delimiter, newline):
    data = csv_bytes(ROWS, delimiter=delimiter, encoding=encoding, newline=newline)
    sheet = open_sheet(data)
    assert (sheet.delimiter, sheet.header_row) == (delimiter, 1)
    assert sheet.headers[0] == "Mã cán bộ"  # no BOM left on the first header
    assert _values(sheet.rows()) == EXPECTED


def test_windows_1258_with_decomposed_tones_becomes_nfc():
    header = ["Mã cán bộ", "Họ và tên", "Email", "Đơn vị", "Chức vụ"]
    text = "\r\n".join(";".join(row) for row in [header, *ROWS]) + "\r\n"
    data = windows_1258(text)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    sheet = open_sheet(data)
    assert sheet.encoding == "cp1258"
    values = _values(sheet.rows())
    assert values == EXPECTED
    assert unicodedata.is_normalized("NFC", values[0][1]["full_name"])


def test_quoted_newlines_keep_spreadsheet_row_numbers():
    rows = [["1", "Nguyễn\nVăn  An", "", "Phòng\r\nNghiệp vụ 1", ""], ["2", "Lê Thị Bình", "", "HN", ""]]
    values = _values(read_rows(csv_bytes(rows)))
    assert values[0] == (2, {"staff_code": "1", "full_name": "Nguyễn Văn An", "email": "",
                             "unit": "Phòng Nghiệp vụ 1", "position": ""})
    assert values[1][0] == 3  # the record after a multi-line cell is spreadsheet row 3


def test_title_rows_above_the_header_and_blank_rows_are_skipped():
    text = ("DANH SÁCH CÁN BỘ;;;;\r\nNăm 2026;;;;\r\n"
            "Mã cán bộ;Họ và tên;Email;Đơn vị;Chức vụ\r\n;;;;\r\n1;A B;;HN;\r\n")
    sheet = open_sheet(text.encode())
    assert sheet.header_row == 3
    assert [number for number, _ in sheet.rows()] == [5]


def test_english_and_vietnamese_headers_without_accents_or_case():
    headers = ["STAFF CODE", "Full name", "E-mail", "Unit", "Position", "Trang thai",
               "Ngày vào (*)", "Ghi chú"]
    assert map_headers(headers) == {0: "staff_code", 1: "full_name", 2: "email", 3: "unit", 4: "position",
                                    5: "status", 6: "joined_on"}
    assert map_headers(["MA CAN BO", "HO VA TEN", "Thư điện tử", "Mã đơn vị", "Chức danh"]) == {
        0: "staff_code", 1: "full_name", 2: "email", 3: "unit", 4: "position"}


def test_a_mapping_chosen_by_the_admin_overrides_the_guess():
    data = "Số;Tên đầy đủ;Nơi làm việc\r\n7;Lý Thị Mai;NB\r\n".encode()
    with pytest.raises(FileRefused) as refused:
        open_sheet(data)
    assert refused.value.code == "no_header"
    sheet = open_sheet(data, mapping={0: "staff_code", 1: "full_name", 2: "unit", 9: "email"})
    assert sheet.mapping == {0: "staff_code", 1: "full_name", 2: "unit"}
    assert _values(sheet.rows()) == [(2, {"staff_code": "7", "full_name": "Lý Thị Mai", "unit": "NB"})]


def test_xlsx_with_title_rows_text_codes_and_dates(tmp_path):
    path = write_xlsx(tmp_path / "roster.xlsx", [
        ["000123", "Nguyễn Văn Đức", "duc@example.vn", "HN-P1", "Thanh tra viên"],
        [124, "Trần Thị Hòa", None, "HN-P2", None],
        [125, "Lê Văn Ba", None, "HN", None],
    ], title_rows=2, formats={0: "General"})
    sheet = open_sheet(path)
    assert (sheet.kind, sheet.header_row) == ("xlsx", 3)
    rows = list(sheet.rows())
    assert [number for number, _ in rows] == [4, 5, 6]
    assert rows[0][1]["staff_code"] == "000123"
    assert rows[1][1]["staff_code"] == NumberCell(124, "General")


def test_xlsx_number_cells_with_a_zero_padded_format_keep_their_zeros(tmp_path):
    path = write_xlsx(tmp_path / "roster.xlsx", [[123, "A B", None, "HN", None]], formats={0: "000000"})
    (number, cells), = read_rows(path)
    assert cell_text(cells["staff_code"]) == "000123"
    assert cells["staff_code"].zero_padded


def test_xlsx_dates_are_read_as_dates(tmp_path):
    path = write_xlsx(tmp_path / "r.xlsx", [["1", "A B", None, "HN", None, datetime(2024, 3, 1)]],
                      header=["Mã cán bộ", "Họ và tên", "Email", "Đơn vị", "Chức vụ", "Ngày vào"])
    (_, cells), = read_rows(path)
    assert cells["joined_on"] == datetime(2024, 3, 1)


@pytest.mark.parametrize("data, code", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old_excel"),
    (b"%PDF-1.7\n...", "not_a_table"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not_a_table"),
    (b"", "empty"),
    (b"   \r\n", "empty"),
    (b"PK\x03\x04 not really a zip", "not_a_table"),
])
def test_files_that_are_not_rosters_are_refused(data, code):
    with pytest.raises(FileRefused) as refused:
        open_sheet(data)
    assert refused.value.code == code


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(FileRefused) as refused:
        open_sheet(buffer.getvalue())
    assert refused.value.code == "not_a_table"


def test_a_zip_bomb_is_refused_before_parsing(monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 100_000

    def never(*args, **kwargs):
        raise AssertionError("openpyxl must not see a zip bomb")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    with pytest.raises(FileRefused) as refused:
        open_sheet(data)
    assert refused.value.code == "zip_bomb"
    # And a total over the limit, even at a plausible ratio, is refused too.
    monkeypatch.setattr(reader, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(FileRefused):
        open_sheet(data)
