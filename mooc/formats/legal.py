"""The legal registry (``courses/_phap-ly.yaml``) and the citations of legal documents in a
lesson's text: plain text in, plain data and ``path:line`` problems out.

A document is known by its number as written in Vietnam (``84/2025/QH15``, ``55/2025/NĐ-CP``);
``number_key()`` is what two spellings of one number share (NFC, no spaces, Đ = D, one case),
so ``55/2025/ND-CP`` in a lesson finds ``55/2025/NĐ-CP`` in the registry. Which documents a lesson
rests on is its front matter's ``legal:`` list; ``status_on()`` says whether a document is in
force, superseded (wholly or partly, by what, from when) or not yet in force on a day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from mooc.formats.problem import ERROR, WARNING, Problem, bilingual
from mooc.formats.source import SAFE_LOADER, YAMLError, explain_yaml_error, load_yaml
from mooc.text import nfc

REGISTRY_NAME = "_phap-ly.yaml"
KINDS = ("Hiến pháp", "Luật", "Bộ luật", "Nghị quyết", "Pháp lệnh", "Nghị định", "Quyết định",
         "Thông tư", "Thông tư liên tịch", "Chỉ thị")
EXTENTS = ("wholly", "partly")
FIELDS = {"number", "kind", "title", "issuer", "signed", "in_force", "source", "names", "superseded"}
REQUIRED = ("number", "kind", "title", "issuer", "signed", "in_force", "source")
SUPERSEDED_FIELDS = {"by", "from", "extent"}

# 84/2025/QH15, 55/2025/NĐ-CP, 05/2021/TT-TTCP, 351/2017/UBTVQH14, 18/2020/QĐ-TTg: a number, the
# year, and the issuer's sign (capital first; "TTg" is written so). Dates (05/3/2020) have no
# third part starting with a letter, so they never match.
NUMBER_RE = re.compile(
    r"(?<![\w/])(\d{1,4})\s*/\s*(\d{4})\s*/\s*([A-ZĐ][A-Za-zĐđ]*\d*(?:\s*-\s*[A-ZĐ][A-Za-zĐđ]*\d*)*)(?![\w/])"
)
# "Điều 12", "khoản 8 Điều 3", "Điều 8 và Phụ lục I": an article reference, tied to the document
# cited after it on the same line.
ARTICLE_RE = re.compile(r"(?:(?:điểm\s+\w\s+)?khoản\s+\d+\s+)?Điều\s+\d+[a-z]?", re.IGNORECASE)
FENCE_RE = re.compile(r"^\s*(```|~~~)")


def number_key(number: str) -> str:
    """What every spelling of one number shares: NFC, no spaces, Đ/đ as D, upper case."""
    text = nfc(str(number))
    return re.sub(r"\s+", "", text).replace("Đ", "D").replace("đ", "D").upper()


@dataclass(frozen=True)
class Supersession:
    by: tuple[str, ...]  # the numbers of what replaced it (as written in the registry)
    since: date
    extent: str  # "wholly" | "partly"


@dataclass(frozen=True)
class LegalDocument:
    number: str  # as written (NFC)
    kind: str
    title: str
    issuer: str
    signed: date
    in_force: date
    source: str
    line: int = 0  # the entry's line in the registry
    names: tuple[str, ...] = ()  # how lessons name it without its number ("Luật Thanh tra 2025")
    superseded: Supersession | None = None

    @property
    def key(self) -> str:
        return number_key(self.number)


@dataclass(frozen=True)
class Status:
    """A document's standing on a day: ``in_force``, ``superseded``, ``partly_superseded`` or
    ``not_yet``; ``by`` and ``since`` say by what and from when (superseded), or from when it
    applies (not yet in force)."""

    state: str
    since: date | None = None
    by: tuple[str, ...] = ()

    @property
    def superseded(self) -> bool:
        return self.state == "superseded"


def status_on(document: Any, day: date) -> Status:
    """The standing on ``day`` of a document (a LegalDocument, or anything with ``in_force``,
    ``superseded_from``/``superseded_by``/``superseded_extent`` or ``superseded``)."""
    superseded = getattr(document, "superseded", None)
    since: date | None
    if isinstance(superseded, Supersession):
        since, by, extent = superseded.since, superseded.by, superseded.extent
    else:
        since = getattr(document, "superseded_from", None)
        by = tuple(getattr(document, "superseded_by", None) or ())
        extent = getattr(document, "superseded_extent", None) or "wholly"
    if since is not None and since <= day:
        return Status("superseded" if extent == "wholly" else "partly_superseded", since, by)
    in_force = getattr(document, "in_force", None) or getattr(document, "in_force_on", None)
    if in_force is not None and day < in_force:
        return Status("not_yet", in_force)
    return Status("in_force")


@dataclass
class Registry:
    documents: dict[str, LegalDocument] = field(default_factory=dict)  # number_key -> document
    path: str = ""
    # number_key -> number as written: documents cited whose dates are not verified yet
    unverified: dict[str, str] = field(default_factory=dict)
    readable: bool = True  # False: the file could not be read at all (its error says why)

    def known(self, number: str) -> bool:
        key = number_key(number)
        return key in self.documents or key in self.unverified

    def get(self, number: str) -> LegalDocument | None:
        return self.documents.get(number_key(number))

    def names(self) -> list[tuple[str, LegalDocument]]:
        """Every name a lesson may cite a document by, longest first (so the longer wins)."""
        pairs = [(name, doc) for doc in self.documents.values() for name in doc.names]
        return sorted(pairs, key=lambda pair: -len(pair[0]))


def _date(value: Any) -> date | None:
    """A YAML date (2025-07-01) or a date as people write it (01/07/2025)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", value)
        if match:
            try:
                return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
            except ValueError:
                return None
    return None


