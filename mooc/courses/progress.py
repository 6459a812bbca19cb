"""Marking lessons as done: idempotent, and safe when two requests race."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from mooc import clock, events
from mooc.courses.models import Lesson, LessonProgress
from mooc.extensions import db


def mark_done(user_id: int, lesson_id: int, course_id: int) -> bool:
    """Record that the user finished the lesson. True if this is the first time, or the
    first time since the lesson last changed (the reading is then dated now: a refresher
    counts the lessons read in their current version, mooc.training.refreshers).

    An insert that ignores the unique (user, lesson) conflict, or updates the row only when
    it predates the lesson's last change: a double click or two tabs give one row, without
    a check-then-insert race.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = clock.now()
    changed_at = sa.select(Lesson.updated_at).where(Lesson.id == lesson_id).scalar_subquery()
    stmt = (
        insert(LessonProgress)
        .values(user_id=user_id, lesson_id=lesson_id, completed_at=now)
        .on_conflict_do_update(
            index_elements=["user_id", "lesson_id"],
            set_={"completed_at": now},
            where=LessonProgress.completed_at < changed_at,
        )
        .returning(LessonProgress.id)
    )
    # RETURNING, not rowcount: an ORM insert reports rowcount -1 on PostgreSQL.
    first_time = db.session.execute(stmt).first() is not None
    if first_time:
        events.lesson_done.send(None, user_id=user_id, lesson_id=lesson_id, course_id=course_id)
    return first_time


def unmark_done(user_id: int, lesson_id: int) -> None:
    db.session.execute(
        sa.delete(LessonProgress).where(
            LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson_id
        )
    )
