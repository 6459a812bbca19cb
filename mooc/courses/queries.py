"""Read-side queries for the course pages: a few queries per page, none per lesson."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm

from mooc import events, versions
from mooc.auth.models import User
from mooc.caching import UNKEPT, KeptCache, app_cache
from mooc.courses.models import Course, LegalDocument, Lesson, LessonLegalBasis, LessonProgress, Module, Quiz
from mooc.database import UTCDateTime, alias, ids_joined, run_compiled
from mooc.extensions import db
from mooc.formats.legal import Status, status_on

ItemT = TypeVar("ItemT", Lesson, Quiz)
T = TypeVar("T")


@dataclass
class OutlineItem:
    kind: str  # "lesson" | "quiz"
    key: str
    title: str
    minutes: int
    done: bool
    id: int


@dataclass
class OutlineModule:
    key: str
    title: str
    intro_html: str
    items: list[OutlineItem] = field(default_factory=list)
    id: int = 0


@dataclass
class Outline:
    course: Course
    modules: list[OutlineModule]
    shape: CourseShape | None = None  # the cached structure it was marked from
    done_ids: frozenset[int] = frozenset()
    lock_possible: bool = True  # False: the course cannot be locked for the person (no need to ask)
    attempted: bool = True  # False: the person has no quiz attempt nor extra attempt in the course
    enrolment: EnrolmentFacts | None = None  # the person's, when the page's statement read it (course_page)

    def module_title(self, kind: str, item_id: int) -> str:
        """The title of the module holding the item (the outline has it: no query)."""
        for module in self.modules:
            if any(item.kind == kind and item.id == item_id for item in module.items):
                return module.title
        return ""

    @property
    def items(self) -> list[OutlineItem]:
        return [item for module in self.modules for item in module.items]

    @property
    def lessons(self) -> list[OutlineItem]:
        return [item for item in self.items if item.kind == "lesson"]

    @property
    def minutes(self) -> int:
        return sum(item.minutes for item in self.lessons)

    @property
    def done_count(self) -> int:
        return sum(item.done for item in self.lessons)

    @property
    def percent(self) -> int:
        return round(100 * self.done_count / len(self.lessons)) if self.lessons else 0

    def next_item(self) -> OutlineItem | None:
        """Where to continue: the first lesson not done (or the first item)."""
        return next((item for item in self.lessons if not item.done), None) or (
            self.items[0] if self.items else None
        )

    def find(self, kind: str, key: str) -> OutlineItem | None:
        return next((item for item in self.items if item.kind == kind and item.key == key), None)

    def neighbours(self, kind: str, key: str) -> tuple[OutlineItem | None, OutlineItem | None]:
        items = self.items
        for index, item in enumerate(items):
            if item.kind == kind and item.key == key:
                return (
                    items[index - 1] if index > 0 else None,
                    items[index + 1] if index + 1 < len(items) else None,
                )
        return None, None


def live_courses() -> list[Course]:
    return list(
        db.session.scalars(sa.select(Course).where(Course.archived.is_(False)).order_by(Course.title))
    )


def get_course(key: str) -> Course | None:
    return db.session.scalar(sa.select(Course).where(Course.key == key, Course.archived.is_(False)))


def _done_in_course() -> sa.ScalarSelect[str | None]:
    """The ids of the lessons of the (outer query's) course that the person ``:user_id`` has
    done, as one comma-separated string: the done-set rides in the page's main statement."""
    course_lesson = alias(Lesson, "of_course")
    return (
        sa.select(ids_joined(LessonProgress.lesson_id))
        .join(course_lesson, course_lesson.id == LessonProgress.lesson_id)
        .where(LessonProgress.user_id == sa.bindparam("user_id"), course_lesson.course_id == Course.id)
        .scalar_subquery()
    )


# The quizzes domain's attempts and granted attempts, by table name (quizzes sits above
# courses): whether the person has any in the course rides in the course page's statement.
ATTEMPTS = sa.table("quiz_attempts", sa.column("user_id"), sa.column("quiz_id"))
GRANTS = sa.table("quiz_attempt_grants", sa.column("user_id"), sa.column("quiz_id"))


def _attempted() -> sa.ColumnElement[bool]:
    """Whether the person ``:user_id`` has an attempt, or was granted one, at any quiz of the
    (outer query's) course: when not, the page's standing need not read them
    (``Outline.attempted``)."""
    return sa.or_(*(
        sa.exists().where(table.c.user_id == sa.bindparam("user_id"), table.c.quiz_id == Quiz.id,
                          Quiz.course_id == Course.id)
        for table in (ATTEMPTS, GRANTS)))


@cache
def _course_page_statement() -> sa.Select:
    """Built once: the statements of the pages every trainee opens are not rebuilt per request."""
    return _with_the_reader(Course)


@cache
def _course_glance_statement() -> sa.Select:
    """``_course_page_statement`` with the course's id and version instead of its row: what a
    kept course page needs (``course_glance``). Built once per process."""
    return _with_the_reader(Course.id, Course.version)


def _with_the_reader(*course: Any) -> sa.Select:
    """The live course ``:key`` (``course``: what of it), with the done-set of the person
    ``:user_id``, whether the course may be locked for them and whether they have attempts at
    its quizzes. Their current enrolment (their latest cycle), its certificate's code, their
    roster status and the edition they last completed ride in it too, outer-joined by table
    name (see ``ENROLMENTS``): the standing used to read them in a statement of its own, loading
    the enrolment as an object (about 1 M instructions of the page on PostgreSQL, and a round
    trip)."""
    staff = sa.select(User.staff_id).where(User.id == sa.bindparam("user_id")).scalar_subquery()
    latest_cycle = (sa.select(sa.func.max(ENROLMENTS.c.cycle))
                    .where(ENROLMENTS.c.staff_id == staff, ENROLMENTS.c.course_id == Course.id)
                    .scalar_subquery())
    current = ENROLMENTS.alias("current_enrolment")
    completed = _reader_facts()[0]
    return (
        sa.select(*course, _done_in_course(), _lock_possible(), _attempted(),
                  *(current.c[name] for name in Enrolled._fields), STAFF.c.status, CERTIFICATES.c.code,
                  completed)
        .select_from(Course)
        .outerjoin(current, sa.and_(current.c.staff_id == staff, current.c.course_id == Course.id,
                                    current.c.cycle == latest_cycle))
        .outerjoin(STAFF, STAFF.c.id == current.c.staff_id)
        .outerjoin(CERTIFICATES, CERTIFICATES.c.enrolment_id == current.c.id)
        .where(Course.key == sa.bindparam("key"), Course.archived.is_(False))
    )


class Enrolled(NamedTuple):
    """The person's current enrolment in a course as the course page's statement read it: the
    columns of training's ``Enrolment`` that its standing reads (``training.standing``)."""

    id: int
    cycle: int
    state: str
    latest: bool
    closed_at: datetime | None
    assigned_on: date
    due_on: date | None
    completed_at: datetime | None
    refresher_of: str | None


class EnrolmentFacts(NamedTuple):
    """What the course page read of the person's enrolment for ``training.standing.of``: the
    enrolment (None: not enrolled), their roster status, its certificate's code and the edition
    they last completed."""

    enrolled: Enrolled | None
    staff_status: str
    certificate_code: str | None
    completed_version: str | None


# The training domain's enrolments, by table name: training sits above courses (it imports the
# rows the sync writes), so courses may not import its models; what the lesson page asks of
# them (the edition the person completed, the refresher cycle they are in) is these columns.
# The columns the course page reads are typed: its statement runs through the session, which
# turns SQLite's text back into dates (as the model's columns do).
ENROLMENTS = sa.table(
    "enrolments", sa.column("staff_id"), sa.column("course_id"), sa.column("cycle"), sa.column("state"),
    sa.column("completed_version"), sa.column("refresher_of"), sa.column("id"),
    sa.column("latest", sa.Boolean), sa.column("closed_at", UTCDateTime), sa.column("assigned_on", sa.Date),
    sa.column("due_on", sa.Date), sa.column("completed_at", UTCDateTime),
)
# The roster's status of the person and the enrolment's certificate, by table name likewise.
STAFF = sa.table("staff", sa.column("id"), sa.column("status"))
CERTIFICATES = sa.table("certificates", sa.column("enrolment_id"), sa.column("code"))
# Written into the statement (not bound): an IN list of bound values is re-rendered per execution.
_OPEN_STATES: tuple[sa.ColumnElement[Any], ...] = tuple(
    sa.literal_column(f"'{state}'") for state in ("not_started", "in_progress"))


def _reader_facts() -> list[sa.ScalarSelect[Any]]:
    """For the lesson page's one statement: the content hash of the edition the person
    ``:user_id`` last completed, the basis of the refresher cycle they are in (if open), and
    whether they read this lesson since it last changed."""
    staff = sa.select(User.staff_id).where(User.id == sa.bindparam("user_id")).scalar_subquery()
    mine = sa.and_(ENROLMENTS.c.staff_id == staff, ENROLMENTS.c.course_id == Course.id)
    completed = (sa.select(ENROLMENTS.c.completed_version).where(mine, ENROLMENTS.c.state == "completed")
                 .order_by(ENROLMENTS.c.cycle.desc()).limit(1).scalar_subquery())
    refresher = (sa.select(sa.case((ENROLMENTS.c.state.in_(_OPEN_STATES), ENROLMENTS.c.refresher_of)))
                 .where(mine).order_by(ENROLMENTS.c.cycle.desc()).limit(1).scalar_subquery())
    fresh = (sa.select(sa.func.count()).select_from(LessonProgress)
             .where(LessonProgress.user_id == sa.bindparam("user_id"), LessonProgress.lesson_id == Lesson.id,
                    LessonProgress.completed_at >= Lesson.updated_at).scalar_subquery())
    return [completed, refresher, fresh]


@dataclass(frozen=True)
class Reader:
    """What the lesson page knows of its reader's editions (from the page's one statement)."""

    completed_version: str | None = None  # the edition they last completed
    refresher_of: str | None = None  # the basis of the refresher cycle they are in, if open
    read_fresh: bool = False  # they marked this lesson done after it last changed


@cache
def _lesson_page_statement() -> sa.Select:
    return (
        sa.select(Course, Lesson, _done_in_course(),
                  *(fact.label(name) for fact, name in
                    zip(_reader_facts(), ("completed_version", "refresher_of", "read_fresh"), strict=True)))
        .join(Lesson, Lesson.course_id == Course.id)
        .where(
            Course.key == sa.bindparam("key"),
            Course.archived.is_(False),
            Lesson.key == sa.bindparam("lesson_key"),
            Lesson.archived.is_(False),
        )
        .options(sa.orm.defer(Lesson.text))  # the plain text is for search
    )


def _ids(text: str | None) -> set[int]:
    return {int(part) for part in text.split(",")} if text else set()


def course_page(key: str, user_id: int | None) -> Outline | None:
    """The live course ``key`` and its outline marked for ``user_id``: one statement when the
    course's version is cached (the course row, with the done-set, whether the course may
    be locked for the person and whether they have attempts at its quizzes in subqueries, and
    their current enrolment outer-joined: ``Outline.enrolment``)."""
    row = db.session.execute(_course_page_statement(), {"key": key, "user_id": user_id or 0}).one_or_none()
    if row is None:
        return None
    course, done, lock_possible, attempted, *reader = row
    course_cache().put(("facts", course.id, course.version), CourseFacts(
        course.id, course.key, course.version, course.content_hash, course.edition, course.completion))
    return _marked(course, _ids(done), lock_possible, attempted, reader)


def _marked(course: Any, done: set[int], lock_possible: Any, attempted: Any, reader: list[Any]) -> Outline:
    *enrolled, staff_status, certificate_code, completed_version = reader
    outline = mark(course, shape(course), done)
    outline.lock_possible = bool(lock_possible)
    outline.attempted = bool(attempted)
    outline.enrolment = (
        EnrolmentFacts(Enrolled(*enrolled), staff_status or "active", certificate_code, completed_version)
        if enrolled[0] is not None else EnrolmentFacts(None, "active", None, None))
    return outline


class CourseFacts(NamedTuple):
    """What a kept course page's person part reads of the course (``training.standing``,
    ``refreshers``, ``editions``: duck-typed as the ``Course`` they are given), kept per process
    under the course's id and the version read in the same statement as the row (any change to
    the row raises it), like the course's shape: the page's glance need not load the row."""

    id: int
    key: str
    version: int
    content_hash: str
    edition: int
    completion: dict[str, Any]


def course_glance(key: str, user_id: int) -> Outline | None:
    """The course page's statement for a kept page (``kept.ready``): the live course ``key``'s
    id and version and what the page reads of the person, without the course's row (loading it
    as an object cost more than the statement); the outline is marked for the person, its
    ``course`` the ``CourseFacts`` the full page kept for this version. None when there is no
    such live course or no facts are kept for its version (then ``course_page``)."""
    row = db.session.connection().execute(_course_glance_statement(),
                                          {"key": key, "user_id": user_id}).one_or_none()
    if row is None:
        return None
    course_id, version, done, lock_possible, attempted, *reader = row
    course = course_cache().peek(("facts", course_id, version))
    return None if course is None else _marked(course, _ids(done), lock_possible, attempted, reader)


def lesson_page(key: str, lesson_key: str, user_id: int | None) -> tuple[Outline, Lesson, Reader] | None:
    """The live lesson ``lesson_key`` of the live course ``key``, the course's outline marked
    for ``user_id`` and what the page knows of their editions, in one statement when the
    course's version is cached."""
    row = db.session.execute(
        _lesson_page_statement(), {"key": key, "lesson_key": lesson_key, "user_id": user_id or 0}
    ).one_or_none()
    if row is None:
        return None
    course, lesson, done, completed_version, refresher_of, read_fresh = row
    reader = Reader(completed_version, refresher_of, bool(read_fresh))
    return mark(course, shape(course), _ids(done)), lesson, reader


class Glance(NamedTuple):
    """What a kept lesson page needs to be found and filled (``lesson_glance``)."""

    course_id: int
    version: int
    lesson_id: int
    done_ids: frozenset[int]
    plain: bool  # nothing of the reader's own to tell (no news, no refresher) and no lock possible


def _lock_possible() -> sa.ColumnElement[bool]:
    """Whether the course may be locked for the person (``events.course_lock_possible``)."""
    asked = events.course_lock_possible.send(None, user_id=sa.bindparam("user_id"), course_id=Course.id)
    return sa.or_(sa.false(), *(condition for _receiver, condition in asked))


@cache
def _lesson_glance_statement() -> sa.Select:
    """The lesson page's statement in plain columns, no mapped objects: loading a course's and
    a lesson's rows as objects (the lesson's HTML with it) is most of a page's cost when the
    page itself is kept (mooc/kept.py). Built once per process."""
    completed, refresher, fresh = _reader_facts()
    return (
        sa.select(Course.id, Course.version, Lesson.id, _done_in_course(),
                  sa.or_(sa.func.coalesce(completed, Course.content_hash) != Course.content_hash,
                         sa.and_(refresher.isnot(None), fresh == 0),
                         _lock_possible()))
        .join(Lesson, Lesson.course_id == Course.id)
        .where(Course.key == sa.bindparam("key"), Course.archived.is_(False),
               Lesson.key == sa.bindparam("lesson_key"), Lesson.archived.is_(False))
    )


def lesson_glance(key: str, lesson_key: str, user_id: int) -> Glance | None:
    """The live lesson's kept-page key parts and the person's done-set in one statement on the
    connection (no mapped objects), its SQL compiled once (``database.run_compiled``); None when
    there is no such live lesson."""
    row: Any = run_compiled(db.session.connection(), _lesson_glance_statement(),
                            {"key": key, "lesson_key": lesson_key, "user_id": user_id}).one_or_none()
    if row is None:
        return None
    course_id, version, lesson_id, done, own = row
    return Glance(course_id, version, lesson_id, frozenset(_ids(done)), not own)


def renamed_item(model: type[ItemT], course_id: int, old_key: str) -> ItemT | None:
    """The live lesson or quiz that had ``old_key`` before its identity changed
    (``previously:`` in its front matter): its old address redirects to it."""
    rows = db.session.execute(
        sa.select(model.id, model.previous_keys)
        .where(model.course_id == course_id, model.archived.is_(False))
    ).all()
    found = next((row.id for row in rows if old_key in (row.previous_keys or [])), None)
    return db.session.get(model, found) if found is not None else None


def done_lesson_ids(user_id: int, course_ids: list[int] | None = None) -> set[int]:
    stmt = sa.select(LessonProgress.lesson_id).where(LessonProgress.user_id == user_id)
    if course_ids is not None:
        stmt = stmt.join(Lesson, Lesson.id == LessonProgress.lesson_id).where(
            Lesson.course_id.in_(course_ids)
        )
    return set(db.session.scalars(stmt))


def outline(course: Course, user_id: int | None) -> Outline:
    """The course's outline, marked with what ``user_id`` has done: the structure comes from
    the cache of the course's version (see shape()), the done-set is read fresh (one query)."""
    course_shape = shape(course)
    done = done_lesson_ids(user_id, [course.id]) if user_id else set()
    return mark(course, course_shape, done)


def mark(course: Course, course_shape: CourseShape, done: set[int]) -> Outline:
    modules = [
        OutlineModule(
            module.key,
            module.title,
            module.intro_html,
            [
                OutlineItem(kind, key, title, minutes, kind == "lesson" and item_id in done, item_id)
                for kind, key, title, minutes, item_id in module.items
            ],
            module.id,
        )
        for module in course_shape.modules
    ]
    return Outline(course, modules, course_shape, frozenset(done))


@dataclass(frozen=True)
class ShapeModule:
    id: int
    key: str
    title: str
    intro_html: str
    items: tuple[tuple[str, str, str, int, int], ...]  # (kind, key, title, minutes, id), in order


class LessonRow(NamedTuple):
    """A live lesson as completion counts it (``training.completion.progress_of``)."""

    id: int
    key: str
    position: int
    module_id: int


class QuizRow(NamedTuple):
    """A live quiz as completion and the attempt limits count it."""

    id: int
    key: str
    settings: Any  # the quiz's settings (its ``attempts`` limit among them); never mutated


@dataclass(frozen=True)
class BasisDocument:
    """A document a lesson rests on, as its page shows it (cached with the course's version;
    its standing is worked out per request from the day: ``status_on``)."""

    number: str
    kind: str
    title: str
    source_url: str
    verified: bool
    in_force_on: date | None
    superseded_from: date | None
    superseded_by: tuple[str, ...]
    superseded_extent: str | None

    def status(self, day: date) -> Status:
        return status_on(self, day) if self.verified else Status("unverified")


@dataclass(frozen=True)
class CourseShape:
    """What every reader of one version of a course sees of its outline (no person in it)."""

    course_id: int
    version: int
    modules: tuple[ShapeModule, ...]
    module_of: dict[tuple[str, int], ShapeModule] = field(compare=False, hash=False)
    # every live lesson and quiz of the course (in a live module or not), as completion
    # reads them: what ``training.standing`` would otherwise query again per request
    lesson_rows: tuple[LessonRow, ...] = ()
    quiz_rows: tuple[QuizRow, ...] = ()
    # lesson id -> the documents it declares it rests on (front matter `legal:`), by number
    legal: dict[int, tuple[BasisDocument, ...]] = field(default_factory=dict, compare=False, hash=False)

    def basis(self, lesson_id: int) -> tuple[BasisDocument, ...]:
        return self.legal.get(lesson_id, ())


def shape(course: Course) -> CourseShape:
    """The outline of ``course`` at its version, from this process's cache (see versions in
    docs/architecture.md): a new version of the course is a new key, so a cached shape is
    never of another version; it is loaded (three queries) once per version and process."""
    return course_cache().get(("shape", course.id, course.version), lambda: load_shape(course))


def load_shape(course: Course) -> CourseShape:
    modules = list(
        db.session.execute(
            sa.select(Module.id, Module.key, Module.title, Module.intro_html)
            .where(Module.course_id == course.id, Module.archived.is_(False))
            .order_by(Module.position, Module.key)
        ).all()
    )
    lessons = db.session.execute(
        sa.select(
            Lesson.id, Lesson.module_id, Lesson.key, Lesson.title, Lesson.minutes, Lesson.position
        ).where(Lesson.course_id == course.id, Lesson.archived.is_(False))
    ).all()
    quizzes = db.session.execute(
        sa.select(Quiz.id, Quiz.module_id, Quiz.key, Quiz.title, Quiz.position, Quiz.settings).where(
            Quiz.course_id == course.id, Quiz.archived.is_(False)
        )
    ).all()
    by_module: dict[int, list[tuple[int, str, tuple[str, str, str, int, int]]]] = {
        m.id: [] for m in modules
    }
    for row in lessons:
        if row.module_id in by_module:
            by_module[row.module_id].append(
                (row.position, row.key, ("lesson", row.key, row.title, row.minutes, row.id))
            )
    for quiz in quizzes:
        if quiz.module_id in by_module:
            by_module[quiz.module_id].append(
                (quiz.position, quiz.key, ("quiz", quiz.key, quiz.title, 0, quiz.id))
            )
    shaped = tuple(
        ShapeModule(
            m.id,
            m.key,
            m.title,
            m.intro_html,
            tuple(item for _pos, _key, item in sorted(by_module[m.id], key=lambda t: (t[0], t[1]))),
        )
        for m in modules
    )
    module_of = {(item[0], item[4]): module for module in shaped for item in module.items}
    return CourseShape(
        course.id,
        course.version,
        shaped,
        module_of,
        tuple(LessonRow(row.id, row.key, row.position, row.module_id) for row in lessons),
        tuple(QuizRow(row.id, row.key, row.settings) for row in quizzes),
        load_basis(course.id),
    )


def load_basis(course_id: int) -> dict[int, tuple[BasisDocument, ...]]:
    """Each live lesson's declared legal basis (one query), for the course's cached shape."""
    rows = db.session.execute(
        sa.select(LessonLegalBasis.lesson_id, LegalDocument)
        .join(LegalDocument, LegalDocument.id == LessonLegalBasis.document_id)
        .join(Lesson, Lesson.id == LessonLegalBasis.lesson_id)
        .where(Lesson.course_id == course_id, Lesson.archived.is_(False))
        .order_by(LessonLegalBasis.lesson_id, LegalDocument.number)
    ).all()
    basis: dict[int, list[BasisDocument]] = {}
    for lesson_id, document in rows:
        basis.setdefault(lesson_id, []).append(BasisDocument(
            document.number, document.kind, document.title, document.source_url, document.verified,
            document.in_force_on, document.superseded_from, tuple(document.superseded_by or ()),
            document.superseded_extent,
        ))
    return {lesson_id: tuple(documents) for lesson_id, documents in basis.items()}


def course_cache() -> KeptCache:
    """What one version of a course determines, keyed by the version the database owns (so
    never invalidated: a new version is a new key). In a transaction that raised a course's
    version, nothing is kept nor read from it (``versions.raised_here``): the new number is its
    own until it commits, and a rollback leaves it to the next real change."""
    if versions.raised_here(db.session(), versions.COURSES):
        return UNKEPT
    return app_cache("mooc.course_cache", KeptCache)


def course_progress(user_id: int, courses: list[Course]) -> dict[int, tuple[int, int]]:
    """course id -> (lessons done, lessons in the course), in two queries."""
    ids = [c.id for c in courses]
    if not ids:
        return {}
    totals = dict(
        db.session.execute(
            sa.select(Lesson.course_id, sa.func.count())
            .where(Lesson.course_id.in_(ids), Lesson.archived.is_(False))
            .group_by(Lesson.course_id)
        ).all()
    )
    done = dict(
        db.session.execute(
            sa.select(Lesson.course_id, sa.func.count())
            .join(LessonProgress, LessonProgress.lesson_id == Lesson.id)
            .where(Lesson.course_id.in_(ids), Lesson.archived.is_(False), LessonProgress.user_id == user_id)
            .group_by(Lesson.course_id)
        ).all()
    )
    return {course_id: (done.get(course_id, 0), totals.get(course_id, 0)) for course_id in ids}