def _node_lines(text: str, section: str) -> list[tuple[int, dict[str, int]]]:
    """For each entry of the list ``section``: its line and the line of each of its keys."""
    try:
        root = yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    found = next((v for k, v in root.value if k.value == section), None)
    if not isinstance(found, yaml.SequenceNode):
        return []
    lines = []
    for node in found.value:
        keys = {}
        if isinstance(node, yaml.MappingNode):
            keys = {str(k.value): k.start_mark.line + 1 for k, _v in node.value}
        lines.append((node.start_mark.line + 1, keys))
    return lines


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def error(self, line: int, code: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, ERROR, code, message))

    def warning(self, line: int, code: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, WARNING, code, message))


def parse_registry(text: str, path: str = REGISTRY_NAME) -> tuple[Registry, list[Problem]]:
    """Read the registry (``documents:``, a YAML list, and ``unverified:``, a list of numbers).
    Every problem is reported with its line, and an entry with an error is left out (lessons
    citing it are then reported too)."""
    reader = _Reader(path)
    registry = Registry(path=path)
    text = nfc(text.replace("\r\n", "\n"))
    data = _load(text, reader)
    if data is None:
        registry.readable = not reader.problems
        return registry, reader.problems
    entries = _read_documents(data.get("documents") or [], _node_lines(text, "documents"), registry, reader)
    _read_unverified(data.get("unverified") or [], _node_lines(text, "unverified"), registry, reader)
    for document, key_lines in entries:
        _check_links(document, key_lines, registry, reader)
    return registry, reader.problems


def _load(text: str, reader: _Reader) -> dict[str, Any] | None:
    """The registry's YAML as a dict of its two sections, or None (reported, or empty)."""
    try:
        data = load_yaml(text)
    except YAMLError as error:
        line, message = explain_yaml_error(error, text.split("\n"), 1, front_matter=False)
        reader.error(line, "legal-registry-yaml", message)
        return None
    if data is None:
        return None
    if (not isinstance(data, dict) or set(data) - {"documents", "unverified"}
            or not isinstance(data.get("documents") or [], list)
            or not isinstance(data.get("unverified") or [], list)):
        reader.error(1, "legal-registry-format", bilingual(
            "danh mục văn bản pháp lý gồm 'documents:' (danh sách các mục "
            "'- number: ...') và, nếu cần, 'unverified:' (danh sách số hiệu)",
            "the legal registry holds 'documents:' (a list of '- number: "
            "...' entries) and, optionally, 'unverified:' (a list of numbers)"))
        return None
    return data


