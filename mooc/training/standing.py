"""Where a person stands in one course, for the course page and a quiz's result page:
the enrolment's status and due date, the certificate, what to do next, and the quizzes
that block completion because their attempts ran out."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from mooc import clock
from mooc.auth.models import User
from mooc.courses.models import Course, Quiz
from mooc.courses.queries import Enrolled, Outline
from mooc.database import alias
from mooc.extensions import db
from mooc.quizzes import attempts
from mooc.quizzes.models import AttemptGrant, QuizAttempt
from mooc.roster.models import Staff
from mooc.training import refreshers
from mooc.training.completion import CourseProgress, course_progress, cycle_start, progress_of
from mooc.training.models import Certificate, Enrolment, EnrolmentState
from mooc.training.status import EnrolmentStatus


@dataclass
class Standing:
    enrolment: Enrolment | Enrolled | None  # Enrolled: as the course page's statement read it
    status: EnrolmentStatus | None
    certificate_code: str | None  # the enrolment's certificate, if one was issued
    progress: CourseProgress
    stuck: list[Quiz]  # required, not passed, no attempt left
    only: frozenset[int] | None = None  # a refresher cycle's lessons (None: the whole course)
    completed_version: str | None = None  # the edition (content hash) of their last completed cycle

    @property
    def complete(self) -> bool:
        return self.status == EnrolmentStatus.COMPLETED or (self.enrolment is None and self.progress.complete)

    @property
    def next_key(self) -> tuple[str, str] | None:
        """The next undone item; None when all is done (or a quiz blocks the way)."""
        if self.complete or self.stuck or self.status == EnrolmentStatus.EXEMPT:
            return None
        return self.progress.next_key


def of(user: User, course: Course, outline: Outline | None = None) -> Standing:
    """Where ``user`` stands in ``course``. A page that has the course's ``outline`` (marked
    for ``user``, from the cached shape of the course's version and the done-set it read
    fresh, and the person's enrolment its statement read) passes it: the lessons, quizzes,
    done-set and enrolment are then taken from it, not read again; the attempts are read fresh
    either way. The same definition (``completion.progress_of``, ``attempts.exhausted``)
    decides both ways."""
    read = outline.enrolment if outline is not None and outline.course.id == course.id else None
    enrolment, staff_status, certificate_code, completed_version = (
        read if read is not None else _enrolment(user, course))
    status = EnrolmentStatus.of(enrolment, clock.today(), staff_status) if enrolment is not None else None
    since = cycle_start(enrolment) if enrolment is not None else None
    only = refreshers.lessons_to_take(course, enrolment)
    progress, settings, attempt_rows, grants = _progress(user, course, outline, since, only)
    stuck: list[Quiz] = []
    if status != EnrolmentStatus.COMPLETED and progress.pending_quiz_ids and user.id is not None:
        stuck_ids = attempts.exhausted(user.id, progress.pending_quiz_ids, settings=settings,
                                       attempts=attempt_rows, grants=grants, since=since)
        if stuck_ids:
            stuck = list(db.session.scalars(sa.select(Quiz).where(Quiz.id.in_(stuck_ids)).order_by(Quiz.key)))
    return Standing(enrolment, status, certificate_code, progress, stuck, only, completed_version)


def _progress(user: User, course: Course, outline: Outline | None, since: Any,
              only: frozenset[int] | None) -> tuple[CourseProgress, Any, Any, Any]:
    """The progress, and what the attempt limits need (the quizzes' settings, the attempts and
    grants; None: read them), from the page's outline when it has one, else read."""
    course_shape = outline.shape if outline is not None and outline.course.id == course.id else None
    if course_shape is None or only is not None:  # a refresher counts lessons read since they changed
        return course_progress(user.id, course, since, only), None, None, None
    assert outline is not None
    # The page's statement said whether the person has any attempt or grant in the course.
    attempt_rows, grants = (_attempts(user.id, [quiz.id for quiz in course_shape.quiz_rows], since)
                            if outline.attempted else ([], {}))
    graded = [row for row in attempt_rows if row.percent is not None]
    progress = progress_of(course.completion, course_shape.lesson_rows, course_shape.quiz_rows,
                           set(outline.done_ids), graded, since)
    return progress, {quiz.id: quiz.settings for quiz in course_shape.quiz_rows}, attempt_rows, grants


