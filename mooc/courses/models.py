"""Courses in the database, keyed by the stable ids of their files, and lesson progress.

A re-sync updates rows in place (matched by key); what disappears from the files is
archived, never deleted, so progress and attempts keep pointing at it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, relationship

from mooc import clock, versions
from mooc.database import CreatedAt, UTCDateTime
from mooc.extensions import Model


class Course(CreatedAt, Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    code: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(300))
    edition: Mapped[int]
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    hours: Mapped[float] = mapped_column(sa.Float, default=0)
    language: Mapped[str] = mapped_column(sa.String(8), default="vi")
    intro_html: Mapped[str] = mapped_column(sa.Text, default="")
    source_dir: Mapped[str] = mapped_column(sa.String(200))  # folder under the courses directory
    source_hash: Mapped[str] = mapped_column(sa.String(64), default="")  # course.md + link map
    content_hash: Mapped[str] = mapped_column(sa.String(64), default="")  # the whole course
    source_commit: Mapped[str | None] = mapped_column(sa.String(64))
    archived: Mapped[bool] = mapped_column(default=False)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # course.md `completion:` (default: every lesson done, every quiz passed)
    completion: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Raised by one in the transaction that changes the course or any of its modules, lessons
    # or quizzes (mooc/courses/versions.py): what the pages cache is keyed by it.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    modules: Mapped[list[Module]] = relationship(back_populates="course", order_by="Module.position")


class Module(Model):
    __tablename__ = "course_modules"
    __table_args__ = (sa.UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(120))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(300))
    intro_html: Mapped[str] = mapped_column(sa.Text, default="")
    source_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    archived: Mapped[bool] = mapped_column(default=False)

    course: Mapped[Course] = relationship(back_populates="modules")


class CourseItem:
    """What lessons and quizzes share: their place in a course, their identity, their source."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (sa.UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    module_id: Mapped[int] = mapped_column(sa.ForeignKey("course_modules.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(250))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(300))
    source_path: Mapped[str] = mapped_column(sa.String(400), default="")
    source_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    archived: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Keys it had before (front matter `previously:`, or the file name's key before an `id`):
    # their addresses redirect here.
    previous_keys: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    @declared_attr
    def course(cls) -> Mapped[Course]:
        return relationship(Course)

    @declared_attr
    def module(cls) -> Mapped[Module]:
        return relationship(Module)


class Lesson(CourseItem, Model):
    __tablename__ = "lessons"

    minutes: Mapped[int] = mapped_column(default=0)
    html: Mapped[str] = mapped_column(sa.Text, default="")
    text: Mapped[str] = mapped_column(sa.Text, default="")  # plain text, for search
    headings: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)


class Quiz(CourseItem, Model):
    """A quiz file: its settings and questions as parsed at sync (attempts keep their own copy)."""

    __tablename__ = "quizzes"

    intro_html: Mapped[str] = mapped_column(sa.Text, default="")
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)