def _read_documents(items: list[Any], lines: list[tuple[int, dict[str, int]]], registry: Registry,
                    reader: _Reader) -> list[tuple[LegalDocument, dict[str, int]]]:
    entries = []
    for index, entry in enumerate(items):
        line, key_lines = lines[index] if index < len(lines) else (1, {})
        document = _entry(entry, line, key_lines, reader)
        if document is None:
            continue
        if document.key in registry.documents:
            first = registry.documents[document.key]
            reader.error(line, "legal-duplicate", bilingual(
                f"văn bản {document.number} đã có ở dòng {first.line}: xóa mục lặp lại",
                f"{document.number} is already listed on line {first.line}"))
            continue
        registry.documents[document.key] = document
        entries.append((document, key_lines))
    return entries


def _read_unverified(items: list[Any], lines: list[tuple[int, dict[str, int]]], registry: Registry,
                     reader: _Reader) -> None:
    for index, number in enumerate(items):
        line = lines[index][0] if index < len(lines) else 1
        written = nfc(str(number)).strip()
        if isinstance(number, dict):
            reader.error(line, "legal-bad-number", bilingual(
                "dưới 'unverified:' mỗi mục chỉ là một số hiệu; văn bản có ngày "
                "và nguồn thuộc 'documents:' (chuyển nó lên trên 'unverified:')",
                "under 'unverified:' an entry is a number only; a document with its "
                "dates and source belongs under 'documents:' (move it above 'unverified:')"))
        elif not NUMBER_RE.fullmatch(written):
            reader.error(line, "legal-bad-number", bilingual(
                f"'{written}' không phải số hiệu văn bản theo cách viết của Việt Nam (84/2025/QH15)",
                f"'{written}' is not a document number as written in Vietnam (84/2025/QH15)"))
        elif registry.known(written):
            reader.error(line, "legal-duplicate", bilingual(f"{written} được liệt kê hai lần: xóa một dòng",
                                                            f"{written} is listed twice"))
        else:
            registry.unverified[number_key(written)] = written


def _entry(entry: Any, line: int, key_lines: dict[str, int], reader: _Reader) -> LegalDocument | None:
    """One document of the registry, or None (each of its problems reported)."""
    if not isinstance(entry, dict):
        reader.error(line, "legal-registry-format", bilingual(
            "mỗi văn bản là một nhóm dòng 'khóa: giá trị', dòng đầu bắt đầu bằng '- number:'",
            "each document is a set of 'key: value' lines"))
        return None
    known = _known_fields(entry, line, key_lines, reader)
    missing = [key for key in REQUIRED if not str(entry.get(key) or "").strip()]
    for key in missing:
        reader.error(line, "legal-missing-field", bilingual(
            f"văn bản thiếu '{key}': thêm một dòng '{key}: ...'", f"the document lacks '{key}'"))
    if missing:
        return None
    at = _At(line, key_lines, reader)
    number, kind, signed, in_force, source, names = _fields(entry, at)
    superseded = _supersession(entry.get("superseded"), line, key_lines, signed, reader)
    if not known or at.failed or signed is None or in_force is None:
        return None
    if not isinstance(superseded, Supersession | None):
        return None
    return LegalDocument(number, kind, nfc(str(entry["title"])).strip(), nfc(str(entry["issuer"])).strip(),
                         signed, in_force, source, line, tuple(nfc(n).strip() for n in names), superseded)


