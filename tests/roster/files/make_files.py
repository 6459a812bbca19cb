"""A corpus of hostile HR files for the roster import, generated (never hand-edited binaries).

Each file is written against the roster in ``BASE_UNITS`` / ``BASE_STAFF`` (the tests load
it first) and comes with what must happen: ``refused`` (exit 1, nothing written) or
``applied``, and text the plan must say. Run it to look at the files:

    python -m tests.roster.files.make_files /tmp/hostile   # add --big for the 50 MB file
"""

from __future__ import annotations

import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.roster.helpers import csv_bytes, write_xlsx

BASE_UNITS = [("HN", "Thanh tra Thành phố Hà Nội", None), ("HN-P1", "Phòng Nghiệp vụ 1", "HN"),
              ("HCM", "Thanh tra Thành phố Hồ Chí Minh", None)]
BASE_POSITIONS = [("TTV", "Thanh tra viên")]
# code, name, e-mail, unit, account role (None: no account)
BASE_STAFF = [
    ("000101", "Trần Thị Bích Ngọc", "ngoc@example.vn", "HN", "admin"),
    ("000102", "Phạm Thu Hà", "ha@example.vn", "HN-P1", "trainee"),
    ("000103", "Nguyễn Văn An", "an@example.vn", "HCM", None),
]
# The base roster as a file: importing it changes nothing.
BASE_ROWS = [[code, name, email, unit, "Thanh tra viên"] for code, name, email, unit, _role in BASE_STAFF]


@dataclass
class Case:
    """What the import must do with one file."""

    outcome: str                        # refused | applied
    says: list[str] = field(default_factory=list)   # in the command's text output (Vietnamese)
    args: list[str] = field(default_factory=list)   # more command options (--full)
    refused_on_upload: bool = False     # the upload page itself refuses the file


