"""The legal impact report: each document superseded (or to be within N days), the courses and
lessons resting on it, and how many people in the reader's scope hold a completion that
rested on it. A handful of queries, whatever the number of documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from mooc.auth.models import User
from mooc.courses.models import Course, LegalDocument, Lesson, LessonLegalBasis
from mooc.extensions import db
from mooc.roster.scope import visible_units
from mooc.training.legal import bases, completions_by_document

MAX_DAYS = 3650
DEFAULT_DAYS = 90


@dataclass
class RestingCourse:
    id: int
    key: str
    title: str
    lessons: list[tuple[str, str]] = field(default_factory=list)  # (key, title), in course order
    # no live lesson declares the document any more (its author moved them to another), but an
    # earlier edition people completed did: their completions still rest on it
    updated: bool = False


@dataclass
class ImpactRow:
    document: LegalDocument
    courses: list[RestingCourse] = field(default_factory=list)
    people: int = 0

    @property
    def lessons(self) -> int:
        return sum(len(course.lessons) for course in self.courses)


def superseded_impact(user: User, day: date, within_days: int = DEFAULT_DAYS) -> list[ImpactRow]:
    """Documents superseded on or before ``day`` + ``within_days``, earliest first; people
    counted in ``user``'s scope (a unit manager: their subtree; ministry readers: everyone)."""
    documents = list(db.session.scalars(
        sa.select(LegalDocument)
        .where(LegalDocument.superseded_from.is_not(None), LegalDocument.archived.is_(False),
               LegalDocument.superseded_from <= day + timedelta(days=within_days))
        .order_by(LegalDocument.superseded_from, LegalDocument.number)
    ))
    rows = {document.id: ImpactRow(document) for document in documents}
    if not rows:
        return []
    resting = db.session.execute(
        sa.select(LessonLegalBasis.document_id, Course.id, Course.key, Course.title, Lesson.key, Lesson.title)
        .join(Lesson, Lesson.id == LessonLegalBasis.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(LessonLegalBasis.document_id.in_(rows), Lesson.archived.is_(False), Course.archived.is_(False))
        .order_by(Course.title, Lesson.module_id, Lesson.position, Lesson.key)
    ).all()
    for document_id, course_id, course_key, course_title, lesson_key, lesson_title in resting:
        courses = rows[document_id].courses
        if not courses or courses[-1].id != course_id:
            courses.append(RestingCourse(course_id, course_key, course_title))
        courses[-1].lessons.append((lesson_key, lesson_title))
    found = bases(list(rows))
    earlier = {course_id for basis in found.values() for course_id in basis.editions}
    titles = {course_id: (key, title) for course_id, key, title in db.session.execute(
        sa.select(Course.id, Course.key, Course.title).where(Course.id.in_(earlier)))} if earlier else {}
    for document_id, row in rows.items():
        listed = {course.id for course in row.courses}
        for course_id in sorted(set(found[document_id].editions) - listed, key=lambda c: titles[c][1]):
            key, title = titles[course_id]
            row.courses.append(RestingCourse(course_id, key, title, updated=True))
    people = completions_by_document(list(rows), visible_units(user), found)
    for document_id, row in rows.items():
        row.people = people.get(document_id, 0)
    return list(rows.values())
