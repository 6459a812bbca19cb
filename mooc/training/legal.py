"""Whose completions rested on a legal document: the people holding a completion of a course
that has a live lesson declaring the document (front matter ``legal:``). The impact report
counts them per document; a refresher for a superseded document enrols them."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from mooc.courses.models import Course, LegalDocument, Lesson, LessonLegalBasis
from mooc.extensions import db
from mooc.formats.legal import number_key
from mooc.roster.models import Staff
from mooc.training.models import Enrolment


def _resting_on(units: Iterable[int] | None) -> sa.Select:
    """(document id, staff id) of every completion of a live course whose live lessons rest on
    the document; ``units``: only people of these units (None: everybody)."""
    statement = (
        sa.select(LessonLegalBasis.document_id, Enrolment.staff_id)
        .join(Lesson, Lesson.id == LessonLegalBasis.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Enrolment, Enrolment.course_id == Lesson.course_id)
        .where(Lesson.archived.is_(False), Course.archived.is_(False), Enrolment.completed_at.is_not(None))
    )
    if units is not None:
        statement = statement.join(Staff, Staff.id == Enrolment.staff_id).where(
            Staff.unit_id.in_(list(units)))
    return statement


def completions_resting_on(number: str, units: Iterable[int] | None = None) -> set[int]:
    """The staff ids of the people holding a completion that rested on the document ``number``
    (any spelling: 55/2025/ND-CP finds 55/2025/NĐ-CP); ``units``: only people of these units."""
    inner = _resting_on(units).join(LegalDocument, LegalDocument.id == LessonLegalBasis.document_id).where(
        LegalDocument.key == number_key(number)).subquery()
    return set(db.session.scalars(sa.select(inner.c.staff_id).distinct()))


def completions_by_document(document_ids: list[int], units: Iterable[int] | None = None) -> dict[int, int]:
    """document id -> how many people hold a completion that rested on it (one query)."""
    if not document_ids:
        return {}
    inner = _resting_on(units).where(LessonLegalBasis.document_id.in_(document_ids)).subquery()
    rows = db.session.execute(
        sa.select(inner.c.document_id, sa.func.count(sa.distinct(inner.c.staff_id)))
        .group_by(inner.c.document_id)
    ).all()
    return {document_id: people for document_id, people in rows}
