"""`mooc courses check`: everything wrong with a course tree, as ``path:line`` problems.

Structure and front matter come from ``format.py``; this adds what needs the whole tree:
links between files, pictures and their alt text, raw HTML, and the quizzes' own checks.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from mooc import clock
from mooc.courses import media as media_files
from mooc.courses.format import (
    COURSE_DIR_RE,
    IGNORED_NAMES,
    CourseSource,
    Document,
    LessonSource,
    QuizFile,
    Reporter,
    load_course,
    load_tree,
    read_document,
)
from mooc.courses.render import URL_SCHEMES, SourceLink, anchor_ids, author_anchor, scan_links
from mooc.courses.unrendered import Piece, check_quiz_parts, check_text, check_unrendered
from mooc.formats.legal import (
    REGISTRY_NAME,
    LegalDocument,
    Registry,
    find_citations,
    parse_registry,
    status_on,
)
from mooc.formats.legal import number_key as citation_key
from mooc.formats.problem import Problem, bilingual
from mooc.formats.program import PROGRAMS_DIR, ProgramSource, StepSource, expand, parse_program
from mooc.formats.quiz import QuizSource, parse_quiz_markdown
from mooc.formats.quiz_review import farming_risk
from mooc.formats.source import decode, unreadable
from mooc.formatting import format_percent

FORBIDDEN_SCHEMES = {"javascript", "data", "vbscript", "file"}
URL_PREFIX = "/courses"


def course_url(course_key: str) -> str:
    return f"{URL_PREFIX}/{quote(course_key)}"


def lesson_url(course_key: str, lesson_key: str) -> str:
    return f"{URL_PREFIX}/{quote(course_key)}/lessons/{quote(lesson_key)}"


def quiz_url(course_key: str, quiz_key: str) -> str:
    return f"{URL_PREFIX}/{quote(course_key)}/quizzes/{quote(quiz_key)}"


def file_url(course_key: str, relative: str) -> str:
    return f"{URL_PREFIX}/{quote(course_key)}/files/{quote(relative)}"


@dataclass
class LinkMap:
    """Where each file of the tree lives in the app: resolved path -> URL."""

    pages: dict[Path, str] = field(default_factory=dict)
    assets: dict[Path, str] = field(default_factory=dict)
    roots: list[Path] = field(default_factory=list)
    unloaded: set[str] = field(default_factory=set)  # shown paths of files with errors
    media: dict[Path, media_files.Media] = field(default_factory=dict)  # video and audio files

    root_prefixes: tuple[str, ...] = ()  # str(root) + "/" of each course, for fast containment
    # (folder, target as written) -> resolve(): check reads each link, a sync again for the
    # document's hash, then renders it
    resolved: dict[tuple[Path, str], tuple[Path, str] | None] = field(default_factory=dict, repr=False)
    scanned: dict[Path, tuple[str, list[SourceLink]]] = field(default_factory=dict, repr=False)  # check's

    @classmethod
    def build(cls, courses: list[CourseSource]) -> LinkMap:
        links = cls()
        for course in courses:
            links.roots.append(course.path.resolve())
            links.pages[course.doc.path.resolve()] = course_url(course.key)
            for module in course.modules:
                links.pages[module.doc.path.resolve()] = f"{course_url(course.key)}#module-{module.key}"
                for item in module.items:
                    url = (
                        lesson_url(course.key, item.key)
                        if isinstance(item, LessonSource)
                        else quiz_url(course.key, item.key)
                    )
                    links.pages[item.doc.path.resolve()] = url
            for asset in course.assets:
                relative = asset.relative_to(course.path).as_posix()
                links.assets[asset.resolve()] = file_url(course.key, relative)
            links.media.update(media_files.media_map(course, links.assets))
        links.root_prefixes = tuple(f"{root}/" for root in links.roots)
        return links

    def digest(self) -> str:
        """Changes when any URL a link could point to changes."""
        parts = sorted(f"{p}\t{u}" for p, u in (self.pages | self.assets).items())
        parts += sorted(f"{p}\t{m!r}" for p, m in self.media.items())  # captions, poster, size: the player
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def links_digest(self, doc_path: Path, body: str) -> str:
        """Changes only when a URL that this document's own links resolve to changes: a page
        is re-rendered when what it links to moves, not when anything in the tree moves."""
        resolve = self.resolver(doc_path)
        scanned = self.scanned.get(doc_path)  # what check read of the same text
        found = scanned[1] if scanned is not None and scanned[0] == body else scan_links(body)[0]
        parts = sorted({f"{link.is_image}\t{link.target}\t{resolve(link.target, link.is_image)}"
                        for link in found})
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def resolver(self, doc_path: Path):
        """A function for the renderer: a link as written in ``doc_path`` -> the app's URL."""

        def resolve(target: str, is_image: bool) -> str | None:
            resolved = self.resolve_once(doc_path, target)
            if resolved is None:
                return None
            path, fragment = resolved
            url = self.assets.get(path) if is_image else self.pages.get(path) or self.assets.get(path)
            if url is None:
                return None
            if fragment and "#" not in url:
                # A fragment of a course page names an id in its rendered text: the author's
                # namespace (render.author_anchor). A file's (a PDF's #page=2) stays as written.
                page = not is_image and path in self.pages
                url = f"{url}#{author_anchor(fragment) if page else fragment}"
            return url

        return resolve

    def media_resolver(self, doc_path: Path):
        """For the renderer: a picture's target as written in ``doc_path`` -> its video or audio."""

        def find(target: str) -> media_files.Media | None:
            resolved = self.resolve_once(doc_path, target)
            return self.media.get(resolved[0]) if resolved else None

        return find

    def resolve_once(self, doc_path: Path, target: str) -> tuple[Path, str] | None:
        """resolve(), asking the file system once per folder and target (the resolver's links
        are read for the document's hash, then rendered, in this process or a forked one)."""
        key = (doc_path.parent, target)
        if key not in self.resolved:
            self.resolved[key] = self.resolve(doc_path, target)
        return self.resolved[key]

    @staticmethod
    def resolve(doc_path: Path, target: str) -> tuple[Path, str] | None:
        """The file a relative link points to, or None for external links and anchors."""
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or target.startswith("#") or not parts.path:
            return None
        path = unquote(parts.path)
        if path.startswith("/"):
            return None
        return (doc_path.parent / path).resolve(), parts.fragment


