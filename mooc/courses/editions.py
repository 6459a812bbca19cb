"""Editions of a course as the database keeps them, and what changed since one of them.

The sync records, for every content hash a course takes (what a completion stores as
``completed_version``), a ``CourseEdition`` naming the lesson versions it was made of, and a
``LessonVersion`` (title, text, HTML) for each lesson version it has not seen. So "what
changed since the edition you completed" is read from the database, never from git.

A lesson has *changed* when its title or words differ (Unicode NFC, spacing ignored): a
re-render that changes nothing people read (a new renderer, a moved link target) is not a
change, and the diff of a changed lesson is ``diffing.diff_text`` of the two texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from mooc import events
from mooc.courses import diffing
from mooc.courses.models import Course, CourseEdition, LegalDocument, Lesson, LessonLegalBasis, LessonVersion
from mooc.courses.queries import course_cache
from mooc.database import chunks
from mooc.extensions import db

ADDED, CHANGED, REMOVED = "added", "changed", "removed"


@dataclass(frozen=True)
class LessonChange:
    kind: str  # ADDED | CHANGED | REMOVED
    lesson_id: int
    key: str
    title: str


@dataclass(frozen=True)
class Changes:
    """What changed in a course's lessons since one edition. ``known`` false: that edition was
    never recorded (completed before lesson versions were kept, or imported), so nothing
    can be said; the lists are then empty."""

    known: bool
    edition: int = 0  # course.md `edition:` of the edition compared with
    changes: tuple[LessonChange, ...] = field(default_factory=tuple)

    def of_kind(self, kind: str) -> list[LessonChange]:
        return [change for change in self.changes if change.kind == kind]

    @property
    def added(self) -> list[LessonChange]:
        return self.of_kind(ADDED)

    @property
    def changed(self) -> list[LessonChange]:
        return self.of_kind(CHANGED)

    @property
    def removed(self) -> list[LessonChange]:
        return self.of_kind(REMOVED)

    @property
    def any(self) -> bool:
        return bool(self.changes)

    @property
    def to_take(self) -> frozenset[int]:
        """The lessons a refresher asks for: the added and the changed ones."""
        return frozenset(c.lesson_id for c in self.changes if c.kind in (ADDED, CHANGED))

    def kind_of(self, lesson_id: int) -> str | None:
        return next((c.kind for c in self.changes if c.lesson_id == lesson_id), None)


# --- recording, at sync -------------------------------------------------------------------------


def record(courses: list[Course]) -> None:
    """Record the editions these courses are at, and any lesson version not kept yet (a few
    statements whatever the number of courses). Called by the sync after its flush, in its
    transaction; the new rows go with the sync's next flush (a cold sync keeps its few
    flushes). Harmless to call again (an edition or version already kept is left)."""
    if not courses:
        return
    with db.session.no_autoflush:
        _record(courses)


def _record(courses: list[Course]) -> None:
    ids = [course.id for course in courses]
    live = db.session.execute(
        sa.select(Lesson.id, Lesson.course_id, Lesson.source_hash, Lesson.title)
        .where(Lesson.course_id.in_(ids), Lesson.archived.is_(False), Lesson.source_hash != "")
        .order_by(Lesson.id)
    ).all()
    _keep_versions(ids, [(row.id, row.source_hash) for row in live])
    known = {(row.course_id, row.content_hash) for row in db.session.execute(
        sa.select(CourseEdition.course_id, CourseEdition.content_hash)
        .where(CourseEdition.course_id.in_(ids)))}
    by_course: dict[int, list[list[int | str]]] = {course_id: [] for course_id in ids}
    for row in live:
        by_course[row.course_id].append([row.id, row.source_hash])
    declared: dict[int, set[str]] = {course_id: set() for course_id in ids}
    for course_id, key in db.session.execute(
            sa.select(Lesson.course_id, LegalDocument.key)
            .join(LessonLegalBasis, LessonLegalBasis.lesson_id == Lesson.id)
            .join(LegalDocument, LegalDocument.id == LessonLegalBasis.document_id)
            .where(Lesson.course_id.in_(ids), Lesson.archived.is_(False))):
        declared[course_id].add(key)
    for course in courses:
        if course.content_hash and (course.id, course.content_hash) not in known:
            db.session.add(CourseEdition(course_id=course.id, content_hash=course.content_hash,
                                         edition=course.edition, source_commit=course.source_commit,
                                         lessons=by_course[course.id], current=True,
                                         legal=sorted(declared[course.id])))
    _mark_current([course for course in courses if course.content_hash])


def _keep_versions(course_ids: list[int], live: list[tuple[int, str]]) -> None:
    """A LessonVersion for each (lesson id, source hash) of ``live`` not kept yet."""
    kept = {(row.lesson_id, row.source_hash) for row in db.session.execute(
        sa.select(LessonVersion.lesson_id, LessonVersion.source_hash)
        .join(Lesson, Lesson.id == LessonVersion.lesson_id)
        .where(Lesson.course_id.in_(course_ids)))}
    missing = [lesson_id for lesson_id, source_hash in live if (lesson_id, source_hash) not in kept]
    for chunk in chunks(missing, 500):  # (their text and HTML: 500 lessons read at a time)
        for lesson in db.session.scalars(sa.select(Lesson).where(Lesson.id.in_(chunk))):
            db.session.add(LessonVersion(lesson_id=lesson.id, source_hash=lesson.source_hash,
                                         title=lesson.title, text=lesson.text, html=lesson.html))


def _mark_current(courses: list[Course]) -> None:
    """Keep ``CourseEdition.current`` true for the editions whose lessons say what the course's
    lessons say now. Only editions still marked current are looked at again (one that fell
    behind stays behind unless the very words come back, which a later sync of it notices
    when it records that content hash again: it is then current)."""
    flipped = False
    for course in courses:
        editions = db.session.scalars(sa.select(CourseEdition).where(  # (the new one is current)
            CourseEdition.course_id == course.id,
            sa.or_(CourseEdition.current.is_(True), CourseEdition.content_hash == course.content_hash)))
        for edition in editions:
            now_current = edition.content_hash == course.content_hash or not _compare(course, edition).any
            if edition.current != now_current:
                edition.current = now_current
                flipped = True
    if flipped:
        # Who is "current with the latest editions" changed for everyone who completed one of
        # these editions: the reports' summary recomputes its rows before this commits (all of
        # them: this layer does not read enrolments; a course's new edition is a rare event).
        events.touched(None)


def refresh_legal() -> None:
    """Keep each edition's ``legal_superseded_from`` (the earliest day a document its lessons
    declared is wholly superseded; a partly superseded one, or one that left the registry,
    does not count) true to the registry the sync just read. A handful of rows: one per
    edition ever recorded. When one changes, who is current with the legal basis changed
    for everyone who completed it: the reports' summary recomputes."""
    with db.session.no_autoflush:
        superseded: dict[str, date] = {key: day for key, day in db.session.execute(  # (never None here)
            sa.select(LegalDocument.key, LegalDocument.superseded_from)
            .where(LegalDocument.superseded_from.is_not(None), LegalDocument.archived.is_(False),
                   sa.func.coalesce(LegalDocument.superseded_extent, "wholly") != "partly"))
            if day is not None}
        flipped = False
        for edition in db.session.scalars(sa.select(CourseEdition).where(CourseEdition.legal.is_not(None))):
            days = [superseded[key] for key in edition.legal or () if key in superseded]
            day = min(days) if days else None
            if edition.legal_superseded_from != day:
                edition.legal_superseded_from = day
                flipped = True
    if flipped:
        events.touched(None)


