"""An author's text file as every reader takes it: one set of rules for lessons, modules,
course.md, quizzes, programmes, the legal registry and GIFT banks.

- **Encoding.** UTF-8, with or without the BOM Notepad writes; line ends LF, CRLF or CR; the
  text is normalised to NFC (macOS and some Windows tools write decomposed tone marks). A file
  that is not UTF-8 is refused with the line where it stops being UTF-8 and what it most likely
  is: UTF-16 (Notepad's "Unicode"), a Word or WordPad document saved under a text name, or a
  legacy Vietnamese code page (Windows-1258, TCVN3, VNI).
- **YAML.** Front matter and the registry are read by one safe loader that refuses a key
  written twice (YAML itself keeps the last one silently), and a parser's complaint is told in
  words an author can act on, Vietnamese first, at the line that holds the mistake: a colon or
  a quote in a value, a tab or a non-breaking space pasted from Word, a front matter whose
  closing ``---`` was forgotten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from mooc.formats.problem import bilingual
from mooc.text import nfc

SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when libyaml is there
YAMLError = yaml.YAMLError


@dataclass(frozen=True)
class Decoded:
    """The text of a file, or (text None) the line where it cannot be read and why."""

    text: str | None
    line: int = 1
    message: str = ""


class NotTextError(ValueError):
    """A file that is not UTF-8 text (the message says where and what it most likely is)."""


SAVE_AS_UTF8 = ("mở tệp và lưu lại với mã hóa UTF-8 (Notepad: Save As → Encoding: UTF-8)",
                "open it and save it with the encoding UTF-8")


def decode(raw: bytes) -> Decoded:
    """``raw`` as text: UTF-8 (a BOM dropped), LF line ends, NFC."""
    refused = _not_plain_text(raw)
    if refused:
        return Decoded(None, 1, refused)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return Decoded(None, line, bilingual(
            f"dòng {line} không phải UTF-8: tệp có lẽ được lưu bằng "
            f"bảng mã cũ (Windows-1258, TCVN3, VNI); {SAVE_AS_UTF8[0]}",
            f"line {line} is not UTF-8: the file was probably saved in a "
            f"legacy code page (Windows-1258, TCVN3, VNI); {SAVE_AS_UTF8[1]}"))
    return Decoded(nfc(text.replace("\r\n", "\n").replace("\r", "\n")))


def _not_plain_text(raw: bytes) -> str:
    """Why ``raw`` is not a plain text file at all ("" when it may be one)."""
    if raw[:4] == b"PK\x03\x04":
        return bilingual("đây là tệp Word (.docx) đặt tên như tệp văn bản: "
                         "trong Word chọn Save As → Plain Text, mã hóa UTF-8",
                         "this is a Word document (.docx) under a text file's "
                         "name: in Word, Save As → Plain Text, encoding UTF-8")
    if raw.removeprefix(b"\xef\xbb\xbf")[:5] == b"{\\rtf":
        return bilingual("đây là tệp RTF (WordPad, Word), không phải văn "
                         "bản thuần: lưu lại dạng Plain Text, mã hóa UTF-8",
                         "this is an RTF document (WordPad, Word), "
                         "not plain text: save it as Plain Text, UTF-8")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or _every_other_byte_zero(raw[:64]):
        return bilingual(f"tệp được lưu dạng UTF-16 (Notepad gọi là “Unicode”): {SAVE_AS_UTF8[0]}",
                         f"the file is UTF-16 (Notepad's “Unicode”): {SAVE_AS_UTF8[1]}")
    if b"\x00" in raw[:4096]:
        return bilingual("tệp nhị phân, không phải văn bản: tệp của khóa học phải là văn bản UTF-8",
                         "a binary file, not text: course files must be UTF-8 text")
    return ""


def _every_other_byte_zero(head: bytes) -> bool:
    """UTF-16 without a BOM: Latin text has a zero byte beside every character."""
    return len(head) >= 8 and (not any(head[0::2]) or not any(head[1::2]))


def unreadable(error: OSError) -> str:
    """A file the system would not let the check read (``unreadable``)."""
    return bilingual(f"không đọc được tệp ({error.strerror}): kiểm tra quyền đọc tệp",
                     f"cannot read the file ({error.strerror}): check that it may be read")


def too_large(size: int, limit: int) -> str:
    """A text file over its size limit, both in bytes (``too-large``)."""
    return bilingual(f"tệp nặng {size // 1024} KB, vượt giới hạn "
                     f"{limit // 1024} KB: chia nội dung ra nhiều tệp nhỏ hơn",
                     f"file is {size // 1024} KB; the limit is "
                     f"{limit // 1024} KB: split it into smaller files")


# What every reader of front matter (lessons, modules, course.md, quizzes, programmes) says.
FRONT_MATTER_MISSING = bilingual("tệp phải bắt đầu bằng phần đầu (front matter) giữa hai dòng '---'",
                                 "the file must start with front matter between '---' lines")
EMPTY_FILE = bilingual("tệp trống: viết phần đầu giữa hai dòng '---' rồi đến nội dung",
                       "the file is empty: write the front matter between '---' lines, then the text")
FRONT_MATTER_UNCLOSED = bilingual("phần đầu tệp chưa được đóng bằng một dòng '---' (đúng ba dấu gạch)",
                                  "the front matter is not closed by a '---' line (exactly three hyphens)")
NOT_KEY_VALUE = bilingual("phần đầu tệp phải là các dòng 'khóa: giá trị'",
                          "the front matter must be 'key: value' lines")


# --- YAML -----------------------------------------------------------------------------------


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A key written twice in one mapping; ``first_line`` is the 0-based line of the first."""

    def __init__(self, key: str, first_line: int, mark: Any) -> None:
        super().__init__(None, None, f"duplicate key '{key}'", mark)
        self.key = key
        self.first_line = first_line