@dataclass
class CheckResult:
    courses: list[CourseSource]
    problems: list[Problem]
    links: LinkMap
    quizzes: dict[Path, Any] = field(default_factory=dict)  # quiz file -> parsed quiz
    root: Path | None = None  # the courses folder (the parent of a single course checked)
    registry: Registry = field(default_factory=Registry)  # the legal registry (_phap-ly.yaml)
    # the programmes (_chuong-trinh/*.md) and each one's steps, included programmes put in place
    programs: list[ProgramSource] = field(default_factory=list)
    program_steps: dict[str, list[StepSource]] = field(default_factory=dict)
    whole_tree: bool = True  # the courses folder (not one course folder) was checked

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def summary(self) -> dict[str, int]:
        lessons = sum(len(c.lessons()) for c in self.courses)
        quizzes = sum(len(c.items()) for c in self.courses) - lessons
        return {
            "courses": len(self.courses),
            "modules": sum(len(c.modules) for c in self.courses),
            "lessons": lessons,
            "quizzes": quizzes,
            "programs": len(self.programs),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }


def course_folder(path: Path) -> Path | None:
    """The course folder that holds ``path`` (a file or folder inside a course), if any."""
    path = path.resolve()
    for folder in [path, *path.parents] if path.is_dir() else list(path.parents):
        if (folder / "course.md").is_file():
            return folder
    return None


def _sibling_courses(course_dir: Path) -> list[CourseSource]:
    """The other courses next to ``course_dir``, loaded only so links to them resolve."""
    report = Reporter(course_dir.parent)
    siblings = []
    for entry in sorted(course_dir.parent.iterdir()):
        if (entry != course_dir and entry.is_dir() and not entry.is_symlink()
                and COURSE_DIR_RE.match(entry.name) and (entry / "course.md").is_file()):
            course = load_course(entry, report)
            if course is not None:
                siblings.append(course)
    return siblings


def check_tree(root: Path, media_max_bytes: int | None = None, as_of: date | None = None) -> CheckResult:
    """Check the courses folder ``root``, or one course folder (its links to other courses
    resolve against the courses folder around it, as when the whole tree is checked).
    ``media_max_bytes``: the largest video or audio file (default: MOOC_MEDIA_MAX_MB).
    ``as_of``: the day the lessons' legal basis is checked on (default: today)."""
    if media_max_bytes is None:
        media_max_bytes = media_files.configured_max_bytes()
    root = root.resolve()
    single = (root / "course.md").is_file()
    courses, problems = load_tree(root)
    report = Reporter(root.parent if single else root)
    report.problems = problems
    others = _sibling_courses(root) if single else []
    links = LinkMap.build(courses + others)
    # Files that failed to load are reported already; links to them are not broken on top.
    links.unloaded = {p.path for p in problems if p.severity == "error"}
    quizzes: dict[Path, Any] = {}
    anchors = _Anchors({doc.path.resolve(): doc for course in courses + others for doc in _pages_of(course)})
    registry = load_registry(root.parent if single else root, report)
    today = clock.today()
    for course in courses:
        _check_course(course, links, report, anchors, quizzes, media_max_bytes)
        for lesson in course.lessons():  # an unreadable registry's own error is the news
            if registry.readable:
                check_legal(lesson, registry, report, as_of or today, today)
    # a course checked alone has no _chuong-trinh/: its programmes are checked with the whole folder
    programs, steps = load_programs(root, _present(root, courses) if not single else set(), report, links)

    problems = sorted(report.problems, key=lambda p: (p.path, p.line, p.severity))
    return CheckResult(courses, problems, links, quizzes, root.parent if single else root, registry,
                       programs, steps, whole_tree=not single)