# --- reading ------------------------------------------------------------------------------------


def edition_of(course_id: int, content_hash: str | None) -> CourseEdition | None:
    if not content_hash:
        return None
    return db.session.scalar(sa.select(CourseEdition).where(
        CourseEdition.course_id == course_id, CourseEdition.content_hash == content_hash))


def changes_since(course: Course, content_hash: str | None) -> Changes:
    """What changed in ``course``'s lessons since the edition ``content_hash`` (a completion's
    ``completed_version``). Kept in the course's cache by its version: a handful of
    statements once per course version, edition and process."""
    if not content_hash:
        return Changes(False)
    if content_hash == course.content_hash:
        return Changes(True, course.edition)
    return course_cache().get(("changes", course.id, course.version, content_hash),
                              lambda: _changes(course, content_hash))


def _changes(course: Course, content_hash: str) -> Changes:
    edition = edition_of(course.id, content_hash)
    if edition is None:
        return Changes(False)
    return _compare(course, edition)


def _compare(course: Course, edition: CourseEdition) -> Changes:
    then = {int(lesson_id): source_hash for lesson_id, source_hash in edition.lessons}
    now = db.session.execute(
        sa.select(Lesson.id, Lesson.key, Lesson.title, Lesson.source_hash, Lesson.module_id, Lesson.position)
        .where(Lesson.course_id == course.id, Lesson.archived.is_(False))
        .order_by(Lesson.module_id, Lesson.position, Lesson.key)
    ).all()
    changes = _added_and_changed(now, then)
    live = {row.id for row in now}
    changes += _removed([lesson_id for lesson_id in then if lesson_id not in live], then)
    return Changes(True, edition.edition, tuple(changes))


def _added_and_changed(now: Sequence[Any], then: dict[int, str]) -> list[LessonChange]:
    """The live lessons (rows, in course order) not in the edition, and those whose words
    differ from their version in it (hashes differing is not enough: see the module text)."""
    differ = [row for row in now if row.id in then and then[row.id] != row.source_hash]
    old_words = _versions([(row.id, then[row.id]) for row in differ])
    new_words = _current_words([row.id for row in differ])
    changed = {row.id for row in differ
               if not _same(old_words.get((row.id, then[row.id])), new_words.get(row.id))}
    return [LessonChange(ADDED if row.id not in then else CHANGED, row.id, row.key, row.title)
            for row in now if row.id not in then or row.id in changed]


