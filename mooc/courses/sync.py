"""`mooc courses sync`: load a checked course tree into the database in one transaction.

Rows are matched by their stable keys, so renumbering and editing update in place and
progress stays. A lesson, quiz or module whose identity changed keeps its row when the file
names its earlier key (``previously:``, or the key its file name gave before it took an
``id``): the row is renamed, and the old address redirects. A file that disappears archives
its row (never deletes it). A file whose source, and the URLs its own links resolve to, are
unchanged is not rendered again (renaming one file re-renders only what links to it).
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mooc import clock, parallel
from mooc.courses import diffing, editions
from mooc.courses import render as render_module
from mooc.courses.check import CheckResult, LinkMap, check_tree
from mooc.courses.format import CourseSource, LessonSource, ModuleSource, QuizFile
from mooc.courses.identity import archive_warnings
from mooc.courses.models import (
    Course,
    CourseSync,
    LegalDocument,
    Lesson,
    LessonLegalBasis,
    Module,
    Quiz,
)
from mooc.courses.render import RENDER_VERSION, Rendered, render
from mooc.courses.signals import lesson_preparers, lessons_synced, programs_synced
from mooc.extensions import db
from mooc.formats.legal import Registry, number_key
from mooc.formats.problem import Problem, bilingual
from mooc.formats.program import ProgramSource
from mooc.formats.quiz_content import quiz_content
from mooc.progress import CHECKING, SILENT, WRITING, Progress


class SyncRefused(Exception):
    """The tree has errors: nothing was written, the last good version stays live."""

    def __init__(self, problems: list[Problem]) -> None:
        count = len(problems)
        super().__init__(bilingual(f"tệp khóa học có {count} lỗi", f"{count} error(s) in the course files"))
        self.problems = problems


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0
    rendered: int = 0
    courses: int = 0
    commit: str | None = None
    content_hash: str = ""
    render_workers: int = 0  # processes that rendered ahead (0: everything rendered in this one)
    warnings: list[Problem] = field(default_factory=list)  # printed after the summary

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.renamed or self.changed or self.archived or self.restored)

    def counts(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "renamed": len(self.renamed),
            "changed": len(self.changed),
            "archived": len(self.archived),
            "restored": len(self.restored),
            "unchanged": self.unchanged,
            "rendered": self.rendered,
            "courses": self.courses,
        }

    def lines(self) -> list[str]:
        """What the sync did, Vietnamese first: a summary, then one line per item that changed
        ("thêm bài học / added lesson: luat/co-ban/khai-niem")."""
        out = []
        for label, items in (
            ("added", self.added),
            ("renamed", self.renamed),
            ("changed", self.changed),
            ("restored", self.restored),
            ("archived", self.archived),
        ):
            out += [f"  {_item_line(label, item)}" for item in items]
        at = (f" ở commit {self.commit[:12]}", f" at commit {self.commit[:12]}") if self.commit else ("", "")
        head = f"Đã đồng bộ {self.courses} khóa học{at[0]}", f"Synced {self.courses} course(s){at[1]}"
        if not self.has_changes:
            return [bilingual(f"{head[0]}: không có thay đổi ({self.unchanged} mục không đổi)",
                              f"{head[1]}: no changes ({self.unchanged} unchanged)")]
        counts = [(k, n) for k, n in self.counts().items() if k != "courses" and n]
        return [bilingual(f"{head[0]}: {', '.join(f'{n} {COUNT_WORDS[k]}' for k, n in counts)}",
                          f"{head[1]}: {', '.join(f'{n} {k}' for k, n in counts)}")] + out


# The words of the sync's report, in Vietnamese: what happened, to what kind of thing.
COUNT_WORDS = {"added": "thêm mới", "renamed": "đổi tên", "changed": "thay đổi", "archived": "lưu trữ",
               "restored": "khôi phục", "unchanged": "không đổi", "rendered": "trang dựng lại"}
ACTION_WORDS = {"added": "thêm", "renamed": "đổi tên", "changed": "thay đổi", "archived": "lưu trữ",
                "restored": "khôi phục"}
KIND_WORDS = {"legal document": "văn bản pháp lý", "lesson": "bài học", "quiz": "bài kiểm tra",
              "module": "chương", "course": "khóa học", "programme": "chương trình"}


def _item_line(action: str, item: str) -> str:
    """``item`` ("lesson luat/co-ban/x") as a line of the report: "thêm bài học / added lesson: luat/..."."""
    kind = next((k for k in KIND_WORDS if item.startswith(k + " ")), "")
    what = item[len(kind):].strip() if kind else item
    vi = f"{ACTION_WORDS[action]} {KIND_WORDS.get(kind, '')}".rstrip()
    return bilingual(vi, f"{action} {kind}".rstrip()) + f": {what}"


def _hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


# --- rendering ahead, in parallel -----------------------------------------------------------------
# Rendering is pure (Markdown source + the link map -> HTML): a cold sync renders the documents
# it will need in worker processes (mooc.parallel), and writes in this process, in its one
# transaction, each course as soon as its documents are back (the workers render the next ones
# meanwhile). Small syncs (an author's edit) render in this process.
# A lesson's title comes with it: the workers also do what the domains above prepare from each
# rendered lesson (signals.lesson_preparers: the search index's sections and words).

Prepared = dict[str, Any]  # lesson_preparers' name -> its result for one lesson
Ahead = tuple[Rendered, str | None, Prepared | None]  # a document rendered ahead: with the title and
# what was prepared from it (a lesson), or None, None (an introduction)


def _render_job(job: tuple[Path, str, str | None]) -> tuple[Rendered, Prepared | None]:
    path, body, title = job
    links, dialect = parallel.shared()
    rendered = render(body, links.resolver(path), links.media_resolver(path))
    if title is None:  # a course's or module's introduction: no lesson page, nothing to prepare
        return rendered, None
    return rendered, {
        name: prepare(title, rendered.html, dialect) for name, prepare in lesson_preparers.items()
    }


class _Ahead:
    """The documents rendered ahead, taken by (path, body) in any order while the workers go on
    (their results come in the jobs' order: those passed over wait here to be taken)."""

    def __init__(self, jobs: list[tuple[Path, str, str | None]] | None = None,
                 results: Iterator[tuple[Rendered, Prepared | None]] | None = None) -> None:
        self.jobs = iter(jobs or [])
        self.pending = {(path, body) for path, body, _title in jobs or []}  # not taken yet
        self.results = results if results is not None else iter(())
        self.arrived: dict[tuple[Path, str], Ahead] = {}

    def pop(self, key: tuple[Path, str]) -> Ahead | None:
        """The document's rendering (waiting for it if it is under way), or None: not rendered ahead."""
        if key not in self.pending:
            return None
        self.pending.discard(key)
        found = self.arrived.pop(key, None)
        if found is not None:
            return found
        for (path, body, title), (rendered, prepared) in zip(self.jobs, self.results, strict=True):
            if (path, body) == key:
                return rendered, title, prepared
            self.arrived[(path, body)] = (rendered, title, prepared)
        return None


@contextmanager
def render_ahead(
    jobs: list[tuple[Path, str, str | None]], links: LinkMap, dialect: str = ""
) -> Iterator[tuple[_Ahead, int]]:
    """Render these documents in worker processes, when there are enough of them and more
    than one CPU; else render nothing here (each is rendered when the sync reaches it). A job
    is (path, body, the lesson's title, or None for an introduction). Yields the renderings
    ((Rendered, title, what lesson_preparers made of it) by (path, body), taken as they come)
    and the number of workers; leaving the block stops the workers. The HTML is the same
    either way (tests/courses/test_sync_bulk.py)."""
    if not parallel.workers_for(len(jobs)):
        yield _Ahead(), 0
        return
    with parallel.fork_imap(_render_job, jobs, (links, dialect)) as (results, workers):
        render_module.render_calls += len(jobs)  # counted here: the workers' counters die with them
        yield _Ahead(jobs, results), workers


def git_commit(path: Path) -> str | None:
    """The commit the tree is at (with '-dirty' if its files have uncommitted changes)."""
    try:
        # A fixed git command on the courses folder: no shell, no input from users.
        head = subprocess.run(  # noqa: S603
            ["git", "-C", str(path), "rev-parse", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(  # noqa: S603
            ["git", "-C", str(path), "status", "--porcelain", "--", "."],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if status.strip() else head


def _git(path: Path, *args: str) -> str:
    # A fixed git command on the courses folder: no shell, no input from users.
    return subprocess.run(  # noqa: S603
        ["git", "-C", str(path), *args],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout


class _Commits:
    """git_commit() of each course folder, asking git twice per sync instead of twice per
    course (each question is a process: 100 courses took longer than checking them). A course
    folder that is a repository of its own (a .git inside) is asked on its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.loaded = False
        self.head: str | None = None
        self.changed: list[Path] = []  # what `git status` lists under root (a folder: all inside)

    def _load(self) -> None:
        self.loaded = True
        try:
            top, head = _git(self.root, "rev-parse", "--show-toplevel", "HEAD").split("\n")[:2]
            status = _git(self.root, "status", "--porcelain", "-z", "--", ".")
        except (OSError, subprocess.SubprocessError, ValueError):
            return
        self.head = head.strip()
        tokens = iter(status.split("\0"))
        for token in tokens:
            if len(token) < 4:
                continue
            self.changed.append(Path(top, token[3:].rstrip("/")))
            if token[0] in "RC":  # a rename or copy names its origin next
                self.changed.append(Path(top, next(tokens, "").rstrip("/")))

    def of(self, path: Path) -> str | None:
        path = path.resolve()
        if (path / ".git").exists():
            return git_commit(path)
        if not self.loaded:
            self._load()
        if self.head is None:
            return None
        dirty = any(p == path or path in p.parents or p in path.parents for p in self.changed)
        return f"{self.head}-dirty" if dirty else self.head


class _Syncer:
    def __init__(self, result: CheckResult, courses_root: Path, full_tree: bool) -> None:
        self.result = result
        self.full_tree = full_tree  # False when one course folder is synced: leave the others alone
        self.links: LinkMap = result.links
        self.root = courses_root
        self.report = SyncReport()
        self.touched: list[Course | Lesson] = []  # for lessons_synced (the search index)
        self.ready = _Ahead()  # rendered ahead, by (path, body)
        self.prepared: list[tuple[Lesson, str, str, Prepared]] = []  # (lesson, title, html, prepared)
        self.hashes: dict[tuple[Path, str], str] = {}  # (path, file digest) -> source hash
        self.commits = _Commits(courses_root)

    def _render(self, doc_path: Path, body: str, lesson: Lesson | None = None) -> Rendered:
        """The document's HTML (rendered ahead, or now); for a lesson rendered ahead, keeps what
        the workers prepared from it, for the receivers of lessons_synced."""
        self.report.rendered += 1
        ready = self.ready.pop((doc_path, body))
        if ready is None:
            return render(body, self.links.resolver(doc_path), self.links.media_resolver(doc_path))
        rendered, title, prepared = ready
        if lesson is not None and title is not None and prepared:
            self.prepared.append((lesson, title, rendered.html, prepared))
        return rendered

    def prepared_lessons(self) -> dict[str, dict[int, tuple[str, str, Any]]]:
        """lessons_synced's ``prepared``: {name: {lesson id: (title, html, result)}} (after the flush)."""
        out: dict[str, dict[int, tuple[str, str, Any]]] = {}
        for lesson, title, html, prepared in self.prepared:
            for name, result in prepared.items():
                out.setdefault(name, {})[lesson.id] = (title, html, result)
        return out

    def program_intro(self, source: ProgramSource, stored_hash: str) -> tuple[str, str] | None:
        """A programme's introduction rendered like a lesson (its links resolved from its file):
        (hash, html), or None when ``stored_hash`` says the stored HTML is of the same Markdown,
        renderer and link targets (an unchanged sync renders nothing)."""
        path = source.file or self.root / source.path
        wanted = _hash(RENDER_VERSION, source.intro, self.links.links_digest(path, source.intro))
        if wanted == stored_hash:
            return None
        return wanted, self._render(path, source.intro).html if source.intro.strip() else ""

    @contextmanager
    def _render_ahead(self) -> Iterator[None]:
        """Render, while writing, the course, module and lesson files whose hash no row has:
        whichever row such a file ends up in, its stored hash differs, so it is rendered. (A
        file whose hash some other row has is rendered when its turn comes, if it must.)"""
        known: set[str] = set()
        for model in (Course, Module, Lesson):
            known.update(db.session.scalars(sa.select(model.source_hash)))
        jobs: list[tuple[Path, str, str | None]] = []
        for source in self.result.courses:
            docs: list[tuple[Any, str | None]] = [(source.doc, None)]
            docs += [(m.doc, None) for m in source.modules if m.doc.body.strip()]
            docs += [(item.doc, item.title) for item in source.items() if isinstance(item, LessonSource)]
            jobs += [(doc.path, doc.body, title) for doc, title in docs
                     if self._source_hash(doc.path, doc.body, doc.digest) not in known]
        dialect = db.session.get_bind().dialect.name
        with render_ahead(jobs, self.links, dialect) as (self.ready, self.report.render_workers):
            try:
                yield
            finally:
                self.ready = _Ahead()

    def run(self, progress: Progress = SILENT) -> SyncReport:
        existing = {c.key: c for c in db.session.scalars(sa.select(Course))}
        self._load_contents([c.id for c in existing.values()])
        changed_documents = self.sync_registry(self.result.registry)
        seen: set[str] = set()
        progress.phase(WRITING, len(self.result.courses))
        hashed: list[tuple[CourseSource, Course, list[str | Lesson | Quiz]]] = []
        # New rows pile up in the session and are written by the one flush below, a few
        # multi-row INSERTs per table; rows are tied to their course and module by relationship
        # until then. Nothing read in between depends on them (the existing rows were loaded).
        with self._render_ahead(), db.session.no_autoflush:
            for source in self.result.courses:
                seen.add(source.key)
                hashed.append(self.sync_course(source, existing.get(source.key)))
                progress.advance()
            for key, course in existing.items():
                if self.full_tree and key not in seen and not course.archived:
                    course.archived = True
                    self.touched.append(course)
                    self.report.archived.append(f"course {key}")
        db.session.flush()
        self._raise_versions_resting_on(changed_documents)
        new_editions: list[Course] = []
        for source, course, parts in hashed:  # after the flush: they hash the modules' ids
            content_hash = _hash(*(p if isinstance(p, str) else _item_hash(p) for p in parts))
            if course.content_hash != content_hash:
                course.content_hash = content_hash
                course.source_commit = self.commits.of(source.path)
                course.synced_at = clock.now()
                new_editions.append(course)
        editions.record(new_editions)  # the words of each lesson version, for refreshers
        db.session.flush()
        editions.refresh_legal()  # what each edition rested on, against the registry just read
        self.report.courses = len(self.result.courses)
        self.report.content_hash = _hash(
            *sorted(c.key + c.content_hash for c in db.session.scalars(sa.select(Course)))
        )
        return self.report

    def sync_registry(self, registry: Registry) -> list[int]:
        """The legal registry into ``legal_documents`` (matched by number_key; a document no
        longer listed is archived). Returns the ids of the documents whose standing or wording
        changed: the pages of the lessons resting on them are cached by their course's version."""
        rows = {row.key: row for row in db.session.scalars(sa.select(LegalDocument))}
        changed: list[int] = []
        wanted: dict[str, dict[str, Any]] = {}
        for key, document in registry.documents.items():
            gone = document.superseded
            wanted[key] = dict(
                number=document.number, kind=document.kind, title=document.title, issuer=document.issuer,
                signed_on=document.signed, in_force_on=document.in_force,
                superseded_from=gone.since if gone else None, superseded_by=list(gone.by) if gone else [],
                superseded_extent=gone.extent if gone else None, source_url=document.source,
                verified=True, archived=False,
            )
        for key, number in registry.unverified.items():
            wanted[key] = dict(number=number, kind="", title="", issuer="", signed_on=None, in_force_on=None,
                               superseded_from=None, superseded_by=[], superseded_extent=None, source_url="",
                               verified=False, archived=False)
        for key, values in wanted.items():
            row = rows.get(key)
            if row is None:
                row = rows[key] = LegalDocument(key=key, **values)
                db.session.add(row)
                self.report.added.append(f"legal document {values['number']}")
            elif _assign(row, **values):
                changed.append(row.id)
                self.report.changed.append(f"legal document {values['number']}")
        for key, row in rows.items():
            if key not in wanted and not row.archived:
                row.archived = True
                changed.append(row.id)
                self.report.archived.append(f"legal document {row.number}")
        db.session.flush()
        self.documents = rows
        self.basis: dict[int, set[int]] = {}
        for lesson_id, document_id in db.session.execute(
                sa.select(LessonLegalBasis.lesson_id, LessonLegalBasis.document_id)):
            self.basis.setdefault(lesson_id, set()).add(document_id)
        return changed

    def _sync_basis(self, lesson: Lesson, source: LessonSource) -> bool:
        """The lesson's ``legal:`` into lesson_legal_basis. True if it changed."""
        wanted = {self.documents[number_key(n)] for n in source.legal if number_key(n) in self.documents}
        have = self.basis.get(lesson.id, set()) if lesson.id is not None else set()
        ids = {row.id for row in wanted}
        if ids == have:
            return False
        if have - ids:
            db.session.execute(sa.delete(LessonLegalBasis).where(
                LessonLegalBasis.lesson_id == lesson.id, LessonLegalBasis.document_id.in_(have - ids)))
        for row in wanted:
            if row.id not in have:
                db.session.add(LessonLegalBasis(lesson=lesson, document=row))
        return True

    def _raise_versions_resting_on(self, document_ids: list[int]) -> None:
        """A document that changed (superseded, reworded, archived) changes the lesson pages
        resting on it: their courses get a new version, so the pages' cache is not reused."""
        if not document_ids:
            return
        course_ids = set(db.session.scalars(
            sa.select(Lesson.course_id).join(LessonLegalBasis, LessonLegalBasis.lesson_id == Lesson.id)
            .where(LessonLegalBasis.document_id.in_(document_ids))
        ))
        for course in db.session.scalars(sa.select(Course).where(Course.id.in_(course_ids))):
            course.version = Course.version + 1

    def _mark(self, kind: str, label: str, is_new: bool, changed: bool, was_archived: bool) -> None:
        if is_new:
            self.report.added.append(f"{kind} {label}")
        elif was_archived:
            self.report.restored.append(f"{kind} {label}")
        elif changed:
            self.report.changed.append(f"{kind} {label}")
        else:
            self.report.unchanged += 1

    def _load_contents(self, course_ids: list[int]) -> None:
        """The modules, lessons and quizzes of these courses, by course: three queries."""
        self.contents: dict[int, tuple[dict, dict, dict]] = {cid: ({}, {}, {}) for cid in course_ids}
        if not course_ids:
            return
        models: tuple[Any, ...] = (Module, Lesson, Quiz)
        for index, model in enumerate(models):
            for row in db.session.scalars(sa.select(model).where(model.course_id.in_(course_ids))):
                self.contents[row.course_id][index][row.key] = row

    def sync_course(
        self, source: CourseSource, course: Course | None
    ) -> tuple[CourseSource, Course, list[str | Lesson | Quiz]]:
        """Returns what the course's content hash is made of (rows: hashed after the flush)."""
        is_new = course is None
        if course is None:
            course = Course(
                key=source.key,
                edition=source.edition,
                code=source.code,
                title=source.title,
                source_dir=source.dir_name,
            )
            db.session.add(course)
        was_archived = course.archived
        if was_archived:
            self.touched.append(course)
        source_hash = self._source_hash(source.doc.path, source.doc.body, source.doc.digest)
        changed = _assign(
            course,
            code=source.code,
            title=source.title,
            edition=source.edition,
            summary=source.summary,
            hours=source.hours,
            language=source.language,
            completion=source.completion,
            source_dir=source.dir_name,
            archived=False,
        )
        if course.source_hash != source_hash:
            course.intro_html = self._render(source.doc.path, source.doc.body).html
            course.source_hash = source_hash
            changed = True

        parts: list[str | Lesson | Quiz] = [source_hash, *self.sync_contents(source, course)]
        self._mark("course", source.key, is_new, changed, was_archived)
        return source, course, parts

    def sync_contents(self, source: CourseSource, course: Course) -> list[str | Lesson | Quiz]:
        """The course's modules, lessons and quizzes; those no longer in the source archived.
        Returns what the course's content hash is made of, in course order: the modules'
        hashes, and the lesson and quiz rows (their hash names their module's id)."""
        modules: dict[str, Module]
        lessons: dict[str, Lesson]
        quizzes: dict[str, Quiz]
        modules, lessons, quizzes = self.contents.get(course.id, ({}, {}, {})) if course.id else ({}, {}, {})
        item_hashes: list[str | Lesson | Quiz] = []
        seen_modules: set[str] = set()
        seen_items: set[str] = set()
        module_keys = {m.key for m in source.modules}
        item_keys = {item.key for item in source.items()}
        for module_source in source.modules:
            seen_modules.add(module_source.key)
            row = self._adopt("module", course, module_source, modules, module_keys)
            module = self.sync_module(course, module_source, row)
            item_hashes.append(module.source_hash)
            for item in module_source.items:
                seen_items.add(item.key)
                if isinstance(item, LessonSource):
                    row = self._adopt("lesson", course, item, lessons, item_keys)
                    row = self.sync_lesson(course, module, item, row)
                else:
                    row = self._adopt("quiz", course, item, quizzes, item_keys)
                    row = self.sync_quiz(course, module, item, row)
                item_hashes.append(row)
        for kind, rows in (("module", modules), ("lesson", lessons), ("quiz", quizzes)):
            for key, row in rows.items():
                if key not in (seen_modules if kind == "module" else seen_items) and not row.archived:
                    row.archived = True
                    if isinstance(row, Lesson):
                        self.touched.append(row)
                    self.report.archived.append(f"{kind} {source.key}/{key}")
        return item_hashes

    def _source_hash(self, path: Path, body: str, digest: str) -> str:
        key = (path, digest)
        found = self.hashes.get(key)
        if found is None:
            found = self.hashes[key] = _hash(RENDER_VERSION, digest, self.links.links_digest(path, body))
        return found

    def _adopt(self, kind: str, course: Course, source: Any, rows: dict[str, Any], current: set[str]) -> Any:
        """The row for ``source``: by its key, else the row of an earlier key it names (which
        no file claims now): that row is renamed, keeping progress, attempts and its old
        address (a redirect)."""
        row = rows.get(source.key)
        if row is not None:
            return row
        for old in source.previous:
            candidate = rows.get(old)
            if candidate is None or old in current:
                continue
            del rows[old]
            rows[source.key] = candidate
            candidate.key = source.key
            if not isinstance(candidate, Module):
                earlier = [k for k in candidate.previous_keys or [] if k != source.key]
                candidate.previous_keys = [*earlier, old]
            self.report.renamed.append(f"{kind} {course.key}/{old} -> {source.key}")
            return candidate
        return None

    def sync_module(self, course: Course, source: ModuleSource, module: Module | None) -> Module:
        is_new = module is None
        if module is None:
            module = Module(key=source.key, position=source.position, title=source.title, **_of(course))
            db.session.add(module)
        was_archived = module.archived
        source_hash = self._source_hash(source.doc.path, source.doc.body, source.doc.digest)
        changed = _assign(module, position=source.position, title=source.title, archived=False)
        if module.source_hash != source_hash:
            module.intro_html = (
                self._render(source.doc.path, source.doc.body).html if source.doc.body.strip() else ""
            )
            module.source_hash = source_hash
            changed = True
        self._mark("module", f"{course.key}/{source.key}", is_new, changed, was_archived)
        return module

    def sync_lesson(
        self, course: Course, module: Module, source: LessonSource, lesson: Lesson | None
    ) -> Lesson:
        is_new = lesson is None
        if lesson is None:
            lesson = Lesson(key=source.key, position=0, title="", **_of(course))
            db.session.add(lesson)
        was_archived = lesson.archived
        source_hash = self._source_hash(source.doc.path, source.doc.body, source.doc.digest)
        said = (lesson.title, lesson.text)
        moved = _place(lesson, module)
        changed = moved | _assign(
            lesson,
            position=source.position,
            title=source.title,
            minutes=source.minutes,
            source_path=self._rel(source.doc.path),
            archived=False,
        )
        if lesson.source_hash != source_hash:
            rendered = self._render(source.doc.path, source.doc.body, lesson)
            lesson.html, lesson.text, lesson.headings = rendered.html, rendered.text, rendered.headings
            lesson.source_hash = source_hash
            changed = True
        if self._sync_basis(lesson, source):
            changed = True
        if changed and not is_new and not _says_the_same(said, lesson):
            lesson.updated_at = clock.now()  # what a reading counts against (a refresher's)
        if is_new or changed or was_archived:
            self.touched.append(lesson)
        self._mark("lesson", f"{course.key}/{source.key}", is_new, changed, was_archived)
        return lesson

    def sync_quiz(self, course: Course, module: Module, source: QuizFile, quiz: Quiz | None) -> Quiz:
        is_new = quiz is None
        if quiz is None:
            quiz = Quiz(key=source.key, position=0, title="", **_of(course))
            db.session.add(quiz)
        was_archived = quiz.archived
        source_hash = self._source_hash(source.doc.path, source.doc.body, source.doc.digest)
        title = str(source.doc.meta.get("title") or source.slug)
        moved = _place(quiz, module)
        changed = moved | _assign(
            quiz,
            position=source.position,
            title=title,
            source_path=self._rel(source.doc.path),
            archived=False,
        )
        if quiz.source_hash != source_hash:
            parsed = self.result.quizzes.get(source.doc.path)
            quiz.settings, quiz.questions, quiz.intro_html = self._quiz_content(source, parsed)
            quiz.source_hash = source_hash
            changed = True
        if changed:
            quiz.updated_at = clock.now()
        self._mark("quiz", f"{course.key}/{source.key}", is_new, changed, was_archived)
        return quiz

    def _quiz_content(self, source: QuizFile, parsed: Any) -> tuple[dict, list, str]:
        if parsed is None:
            return {}, [], ""
        return quiz_content(parsed, lambda body: self._render(source.doc.path, body))

    def touched_lesson_ids(self) -> list[int]:
        """Lessons added, changed, archived or restored, and those of courses archived or
        restored as a whole (their lessons keep their own flag)."""
        ids = {row.id for row in self.touched if isinstance(row, Lesson)}
        courses = [row.id for row in self.touched if isinstance(row, Course)]
        if courses:
            ids.update(db.session.scalars(sa.select(Lesson.id).where(Lesson.course_id.in_(courses))))
        return sorted(ids)

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def _of(course: Course) -> dict[str, Any]:
    """A new row's course: by id, or by relationship while the course is not written yet."""
    return {"course_id": course.id} if course.id is not None else {"course": course}


def _place(row: Lesson | Quiz, module: Module) -> bool:
    """Put the row in ``module`` (by relationship: the module may not be written yet)."""
    if module.id is not None and row.module_id == module.id:
        return False
    row.module = module
    return True


def _says_the_same(said: tuple[str, str], lesson: Lesson) -> bool:
    """Whether the lesson's title and words are what they were: a new number, reading time,
    file encoding, line wrapping or link target is no reason to read it again."""
    return diffing.same_words(said[0], lesson.title) and diffing.same_words(said[1], lesson.text)


def _item_hash(row: Lesson | Quiz) -> str:
    return f"{row.key}:{row.position}:{row.module_id}:{row.source_hash}"


def _assign(row: Any, **values: Any) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def sync_tree(root: Path, result: CheckResult | None = None, *, progress: Progress = SILENT) -> SyncReport:
    """Check ``root`` and load it. Raises SyncRefused (writing nothing) if it has errors.

    The caller owns the transaction: commit on success, roll back on any exception.
    """
    progress.phase(CHECKING)
    result = result or check_tree(root)
    if result.errors:
        raise SyncRefused(result.errors)
    root = root.resolve()
    single_course = (root / "course.md").is_file()
    courses_root = root.parent if single_course else root
    syncer = _Syncer(result, courses_root, full_tree=not single_course)
    warnings = result.warnings + archive_warnings(result)
    report = syncer.run(progress)
    report.warnings = warnings
    report.commit = git_commit(root)
    db.session.add(
        CourseSync(source_commit=report.commit, content_hash=report.content_hash, counts=report.counts())
    )
    db.session.flush()
    lessons_synced.send(  # receivers write in this transaction
        report, lesson_ids=syncer.touched_lesson_ids(), prepared=syncer.prepared_lessons()
    )
    if not single_course:
        course_ids = {key: id_ for key, id_ in db.session.execute(sa.select(Course.key, Course.id))}
        programs_synced.send(report, programs=result.programs, steps=result.program_steps,
                             course_ids=course_ids, report=report, render_intro=syncer.program_intro)
    return report