def _present(root: Path, courses: list[CourseSource]) -> set[str]:
    """The ids of the courses of the folder, those that failed to load included (by their
    folder's name): a programme naming one is not naming an unknown course."""
    folders = {d.name for d in root.iterdir() if (d / "course.md").is_file()} if root.is_dir() else set()
    return {course.key for course in courses} | (folders - {course.dir_name for course in courses})


def load_programs(courses_root: Path, course_keys: set[str], report: Reporter,
                  links: LinkMap | None = None) -> tuple[list[ProgramSource], dict[str, list[StepSource]]]:
    """The programmes of ``_chuong-trinh/`` (mooc/formats/program.py), checked against the
    courses of the tree, their introductions as a lesson's text is (links, Markdown shown as
    written, HTML stripped); their problems join the report."""
    folder = courses_root / PROGRAMS_DIR
    if not folder.is_dir() or folder.is_symlink():
        return [], {}
    programs: list[ProgramSource] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name in IGNORED_NAMES:
            continue
        if path.is_symlink() or not path.is_file() or path.suffix != ".md":
            report.warning(path, 1, "stray-file", bilingual(
                f"tệp này không phải chương trình (trong {PROGRAMS_DIR}, mỗi chương trình là một tệp .md)",
                "not a programme (a programme is a .md file)"))
            continue
        try:
            raw = path.read_bytes()
        except OSError as error:
            report.error(path, 1, "unreadable", unreadable(error))
            continue
        program, problems = parse_program(raw, report.rel(path), path.stem)
        report.problems.extend(problems)
        if program is not None:
            program.file = path
            _check_program_intro(program, path, links, report)
            programs.append(program)
    steps, problems = expand(programs, course_keys)
    report.problems.extend(problems)
    return programs, steps


def _check_program_intro(program: ProgramSource, path: Path, links: LinkMap | None, report: Reporter) -> None:
    """A programme's introduction is rendered like a lesson (its path page): its links, and the
    Markdown the page would show as written, at the programme file's lines."""
    if not program.intro.strip():
        return
    if links is not None:
        doc = Document(path=path, rel=program.path, meta={}, meta_lines={}, body=program.intro,
                       body_line=program.intro_line, raw=b"")
        _check_links(doc, links, report, set())
    numbers = range(program.intro_line, program.intro_line + program.intro.count("\n") + 1)
    check_text(Piece(path, program.intro, numbers, "program"), report)


def load_registry(courses_root: Path, report: Reporter) -> Registry:
    """The legal registry ``_phap-ly.yaml`` of the courses folder (empty when there is none);
    its problems join the report."""
    path = courses_root / REGISTRY_NAME
    if not path.is_file() or path.is_symlink():
        return Registry(path=report.rel(path))
    try:
        decoded = decode(path.read_bytes())
    except OSError as error:
        report.error(path, 1, "unreadable", unreadable(error))
        return Registry(path=report.rel(path), readable=False)
    if decoded.text is None:
        report.error(path, decoded.line, "encoding", decoded.message)
        return Registry(path=report.rel(path), readable=False)
    registry, problems = parse_registry(decoded.text, report.rel(path))
    report.problems.extend(problems)
    return registry


