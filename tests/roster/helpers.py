"""Small helpers for roster tests: write CSV/XLSX files the way HR tools produce them."""

from __future__ import annotations

from pathlib import Path

import openpyxl

HEADER = ["Mã cán bộ", "Họ và tên", "Email", "Đơn vị", "Chức vụ"]


def csv_bytes(rows: list[list[str]], *, header: list[str] | None = None, delimiter: str = ";",
              encoding: str = "utf-8-sig", newline: str = "\r\n") -> bytes:
    lines = []
    for row in [header or HEADER, *rows]:
        cells = []
        for cell in row:
            if any(ch in cell for ch in (delimiter, '"', "\n")):
                cell = '"' + cell.replace('"', '""') + '"'
            cells.append(cell)
        lines.append(delimiter.join(cells))
    return (newline.join(lines) + newline).encode(encoding)


def write_csv(path: Path, rows: list[list[str]], **kwargs) -> Path:
    path.write_bytes(csv_bytes(rows, **kwargs))
    return path


def write_xlsx(path: Path, rows: list[list[object]], *, header: list[str] | None = None,
               title_rows: int = 0, formats: dict[int, str] | None = None) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for _ in range(title_rows):
        sheet.append(["DANH SÁCH CÁN BỘ"])
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append(row)
        for column, number_format in (formats or {}).items():
            sheet.cell(row=sheet.max_row, column=column + 1).number_format = number_format
    workbook.save(path)
    return path
