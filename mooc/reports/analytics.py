"""Course analytics for authors and the training office: how far trainees get, how they
score, and which questions are too hard (or wrong)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from mooc.auth.models import User
from mooc.courses.models import Course, Lesson, LessonProgress, Module, Quiz
from mooc.extensions import db
from mooc.quizzes.models import QuizAttempt
from mooc.reports.queries import scope_of
from mooc.roster.models import Staff
from mooc.training.models import Enrolment


@dataclass
class LessonRow:
    title: str
    done: int
    percent: float


@dataclass
class QuestionRow:
    quiz_title: str
    key: str
    title: str
    answers: int
    correct: int

    @property
    def percent_correct(self) -> float | None:
        return round(100 * self.correct / self.answers, 1) if self.answers else None


@dataclass
class CourseAnalytics:
    enrolled: int
    lessons: list[LessonRow] = field(default_factory=list)
    scores: dict[str, list[int]] = field(default_factory=dict)  # quiz title -> 10 buckets of best scores
    questions: list[QuestionRow] = field(default_factory=list)


def _people(user: User, course: Course) -> sa.Select:
    """Accounts of the people enrolled in the course, within the viewer's scope."""
    stmt = (
        sa.select(User.id)
        .join(Staff, Staff.id == User.staff_id)
        .join(Enrolment, Enrolment.staff_id == Staff.id)
        .where(Enrolment.course_id == course.id)
    )
    scope = scope_of(user)
    if scope is not None:
        stmt = stmt.where(Staff.unit_id.in_(scope))
    return stmt.distinct()


def course_analytics(user: User, course: Course) -> CourseAnalytics:
    people = _people(user, course).subquery()
    enrolled = db.session.scalar(sa.select(sa.func.count()).select_from(people)) or 0
    result = CourseAnalytics(enrolled)
    result.lessons = _lesson_rows(people, course, enrolled)
    result.scores, result.questions = _quiz_stats(people, course)
    return result


def _lesson_rows(people: sa.Subquery, course: Course, enrolled: int) -> list[LessonRow]:
    """How many of ``people`` did each lesson of the course, in course order."""
    done = dict(
        db.session.execute(
            sa.select(LessonProgress.lesson_id, sa.func.count())
            .where(LessonProgress.user_id.in_(sa.select(people.c.id)))
            .group_by(LessonProgress.lesson_id)
        ).all()
    )
    lessons = db.session.execute(
        sa.select(Lesson.id, Lesson.title)
        .join(Module, Module.id == Lesson.module_id)
        .where(Lesson.course_id == course.id, Lesson.archived.is_(False))
        .order_by(Module.position, Lesson.position)
    ).all()
    rows = []
    for lesson_id, title in lessons:
        count = done.get(lesson_id, 0)
        rows.append(LessonRow(title, count, round(100 * count / enrolled, 1) if enrolled else 0.0))
    return rows


def _quiz_stats(people: sa.Subquery, course: Course) -> tuple[dict[str, list[int]], list[QuestionRow]]:
    """Per quiz title, how many of ``people`` have their best score in each tenth; per
    question, how often it was answered right (least right first)."""
    quizzes = {
        q.id: q
        for q in db.session.scalars(
            sa.select(Quiz).where(Quiz.course_id == course.id, Quiz.archived.is_(False))
        )
    }
    best: dict[tuple[int, int], float] = {}
    questions: dict[tuple[int, str], QuestionRow] = {}
    attempts = db.session.execute(
        sa.select(
            QuizAttempt.quiz_id,
            QuizAttempt.user_id,
            QuizAttempt.percent,
            QuizAttempt.results,
            QuizAttempt.questions,
        ).where(
            QuizAttempt.quiz_id.in_(list(quizzes)),
            QuizAttempt.percent.is_not(None),
            QuizAttempt.user_id.in_(sa.select(people.c.id)),
        )
    )
    titles: dict[tuple[int, str], str] = {}
    for quiz in quizzes.values():
        for question in quiz.questions:
            titles[(quiz.id, question["key"])] = question["title"]
    for quiz_id, user_id, percent, results, shown in attempts:
        best[(quiz_id, user_id)] = max(best.get((quiz_id, user_id), 0.0), percent)
        for question in shown:
            key = question["key"]
            row = questions.get((quiz_id, key))
            if row is None:
                row = questions[(quiz_id, key)] = QuestionRow(
                    quizzes[quiz_id].title, key, titles.get((quiz_id, key), question["title"]), 0, 0
                )
            row.answers += 1
            row.correct += bool((results or {}).get(key, {}).get("correct"))
    buckets: dict[int, list[int]] = defaultdict(lambda: [0] * 10)
    for (quiz_id, _user_id), percent in best.items():
        buckets[quiz_id][min(int(percent // 10), 9)] += 1
    scores = {quizzes[q].title: counts for q, counts in buckets.items()}
    return scores, sorted(
        questions.values(), key=lambda r: (r.percent_correct is None, r.percent_correct or 0)
    )