def _fields(entry: dict[str, Any], at: _At) -> tuple[str, str, date | None, date | None, str, list[str]]:
    """number, kind, signed, in force, source and names, each checked on its line."""
    number = nfc(str(entry["number"])).strip()
    at.check("number", _is_number(number), "legal-bad-number", bilingual(
        f"'{number}' không phải số hiệu văn bản theo cách viết của Việt Nam (84/2025/QH15, 55/2025/NĐ-CP)",
        f"'{number}' is not a document number as written in Vietnam (84/2025/QH15, 55/2025/NĐ-CP)"))
    kind = nfc(str(entry["kind"])).strip()
    kinds = ", ".join(f"'{name}'" for name in KINDS)
    at.check("kind", kind in KINDS, "legal-bad-kind", bilingual(
        f"loại văn bản '{kind}' không thuộc các loại {kinds}", f"kind '{kind}' is not one of {kinds}"))
    dates = []
    for key in ("signed", "in_force"):
        dates.append(_date(entry[key]))
        at.check(key, dates[-1] is not None, "legal-bad-date", bilingual(
            f"'{key}' phải là một ngày viết dạng dd/mm/yyyy (hoặc yyyy-mm-dd), không phải {entry[key]!r}",
            f"'{key}' must be a date written dd/mm/yyyy (or yyyy-mm-dd), not {entry[key]!r}"))
    source = str(entry["source"]).strip()
    at.check("source", _is_address(source), "legal-bad-source", bilingual(
        "'source' phải là địa chỉ (http:// hoặc https://) của một trang công khai có ghi số hiệu và các ngày",
        "'source' must be the address (http:// or https://) "
        "of a public page that shows the number and dates"))
    names = entry.get("names") or []
    names = [names] if isinstance(names, str) else names
    at.check("names", _are_names(names), "legal-registry-format", bilingual(
        "'names' là danh sách những tên mà bài học dùng để gọi văn bản, ví dụ [Luật Thanh tra 2025]",
        "'names' is a list of the names lessons cite the document by"))
    return number, kind, dates[0], dates[1], source, names


def _is_address(url: str) -> bool:
    return bool(re.match(r"^https?://\S+$", url))


def _are_names(names: Any) -> bool:
    return isinstance(names, list) and all(isinstance(name, str) and name.strip() for name in names)


def _is_number(number: str) -> bool:
    return bool(NUMBER_RE.fullmatch(number) or re.fullmatch(r"\d{1,4}/[A-ZĐ][\w-]*", number))


def _known_fields(entry: dict[Any, Any], line: int, key_lines: dict[str, int], reader: _Reader) -> bool:
    unknown = [key for key in entry if key not in FIELDS]
    known = ", ".join(sorted(FIELDS))
    for key in unknown:
        reader.error(key_lines.get(str(key), line), "legal-unknown-field", bilingual(
            f"văn bản không nhận trường '{key}' (các trường dùng được: {known}): kiểm tra lỗi gõ",
            f"unknown field '{key}' (known: {known})"))
    return not unknown


@dataclass
class _At:
    """Checks the fields of one entry, each problem on its field's line."""

    line: int
    key_lines: dict[str, int]
    reader: _Reader
    failed: bool = False

    def check(self, key: str, right: bool, code: str, message: str) -> None:
        if not right:
            self.reader.error(self.key_lines.get(key, self.line), code, message)
            self.failed = True