class LessonVersion(Model):
    """The words of one version of a lesson (one row per lesson and source hash), written at
    sync and never changed: what "what changed since the edition you completed" compares,
    from the database alone (no git checkout at run time). See mooc/courses/editions.py."""

    __tablename__ = "lesson_versions"
    __table_args__ = (sa.UniqueConstraint("lesson_id", "source_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id"))
    source_hash: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    text: Mapped[str] = mapped_column(sa.Text, default="")
    html: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class CourseEdition(Model):
    """One content hash a course had (what a completion records as ``completed_version``) and
    the lesson versions it was made of: ``lessons`` is [[lesson id, source hash], ...].
    ``current``: its lessons say the same words as the course's lessons now (kept true by the
    sync), so a person who completed it is current with the latest edition."""

    __tablename__ = "course_editions"
    __table_args__ = (sa.UniqueConstraint("course_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    edition: Mapped[int] = mapped_column(default=0)  # course.md `edition:` then
    source_commit: Mapped[str | None] = mapped_column(sa.String(64))
    lessons: Mapped[list[list[Any]]] = mapped_column(sa.JSON, default=list)
    current: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The legal basis its lessons declared (document keys, ``formats.legal.number_key``): what
    # a completion of it rested on. None: not recorded (editions kept before the basis was).
    legal: Mapped[list[str] | None] = mapped_column(sa.JSON(none_as_null=True))
    # The earliest day one of those documents is wholly superseded (kept by the sync as the
    # registry changes): from that day a completion of this edition is not current with the
    # legal basis.
    legal_superseded_from: Mapped[date | None]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class LessonProgress(Model):
    """A lesson marked as done. One row per person and lesson (a constraint, not a check)."""

    __tablename__ = "lesson_progress"
    __table_args__ = (sa.UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class LegalDocument(Model):
    """A document of the legal registry (``courses/_phap-ly.yaml``), as the last sync read it.
    Kept when it leaves the registry (archived): completions that rested on it still name it."""

    __tablename__ = "legal_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)  # formats.legal.number_key()
    number: Mapped[str] = mapped_column(sa.String(80))  # as written: 55/2025/NĐ-CP
    kind: Mapped[str] = mapped_column(sa.String(40), default="")
    title: Mapped[str] = mapped_column(sa.String(400), default="")
    issuer: Mapped[str] = mapped_column(sa.String(200), default="")
    signed_on: Mapped[date | None]
    in_force_on: Mapped[date | None]
    superseded_from: Mapped[date | None] = mapped_column(index=True)
    superseded_by: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    superseded_extent: Mapped[str | None] = mapped_column(sa.String(10))  # wholly | partly
    source_url: Mapped[str] = mapped_column(sa.String(500), default="")
    verified: Mapped[bool] = mapped_column(default=True)  # False: listed under `unverified:`
    archived: Mapped[bool] = mapped_column(default=False)


class LessonLegalBasis(Model):
    """A document a lesson declares it rests on (front matter ``legal:``)."""

    __tablename__ = "lesson_legal_basis"

    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(
        sa.ForeignKey("legal_documents.id"), primary_key=True, index=True
    )

    lesson: Mapped[Lesson] = relationship()
    document: Mapped[LegalDocument] = relationship()


class CourseSync(Model):
    """One run of `mooc courses sync` (or the development auto-sync): the audit of content."""

    __tablename__ = "course_syncs"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    source_commit: Mapped[str | None] = mapped_column(sa.String(64))
    content_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


def _course_written(session: Session, obj: Any) -> tuple[bool, int | None] | None:
    """Of an object a flush writes: None when it is no course content or is unchanged; else
    whether it is a course's own row, and the id of its course (None: not yet known)."""
    if not isinstance(obj, (Course, Module, Lesson, Quiz)):
        return None
    if obj in session.dirty and not session.is_modified(obj, include_collections=False):
        return None
    if isinstance(obj, Course):
        return True, obj.id
    if obj.course_id is not None:
        return False, obj.course_id
    course = obj.__dict__.get("course")
    return False, course.id if course is not None else None


@sa.event.listens_for(Session, "before_flush")
def _raise_course_versions(session: Session, _context: Any, _instances: Any) -> None:
    """Raise ``Course.version`` of every course whose row, or a module, lesson or quiz of which,
    this flush adds, changes or deletes: the database owns the version the page caches are
    keyed by, whoever writes (the sync, the development auto-sync, a script, a test). And the
    catalog's version (``versions.COURSES``: what the home page keeps of every course's row) when
    a course is added, changed or deleted, or gets a new version."""
    changed: set[int] = set()
    catalog = False  # a course's own row added, changed or deleted
    for obj in (*session.new, *session.dirty, *session.deleted):
        if (written := _course_written(session, obj)) is not None:
            catalog = catalog or written[0]
            if written[1] is not None:
                changed.add(written[1])
    if catalog or changed:  # (a course's new version is a change of its row)
        versions.raise_version(session, versions.COURSES)
    if not changed:
        return
    with session.no_autoflush:
        for course_id in changed:
            course = session.get(Course, course_id)
            if course is not None and course not in session.deleted:
                course.version = Course.version + 1