def _rewrite_zip(path: Path, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(path) as archive:
        parts = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in parts:
            archive.writestr(info.filename, data.replace(old, new))


def make_files(folder: Path, *, big: bool = False) -> dict[str, Case]:
    """Write the corpus into ``folder``; returns file name -> what must happen."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Case] = {}

    def csv_file(name: str, case: Case, rows: list[list[str]], **kwargs) -> None:
        (folder / name).write_bytes(csv_bytes(rows, **kwargs))
        cases[name] = case

    others = BASE_ROWS[1:]
    # An e-mail passes from a current person to a new hire in the same file.
    csv_file("email_handover.csv", Case("applied", ["Thêm mới: 1"]), [
        *BASE_ROWS[:1], ["000102", "Phạm Thu Hà", "ha.pham@example.vn", "HN-P1", "Thanh tra viên"],
        BASE_ROWS[2], ["000200", "Lê Văn Mới", "ha@example.vn", "HN", "Thanh tra viên"]])
    # Two current people swap addresses (one of them has an account).
    csv_file("email_swap.csv", Case("applied", ["ha@example.vn → an@example.vn"]), [
        BASE_ROWS[0], ["000102", "Phạm Thu Hà", "an@example.vn", "HN-P1", "Thanh tra viên"],
        ["000103", "Nguyễn Văn An", "ha@example.vn", "HCM", "Thanh tra viên"]])
    # Cells longer than the csv module's field limit, in CSV and in XLSX.
    csv_file("name_200k.csv", Case("refused", ["Dòng 3, cột Họ và tên"], refused_on_upload=True), [
        BASE_ROWS[0], ["000102", "A" * 200_000, "ha@example.vn", "HN-P1", ""]])
    (folder / "unclosed_quote.csv").write_bytes(
        csv_bytes(BASE_ROWS) + b'000300;"Unclosed;x@example.vn;HN;\r\n' + b"000301;Tran;;HN;\r\n" * 20_000)
    cases["unclosed_quote.csv"] = Case("refused", ["Dòng 5", "ngoặc kép"], refused_on_upload=True)
    # openpyxl (like Excel) writes at most 32,767 characters: lengthen the cell in the XML itself.
    write_xlsx(folder / "name_40k.xlsx",
               [BASE_ROWS[0], ["000102", "B" * 32_767, "ha@example.vn", "HN-P1", ""]])
    _rewrite_zip(folder / "name_40k.xlsx", b"B" * 32_767, b"B" * 40_000)
    cases["name_40k.xlsx"] = Case("refused", ["Dòng 3, cột Họ và tên"], refused_on_upload=True)
    if big:
        with (folder / "unclosed_quote_50mb.csv").open("wb") as handle:
            handle.write(csv_bytes(BASE_ROWS) + b'000300;"never closed;')
            chunk = ("Nguyễn Văn Dài;" * 4000 + "\r\n").encode()
            while handle.tell() < 50 * 1024 * 1024:
                handle.write(chunk)
        cases["unclosed_quote_50mb.csv"] = Case("refused", ["Dòng 5"], refused_on_upload=True)
    # Headers and no rows: nothing to import (and with --full it must not mark everyone as left).
    csv_file("header_only.csv", Case("refused", ["không có dòng dữ liệu"], args=["--full", "--yes"]), [])
    write_xlsx(folder / "header_only.xlsx", [])
    cases["header_only.xlsx"] = Case("refused", ["không có dòng dữ liệu"], args=["--full", "--yes"])
    # A required column missing, an optional one misspelt.
    csv_file("no_code_column.csv", Case("refused", ["“Mã cán bộ”", "“Mã nhân sự”", "Staff code",
                                                    "Đã đọc 3 dòng dữ liệu"]),
             BASE_ROWS, header=["Mã nhân sự", "Họ và tên", "Email", "Đơn vị", "Chức vụ"])
    csv_file("emial_typo.csv", Case("applied", ["“Emial”", "“Email”"]),
             BASE_ROWS, header=["Mã cán bộ", "Họ và tên", "Emial", "Đơn vị", "Chức vụ"])
    # A NUL byte (and a zero-width space) after the first 8 KB: no look-alike position.
    padding = [[f"0004{n:02d}", f"Người Thứ {n}", "", "HN", "Thanh tra viên"] for n in range(200)]
    data = csv_bytes([*BASE_ROWS, *padding, ["000500", "Đỗ Văn Nul", "", "HN", "Thanh tra\x00 viên\u200b"]])
    assert data.index(b"\x00") > 8192
    (folder / "nul_after_8k.csv").write_bytes(data)
    cases["nul_after_8k.csv"] = Case("applied", ["ký tự điều khiển"])
    # Excel's ="..." text trick.
    csv_file("excel_text_trick.csv", Case("applied", ["Không đổi: 3"]),
             [[f'="{row[0]}"', *row[1:]] for row in BASE_ROWS])
    # Unit codes in another case, and a near miss.
    csv_file("unit_lower_case.csv", Case("applied", ["Không đổi: 3"]),
             [[*row[:3], row[3].lower(), row[4]] for row in BASE_ROWS])
    csv_file("unit_typo.csv", Case("refused", ["“HN-P11”", "“HN-P1”"]),
             [*BASE_ROWS[:1], ["000102", "Phạm Thu Hà", "ha@example.vn", "HN-P11", "Thanh tra viên"],
              BASE_ROWS[2]])
    # Dates: a future leaving date is kept; impossible ones are refused.
    dated = ["Mã cán bộ", "Họ và tên", "Email", "Đơn vị", "Chức vụ", "Ngày vào", "Ngày nghỉ"]
    csv_file("future_leaving.csv", Case("applied", ["31/12/2199"]),
             [[*row, "01/02/2010", ""] for row in BASE_ROWS[:2]]
             + [[*BASE_ROWS[2], "01/02/2010", "31/12/2199"]], header=dated)
    csv_file("left_before_joined.csv", Case("refused", ["Ngày nghỉ", "trước ngày vào"]),
             [[*row, "01/02/2010", ""] for row in BASE_ROWS[:2]]
             + [[*BASE_ROWS[2], "01/02/2010", "01/01/2005"]], header=dated)
    csv_file("year_9999.csv", Case("refused", ["31/12/9999"]),
             [[*row, "", ""] for row in BASE_ROWS[:2]] + [[*BASE_ROWS[2], "", "31/12/9999"]], header=dated)
    # A staff code that now belongs to someone else.
    csv_file("reused_code.csv", Case("applied", ["có thể là mã dùng lại"]),
             [*BASE_ROWS[:2], ["000103", "Hoàng Thị Khác", "khac@example.vn", "HCM", "Thanh tra viên"]])
    # A routine full roster without the administrator's row.
    csv_file("full_without_admin.csv", Case("refused", ["ngoc@example.vn", "--disable-admin"],
                                             args=["--full", "--yes"]), others)
    # 2,000 identical errors read as one line.
    csv_file("two_thousand_errors.csv", Case("refused", ["2.000 dòng (2, 3, 4, 5, 6, …), Đơn vị"]),
             [[f"1{n:05d}", f"Người {n}", "", "KHONG-CO", ""] for n in range(2000)])
    # Not a roster at all, and a file of nothing but a BOM.
    (folder / "only_bom.csv").write_bytes(b"\xef\xbb\xbf")
    cases["only_bom.csv"] = Case("refused", [], refused_on_upload=True)
    (folder / "bidi_name.csv").write_bytes(csv_bytes(
        [*BASE_ROWS, ["000600", "Lê \u202eVăn\u202c Đảo", "dao@example.vn", "HN", "Thanh tra viên"]]))
    cases["bidi_name.csv"] = Case("applied", ["Lê Văn Đảo"])
    return cases


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "hostile-files")
    for name, case in make_files(target, big="--big" in sys.argv).items():
        print(f"{target / name}: {case.outcome}")
