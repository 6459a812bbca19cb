"""`mooc courses check`: everything wrong with a course tree, as ``path:line`` problems.

Structure and front matter come from ``format.py``; this adds what needs the whole tree:
links between files, pictures and their alt text, raw HTML, and the quizzes' own checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from mooc.courses.format import CourseSource, Document, LessonSource, Problem, QuizFile, Reporter, load_tree
from mooc.courses.render import author_anchor, scan_links

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

    root_prefixes: tuple[str, ...] = ()  # str(root) + "/" of each course, for fast containment

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
        links.root_prefixes = tuple(f"{root}/" for root in links.roots)
        return links

    def digest(self) -> str:
        """Changes when any URL a link could point to changes (then pages are re-rendered)."""
        import hashlib

        parts = sorted(f"{p}\t{u}" for p, u in (self.pages | self.assets).items())
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def resolver(self, doc_path: Path):  # noqa: ANN201
        """A function for the renderer: a link as written in ``doc_path`` -> the app's URL."""

        def resolve(target: str, is_image: bool) -> str | None:
            resolved = self.resolve(doc_path, target)
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
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }


def check_tree(root: Path) -> CheckResult:
    courses, problems = load_tree(root)
    report = Reporter(root.resolve() if not (root / "course.md").is_file() else root.resolve().parent)
    report.problems = problems
    links = LinkMap.build(courses)
    # Files that failed to load are reported already; links to them are not broken on top.
    links.unloaded = {p.path for p in problems if p.severity == "error"}
    quizzes: dict[Path, Any] = {}
    for course in courses:
        used_assets: set[Path] = set()
        documents: list[Document] = [course.doc] + [m.doc for m in course.modules]
        documents += [item.doc for item in course.items() if isinstance(item, LessonSource)]
        for doc in documents:
            _check_links(doc, links, report, used_assets)
        for item in course.items():
            if isinstance(item, QuizFile):
                quizzes[item.doc.path] = _check_quiz(item, report)
        wanted = course.completion.get("quizzes")
        if isinstance(wanted, list):
            known = {item.key for item in course.items() if isinstance(item, QuizFile)}
            for key in wanted:
                if key not in known:
                    line = course.doc.meta_lines.get("completion", 1)
                    report.error(course.doc.path, line, "bad-completion",
                                 f"completion lists quiz '{key}', which the course does not have "
                                 f"(quizzes: {', '.join(sorted(known)) or 'none'})")
        for asset in course.assets:
            if asset.resolve() not in used_assets:
                report.warning(asset, 1, "unused-file", "no lesson links to this file")
    problems = sorted(report.problems, key=lambda p: (p.path, p.line, p.severity))
    return CheckResult(courses, problems, links, quizzes)


def _check_links(doc: Document, links: LinkMap, report: Reporter, used_assets: set[Path]) -> None:
    found, raw_html = scan_links(doc.body)
    for line, snippet in raw_html:
        report.warning(
            doc.path, doc.body_line + line, "raw-html", f"raw HTML is removed from pages: {snippet[:60]}"
        )
    for link in found:
        line = doc.body_line + link.line
        target = link.target.strip()
        if link.is_image and not link.text.strip():
            report.error(
                doc.path,
                line,
                "image-alt",
                f"image '{target}' has no alt text: describe it between the brackets",
            )
        if not target:
            report.error(doc.path, line, "empty-link", "link without a target")
            continue
        scheme = urlsplit(target).scheme.lower()
        if scheme in FORBIDDEN_SCHEMES:
            report.error(doc.path, line, "bad-scheme", f"'{scheme}:' links are not allowed")
            continue
        if scheme or target.startswith(("#", "//")):
            continue
        if target.startswith("/"):
            report.error(
                doc.path,
                line,
                "absolute-link",
                f"link '{target}' is absolute: link to the file relatively, e.g. '../02-x/01-y.md'",
            )
            continue
        resolved = LinkMap.resolve(doc.path, target)
        if resolved is None:
            continue
        path, _fragment = resolved
        if not any(str(path).startswith(root) for root in links.root_prefixes):
            report.error(doc.path, line, "outside-tree", f"link '{target}' points outside the courses")
            continue
        if link.is_image:
            if path in links.assets:
                used_assets.add(path)
            elif path.exists():
                report.error(
                    doc.path,
                    line,
                    "not-an-image",
                    f"'{target}' is not a picture in an images/ folder of the course",
                )
            else:
                report.error(doc.path, line, "broken-image", f"image '{target}' does not exist")
        elif path in links.pages:
            continue
        elif path in links.assets:
            used_assets.add(path)
        elif report.rel(path) in links.unloaded:
            continue
        elif path.exists():
            report.error(
                doc.path,
                line,
                "broken-link",
                f"link '{target}' points to a file that is not a lesson, quiz or attachment",
            )
        else:
            report.error(
                doc.path, line, "broken-link", f"link '{target}' points to a file that does not exist"
            )


def _check_quiz(item: QuizFile, report: Reporter) -> Any:
    try:
        from mooc.quizzes.format import parse_quiz
    except ImportError:  # pragma: no cover (the quiz format lands with its own issue)
        return None
    quiz, problems = parse_quiz(item.text, path=item.doc.rel)
    for problem in problems:
        report.problems.append(
            Problem(problem.path, problem.line, problem.severity, problem.code, problem.message)
        )
    return quiz