def _removed(gone: list[int], then: dict[int, str]) -> list[LessonChange]:
    """The edition's lessons no longer live, titled as they were then."""
    if not gone:
        return []
    titles = {(row.lesson_id, row.source_hash): row.title for row in db.session.execute(
        sa.select(LessonVersion.lesson_id, LessonVersion.source_hash, LessonVersion.title)
        .where(LessonVersion.lesson_id.in_(gone)))}
    keys = {row.id: row.key for row in db.session.execute(
        sa.select(Lesson.id, Lesson.key).where(Lesson.id.in_(gone)))}
    return [LessonChange(REMOVED, lesson_id, keys.get(lesson_id, ""),
                         titles.get((lesson_id, then[lesson_id]), keys.get(lesson_id, "")))
            for lesson_id in gone]


def _same(old: tuple[str, str] | None, new: tuple[str, str] | None) -> bool:
    """Whether two (title, text) say the same; an unknown side is a change."""
    if old is None or new is None:
        return False
    return diffing.same_words(old[0], new[0]) and diffing.same_words(old[1], new[1])


def _versions(pairs: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[str, str]]:
    """(lesson id, source hash) -> (title, text) of these kept versions, in one statement."""
    if not pairs:
        return {}
    wanted = set(pairs)
    rows = db.session.execute(
        sa.select(LessonVersion.lesson_id, LessonVersion.source_hash, LessonVersion.title, LessonVersion.text)
        .where(LessonVersion.lesson_id.in_({lesson_id for lesson_id, _hash in pairs}))
    ).all()
    return {(r.lesson_id, r.source_hash): (r.title, r.text)
            for r in rows if (r.lesson_id, r.source_hash) in wanted}


def _current_words(lesson_ids: list[int]) -> dict[int, tuple[str, str]]:
    if not lesson_ids:
        return {}
    return {row.id: (row.title, row.text) for row in db.session.execute(
        sa.select(Lesson.id, Lesson.title, Lesson.text).where(Lesson.id.in_(lesson_ids)))}


@dataclass(frozen=True)
class LessonDiff:
    """A changed lesson's words then and now, as blocks (``diffing``), with the edition."""

    edition: int
    title_before: str
    blocks: list[diffing.Block]

    def shown(self, context: int = 1) -> list[diffing.Block | None]:
        return diffing.with_context(self.blocks, context)


def lesson_diff(course: Course, lesson: Lesson, content_hash: str | None) -> LessonDiff | None:
    """The word-level diff of ``lesson`` since the edition ``content_hash``, or None when the
    lesson did not change since then (or that edition, or its version of the lesson, was
    not kept; a lesson added since has no diff: it is all new). Kept in the course's cache
    by its version, like ``changes_since``."""
    if changes_since(course, content_hash).kind_of(lesson.id) != CHANGED:
        return None
    return course_cache().get(("diff", course.id, course.version, content_hash, lesson.id),
                              lambda: _lesson_diff(course, lesson, content_hash))


def _lesson_diff(course: Course, lesson: Lesson, content_hash: str | None) -> LessonDiff | None:
    edition = edition_of(course.id, content_hash)
    if edition is None:
        return None
    then = {int(lesson_id): source_hash for lesson_id, source_hash in edition.lessons}
    version = db.session.scalar(sa.select(LessonVersion).where(
        LessonVersion.lesson_id == lesson.id, LessonVersion.source_hash == then.get(lesson.id, "")))
    if version is None:
        return None
    return LessonDiff(edition.edition, version.title, diffing.diff_text(version.text, lesson.text))


@dataclass(frozen=True)
class ReaderNews:
    """What a lesson page tells its reader about editions: the diff since the edition they
    completed (a changed lesson), that the lesson is new since then, and whether their
    refresher cycle asks them to read it again (read before it changed)."""

    diff: LessonDiff | None = None
    added_since: int | None = None  # the edition it is new since
    redo: bool = False


def for_reader(course: Course, lesson: Lesson, completed_version: str | None, refresher_of: str | None,
               read_fresh: bool) -> ReaderNews:
    """No statement when the reader completed the current edition (or none) and is in no
    refresher; otherwise what the course cache does not hold yet."""
    diff, added_since, redo = None, None, False
    if completed_version and completed_version != course.content_hash:
        changes = changes_since(course, completed_version)
        kind = changes.kind_of(lesson.id)
        if kind == CHANGED:
            diff = lesson_diff(course, lesson, completed_version)
        elif kind == ADDED:
            added_since = changes.edition
    if refresher_of and not read_fresh:
        asked = changes_since(course, refresher_of)
        redo = asked.known and lesson.id in asked.to_take
    return ReaderNews(diff, added_since, redo)
