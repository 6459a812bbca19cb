"""From progress to completion: what a course asks, how far a person is, and completing.

A course completes when its criteria (course.md ``completion:``; default every lesson
done and every quiz passed) are met. For a renewal cycle, the quizzes must be passed
again within the cycle; lessons read before still count. Completion records the time and
the course version (content hash, commit). Nothing here ever un-completes anyone.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mooc import clock, events
from mooc.auth.models import User
from mooc.courses.models import Course, Lesson, LessonProgress, Quiz
from mooc.extensions import db
from mooc.quizzes.models import QuizAttempt
from mooc.roster.models import Staff
from mooc.training import programs, refreshers
from mooc.training.activity import note_activity
from mooc.training.assign import expiry_of, renewal_months
from mooc.training.models import Certificate, Enrolment, EnrolmentSource, EnrolmentState

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone


@dataclass
class CourseProgress:
    lessons_done: int
    lessons_total: int
    lessons_required: int
    quizzes_passed: int
    quizzes_required: int
    best_scores: dict[int, float]  # quiz id -> best percent (in the cycle)
    next_key: tuple[str, str] | None  # ("lesson"|"quiz", key) to continue with
    pending_quiz_ids: frozenset[int] = frozenset()  # required quizzes not passed (in the cycle)

    @property
    def complete(self) -> bool:
        return self.lessons_done >= self.lessons_required and self.quizzes_passed >= self.quizzes_required

    @property
    def percent(self) -> int:
        steps = self.lessons_required + self.quizzes_required
        done = min(self.lessons_done, self.lessons_required) + min(self.quizzes_passed, self.quizzes_required)
        return round(100 * done / steps) if steps else 0

    @property
    def started(self) -> bool:
        return self.lessons_done > 0 or bool(self.best_scores)


def course_progress(user_id: int | None, course: Course, since: datetime | None = None,
                    only: frozenset[int] | None = None) -> CourseProgress:
    """How far ``user_id`` is in ``course`` (quizzes counted from ``since``, for renewals;
    ``only``: the lessons a refresher cycle asks, each read in its current version)."""
    return courses_progress(user_id, [(course, since)], None if only is None else {course.id: only})[0]


def courses_progress(
    user_id: int | None, wanted: list[tuple[Course, datetime | None]],
    only: dict[int, frozenset[int]] | None = None,
) -> list[CourseProgress]:
    """``course_progress`` for each (course, since) of ``wanted``, in four queries however many
    (``only``: course id -> the lessons of its refresher cycle)."""
    ids = sorted({course.id for course, _since in wanted})
    if not ids:
        return []
    only = only or {}
    lessons: dict[int, list[sa.Row]] = defaultdict(list)
    for row in db.session.execute(
        sa.select(Lesson.id, Lesson.key, Lesson.position, Lesson.module_id, Lesson.course_id).where(
            Lesson.course_id.in_(ids), Lesson.archived.is_(False)
        )
    ):
        lessons[row.course_id].append(row)
    quizzes: dict[int, list[sa.Row]] = defaultdict(list)
    for row in db.session.execute(
        sa.select(Quiz.id, Quiz.key, Quiz.settings, Quiz.course_id).where(
            Quiz.course_id.in_(ids), Quiz.archived.is_(False)
        )
    ):
        quizzes[row.course_id].append(row)
    done: set[int] = set()
    fresh: set[int] = set()  # done after the lesson last changed (what a refresher counts)
    attempts: Sequence[sa.Row] = []
    if user_id is not None:
        for lesson_id, is_fresh in db.session.execute(
            sa.select(LessonProgress.lesson_id, LessonProgress.completed_at >= Lesson.updated_at)
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .where(LessonProgress.user_id == user_id, Lesson.course_id.in_(ids))
        ):
            done.add(lesson_id)
            if is_fresh:
                fresh.add(lesson_id)
        attempts = db.session.execute(
            sa.select(QuizAttempt.quiz_id, QuizAttempt.percent, QuizAttempt.passed, QuizAttempt.submitted_at)
            .join(Quiz, Quiz.id == QuizAttempt.quiz_id)
            .where(QuizAttempt.user_id == user_id, Quiz.course_id.in_(ids), QuizAttempt.percent.is_not(None))
        ).all()
    return [
        progress_of(course.completion, lessons[course.id], quizzes[course.id],
                    fresh if course.id in only else done, attempts, since, only.get(course.id))
        for course, since in wanted
    ]


def progress_of(
    completion: dict[str, Any] | None,
    lessons: Sequence[Any],
    quizzes: Sequence[Any],
    done_anywhere: set[int],
    attempts: Sequence[Any],
    since: datetime | None,
    only: frozenset[int] | None = None,
) -> CourseProgress:
    """How far a person is in a course whose criteria are ``completion`` (course.md), whose
    live lessons (rows with ``id``, ``key``, ``position``, ``module_id``) and quizzes (``id``,
    ``key``) are given, from the lessons they marked done (anywhere) and their graded
    attempts (``quiz_id``, ``percent``, ``passed``, ``submitted_at``), counting quizzes from
    ``since`` (a renewal cycle's start).

    ``only``: a refresher cycle's lessons (``mooc.training.refreshers``): just these count,
    and every one of them is required (``done_anywhere`` is then what was read in the
    lessons' current versions)."""
    criteria = completion or {}
    if only is not None:
        lessons = [row for row in lessons if row.id in only]
        criteria = {**criteria, "lessons": "all"}
    done = done_anywhere & {row.id for row in lessons}
    quiz_ids = {row.id for row in quizzes}
    best, passed = _best_and_passed(attempts, quiz_ids, since)
    lesson_rule = criteria.get("lessons", "all")
    lessons_required = len(lessons) if lesson_rule == "all" else min(int(lesson_rule), len(lessons))
    quiz_rule = criteria.get("quizzes", "all")
    if quiz_rule == "all":
        required_quizzes = set(quiz_ids)
    elif quiz_rule == "none":
        required_quizzes = set()
    else:
        required_quizzes = {row.id for row in quizzes if row.key in set(quiz_rule)}
    return CourseProgress(
        len(done),
        len(lessons),
        lessons_required,
        len(passed & required_quizzes),
        len(required_quizzes),
        best,
        _next_step(lessons, quizzes, done, required_quizzes, passed),
        frozenset(required_quizzes - passed),
    )


def _best_and_passed(
    attempts: Sequence[Any], quiz_ids: set[int], since: datetime | None
) -> tuple[dict[int, float], set[int]]:
    """The best percent per quiz and the quizzes passed, counting this cycle's attempts only."""
    best: dict[int, float] = {}
    passed: set[int] = set()
    for attempt in attempts:
        if attempt.quiz_id not in quiz_ids:
            continue
        if since is not None and (attempt.submitted_at is None or attempt.submitted_at < since):
            continue
        best[attempt.quiz_id] = max(best.get(attempt.quiz_id, 0.0), attempt.percent)
        if attempt.passed:
            passed.add(attempt.quiz_id)
    return best, passed


def _next_step(
    lessons: Sequence[Any],
    quizzes: Sequence[Any],
    done: set[int],
    required_quizzes: set[int],
    passed: set[int],
) -> tuple[str, str] | None:
    """The first lesson not done, else the first required quiz not passed, else None."""
    for row in sorted(lessons, key=lambda r: (r.module_id, r.position)):
        if row.id not in done:
            return ("lesson", row.key)
    pending = [row for row in quizzes if row.id in required_quizzes and row.id not in passed]
    if pending:
        return ("quiz", pending[0].key)
    return None


def cycle_start(enrolment: Any) -> datetime | None:
    """When a renewal cycle began (``enrolment``: anything with ``cycle`` and ``assigned_on``):
    the quizzes passed and the attempts taken from then on are the cycle's. None in a first
    cycle: everything counts."""
    if enrolment.cycle <= 1:
        return None
    return clock.start_of(enrolment.assigned_on)


def current_enrolment(staff_id: int, course_id: int) -> Enrolment | None:
    return db.session.scalar(
        sa.select(Enrolment)
        .where(Enrolment.staff_id == staff_id, Enrolment.course_id == course_id)
        .order_by(Enrolment.cycle.desc())
        .limit(1)
    )


def refresh(user: User, course: Course) -> Enrolment | None:
    """Bring the person's enrolment in ``course`` up to date with their progress.

    First activity in a course nobody assigned joins it as optional (source "self").
    """
    if user.staff_id is None:
        return None
    enrolment = current_enrolment(user.staff_id, course.id)
    if enrolment is None:
        enrolment = Enrolment(
            staff_id=user.staff_id,
            course_id=course.id,
            cycle=1,
            source=EnrolmentSource.SELF,
            required=False,
            assigned_on=clock.today(),
            state=EnrolmentState.NOT_STARTED,
        )
        db.session.add(enrolment)
    now = clock.now()
    note_activity(user.staff_id, now)
    if enrolment.state in (EnrolmentState.COMPLETED, EnrolmentState.EXEMPT):
        return enrolment
    only = refreshers.lessons_to_take(course, enrolment)  # a refresher: the lessons it asks
    progress = course_progress(user.id, course, cycle_start(enrolment), only)
    if progress.started and enrolment.started_at is None:
        enrolment.started_at = now
        enrolment.state = EnrolmentState.IN_PROGRESS
    if progress.complete:
        complete(enrolment, course, progress, now)
    db.session.flush()
    return enrolment


def complete(enrolment: Enrolment, course: Course, progress: CourseProgress | None, when: datetime) -> None:
    enrolment.state = EnrolmentState.COMPLETED
    enrolment.completed_at = when
    enrolment.started_at = enrolment.started_at or when
    note_activity(enrolment.staff_id, when)
    enrolment.completed_version = course.content_hash
    enrolment.completed_commit = course.source_commit
    if progress is not None and progress.best_scores:
        enrolment.score = round(sum(progress.best_scores.values()) / len(progress.best_scores), 2)
    renew = renewal_months(enrolment.staff_id, enrolment.course_id)  # the rules covering them now
    enrolment.expires_on = expiry_of(when, renew) if renew else None
    issue_certificate(enrolment, course)
    programs.advance({enrolment.staff_id})  # the next step of a programme may open


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def issue_certificate(enrolment: Enrolment, course: Course) -> Certificate:
    existing = db.session.scalar(sa.select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    if existing is not None:
        return existing
    db.session.flush()  # the enrolment needs its id
    staff = db.session.get_one(Staff, enrolment.staff_id)
    certificate = Certificate(
        enrolment_id=enrolment.id,
        code=new_code(),
        issued_at=clock.now(),
        expires_on=enrolment.expires_on,
        holder_name=staff.full_name,
        course_title=course.title,
    )
    db.session.add(certificate)
    return certificate


# --- receivers of the lower domains' events ------------------------------------------------------


def _on_lesson_done(_sender: object, *, user_id: int, lesson_id: int, course_id: int) -> None:
    user = db.session.get(User, user_id)
    course = db.session.get(Course, course_id)
    if user is not None and course is not None:
        refresh(user, course)


def _on_quiz_finished(_sender: object, *, attempt: QuizAttempt) -> None:
    user = db.session.get(User, attempt.user_id)
    course = db.session.scalar(  # the quiz's course, without reading the quiz's questions
        sa.select(Course).join(Quiz, Quiz.course_id == Course.id).where(Quiz.id == attempt.quiz_id))
    if user is not None and course is not None:
        refresh(user, course)


def connect() -> None:
    events.lesson_done.connect(_on_lesson_done)
    events.quiz_finished.connect(_on_quiz_finished)