def _enrolment(user: User, course: Course) -> tuple[Enrolment | Enrolled | None, str, str | None, str | None]:
    """The person's current enrolment in ``course``, their roster status, the code of the
    enrolment's certificate and the edition (content hash) of their last completed cycle, in one
    statement (of the certificate, only its code: the pages show nothing else, and loading its
    row as an object cost the course page about 2.5 % of its instructions)."""
    if user.staff_id is None:
        return None, "active", None, None
    row = db.session.execute(_enrolment_statement(),
                             {"staff_id": user.staff_id, "course_id": course.id}).one_or_none()
    if row is None:
        return None, "active", None, None
    enrolment, staff_status, certificate_code, completed_version = row
    return enrolment, staff_status or "active", certificate_code, completed_version


@functools.cache
def _enrolment_statement() -> sa.Select:
    """``_enrolment``'s statement, built once per process (building it cost as much as running
    it): the person and the course are parameters."""
    earlier = alias(Enrolment, "earlier")
    last_completed = (
        sa.select(earlier.completed_version)
        .where(earlier.staff_id == Enrolment.staff_id, earlier.course_id == Enrolment.course_id,
               earlier.state == EnrolmentState.COMPLETED)
        .order_by(earlier.cycle.desc()).limit(1).scalar_subquery()
    )
    return (
        sa.select(Enrolment, Staff.status, Certificate.code, last_completed)
        .outerjoin(Staff, Staff.id == Enrolment.staff_id)
        .outerjoin(Certificate, Certificate.enrolment_id == Enrolment.id)
        .where(Enrolment.staff_id == sa.bindparam("staff_id"),
               Enrolment.course_id == sa.bindparam("course_id"))
        .order_by(Enrolment.cycle.desc())
        .limit(1)
    )


@functools.cache
def _attempts_and_grants() -> sa.CompoundSelect:
    """``_attempts``' statement, built once per process (the course page asks it on every view)."""
    user_id: sa.BindParameter[int] = sa.bindparam("user_id")
    quiz_ids: sa.BindParameter[list[int]] = sa.bindparam("quiz_ids", expanding=True)
    taken: Any = sa.select(
        QuizAttempt.quiz_id, QuizAttempt.status, QuizAttempt.passed, QuizAttempt.percent,
        QuizAttempt.submitted_at, sa.literal_column("0").label("extra"), QuizAttempt.started_at,
    ).where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id.in_(quiz_ids))
    granted: Any = sa.select(
        AttemptGrant.quiz_id, sa.null(), sa.null(), sa.null(), sa.null(), AttemptGrant.extra,
        AttemptGrant.granted_at,
    ).where(AttemptGrant.user_id == user_id, AttemptGrant.quiz_id.in_(quiz_ids))
    return sa.union_all(taken, granted)


def _attempts(user_id: int | None, quiz_ids: list[int],
              since: datetime | None) -> tuple[list[sa.Row], dict[int, int]]:
    """The person's attempts (of any status and cycle) at ``quiz_ids`` (what progress, the
    graded ones, and the attempt limits count) and the extra attempts granted them per quiz in
    the cycle that began at ``since``, in one statement (a grant's row has no status: an
    attempt's status is never null)."""
    if user_id is None or not quiz_ids:
        return [], {}
    rows: list[sa.Row] = []
    grants: dict[int, int] = {}
    result: sa.Result[Any] = db.session.connection().execute(_attempts_and_grants(),
                                                {"user_id": user_id, "quiz_ids": quiz_ids})
    for row in result:
        if row.status is None:
            if not attempts.counts(row.started_at, since):
                continue  # granted in an earlier cycle
            grants[row.quiz_id] = grants.get(row.quiz_id, 0) + int(row.extra or 0)
        else:
            rows.append(row)
    return rows, grants
