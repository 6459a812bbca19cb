"""Quiz attempts: what was shown, what was answered, and the grade, kept as they were."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mooc import clock
from mooc.database import UTCDateTime, enum_column
from mooc.extensions import Model


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    EXPIRED = "expired"  # the time ran out before a submit: graded on what was saved in time


class QuizAttempt(Model):
    """One attempt. ``questions`` are snapshots of what was shown (with the correct answers:
    server-side only); a later edit of the quiz never changes this attempt or its review.

    (user, quiz, number) is unique, and at most one attempt per (user, quiz) is open: a
    double-clicked start or a replayed submit cannot make a second attempt.
    """

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "quiz_id", "number"),
        sa.Index(
            "uq_quiz_attempts_one_open",
            "user_id",
            "quiz_id",
            unique=True,
            sqlite_where=sa.text("status = 'in_progress'"),
            postgresql_where=sa.text("status = 'in_progress'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id"), index=True)
    number: Mapped[int]
    status: Mapped[AttemptStatus] = mapped_column(
        enum_column(AttemptStatus, "status"),
        default=AttemptStatus.IN_PROGRESS,
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quiz_hash: Mapped[str] = mapped_column(sa.String(64), default="")  # the quiz version shown
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    score: Mapped[float | None]
    max_score: Mapped[float | None]
    percent: Mapped[float | None]
    passed: Mapped[bool | None]
    results: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # key -> score, correct

    quiz = relationship("Quiz")


class AttemptGrant(Model):
    """Extra attempts at one quiz for one person, given by a manager, an officer or an
    administrator when the quiz's attempts ran out without a pass. One row per grant (the
    audit trail says who and when too); the person's limit is the quiz's plus the sum."""

    __tablename__ = "quiz_attempt_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    quiz_id: Mapped[int] = mapped_column(sa.ForeignKey("quizzes.id"), index=True)
    extra: Mapped[int] = mapped_column(default=1)
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