def _day(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _named(document: LegalDocument) -> str:
    """'84/2025/QH15 (Luật Thanh tra)': the number, then the kind and title (the kind once)."""
    title = document.title
    return f"{document.number} ({title if title.startswith(document.kind) else f'{document.kind} {title}'})"


def check_legal(lesson: LessonSource, registry: Registry, report: Reporter, day: date, today: date) -> None:
    """The lesson's ``legal:`` and ``legal_mentions:`` are registered documents; what ``legal:``
    rests on is in force on ``day`` (superseded: an error on a day that has come, a warning
    on a day ahead; not yet in force or partly superseded: a warning); every document its text
    cites (by number or by a registry name) is declared."""
    declared = _declared(lesson, registry, report, day, today)
    doc = lesson.doc
    seen: set[str] = set()
    for citation in find_citations(doc.body, doc.body_line, registry):
        document = citation.document or registry.get(citation.number)
        key = document.key if document else citation.key
        if key in seen or key in declared:
            continue
        seen.add(key)
        cited = f"{citation.article} " if citation.article else ""
        if document is None and not registry.known(citation.number):
            report.error(doc.path, citation.line, "legal-unregistered", bilingual(
                f"bài trích dẫn {cited}{citation.number} nhưng văn bản này chưa "
                f"có trong danh mục văn bản pháp lý ({registry.path}): thêm "
                "văn bản vào danh mục, kèm ngày và nguồn, hoặc sửa lại số hiệu",
                f"{cited}{citation.number} is cited but is not in the legal registry "
                f"({registry.path}): add it with its dates and source, or correct the number"))
        else:
            named = _named(document) if document else citation.number
            report.error(doc.path, citation.line, "legal-undeclared", bilingual(
                f"bài trích dẫn {cited}{named} nhưng chưa khai báo: thêm số hiệu vào 'legal:' "
                "(văn bản bài học dựa vào) hoặc 'legal_mentions:' (chỉ nhắc đến: lịch sử, so sánh)",
                f"{cited}{named} is cited but not declared: add it to 'legal:' (what "
                "the lesson rests on) or to 'legal_mentions:' (history, comparison)"))


def _declared(lesson: LessonSource, registry: Registry, report: Reporter, day: date, today: date) -> set[str]:
    """The number keys of the documents the lesson declares; each checked."""
    doc = lesson.doc
    declared: set[str] = set()
    for key in ("legal", "legal_mentions"):
        line = doc.meta_lines.get(key, 1)
        for number in getattr(lesson, key):
            if not registry.known(number):
                report.error(doc.path, line, "legal-unknown", bilingual(
                    f"{key}: {number} chưa có trong danh mục văn bản pháp lý ({registry.path}): "
                    "thêm văn bản vào đó, kèm ngày và nguồn, hoặc sửa lại số hiệu",
                    f"{key}: {number} is not in the legal registry ({registry.path}): "
                    "add it there with its dates and source, or correct the number"))
                continue
            declared.add(citation_key(number))
            document = registry.get(number)  # None: unverified (no dates, no standing to check)
            if key == "legal" and document is not None:
                _check_standing(doc, line, document, day, today, report)
    return declared


def _check_standing(doc: Document, line: int, document: LegalDocument, day: date, today: date,
                    report: Reporter) -> None:
    status = status_on(document, day)
    name = _named(document)
    superseded = document.superseded
    by, since = ", ".join(status.by), _day(status.since)
    if status.superseded:
        ahead = day > today  # the day has not come: a warning
        vi = (f"legal: {name} bị thay thế bởi {by} từ ngày {since}: "
              f"chuyển căn cứ của bài sang {by} và cập nhật nội dung bài")
        en = f"legal: {name} is superseded by {by} from {since}: rest the lesson on {by} and update its text"
        message = bilingual(f"vào ngày {_day(day)}, {vi}", f"on {_day(day)}, {en}") if ahead else (
            bilingual(vi, en))
        (report.warning if ahead else report.error)(doc.path, line, "legal-superseded", message)
    elif status.state == "partly_superseded":
        report.warning(doc.path, line, "legal-partly-superseded", bilingual(
            f"legal: {name} bị thay thế một phần bởi {by} từ "
            f"ngày {since}: kiểm tra những phần bài học dựa vào",
            f"legal: {name} is partly superseded by {by} from {since}: check the parts the lesson relies on"))
    elif status.state == "not_yet":
        report.warning(doc.path, line, "legal-not-in-force", bilingual(
            f"legal: {name} chưa có hiệu lực vào ngày {_day(day)} (có hiệu lực từ ngày {since})",
            f"legal: {name} is not in force on {_day(day)} (in force from {since})"))
    elif superseded is not None and superseded.since > day:
        partly = superseded.extent == "partly"
        later_by, later = ", ".join(superseded.by), _day(superseded.since)
        report.warning(doc.path, line, "legal-superseded-soon", bilingual(
            f"legal: {name} sẽ bị thay thế {'một phần ' if partly else ''}bởi {later_by} từ ngày {later}",
            f"legal: {name} will be {'partly ' if partly else ''}superseded by {later_by} from {later}"))


def _check_course(course: CourseSource, links: LinkMap, report: Reporter, anchors: _Anchors,
                  quizzes: dict[Path, Any], media_max_bytes: int) -> None:
    """One course of the tree: its links, quizzes, completion, media and unused files."""
    used_assets: set[Path] = set()
    documents: list[Document] = [course.doc] + [m.doc for m in course.modules]
    documents += [item.doc for item in course.items()]
    for doc in documents:
        _check_links(doc, links, report, used_assets, course, anchors)
        if not doc.path.name.endswith(".quiz.md"):  # a quiz's pieces are read one by one
            check_unrendered(doc, report)
    for item in course.items():
        if isinstance(item, QuizFile):
            quizzes[item.doc.path] = _check_quiz(item, report)
            _check_farming(course, item, quizzes[item.doc.path], report)
    _links_of_unloaded(course, links, used_assets)
    _check_completion_quizzes(course, report)
    media_files.check_course(course, report, used_assets, media_max_bytes)
    for asset in course.assets:
        if asset.resolve() not in used_assets:
            report.warning(asset, 1, "unused-file", bilingual(
                "không bài học nào liên kết đến tệp này: liên kết đến nó, hoặc xóa tệp nếu không dùng",
                "no lesson links to this file: link to it, or delete it if it is not used"))


def _check_completion_quizzes(course: CourseSource, report: Reporter) -> None:
    """The quizzes a course's completion names are quizzes of the course."""
    wanted = course.completion.get("quizzes")
    if isinstance(wanted, list):
        known = {item.key for item in course.items() if isinstance(item, QuizFile)}
        for key in wanted:
            if key not in known:
                line = course.doc.meta_lines.get("completion", 1)
                report.error(course.doc.path, line, "bad-completion", bilingual(
                    f"completion có bài kiểm tra '{key}' nhưng khóa học không có bài kiểm tra "
                    f"này (các bài kiểm tra của khóa: {', '.join(sorted(known)) or 'không có'})",
                    f"completion lists quiz '{key}', which the course does "
                    f"not have (quizzes: {', '.join(sorted(known)) or 'none'})"))


def _pages_of(course: CourseSource) -> list[Document]:
    """A course's texts whose anchors links are read against: its lessons, and its and its
    modules' introductions (each rendered apart on the course page, a module's ids its own:
    render.scope_ids)."""
    return [course.doc, *(m.doc for m in course.modules), *(item.doc for item in course.lessons())]


@dataclass
class _Anchors:
    """The ids a lesson's page has (headings, footnotes, explicit ``{#id}``), read on demand."""

    docs: dict[Path, Document] = field(default_factory=dict)
    cache: dict[Path, set[str]] = field(default_factory=dict)

    def of(self, path: Path) -> set[str] | None:
        if path not in self.docs:
            return None  # not a lesson: its anchors are not checked
        if path not in self.cache:
            self.cache[path] = anchor_ids(self.docs[path].body)
        return self.cache[path]


def _links_of_unloaded(course: CourseSource, links: LinkMap, used_assets: set[Path]) -> None:
    """Files of the course that failed to load still link to their pictures: those pictures
    are not 'unused' (the file's own error is what the author must fix)."""
    for page in course.path.rglob("*.md"):
        resolved = page.resolve()
        if resolved in links.pages or page.is_symlink():
            continue
        doc = read_document(page, Reporter(course.path.parent), required=False)
        if doc is None:
            continue
        for link in scan_links(doc.body)[0]:
            target = LinkMap.resolve(page, link.target.strip())
            if target is not None and target[0] in links.assets:
                used_assets.add(target[0])


def _near(path: Path, course: CourseSource) -> Path | None:
    """The course's picture or attachment that a broken link most likely meant: the same name
    in another folder, or in other capitals."""
    wanted = path.name.lower()
    same = [asset for asset in course.assets if asset.name.lower() == wanted]
    if len(same) == 1:
        return same[0]
    return None


def _check_links(
    doc: Document, links: LinkMap, report: Reporter, used_assets: set[Path],
    course: CourseSource | None = None, anchors: _Anchors | None = None,
) -> None:
    found, raw_html = scan_links(doc.body)
    links.scanned[doc.path] = (doc.body, found)  # a sync hashes the same links (links_digest)
    for line, snippet in raw_html:
        report.warning(doc.path, doc.body_line + line, "raw-html", bilingual(
            "trình phát viết bằng HTML không tìm được tệp của nó trên trang: viết bằng Markdown, "
            "![tiêu đề](video/x.mp4)",
            "a player written in HTML does not find its file on the page: write it in Markdown, "
            "![title](video/x.mp4)") + f": {snippet[:60]}")
    context = _LinkContext(doc, links, report, used_assets, course, anchors)
    for link in found:
        context.check(link)


@dataclass
class _LinkContext:
    """Checks the links of one document (``_check_links``)."""

    doc: Document
    links: LinkMap
    report: Reporter
    used_assets: set[Path]
    course: CourseSource | None
    anchors: _Anchors | None

    def error(self, line: int, code: str, message: str) -> None:
        self.report.error(self.doc.path, line, code, message)

    def check(self, link: SourceLink) -> None:
        line = self.doc.body_line + link.line
        target = link.target.strip()
        if link.raw:
            self.check_raw(line, target)
            return
        if link.is_image and not link.text.strip():
            kind = media_files.kind_of(target)
            self.error(line, "image-alt", bilingual(
                f"{media_files.KIND_VI[kind]} '{target}' chưa có tiêu đề: ghi tiêu đề giữa hai dấu ngoặc "
                "vuông",
                f"{kind} '{target}' has no title: give it one between the brackets",
            ) if kind else bilingual(
                f"hình '{target}' chưa có mô tả cho người không nhìn thấy: viết mô tả giữa hai dấu ngoặc "
                f"vuông, ví dụ ![Sơ đồ quy trình thanh tra]({target})",
                f"image '{target}' has no alt text: describe it between the brackets"))
        if self.refused(line, target):
            return
        if target.startswith("#"):
            self.check_own_anchor(line, target)
            return
        if urlsplit(target).scheme or target.startswith("//"):
            return  # a web address: left as it is
        resolved = self.links.resolve_once(self.doc.path, target)
        if resolved is None:
            return
        path, fragment = resolved
        if self.no_such_course(line, target, path):
            return
        if not any(str(path).startswith(root) for root in self.links.root_prefixes):
            self.error(line, "outside-tree", bilingual(
                f"liên kết '{target}' trỏ ra ngoài thư mục khóa "
                "học: chép tệp vào khóa học rồi liên kết tương đối",
                f"link '{target}' points outside the courses: copy "
                "the file into the course and link it relatively"))
            return
        self.check_file(link, line, target, path, fragment)

    def no_such_course(self, line: int, target: str, path: Path) -> bool:
        """A link into a course folder that does not exist, next to the courses (a misspelt
        '../khong-co/course.md'): that course is missing, not a file outside the tree (reported)."""
        for folder in {root.parent for root in self.links.roots}:
            if not path.is_relative_to(folder) or path == folder:
                continue
            top = folder / path.relative_to(folder).parts[0]
            if top.exists():
                return False
            near = difflib.get_close_matches(top.name, [root.name for root in self.links.roots], 1, 0.6)
            vi, en = (f": có phải là '{near[0]}'?", f": did you mean '{near[0]}'?") if near else ("", "")
            self.error(line, "broken-link", bilingual(
                f"liên kết '{target}' trỏ đến thư mục khóa học '{top.name}', không có trong thư mục "
                f"các khóa học{vi}",
                f"link '{target}' points to a course folder '{top.name}' that is not in the courses "
                f"folder{en}"))
            return True
        return False

    def refused(self, line: int, target: str) -> bool:
        """A target no page can use: empty, a scheme the page drops, a path on the author's
        computer, an absolute path (reported)."""
        scheme = urlsplit(target).scheme.lower()
        if not target:
            self.error(line, "empty-link", bilingual(
                "liên kết không có đích: viết địa chỉ hoặc tên tệp trong ngoặc đơn, [chữ](dich.md)",
                "link without a target: write the address or the file in the parentheses, [text](target.md)"))
        elif LOCAL_PATH_RE.match(target):
            self.error(line, "outside-tree", _local_path(target))
        elif scheme in FORBIDDEN_SCHEMES:
            self.error(line, "bad-scheme", bilingual(f"không được dùng liên kết '{scheme}:'",
                                                     f"'{scheme}:' links are not allowed"))
        elif scheme and scheme not in URL_SCHEMES:
            self.error(line, "bad-scheme", bilingual(
                f"liên kết '{scheme}:' sẽ bị xóa khỏi trang: chỉ giữ http:, https: và mailto:",
                f"'{scheme}:' links are removed from the page: only http:, https: and mailto: are kept"))
        elif target.startswith("/") and not target.startswith("//"):
            self.error(line, "absolute-link", bilingual(
                f"liên kết '{target}' là đường dẫn tuyệt đối: liên "
                "kết tương đối đến tệp, ví dụ '../02-x/01-y.md'",
                f"link '{target}' is absolute: link to the file relatively, e.g. '../02-x/01-y.md'"))
        else:
            return False
        return True

    def check_raw(self, line: int, target: str) -> None:
        """A link written in HTML keeps its target as written: one to a file of the course
        would be broken on the page (the lesson's address is not its file's)."""
        if target and not urlsplit(target).scheme and not target.startswith(("#", "//")):
            self.error(line, "raw-html", bilingual(
                f"liên kết '{target}' viết bằng HTML không được đổi sang địa chỉ của nền tảng nên "
                "sẽ hỏng trên trang: viết bằng Markdown, [chữ](tep.md) hoặc ![mô tả](images/x.png)",
                f"the HTML link '{target}' is not turned into the platform's address and would be broken "
                "on the page: write it in Markdown, [text](file.md) or ![description](images/x.png)"))

    def check_own_anchor(self, line: int, target: str) -> None:
        own = self.anchors.of(self.doc.path.resolve()) if self.anchors else None
        if own is not None and unquote(target[1:]) not in own:
            vi, en = _anchor_hint(own)
            if self.doc.path.name in ("course.md", "module.md"):
                vi, en = _anchor_hint(own, "phần giới thiệu")
                self.report.warning(self.doc.path, line, "broken-anchor", bilingual(
                    f"liên kết '{target}': phần giới thiệu này không có mục nào mang neo đó; mỗi phần "
                    f"giới thiệu hiển thị riêng nên chỉ liên kết được đến neo của chính nó ({vi})",
                    f"link '{target}': this introduction has no section with that anchor; each "
                    f"introduction is shown apart, so it can only link to its own anchors ({en})"))
                return
            self.report.warning(self.doc.path, line, "broken-anchor", bilingual(
                f"liên kết '{target}': bài này không có mục nào mang neo đó ({vi})",
                f"link '{target}': this lesson has no section with that anchor ({en})"))

    def check_file(self, link: SourceLink, line: int, target: str, path: Path, fragment: str) -> None:
        """A link to a file inside the courses' tree."""
        links = self.links
        refused = self.course.refused_assets.get(path) if self.course else None
        if refused:
            self.error(line, "refused-file", bilingual(f"không hiển thị được '{target}': {refused[0]}",
                                                       f"'{target}' cannot be shown: {refused[1]}"))
        elif link.is_image:
            self.check_image(line, target, path)
        elif path in links.pages:
            ids = self.anchors.of(path) if self.anchors and fragment else None
            if ids is not None and unquote(fragment) not in ids:
                vi, en = _anchor_hint(ids)
                self.report.warning(self.doc.path, line, "broken-anchor", bilingual(
                    f"liên kết '{target}': bài được liên kết không có mục nào mang neo '#{fragment}' ({vi})",
                    f"link '{target}': the lesson has no section with the anchor '#{fragment}' ({en})"))
        elif path in links.assets:
            self.used_assets.add(path)
        elif self.unloaded(path):
            pass
        elif path.exists():
            self.error(line, "broken-link", bilingual(
                f"liên kết '{target}' trỏ đến một tệp không phải bài học, bài kiểm tra hay tệp đính kèm",
                f"link '{target}' points to a file that is not a lesson, quiz or attachment"))
        else:
            vi, en = _did_you_mean(_spelled_right(self.doc.path, target, links))
            self.error(line, "broken-link", bilingual(f"liên kết '{target}' trỏ đến tệp không tồn tại{vi}",
                                                      f"link '{target}' points to a "
                                                      f"file that does not exist{en}"))

    def unloaded(self, path: Path) -> bool:
        """A file that failed to load, or that sits in a module or course whose module.md or
        course.md did: its own error is what to fix, not the links to it."""
        unloaded, rel = self.links.unloaded, self.report.rel
        return rel(path) in unloaded or any(
            rel(folder / name) in unloaded for folder in path.parents for name in ("module.md", "course.md"))

    def check_image(self, line: int, target: str, path: Path) -> None:
        if path in self.links.assets:
            self.used_assets.add(path)
        elif path.exists():
            self.error(line, "not-an-image", bilingual(
                f"'{target}' không phải hình trong thư mục images/ (hoặc files/, assets/) của khóa học",
                f"'{target}' is not a picture in an images/ (or files/, assets/) folder of the course"))
        else:
            near = _near(path, self.course) if self.course else None
            written = _spelled_right(self.doc.path, target, self.links)
            if written is None and near is not None:
                self.used_assets.add(near.resolve())
                written = Path(_relative(near.resolve(), self.doc.path.resolve().parent)).as_posix()
            vi, en = _did_you_mean(written)
            self.error(line, "broken-image", bilingual(f"không có hình '{target}'{vi}",
                                                       f"image '{target}' does not exist{en}"))


# A path on the author's computer: C:\..., D:/..., \\server\share (a drive letter reads as a scheme)
LOCAL_PATH_RE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def _local_path(target: str) -> str:
    name = re.split(r"[\\/]", target)[-1]
    return bilingual(f"'{target}' là đường dẫn trên máy của bạn, học viên không mở được: chép tệp vào thư "
                     f"mục images/ (hoặc files/) của khóa học và liên kết tương đối, ví dụ 'images/{name}'",
                     "it is a path on your computer, which trainees cannot open: copy the file into the "
                     f"course's images/ (or files/) folder and link it relatively, e.g. 'images/{name}'")


def _did_you_mean(written: str | None) -> tuple[str, str]:
    """The end of a broken link's message: the spelling that works, if there is one."""
    return (f": có phải là '{written}'?", f": did you mean '{written}'?") if written else ("", "")


def _spelled_right(doc_path: Path, target: str, links: LinkMap) -> str | None:
    """How to write a link that names a file of the course in Windows' way: with backslashes,
    in other capitals, or without '.md' (None when it names no such file)."""
    written, hash_, fragment = target.partition("#")
    for candidate in dict.fromkeys((written.replace("\\", "/"), written.replace("\\", "/") + ".md")):
        path = (doc_path.parent / unquote(candidate)).resolve()
        if path not in links.pages and path not in links.assets and path.parent.is_dir():
            same = [p for p in path.parent.iterdir() if p.name.lower() == path.name.lower()]
            path = same[0].resolve() if len(same) == 1 else path
            candidate = candidate[: len(candidate) - len(path.name)] + path.name
        if (path in links.pages or path in links.assets) and candidate != written:
            return candidate + hash_ + fragment
    return None


def _anchor_hint(ids: set[str], whose: str = "bài") -> tuple[str, str]:
    shown = sorted(i for i in ids if not re.match(r"^fn(ref)?[:\d]", i))
    anchors = ", ".join("#" + i for i in shown[:12])
    return (f"các neo của {whose}: {anchors}", f"its anchors: {anchors}") if shown else (
        f"{whose} không có mục nào", "it has no sections")


def _relative(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path, start)


def _check_quiz(item: QuizFile, report: Reporter) -> QuizSource | None:
    """The quiz's own checks, and its Markdown pieces read as lessons are (each rendered on
    its own at sync: the introduction, each title, text, choice and explanation)."""
    quiz, problems, parts = parse_quiz_markdown(item.text, path=item.doc.rel)
    report.problems.extend(problems)
    check_quiz_parts(item.doc.path, parts, report)
    return quiz


def _check_farming(course: CourseSource, item: QuizFile, quiz: QuizSource | None, report: Reporter) -> None:
    """Warn when a quiz that counts towards completion shows its key while the same
    questions can come back (docs/authoring.md, "Review policies")."""
    wanted = course.completion.get("quizzes", "all")
    counts = wanted == "all" or (isinstance(wanted, list) and item.key in wanted)
    if quiz is None or not counts:
        return
    settings = quiz.settings
    risk = farming_risk(settings, len(quiz.questions))
    if risk is None or risk * 100 < settings.pass_percent:
        return
    pool = len(quiz.questions)
    draw = settings.draw or pool
    attempts, attempts_vi = (settings.attempts, settings.attempts) if settings.attempts else (
        "unlimited", "0 (không giới hạn)")
    seen_vi, seen_en = (format_percent(risk * 100, 0, lang) for lang in ("vi", "en"))
    mark_vi, mark_en = (format_percent(settings.pass_percent, 0, lang) for lang in ("vi", "en"))
    report.warning(item.doc.path, item.doc.meta_lines.get("review", 1), "review-farming", bilingual(
        "bài kiểm tra này được tính vào điều kiện hoàn thành nhưng hiện đáp án sau mỗi lần "
        f"làm (review: {settings.review}, attempts: {attempts_vi}, mỗi lần {draw} trên "
        f"{pool} câu hỏi): đến lần làm cuối, học viên đã xem đáp án của khoảng {seen_vi} số "
        f"câu (điểm đạt {mark_vi}). Dùng review: after_close (hoặc after_pass, "
        "after_last_attempt, after_submit), hoặc rút ít câu hơn từ một bộ câu hỏi lớn hơn",
        "this quiz counts towards completion but shows its answer key after every attempt "
        f"(review: {settings.review}, attempts: {attempts}, {draw} of {pool} questions per "
        f"attempt): by the last attempt a trainee has seen the key of about {seen_en} of its "
        f"questions (pass mark {mark_en}). Use review: after_close (or after_pass, "
        "after_last_attempt, after_submit), or draw fewer questions from a larger pool"))