def _supersession(value: Any, line: int, key_lines: dict[str, int], signed: date | None,
                  reader: _Reader) -> Supersession | None | bool:
    """None: not superseded; False: reported as wrong (the entry is left out)."""
    if value is None:
        return None
    at = key_lines.get("superseded", line)
    if not isinstance(value, dict) or not {"by", "from"} <= set(value) or set(value) - SUPERSEDED_FIELDS:
        reader.error(at, "legal-bad-superseded", bilingual(
            "'superseded' cần 'by' (số hiệu văn bản thay thế), 'from' (ngày "
            "dd/mm/yyyy) và, nếu chỉ thay thế một phần, 'extent: partly'",
            "'superseded' needs 'by' (the number or numbers that replace it), "
            "'from' (dd/mm/yyyy) and, for a partial replacement, 'extent: partly'"))
        return False
    by = value["by"] if isinstance(value["by"], list) else [value["by"]]
    since = _date(value["from"])
    extent = value.get("extent", "wholly")
    if since is None or extent not in EXTENTS or not by or not all(isinstance(b, str) for b in by):
        reader.error(at, "legal-bad-superseded", bilingual(
            f"'superseded': 'from' phải là ngày dd/mm/yyyy và 'extent' là một trong {', '.join(EXTENTS)}",
            f"'superseded': 'from' must be a date dd/mm/yyyy and 'extent' one of {', '.join(EXTENTS)}"))
        return False
    if signed is not None and since < signed:
        reader.error(at, "legal-bad-superseded", bilingual(
            "văn bản bị thay thế từ trước ngày ký: kiểm tra lại 'from' và 'signed'",
            "the document is superseded before it was signed"))
        return False
    return Supersession(tuple(nfc(b).strip() for b in by), since, extent)


def _check_links(document: LegalDocument, key_lines: dict[str, int], registry: Registry,
                 reader: _Reader) -> None:
    """What replaces a document is in the registry too."""
    if document.superseded is None:
        return
    for number in document.superseded.by:
        if not registry.known(number):
            reader.error(key_lines.get("superseded", document.line), "legal-unknown-successor", bilingual(
                f"{document.number} bị thay thế bởi {number}, nhưng "
                f"danh mục chưa có {number}: thêm văn bản đó vào danh mục",
                f"{document.number} is superseded by {number}, which the registry does not list"))


@dataclass(frozen=True)
class Citation:
    """A document cited in a lesson's text: by number (``number``, as written) or by one of its
    registry names (``document`` found); ``article``: the "Điều N" written just before it."""

    line: int
    number: str
    article: str = ""
    document: LegalDocument | None = None

    @property
    def key(self) -> str:
        return number_key(self.number)


def find_citations(body: str, first_line: int, registry: Registry | None = None) -> list[Citation]:
    """The documents ``body`` cites, in order, with their lines (``first_line``: the body's first
    line in the file): every number in the Vietnamese pattern, and every name the registry
    gives a document ("Luật Thanh tra 2025"). Fenced code is not read."""
    found: list[Citation] = []
    names = registry.names() if registry is not None else []
    in_fence = False
    for index, line in enumerate(body.split("\n")):
        if FENCE_RE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            found += _line_citations(line, first_line + index, names)
    return found


def _line_citations(line: str, number: int, names: list[tuple[str, LegalDocument]]) -> list[Citation]:
    hits: list[tuple[int, int, str, LegalDocument | None]] = []
    for match in NUMBER_RE.finditer(line):
        sign = re.sub(r"\s+", "", match.group(3))
        hits.append((match.start(), match.end(), f"{match.group(1)}/{match.group(2)}/{sign}", None))
    taken = [(start, end) for start, end, _w, _d in hits]
    for name, named in names:
        for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", line):
            if not any(s < match.end() and match.start() < e for s, e in taken):
                taken.append((match.start(), match.end()))
                hits.append((match.start(), match.end(), named.number, named))
    hits.sort(key=lambda hit: hit[0])
    citations = []
    previous_end = 0
    for start, end, written, document in hits:
        citations.append(Citation(number, written, _article_before(line, previous_end, start), document))
        previous_end = end
    return citations


def _article_before(line: str, since: int, start: int) -> str:
    """The "Điều N" (with its "khoản") written just before a citation, in the same sentence."""
    articles = list(ARTICLE_RE.finditer(line, since, start))
    if not articles:
        return ""
    between = line[articles[-1].end():start]
    return articles[-1].group(0) if "." not in between and len(between.split()) <= 6 else ""
