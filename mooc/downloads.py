"""What every file the site hands out shares: a ``Content-Disposition`` that no name can break,
and CSV that no spreadsheet runs as a formula. Below every domain (standard library only).

File names follow RFC 6266: ``filename*=UTF-8''…`` carries the real name (``ho-so-CB-Đ01.csv``)
and ``filename="…"`` an ASCII fallback for old clients. A name is data, never header syntax:
quotes, semicolons, slashes and line breaks cannot close the header or rename the download.

CSV: every field is quoted, and a text cell that starts like a formula (``= + - @``, tab,
carriage return: OWASP's list, and the full-width forms) gets a leading apostrophe. So does a
formula that follows a separator inside a cell: Excel in a Vietnamese locale splits on ``;``,
and a reader that ignores quotes splits on ``,``, tabs and line breaks, so ``Lê x;=1+2`` must
not become a live ``=1+2`` in a cell of its own.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

FORMULA_TRIGGERS = "=+-@\t\r＝＋－＠"
_TRIGGERS = tuple(FORMULA_TRIGGERS)
CSV_BATCH = 500  # rows formatted before their bytes are handed on
# A separator (any a spreadsheet or a naive reader may split on), then blanks, then a trigger.
_INNER_FORMULA = re.compile(r"([,;\t\r\n][ \t\r\n]*)(?=[=+\-@＝＋－＠])")
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 150


def neutralise(value: Any) -> Any:
    """Text that starts like a formula gets a leading apostrophe; numbers and dates stay.

    Enough for XLSX, where each cell is its own; CSV needs :func:`neutralise_csv`."""
    if isinstance(value, str) and value.lstrip(" ").startswith(_TRIGGERS):
        return "'" + value
    return value


def neutralise_csv(value: Any) -> Any:
    """:func:`neutralise`, and an apostrophe before every formula that follows a separator."""
    if not isinstance(value, str):
        return value
    if _INNER_FORMULA.search(value):  # (a search first: most cells hold none, and sub costs more)
        value = _INNER_FORMULA.sub(r"\1'", value)
    return neutralise(value)


def csv_stream(rows: Iterable[Sequence[Any]], delimiter: str = ",") -> Iterator[bytes]:
    """UTF-8 with a BOM (Excel in Vietnamese then reads the diacritics), CRLF, every field quoted
    and neutralised. ``None`` is an empty cell; other values are written with ``str()``.
    ``delimiter``: ";" for a spreadsheet in a locale whose decimal mark is a comma.

    A generator: ``rows`` is read as the bytes are taken, ``CSV_BATCH`` rows at a time."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL, delimiter=delimiter)
    pending = 0
    for row in rows:
        writer.writerow(["" if value is None else neutralise_csv(value) for value in row])
        pending += 1
        if pending >= CSV_BATCH:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def csv_bytes(rows: Iterable[Sequence[Any]], delimiter: str = ",") -> bytes:
    """:func:`csv_stream`, whole."""
    return b"".join(csv_stream(rows, delimiter))


def ascii_name(name: str) -> str:
    """``ho-so-CB-Đ01.csv`` → ``ho-so-CB-D01.csv``: letters lose their marks, anything else
    that is not a letter, digit, dot, dash or underscore becomes a dash."""
    folded = unicodedata.normalize("NFKD", name.replace("Đ", "D").replace("đ", "d"))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _UNSAFE_IN_NAME.sub("-", folded).strip("-.")
    return folded[:MAX_NAME] or "download"


def slug(*parts: str | None) -> str:
    """A file name's stem from words: ``("Hoàn thành", "Phòng 1 — Hà Nội")`` →
    ``hoan-thanh_phong-1-ha-noi`` (lower-case ASCII, parts joined by ``_``, empty parts left out)."""
    words = [ascii_name(part).lower().replace(".", "-").strip("-") for part in parts if part]
    return "_".join(w for w in words if w and w != "download")[:MAX_NAME - 10] or "download"


def content_disposition(name: str, *, inline: bool = False) -> str:
    """The header value for a download called ``name`` (RFC 6266 with an ASCII fallback)."""
    real = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    real = real.replace("/", "-").replace("\\", "-").strip(" .")[:MAX_NAME] or "download"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name(real)}\"; filename*=UTF-8''{quote(real, safe='')}"
