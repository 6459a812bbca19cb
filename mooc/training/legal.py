"""Whose completions rest on a legal document.

A completion rests on the documents the lessons of the edition completed declared (front
matter ``legal:``, kept per edition as ``CourseEdition.legal``), not on what the course's
lessons declare now: an author who moves a lesson to a new decree does not change what the
people who read the old lesson were taught. When the edition completed is not known
(completed before editions kept their basis, or imported from elsewhere), the course's live
lessons now stand for it.

A person's *latest completed* cycle of a course is what they hold (a renewal they passed
replaces the completion before it). The impact report counts these people per document; a
refresher for a superseded document enrols them (``refreshers.open_refreshers``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from mooc.courses.models import Course, CourseEdition, LegalDocument, Lesson, LessonLegalBasis
from mooc.database import alias
from mooc.extensions import db
from mooc.formats.legal import number_key
from mooc.roster.models import Staff
from mooc.training.models import Enrolment


@dataclass
class Basis:
    """For one document: the editions (course id -> content hashes) whose basis included it,
    the courses whose live lessons declare it now, and each course's editions whose basis is
    recorded (a completion of any other edition of such a course stands on the live lessons)."""

    editions: dict[int, set[str]] = field(default_factory=dict)
    live: set[int] = field(default_factory=set)
    recorded: dict[int, set[str]] = field(default_factory=dict)

    @property
    def courses(self) -> set[int]:
        return set(self.editions) | self.live

    def condition(self, enrolment: Any = Enrolment) -> sa.ColumnElement[bool]:
        """Which completions (rows of ``enrolment``, the model or an alias) rest on the document."""
        either: list[sa.ColumnElement[bool]] = []
        for course_id in sorted(self.courses):
            rested = sorted(self.editions.get(course_id, ()))
            recorded = sorted(self.recorded.get(course_id, ()))
            if rested:
                either.append(sa.and_(enrolment.course_id == course_id,
                                      enrolment.completed_version.in_(rested)))
            if course_id in self.live:
                unknown = enrolment.completed_version.is_(None)
                if recorded:
                    unknown = sa.or_(unknown, enrolment.completed_version.not_in(recorded))
                either.append(sa.and_(enrolment.course_id == course_id, unknown))
        return sa.or_(*either) if either else sa.false()


def bases(document_ids: Iterable[int]) -> dict[int, Basis]:
    """document id -> its Basis. Three statements whatever the number of documents (the
    editions are read whole: one row per edition ever recorded)."""
    ids = list(document_ids)
    if not ids:
        return {}
    keys = dict(db.session.execute(
        sa.select(LegalDocument.key, LegalDocument.id).where(LegalDocument.id.in_(ids))).all())
    found = {document_id: Basis() for document_id in ids}
    live_courses = sa.select(Course.id).where(Course.archived.is_(False))
    recorded: dict[int, set[str]] = defaultdict(set)
    for course_id, content_hash, legal in db.session.execute(
            sa.select(CourseEdition.course_id, CourseEdition.content_hash, CourseEdition.legal)
            .where(CourseEdition.legal.is_not(None), CourseEdition.course_id.in_(live_courses))):
        recorded[course_id].add(content_hash)
        for key in legal or ():
            if key in keys:
                found[keys[key]].editions.setdefault(course_id, set()).add(content_hash)
    for document_id, course_id in db.session.execute(
            sa.select(LessonLegalBasis.document_id, Lesson.course_id).distinct()
            .join(Lesson, Lesson.id == LessonLegalBasis.lesson_id)
            .join(Course, Course.id == Lesson.course_id)
            .where(LessonLegalBasis.document_id.in_(ids), Lesson.archived.is_(False),
                   Course.archived.is_(False))):
        found[document_id].live.add(course_id)
    for basis in found.values():
        basis.recorded = {course_id: recorded[course_id] for course_id in basis.courses}
    return found


def _held(units: Iterable[int] | None) -> sa.Select:
    """(staff id, course id) of each person's latest completed cycle of each course, as a select
    to narrow with a Basis condition; ``units``: only people of these units."""
    later = alias(Enrolment, "later")
    statement = sa.select(Enrolment.staff_id, Enrolment.course_id).where(
        Enrolment.completed_at.is_not(None),
        ~sa.exists().where(later.staff_id == Enrolment.staff_id, later.course_id == Enrolment.course_id,
                           later.cycle > Enrolment.cycle, later.completed_at.is_not(None)))
    if units is not None:
        statement = statement.join(Staff, Staff.id == Enrolment.staff_id).where(
            Staff.unit_id.in_(list(units)))
    return statement


def resting_by_course(document_id: int, units: Iterable[int] | None = None) -> dict[int, set[int]]:
    """course id -> the staff ids holding a completion of it that rested on the document."""
    basis = bases([document_id])[document_id]
    if not basis.courses:
        return {}
    found: dict[int, set[int]] = defaultdict(set)
    for staff_id, course_id in db.session.execute(_held(units).where(basis.condition())):
        found[course_id].add(staff_id)
    return dict(found)


def completions_resting_on(number: str, units: Iterable[int] | None = None) -> set[int]:
    """The staff ids of the people holding a completion that rested on the document ``number``
    (any spelling: 55/2025/ND-CP finds 55/2025/NĐ-CP); ``units``: only people of these units."""
    document_id = db.session.scalar(
        sa.select(LegalDocument.id).where(LegalDocument.key == number_key(number)))
    if document_id is None:
        return set()
    return set().union(*resting_by_course(document_id, units).values())


def completions_by_document(document_ids: list[int], units: Iterable[int] | None = None,
                            found: dict[int, Basis] | None = None) -> dict[int, int]:
    """document id -> how many people hold a completion that rested on it (one statement;
    ``found``: the documents' bases when the caller read them already)."""
    found = found if found is not None else bases(document_ids)
    selects = []
    for document_id in document_ids:
        basis = found[document_id]
        if basis.courses:
            held = _held(units).where(basis.condition()).subquery()
            selects.append(sa.select(sa.literal(document_id).label("document_id"), held.c.staff_id))
    if not selects:
        return {}
    inner = sa.union_all(*selects).subquery()
    rows = db.session.execute(
        sa.select(inner.c.document_id, sa.func.count(sa.distinct(inner.c.staff_id)))
        .group_by(inner.c.document_id))
    return {document_id: people for document_id, people in rows}
