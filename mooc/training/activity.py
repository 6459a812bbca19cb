"""Each person's latest training activity (lesson done, quiz submitted, course completed),
kept on their roster row so that a unit's "last activity" is one max() over the roster."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from mooc.courses.models import LessonProgress
from mooc.extensions import db
from mooc.quizzes.models import QuizAttempt
from mooc.roster.models import Staff
from mooc.training.models import Enrolment


def note_activity(staff_id: int, when: datetime) -> None:
    """``staff_id`` trained at ``when`` (kept only if later than what is known)."""
    db.session.execute(
        sa.update(Staff)
        .where(Staff.id == staff_id)
        .where(sa.or_(Staff.last_training_at.is_(None), Staff.last_training_at < when))
        .values(last_training_at=when),
        execution_options={"synchronize_session": False},
    )


def recompute(connection: sa.Connection) -> None:
    """Recompute everyone's latest activity from the progress itself (after bulk loads)."""
    from mooc.auth.models import User

    staff = Staff.__table__
    sources = [
        sa.select(sa.func.max(Enrolment.completed_at)).where(Enrolment.staff_id == staff.c.id),
        sa.select(sa.func.max(LessonProgress.completed_at))
        .join(User, User.id == LessonProgress.user_id)
        .where(User.staff_id == staff.c.id),
        sa.select(sa.func.max(QuizAttempt.submitted_at))
        .join(User, User.id == QuizAttempt.user_id)
        .where(User.staff_id == staff.c.id),
    ]
    connection.execute(sa.update(staff).values(last_training_at=None))
    for source in sources:
        latest = source.scalar_subquery()
        connection.execute(
            sa.update(staff)
            .where(latest.is_not(None))
            .where(sa.or_(staff.c.last_training_at.is_(None), latest > staff.c.last_training_at))
            .values(last_training_at=latest)
        )