class _UniqueKeyLoader(SAFE_LOADER):
    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[str, int] = {}
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                if key_node.value in seen:
                    raise DuplicateKeyError(key_node.value, seen[key_node.value], key_node.start_mark)
                seen[key_node.value] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def load_yaml(text: str) -> Any:
    """Safe YAML; raises ``yaml.YAMLError`` (a ``DuplicateKeyError`` for a key written twice)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a safe loader)


KEY_LINE_RE = re.compile(r"""^["']?[A-Za-z_][\w-]*["']?[ \t]*:(?:[ \t]|$)""")
NO_SPACE_RE = re.compile(r"""^([A-Za-z_][\w-]*):(\S.*)$""")  # minutes:9
_ODD = "[\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]"  # spaces YAML does not take for spaces
# ... where YAML needs a space: in the indentation, around the colon after a key
ODD_SPACE_RE = re.compile(
    rf"^[ \t]*{_ODD}|^[ \t]*(?:- )?[^:\s]*:[ \t]*{_ODD}|^[ \t]*(?:- )?[^:\s]+{_ODD}+[ \t]*:")


def explain_yaml_error(error: yaml.YAMLError, lines: list[str], first_line: int, *,
                       front_matter: bool = True) -> tuple[int, str]:
    """A YAML parser's complaint as (file line, message in Vietnamese and English). ``lines``
    are the YAML's lines, the first of them on line ``first_line`` of the file (a file's front
    matter, or with ``front_matter`` False a whole YAML file). The line is the one that holds
    the mistake, which may be above the one where the parser noticed it."""
    mark = getattr(error, "problem_mark", None)
    at = max(0, min(mark.line, len(lines) - 1)) if mark is not None else 0
    if isinstance(error, DuplicateKeyError):
        first, second = first_line + error.first_line, first_line + at
        return second, bilingual(
            f"khóa '{error.key}' được viết hai lần (dòng {first} và "
            f"{second}); YAML sẽ âm thầm giữ giá trị sau: xóa một dòng",
            f"the key '{error.key}' is written twice (lines {first} and "
            f"{second}); YAML would silently keep the last one: delete one of them")
    earlier = _odd_line(lines, at, front_matter)
    if earlier is not None:
        return first_line + earlier[0], earlier[1]
    return first_line + at, _explain_line(error, lines[at] if lines else "")


def _odd_line(lines: list[str], at: int, front_matter: bool) -> tuple[int, str] | None:
    """The first line up to ``at`` (where the parser noticed) that is visibly the mistake: a
    special space where YAML needs a space, a key without a space after its colon, or a line of
    text that is not 'key: value' (the closing '---' forgotten above it)."""
    for index, line in enumerate(lines[: at + 1]):
        if odd := ODD_SPACE_RE.search(line):
            code = f"U+{ord(re.search(_ODD, odd.group()).group()):04X}"  # type: ignore[union-attr]
            return index, bilingual(
                f"dòng có ký tự cách đặc biệt ({code}, thường do chép từ Word) "
                "mà YAML không coi là dấu cách: xóa nó và gõ lại dấu cách thường",
                f"the line holds a special space ({code}, often pasted from Word) that "
                "YAML does not take for a space: delete it and type an ordinary space")
        if missing := NO_SPACE_RE.match(line):
            return index, bilingual("cần một dấu cách sau dấu hai chấm", "a space must follow the colon") + (
                f": {missing.group(1)}: {missing.group(2)}")
        if front_matter and index > 0 and _plain_text(line):
            return index, bilingual(
                "dòng này không phải 'khóa: giá trị': có lẽ "
                "thiếu dòng '---' đóng phần đầu tệp ở phía trên nó",
                "this line is not 'key: value': the front matter "
                "probably lacks its closing '---' line above it")
    return None


def _plain_text(line: str) -> bool:
    """A line of text, not 'key: value', a comment, an item of a list or a continued value."""
    return bool(line.strip()) and not line[0].isspace() and not line.startswith(("#", "- ")) \
        and not KEY_LINE_RE.match(line)


def _explain_line(error: yaml.YAMLError, line: str) -> str:
    problem = getattr(error, "problem", None) or "invalid YAML"
    key, _, value = line.partition(":")
    value = value.strip()
    example = f'{key.rstrip()}: "{value.replace(chr(34), chr(39))}"' if key.strip() and value else ""
    how = f" {bilingual('Sửa thành', 'write it as')}: {example}" if example else ""
    if "mapping values are not allowed" in problem:
        return bilingual("dấu hai chấm ':' trong nội dung chưa đặt trong "
                         "ngoặc kép: đặt cả giá trị trong ngoặc kép.",
                         "a colon ':' inside text that is not in "
                         "quotes: put the whole value in double quotes.") + how
    quoted = value[:1] in ("'", '"')
    if quoted and (value.count(value[0]) != 2 or value[-1:] != value[0]):
        return bilingual("dấu nháy trong nội dung làm YAML hiểu sai giá trị: đặt cả giá trị trong "
                         "ngoặc kép, dấu nháy bên trong viết thành nháy đơn (hoặc ngoặc kép cong “ ”).",
                         "a quote inside the value ends it early: put the whole value in double "
                         "quotes and write inner quotes as single quotes (or “ ” typographic quotes).") + how
    if "found character '\\t'" in str(error) or "\t" in line:
        return bilingual("dùng dấu cách, không dùng phím Tab", "use spaces, not tabs")
    if value[:1] in ("[", "{", "*", "&", "!", "%", "@", "`", "|", ">"):
        return bilingual(f"giá trị bắt đầu bằng '{value[0]}', ký tự đặc "
                         "biệt của YAML: đặt cả giá trị trong ngoặc kép.",
                         f"the value starts with '{value[0]}', which YAML reads "
                         "as syntax: put the whole value in double quotes.") + how
    return bilingual(f"không đúng cú pháp YAML ({problem}): mỗi dòng viết một 'khóa: giá "
                     "trị', giá trị có ':', '#' hoặc dấu nháy thì đặt trong ngoặc kép",
                     f"not valid YAML ({problem}): write one 'key: value' per line, "
                     "and put values holding ':', '#' or quotes in double quotes")
