"""Each person's latest training activity (lesson done, quiz submitted, course completed),
kept on their roster row so that a unit's "last activity" is one max() over the roster."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from mooc.auth.models import User
from mooc.courses.models import LessonProgress
from mooc.database import inline_id, row_chunks
from mooc.extensions import db
from mooc.quizzes.models import QuizAttempt
from mooc.roster.models import Staff
from mooc.training.models import Enrolment


def note_activity(staff_id: int, when: datetime) -> None:
    """``staff_id`` trained at ``when`` (kept only if later than what is known)."""
    # summary: neutral (last_training_at is not in the reports' summary: events.touched not needed)
    db.session.execute(
        sa.update(Staff)
        .where(Staff.id == staff_id)
        .where(sa.or_(Staff.last_training_at.is_(None), Staff.last_training_at < when))
        .values(last_training_at=when),
        execution_options={"synchronize_session": False},
    )


def note_activities(latest: Mapping[int, datetime]) -> None:
    """``note_activity`` for many people at once (staff id -> when): one UPDATE per
    ``database.row_chunks`` of people, each given their own moment (``CASE id WHEN ...``), however
    many days a history file's completions fall on."""
    # summary: neutral (last_training_at is not in the reports' summary: events.touched not needed)
    for chunk in row_chunks(sorted(latest), per_row=2):  # each moment twice (set, and compared)
        when = sa.case({inline_id(staff_id): sa.literal(latest[staff_id], Staff.last_training_at.type)
                        for staff_id in chunk}, value=Staff.id)
        db.session.execute(
            sa.update(Staff)
            .where(Staff.id.in_([inline_id(staff_id) for staff_id in chunk]))
            .where(sa.or_(Staff.last_training_at.is_(None), Staff.last_training_at < when))
            .values(last_training_at=when),
            execution_options={"synchronize_session": False},
        )


def recompute(connection: sa.Connection) -> None:
    """Recompute everyone's latest activity from the progress itself (after bulk loads): one
    grouped pass over completions, lessons and quizzes, then one UPDATE ... FROM."""
    # summary: neutral (last_training_at is not in the reports' summary: events.touched not needed)
    staff = Staff.__table__
    moments = sa.union_all(
        sa.select(Enrolment.staff_id.label("staff_id"), Enrolment.completed_at.label("at")).where(
            Enrolment.completed_at.is_not(None)
        ),
        sa.select(User.staff_id, LessonProgress.completed_at).join(User, User.id == LessonProgress.user_id),
        sa.select(User.staff_id, QuizAttempt.submitted_at)
        .join(User, User.id == QuizAttempt.user_id)
        .where(QuizAttempt.submitted_at.is_not(None)),
    ).subquery()
    latest = (
        sa.select(moments.c.staff_id, sa.func.max(moments.c.at).label("at"))
        .where(moments.c.staff_id.is_not(None))
        .group_by(moments.c.staff_id)
        .subquery()
    )
    connection.execute(sa.update(staff).values(last_training_at=None))
    connection.execute(
        sa.update(staff).where(staff.c.id == latest.c.staff_id).values(last_training_at=latest.c.at)
    )
