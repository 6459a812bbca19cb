"""The course format: read a tree of Markdown files into plain data, with every problem
reported as ``path:line``.

    courses/<course>/course.md                 front matter + introduction
    courses/<course>/NN-<module>/module.md     front matter + optional introduction
    courses/<course>/NN-<module>/NN-<lesson>.md
    courses/<course>/NN-<module>/NN-<quiz>.quiz.md
    courses/<course>/.../images/...            pictures and attachments, linked relatively

Nothing here touches the database or renders Markdown: ``check.py`` and ``sync.py`` do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mooc.courses.media import MEDIA_DIRS, MEDIA_SUFFIXES, MEDIA_TYPES
from mooc.formats.legal import REGISTRY_NAME
from mooc.formats.problem import Problem, bilingual
from mooc.formats.program import PROGRAMS_DIR
from mooc.formats.source import (
    EMPTY_FILE,
    FRONT_MATTER_MISSING,
    FRONT_MATTER_UNCLOSED,
    NOT_KEY_VALUE,
    YAMLError,
    decode,
    explain_yaml_error,
    load_yaml,
    too_large,
    unreadable,
)
from mooc.text import fold, nfc

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
COURSE_DIR_RE = re.compile(rf"^{SLUG}$")
NUMBERED_RE = re.compile(rf"^(\d{{1,3}})-({SLUG})$")
ID_RE = re.compile(rf"^{SLUG}$")
ITEM_ID_RE = re.compile(rf"^(?:{SLUG}/)?{SLUG}$")  # a lesson or quiz: 'name' or 'module/name'
ASSET_DIRS = {"images", "files", "assets"} | MEDIA_DIRS
ASSET_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".pdf"} | MEDIA_SUFFIXES
IGNORED_NAMES = {"README.md", "readme.md", ".gitkeep", REGISTRY_NAME}  # the registry: check.py reads it
MAX_TEXT_BYTES = 512 * 1024
MAX_ASSET_BYTES = 5 * 1024 * 1024

class Decimal:
    """A front matter number that may be written with a decimal comma (``hours: 1,5``)."""


COURSE_KEYS = {
    "title": str,
    "code": str,
    "edition": int,
    "summary": str,
    "hours": Decimal,
    "language": str,
    "id": str,
    "completion": dict,
}
COURSE_REQUIRED = ("title", "code", "edition", "summary", "hours")
MODULE_KEYS = {"title": str, "id": str, "previously": list}
LESSON_KEYS = {"title": str, "minutes": int, "id": str, "previously": list,
               # the documents the lesson rests on, and those its text only mentions (history,
               # comparison): numbers of the legal registry (mooc/formats/legal.py)
               "legal": list, "legal_mentions": list}
LEGAL_KEYS = ("legal", "legal_mentions")
LANGUAGES = {"vi", "en"}
TOP_LEVEL_KEY_RE = re.compile(r"""^["']?([A-Za-z_][\w-]*)["']?\s*:""")


@dataclass
class Document:
    """A Markdown file split into its front matter and body."""

    path: Path
    rel: str  # path shown to authors (relative to the courses folder)
    meta: dict[str, Any]
    meta_lines: dict[str, int]  # key -> line number in the file
    body: str
    body_line: int  # line number of the body's first line
    raw: bytes
    text: str = ""  # the whole file as read (mooc.formats.source.decode): NFC, LF line ends

    @property
    def digest(self) -> str:
        """What decides whether the file changed: its text as read (NFC, LF, no BOM), so a file
        saved again by Notepad (BOM, CRLF) or a Mac (NFD) with the same words is unchanged. For
        a file that was already plain UTF-8 this is the hash of its bytes, as before."""
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass
class LessonSource:
    key: str
    slug: str
    position: int
    title: str
    minutes: int
    doc: Document
    previous: list[str] = field(default_factory=list)  # earlier keys whose progress it keeps
    legal: list[str] = field(default_factory=list)  # front matter `legal:` (numbers as written)
    legal_mentions: list[str] = field(default_factory=list)  # `legal_mentions:`


@dataclass
class QuizFile:
    key: str
    slug: str
    position: int
    doc: Document  # the quiz syntax itself is parsed by mooc.formats.quiz
    text: str
    previous: list[str] = field(default_factory=list)


@dataclass
class ModuleSource:
    key: str
    slug: str
    position: int
    title: str
    doc: Document
    path: Path
    items: list[LessonSource | QuizFile] = field(default_factory=list)
    previous: list[str] = field(default_factory=list)


@dataclass
class CourseSource:
    key: str
    dir_name: str
    path: Path
    title: str
    code: str
    edition: int
    summary: str
    hours: float
    language: str
    doc: Document
    modules: list[ModuleSource] = field(default_factory=list)
    completion: dict[str, Any] = field(default_factory=dict)
    assets: list[Path] = field(default_factory=list)
    # file -> why it is not served (Vietnamese, English)
    refused_assets: dict[Path, tuple[str, str]] = field(default_factory=dict)

    def items(self) -> list[LessonSource | QuizFile]:
        return [item for module in self.modules for item in module.items]

    def lessons(self) -> list[LessonSource]:
        return [item for item in self.items() if isinstance(item, LessonSource)]


class Reporter:
    """Collects problems; paths are shown relative to the courses folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def error(self, path: Path | str, line: int, code: str, message: str) -> None:
        self.problems.append(
            Problem(path if isinstance(path, str) else self.rel(path), line, "error", code, message)
        )

    def warning(self, path: Path | str, line: int, code: str, message: str) -> None:
        self.problems.append(
            Problem(path if isinstance(path, str) else self.rel(path), line, "warning", code, message)
        )


def _read_bytes(path: Path, report: Reporter) -> bytes | None:
    """A text file's bytes, or None (reported) when it cannot be read or is too large."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        report.error(path, 1, "unreadable", unreadable(error))
        return None
    if len(raw) > MAX_TEXT_BYTES:
        report.error(path, 1, "too-large", too_large(len(raw), MAX_TEXT_BYTES))
        return None
    return raw


def read_document(path: Path, report: Reporter, *, required: bool = True) -> Document | None:
    """Read a Markdown file with YAML front matter between ``---`` lines."""
    raw = _read_bytes(path, report)
    if raw is None:
        return None
    decoded = decode(raw)
    if decoded.text is None:
        report.error(path, decoded.line, "encoding", decoded.message)
        return None
    text = decoded.text
    rel = report.rel(path)
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        if required:
            report.error(path, 1, "front-matter-missing",
                         FRONT_MATTER_MISSING if text.strip() else EMPTY_FILE)
            return None
        return Document(path, rel, {}, {}, text, 1, raw, text)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        report.error(path, 1, "front-matter-unclosed", FRONT_MATTER_UNCLOSED)
        return None
    meta = _front_matter(path, lines[1:end], report)
    if meta is None:
        return None
    # Front matter is flat: a key's line is the line that starts with it.
    meta_lines: dict[str, int] = {}
    for number, meta_line in enumerate(lines[1:end], start=2):
        if match := TOP_LEVEL_KEY_RE.match(meta_line):
            meta_lines.setdefault(match.group(1), number)
    body_lines = lines[end + 1 :]
    return Document(
        path, rel, {str(k): v for k, v in meta.items()}, meta_lines, "\n".join(body_lines), end + 2, raw, text
    )


def _front_matter(path: Path, lines: list[str], report: Reporter) -> dict | None:
    """The front matter's YAML lines as a dict, or None (reported) when they are not one."""
    try:
        meta = load_yaml("\n".join(lines))
    except YAMLError as error:
        line, message = explain_yaml_error(error, lines, 2)
        report.error(path, line, "front-matter-yaml", message)
        return None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        report.error(path, 2, "front-matter-yaml", NOT_KEY_VALUE)
        return None
    return meta


def _decimal(value: Any) -> float | None:
    """``1.5``, ``1,5`` or ``2``: a front matter number, with a decimal point or comma."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(?:[.,]\d+)?\s*", value):
        return float(value.strip().replace(",", "."))
    return None


def check_meta(doc: Document, allowed: dict[str, Any], required: tuple[str, ...], report: Reporter) -> bool:
    """Unknown keys, missing keys and wrong types. True if the document can be used."""
    ok = True
    for key, value in doc.meta.items():
        line = doc.meta_lines.get(key, 2)
        if key not in allowed:
            report.error(doc.path, line, "unknown-key", unknown_key(key, allowed))
            ok = False
            continue
        expected = allowed[key]
        if expected is Decimal:
            if _decimal(value) is None:
                report.error(doc.path, line, "wrong-type", bilingual(
                    f"'{key}' phải là một số (1.5 hoặc 1,5), không phải {value!r}",
                    f"'{key}' must be a number (1.5 or 1,5), not {value!r}"))
                ok = False
            continue
        if expected is list and isinstance(value, str):
            value = [value]  # `previously: old-name` means a list of one
        if isinstance(value, bool) or not isinstance(value, expected):
            vi, en = _type_words(key, expected)
            report.error(doc.path, line, "wrong-type", bilingual(
                f"'{key}' phải là {vi}, không phải {value!r}", f"'{key}' must be {en}, not {value!r}"))
            ok = False
        elif isinstance(value, str) and not value.strip():
            report.error(doc.path, line, "empty-value", bilingual(
                f"'{key}' đang để trống: điền giá trị cho nó", f"'{key}' is empty: give it a value"))
            ok = False
    for key in required:
        if key not in doc.meta:
            report.error(doc.path, 1, "missing-key", bilingual(
                f"phần đầu tệp thiếu '{key}': thêm một dòng '{key}: ...'",
                f"front matter lacks '{key}': add a line '{key}: ...'"))
            ok = False
    return _check_ids(doc, ITEM_ID_RE if allowed is LESSON_KEYS else ID_RE, report) and ok


def unknown_key(key: str, allowed: Any) -> str:
    """A front matter key the file does not take (``unknown-key``), with those it does."""
    known = ", ".join(sorted(allowed))
    return bilingual(f"phần đầu tệp không nhận khóa '{key}' (các khóa dùng được: {known}): kiểm tra lỗi gõ",
                     f"unknown front matter key '{key}' (known: {known})")


def _type_words(key: str, expected: Any) -> tuple[str, str]:
    if expected is list:
        return (("một danh sách số hiệu văn bản", "a list of document numbers") if key in LEGAL_KEYS
                else ("một danh sách định danh (id)", "a list of ids"))
    return {str: ("một dòng chữ", "text"), int: ("một số nguyên", "a whole number"),
            dict: ("các dòng 'khóa: giá trị' thụt vào bên dưới nó", "'key: value' lines indented below it")
            }.get(expected, ("một số", "a number"))


def _check_ids(doc: Document, id_re: re.Pattern[str], report: Reporter) -> bool:
    """``id`` and ``previously``: a lesson or quiz may write them 'name' or 'module/name'."""
    ok = True
    item = id_re is ITEM_ID_RE
    vi, en = (", hoặc viết dạng 'tên-chương/tên'", ", or written 'module/name'") if item else ("", "")
    if "id" in doc.meta and isinstance(doc.meta["id"], str) and not id_re.match(doc.meta["id"]):
        report.error(doc.path, doc.meta_lines.get("id", 2), "bad-id", bilingual(
            f"id '{doc.meta['id']}' chỉ được dùng chữ thường a-z, chữ số và dấu gạch nối{vi}",
            f"id '{doc.meta['id']}' must use lowercase letters a-z, digits and hyphens{en}"))
        ok = False
    for old in _previously(doc):
        if not isinstance(old, str) or not id_re.match(old):
            report.error(doc.path, doc.meta_lines.get("previously", 2), "bad-id", bilingual(
                f"previously: '{old}' không phải một định danh (chữ thường a-z, chữ số và dấu gạch nối{vi})",
                f"previously: '{old}' is not an id (lowercase letters a-z, digits and hyphens{en})"))
            ok = False
    return ok


def _previously(doc: Document) -> list[Any]:
    value = doc.meta.get("previously")
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []


NAME_RULE_VI = ("một số, dấu gạch nối và tên viết bằng chữ thường a-z, chữ số và dấu "
                "gạch nối (không viết hoa, không có dấu tiếng Việt, không có dấu cách)")
NAME_RULE = ("a number, a hyphen and a name in lowercase letters a-z, digits and hyphens "
             "(no capitals, diacritics or spaces)")


# Names a text editor or Word gives a Markdown page that is not '.md' ('Save As... Text').
OTHER_TEXT_SUFFIXES = (".md.txt", ".markdown", ".mdown", ".mkd", ".txt")


def _stem(name: str, suffix: str) -> str:
    """``name`` without ``suffix`` or another text file ending, in any case."""
    lower = name.lower()
    quiz = suffix == ".quiz.md"
    for ending in (suffix, *((".quiz" + e for e in OTHER_TEXT_SUFFIXES) if quiz else OTHER_TEXT_SUFFIXES)):
        if suffix and lower.endswith(ending):
            return name[: -len(ending)]
    return name


def suggest_name(name: str, suffix: str, number: int) -> str:
    """The loadable form of a misnamed file or folder: '02-Dữ Liệu.md' -> '02-du-lieu.md'."""
    stem = _stem(name, suffix)
    slug = re.sub(r"[^a-z0-9]+", "-", fold(stem.replace("_", "-"))).strip("-") or "bai"
    if not re.match(r"^\d{1,3}-", slug):
        slug = re.sub(r"^(\d{1,3})(?=[a-z])", r"\1-", slug)
        if not re.match(r"^\d{1,3}-", slug):
            slug = f"{number:02d}-{slug}"
    return slug + suffix


def course_dir_name(name: str) -> str:
    """The course folder name to use for ``name``: 'Khóa Mới' -> 'khoa-moi'."""
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-") or "khoa-hoc"


def broken_name_rules(name: str, suffix: str) -> tuple[str, str]:
    """Which parts of the naming rule ``name`` breaks, in words (Vietnamese, English)."""
    stem = _stem(name, suffix)
    broken = []
    if not re.match(r"^\d{1,3}-", stem):
        broken.append(("tên không bắt đầu bằng số và dấu gạch nối ('01-')",
                       "it does not start with a number and a hyphen ('01-')"))
    if any(c.isupper() for c in stem):
        broken.append(("tên có chữ hoa", "it has capital letters"))
    if not stem.isascii():
        broken.append(("tên có chữ có dấu (hoặc ký tự khác ngoài a-z)",
                       "it has letters with diacritics (or other non a-z characters)"))
    if any(c.isspace() for c in stem):
        broken.append(("tên có dấu cách", "it has spaces"))
    if stem.isascii() and re.search(r"[^A-Za-z0-9\-\s]", stem):
        broken.append(("tên có ký tự ngoài a-z, chữ số và dấu gạch nối",
                       "it has characters other than a-z, digits and hyphens"))
    if suffix and not name.endswith(suffix):
        broken.append((f"tên phải kết thúc bằng '{suffix}' viết thường",
                       f"it must end in '{suffix}' in lowercase"))
    if not broken:
        broken.append(("giữa các từ phải có đúng một dấu gạch nối (không có gạch nối ở đầu, ở cuối hay hai "
                       "gạch nối liền nhau)",
                       "hyphens must separate words (no leading, trailing or double hyphens)"))
    return "; ".join(vi for vi, _en in broken), "; ".join(en for _vi, en in broken)


KINDS_VI = {"lesson": "bài học", "quiz": "bài kiểm tra", "module folder": "thư mục chương"}


def misnamed(report: Reporter, entry: Path, kind: str, suffix: str, number: int) -> None:
    """An error for a file or folder that looks like a lesson, quiz or module but is misnamed."""
    suggestion = suggest_name(entry.name, suffix, number)
    vi, en = broken_name_rules(entry.name, suffix)
    report.error(entry, 1, "bad-name", bilingual(
        f"{KINDS_VI[kind]} này bị bỏ ra ngoài khóa học vì tên sai quy tắc: tên "
        f"{KINDS_VI[kind]} gồm {NAME_RULE_VI}; {vi}. Đổi tên thành '{suggestion}'",
        f"this {kind} is left out of the course: {kind} names "
        f"are {NAME_RULE}; {en}. Rename it to '{suggestion}'"))


def _entries(folder: Path) -> list[Path]:
    """A folder's entries, without hidden files and the lock files Office leaves ('~$name')."""
    return sorted((p for p in folder.iterdir() if not p.name.startswith((".", "~$"))), key=lambda p: p.name)


def _refuse_symlink(path: Path, report: Reporter) -> bool:
    if path.is_symlink():
        report.error(path, 1, "symlink", bilingual(
            "không được dùng liên kết tượng trưng (symbolic "
            "link) trong thư mục khóa học: chép tệp thật vào đây",
            "symbolic links are not allowed in a course tree: copy the file itself here"))
        return True
    return False


def _collect_assets(folder: Path, course: CourseSource, report: Reporter) -> None:
    for entry in _entries(folder):
        if _refuse_symlink(entry, report):
            course.refused_assets[entry.resolve()] = ("đó là một liên kết tượng trưng",
                                                      "it is a symbolic link")
            continue
        if entry.is_dir():
            _collect_assets(entry, course, report)
        elif entry.suffix.lower() not in ASSET_SUFFIXES:
            kinds = ", ".join(sorted(ASSET_SUFFIXES))
            name = entry.suffix or entry.name
            why = ("nền tảng không hiển thị và không cho tải tệp "
                   f"'{name}'; hãy dùng một trong các loại {kinds}",
                   f"'{name}' files are not served; use one of {kinds}")
            report.warning(entry, 1, "asset-type", bilingual(*why))
            course.refused_assets[entry.resolve()] = why
        elif (size := entry.stat().st_size) > MAX_ASSET_BYTES and entry.suffix.lower() not in MEDIA_TYPES:
            # video and audio have their own limit (MOOC_MEDIA_MAX_MB), checked by media.py
            size_mb, limit = f"{size / (1024 * 1024):.1f}", MAX_ASSET_BYTES // (1024 * 1024)
            why = (f"tệp nặng {size_mb.replace('.', ',')} MB, vượt giới hạn {limit} MB: "
                   "hãy giảm dung lượng (nén ảnh, thu nhỏ kích thước, xuất PDF nhẹ hơn)",
                   f"the file is {size_mb} MB; the limit is {limit} MB: make it smaller")
            report.error(entry, 1, "too-large", bilingual(*why))
            course.refused_assets[entry.resolve()] = why
        else:
            course.assets.append(entry)


def load_tree(root: Path) -> tuple[list[CourseSource], list[Problem]]:
    """Every course under ``root`` (a folder of course folders, or one course folder)."""
    root = root.resolve()
    if (root / "course.md").is_file():
        report = Reporter(root.parent)
        course_dirs = [root]
    else:
        report = Reporter(root)
        if not root.is_dir():
            report.error(str(root), 1, "no-courses", bilingual(
                "không có thư mục khóa học này: kiểm tra lại đường dẫn",
                "the courses folder does not exist: check the path"))
            return [], report.problems
        course_dirs = []
        for entry in _entries(root):
            if _refuse_symlink(entry, report):
                continue
            if entry.is_dir() and entry.name == PROGRAMS_DIR:
                continue  # the programmes: check.py reads them
            if entry.is_dir():
                course_dirs.append(entry)
            elif entry.name not in IGNORED_NAMES:
                report.warning(entry, 1, "stray-file", bilingual(
                    "tệp này không thuộc khóa học nào (mỗi khóa học là một thư mục)",
                    "not part of any course (courses are folders)"))
    courses = [course for d in course_dirs if (course := load_course(d, report)) is not None]
    _check_unique_courses(courses, report)
    return courses, report.problems


def _check_unique_courses(courses: list[CourseSource], report: Reporter) -> None:
    for attribute, code, vi in (("key", "duplicate-id", "id"), ("code", "duplicate-code", "mã")):
        seen: dict[str, CourseSource] = {}
        for course in courses:
            value = getattr(course, attribute)
            if value in seen:
                first = seen[value].doc
                report.error(
                    course.doc.path,
                    course.doc.meta_lines.get("id" if attribute == "key" else "code", 1),
                    code,
                    bilingual(f"{vi} khóa học '{value}' đã được dùng ở "
                              f"{first.rel}: mỗi khóa học cần {vi} riêng",
                              f"course {attribute} '{value}' is also used by {first.rel}"),
                )
            else:
                seen[value] = course


def load_course(course_dir: Path, report: Reporter) -> CourseSource | None:
    if not COURSE_DIR_RE.match(course_dir.name):
        name = course_dir.name
        report.error(course_dir, 1, "bad-name", bilingual(
            f"tên thư mục khóa học '{name}' chỉ được dùng chữ thường a-z, "
            f"chữ số và dấu gạch nối: đổi tên thành '{course_dir_name(name)}'",
            f"course folder '{name}' must use lowercase letters a-z, "
            f"digits and hyphens: rename it to '{course_dir_name(name)}'"))
        return None
    course_file = course_dir / "course.md"
    if not course_file.is_file():
        report.error(course_dir, 1, "no-course-md", bilingual(
            "thư mục khóa học cần có tệp course.md (tiêu đề, mã, năm, tóm tắt, số giờ của khóa học)",
            "a course folder needs a course.md (the course's title, code, edition, summary, hours)"))
        return None
    doc = read_document(course_file, report)
    if doc is None or not check_meta(doc, COURSE_KEYS, COURSE_REQUIRED, report):
        return None
    language = doc.meta.get("language", "vi")
    if language not in LANGUAGES:
        report.error(course_file, doc.meta_lines.get("language", 1), "bad-language", bilingual(
            "'language' phải là vi (tiếng Việt) hoặc en (tiếng Anh)",
            f"language must be one of {', '.join(sorted(LANGUAGES))}"))
    course = CourseSource(
        key=doc.meta.get("id") or course_dir.name,
        dir_name=course_dir.name,
        path=course_dir,
        title=doc.meta["title"].strip(),
        code=doc.meta["code"].strip(),
        edition=doc.meta["edition"],
        summary=doc.meta["summary"].strip(),
        hours=_decimal(doc.meta["hours"]) or 0.0,
        language=language,
        doc=doc,
        completion=_completion(doc, report),
    )
    positions: dict[int, Path] = {}
    for entry in _entries(course_dir):
        if _refuse_symlink(entry, report) or entry.name in IGNORED_NAMES or entry == course_file:
            continue
        _load_course_entry(entry, course, positions, report)
    if not course.modules:
        report.error(course_file, 1, "empty-course", bilingual(
            "khóa học chưa có chương nào: tạo một thư mục chương như '01-ten-chuong' có tệp module.md",
            "the course has no modules: add a module folder such as '01-name' holding a module.md"))
    _check_unique_items(course, report)
    return course


def _load_course_entry(
    entry: Path, course: CourseSource, positions: dict[int, Path], report: Reporter
) -> None:
    """An entry of a course folder: an asset folder, a module, a misnamed module or a stray file."""
    if entry.is_dir() and entry.name in ASSET_DIRS:
        _collect_assets(entry, course, report)
    elif entry.is_dir() and (match := NUMBERED_RE.match(entry.name)):
        _check_position(int(match.group(1)), entry, positions, report)
        module = load_module(entry, int(match.group(1)), match.group(2), course, report)
        if module is not None:
            course.modules.append(module)
    elif entry.is_dir() and ((entry / "module.md").is_file() or any(entry.glob("*.md"))):
        misnamed(report, entry, "module folder", "", max(positions, default=0) + 1)
    else:
        report.warning(entry, 1, "stray-file", bilingual(
            "tệp này không thuộc khóa học: các chương là thư mục đặt tên như '01-ten-chuong'",
            "not part of the course: modules are folders named like '01-name'"))


def _completion(doc: Document, report: Reporter) -> dict[str, Any]:
    """``completion: {lessons: all | N, quizzes: all | none | [quiz ids]}`` (default: all, all)."""
    value = doc.meta.get("completion")
    if not isinstance(value, dict):
        return {}
    line = doc.meta_lines.get("completion", 2)
    result: dict[str, Any] = {}
    for key, setting in value.items():
        whole = isinstance(setting, int) and not isinstance(setting, bool) and setting >= 0
        if key == "lessons" and (setting == "all" or whole):
            result["lessons"] = setting
        elif key == "quizzes" and (setting in ("all", "none") or (
                isinstance(setting, list) and all(isinstance(q, str) for q in setting))):
            result["quizzes"] = setting
        else:
            report.error(doc.path, line, "bad-completion", bilingual(
                f"completion: không hiểu '{key}: {setting}' (lessons: all hoặc "
                "một số; quizzes: all, none hoặc danh sách id bài kiểm tra)",
                f"completion: '{key}: {setting}' is not understood (lessons: "
                "all or a number; quizzes: all, none or a list of quiz ids)"))
    return result


def _check_position(number: int, entry: Path, seen: dict[int, Path], report: Reporter) -> None:
    if number in seen:
        other = seen[number].name
        report.warning(entry, 1, "same-number", bilingual(
            f"'{entry.name}' trùng số thứ tự với '{other}': đánh số khác nhau để định thứ tự",
            f"'{entry.name}' has the same number as '{other}': order them apart"))
    seen[number] = entry


def load_module(
    folder: Path, position: int, slug: str, course: CourseSource, report: Reporter
) -> ModuleSource | None:
    module_file = folder / "module.md"
    if not module_file.is_file():
        report.error(folder, 1, "no-module-md", bilingual(
            "thư mục chương cần có tệp module.md ghi tiêu đề của chương",
            "a module folder needs a module.md with its title"))
        return None
    doc = read_document(module_file, report)
    if doc is None or not check_meta(doc, MODULE_KEYS, ("title",), report):
        return None
    module = ModuleSource(
        key=doc.meta.get("id") or slug,
        slug=slug,
        position=position,
        title=doc.meta["title"].strip(),
        doc=doc,
        path=folder,
        previous=[str(old) for old in _previously(doc)],
    )
    if doc.meta.get("id") and doc.meta["id"] != slug:
        module.previous.append(slug)  # adopting an id keeps the identity the folder name gave
    positions: dict[int, Path] = {}
    entries = _entries(folder)
    numbers = [int(m.group(1)) for e in entries if (m := re.match(r"^(\d{1,3})-", e.name))]
    next_number = max(numbers, default=0) + 1  # suggested to a misnamed lesson or quiz
    for entry in entries:
        if _refuse_symlink(entry, report) or entry.name in IGNORED_NAMES or entry == module_file:
            continue
        _load_module_entry(entry, course, module, positions, next_number, report)
    module.items.sort(key=lambda item: (item.position, item.slug))
    if not module.items:
        report.warning(module_file, 1, "empty-module", bilingual(
            "chương chưa có bài học hay bài kiểm tra nào", "the module has no lessons or quizzes"))
    return module


def _load_module_entry(
    entry: Path, course: CourseSource, module: ModuleSource, positions: dict[int, Path], next_number: int,
    report: Reporter,
) -> None:
    """An entry of a module folder: an asset folder, a lesson or a quiz, a file that looks like
    a misnamed one, or a stray file."""
    name = entry.name
    if entry.is_dir() and name in ASSET_DIRS:
        _collect_assets(entry, course, report)
    elif entry.is_file() and name.endswith(".quiz.md") and (match := NUMBERED_RE.match(name[:-8])):
        _check_position(int(match.group(1)), entry, positions, report)
        quiz = _load_quiz_file(entry, int(match.group(1)), match.group(2), module, report)
        if quiz is not None:
            module.items.append(quiz)
    elif entry.is_file() and name.endswith(".md") and (match := NUMBERED_RE.match(name[:-3])):
        _check_position(int(match.group(1)), entry, positions, report)
        lesson = _load_lesson(entry, int(match.group(1)), match.group(2), module, report)
        if lesson is not None:
            module.items.append(lesson)
    elif entry.is_file() and _looks_like_a_page(entry):
        # It looks like a lesson or a quiz: leaving it out silently would lose it.
        is_quiz = ".quiz." in name.lower()
        kind, suffix = ("quiz", ".quiz.md") if is_quiz else ("lesson", ".md")
        misnamed(report, entry, kind, suffix, next_number)
    else:
        report.warning(entry, 1, "stray-file", bilingual(
            "tệp này không thuộc khóa học: bài học đặt tên như '01-ten-bai.md', "
            "bài kiểm tra như '09-ten.quiz.md', hình ảnh để trong thư mục 'images/'",
            "not part of the course: lessons are named like '01-name.md', "
            "quizzes like '09-name.quiz.md', pictures go in 'images/'"))


def _looks_like_a_page(entry: Path) -> bool:
    """A lesson or quiz by its name ('.md' in any case, '.markdown', '.md.txt'), or a text file
    that is numbered or starts with front matter ('03-bai.txt', 'bai-moi.txt' holding '---')."""
    name = entry.name.lower()
    if name.endswith((".md", ".markdown", ".mdown", ".mkd", ".md.txt")):
        return True
    if not name.endswith(".txt"):
        return False
    if re.match(r"^\d{1,3}-", name):
        return True
    with entry.open("rb") as stream:
        return stream.read(8).lstrip(b"\xef\xbb\xbf").startswith(b"---")


def _item_key(doc: Document, module: ModuleSource, slug: str) -> str:
    """Identity: an explicit ``id`` (unique in the course), else module key + file name."""
    value = doc.meta.get("id")
    return value if isinstance(value, str) and value else f"{module.key}/{slug}"


def _item_previous(doc: Document, module: ModuleSource, slug: str, key: str) -> list[str]:
    """Keys this lesson or quiz may have had before: its ``previously`` list, the key its file
    name gave (so adding an ``id`` keeps progress), and the same under the module's former ids."""
    previous = [str(old) for old in _previously(doc)]
    derived = f"{module.key}/{slug}"
    if key != derived:
        previous.append(derived)
    if not doc.meta.get("id"):
        previous += [f"{old}/{slug}" for old in module.previous]
    return [old for i, old in enumerate(previous) if old != key and old not in previous[:i]]


def _load_lesson(
    path: Path, position: int, slug: str, module: ModuleSource, report: Reporter
) -> LessonSource | None:
    doc = read_document(path, report)
    if doc is None or not check_meta(doc, LESSON_KEYS, ("title", "minutes"), report):
        return None
    minutes = doc.meta["minutes"]
    if minutes <= 0 or minutes > 600:
        report.error(path, doc.meta_lines.get("minutes", 2), "bad-minutes", bilingual(
            f"minutes (số phút đọc bài) phải từ 1 đến 600, không phải {minutes}",
            f"minutes must be between 1 and 600, not {minutes}"))
    if not doc.body.strip():
        report.error(path, doc.body_line, "empty-lesson", bilingual(
            "bài học chưa có nội dung: viết nội dung bên dưới dòng '---' đóng phần đầu tệp",
            "the lesson has no text: write it below the '---' line that closes the front matter"))
    else:
        check_body(doc, report)
    key = _item_key(doc, module, slug)
    return LessonSource(
        key=key,
        slug=slug,
        position=position,
        title=doc.meta["title"].strip(),
        minutes=minutes,
        doc=doc,
        previous=_item_previous(doc, module, slug, key),
        legal=_numbers(doc, "legal"),
        legal_mentions=_numbers(doc, "legal_mentions"),
    )


def _numbers(doc: Document, key: str) -> list[str]:
    """``legal: 84/2025/QH15`` or ``legal: [84/2025/QH15, ...]``: the numbers, as written."""
    value = doc.meta.get(key)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [nfc(str(item)).strip() for item in values if str(item).strip()]


CALLOUT_RE = re.compile(r"^(\s*)(!!!|\?\?\?\+?)\s*([^\s\"]*)(.*)$")
# The callout kinds authors may use (`!!! kind`); the sanitiser lets exactly these through as
# classes (render.EXTENSION_CLASSES). Never a class the site's templates use ("hint", "question").
CALLOUT_KINDS = ("note", "tip", "info", "important", "example", "warning", "caution", "attention",
                 "danger", "abstract", "success", "failure", "bug", "quote")
HEADING1_RE = re.compile(r"^ {0,3}#(?!#)")  # "# Bài 1" and "#Bài 1": both make an <h1>
FENCE_LINE_RE = re.compile(r"^\s*(```|~~~)")


def check_body(doc: Document, report: Reporter) -> None:
    """What Markdown would swallow silently: '#' headings (every one), callouts whose kind
    is unknown or whose text is not indented by four spaces (they render an empty box), and a
    code block never closed (Markdown shows its fence as text, and the check would read nothing
    after it)."""
    lines = doc.body.split("\n")
    fence: int | None = None  # the index of the open fence's line
    for index, line in enumerate(lines):
        if FENCE_LINE_RE.match(line):
            fence = index if fence is None else None
            continue
        if fence is not None:
            continue
        number = doc.body_line + index
        if HEADING1_RE.match(line):
            report.warning(doc.path, number, "title-heading", bilingual(
                "dòng tiêu đề '#' sẽ hiện thành chữ bình thường: tiêu đề "
                "bài lấy từ 'title:' ở phần đầu tệp; các mục bắt đầu từ '##'",
                "a '#' heading is shown as plain text: the title "
                "comes from the front matter; start sections at '##'"))
        _check_callout(doc, lines, index, report)
    if fence is not None:
        report.error(doc.path, doc.body_line + fence, "unclosed-code", bilingual(
            "khối mã mở ở đây không có dòng ``` đóng: trang sẽ hiện dấu ``` như chữ",
            "the code block opened here has no closing ``` line: the page would show the fence as text"))


def _check_callout(doc: Document, lines: list[str], index: int, report: Reporter) -> None:
    callout = CALLOUT_RE.match(lines[index])
    if not callout or callout.group(1):
        return
    number = doc.body_line + index
    kind = callout.group(3)
    if kind not in CALLOUT_KINDS:
        kinds, example = ", ".join(CALLOUT_KINDS), f'{callout.group(2)} note "Lưu ý"'
        report.error(doc.path, number, "bad-callout", bilingual(
            f"không có loại hộp ghi chú '{kind}' (dùng một trong: "
            f"{kinds}; tiêu đề đặt trong ngoặc kép, ví dụ: {example})",
            f"unknown callout kind '{kind}' (use one of {kinds}, and the title in quotes: {example})"))
        return
    following = next((x for x in lines[index + 1 :] if x.strip()), "")
    body_indent = len(following.expandtabs(4)) - len(following.expandtabs(4).lstrip())
    if not following or body_indent < 4:
        report.error(doc.path, number, "bad-callout", bilingual(
            "nội dung hộp ghi chú phải viết ở các dòng ngay bên "
            "dưới, thụt vào bốn dấu cách (nếu không, hộp sẽ trống)",
            "the callout's text must follow on the next lines, "
            "indented by four spaces (otherwise the box is empty)"))


def _load_quiz_file(
    path: Path, position: int, slug: str, module: ModuleSource, report: Reporter
) -> QuizFile | None:
    doc = read_document(path, report)
    if doc is None:
        return None
    if not _check_ids(doc, ITEM_ID_RE, report):
        return None
    key = _item_key(doc, module, slug)
    return QuizFile(key=key, slug=slug, position=position, doc=doc, text=doc.text,
                    previous=_item_previous(doc, module, slug, key))


def _check_unique_items(course: CourseSource, report: Reporter) -> None:
    seen_modules: dict[str, ModuleSource] = {}
    for module in course.modules:
        if module.key in seen_modules:
            other = seen_modules[module.key].doc.rel
            report.error(module.doc.path, module.doc.meta_lines.get("id", 1), "duplicate-id", bilingual(
                f"id chương '{module.key}' đã được dùng ở {other}: mỗi chương cần một id riêng",
                f"module id '{module.key}' is also used by {other}"))
        seen_modules[module.key] = module
    seen: dict[str, Document] = {}
    for item in course.items():
        if item.key in seen:
            other = seen[item.key].rel
            report.error(item.doc.path, item.doc.meta_lines.get("id", 1), "duplicate-id", bilingual(
                f"id '{item.key}' đã được dùng ở {other}: mỗi bài học, bài kiểm tra cần một id riêng",
                f"id '{item.key}' is also used by {other}"))
        else:
            seen[item.key] = item.doc
    claimed: dict[str, Document] = {}
    for item in course.items():
        for old in _previously(item.doc):
            line = item.doc.meta_lines.get("previously", 1)
            if old in seen and seen[old] is not item.doc:
                report.error(item.doc.path, line, "duplicate-id", bilingual(
                    f"previously: '{old}' hiện là id của {seen[old].rel}: "
                    "một định danh không thể do hai tệp cùng giữ",
                    f"previously: '{old}' is the id of {seen[old].rel} "
                    "now: one identity cannot be kept by two files"))
            elif old in claimed and claimed[old] is not item.doc:
                report.error(item.doc.path, line, "duplicate-id", bilingual(
                    f"previously: '{old}' cũng được {claimed[old].rel} "
                    "khai báo: chỉ một tệp được giữ định danh này",
                    f"previously: '{old}' is also claimed by {claimed[old].rel}"))
            claimed.setdefault(old, item.doc)
