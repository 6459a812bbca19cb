"""Read-side queries for the course pages: a few queries per page, none per lesson."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa

from mooc.courses.models import Course, Lesson, LessonProgress, Module, Quiz
from mooc.extensions import db

ItemT = TypeVar("ItemT", Lesson, Quiz)


@dataclass
class OutlineItem:
    kind: str  # "lesson" | "quiz"
    key: str
    title: str
    minutes: int
    done: bool
    id: int


@dataclass
class OutlineModule:
    key: str
    title: str
    intro_html: str
    items: list[OutlineItem] = field(default_factory=list)


@dataclass
class Outline:
    course: Course
    modules: list[OutlineModule]

    @property
    def items(self) -> list[OutlineItem]:
        return [item for module in self.modules for item in module.items]

    @property
    def lessons(self) -> list[OutlineItem]:
        return [item for item in self.items if item.kind == "lesson"]

    @property
    def minutes(self) -> int:
        return sum(item.minutes for item in self.lessons)

    @property
    def done_count(self) -> int:
        return sum(item.done for item in self.lessons)

    @property
    def percent(self) -> int:
        return round(100 * self.done_count / len(self.lessons)) if self.lessons else 0

    def next_item(self) -> OutlineItem | None:
        """Where to continue: the first lesson not done (or the first item)."""
        return next((item for item in self.lessons if not item.done), None) or (
            self.items[0] if self.items else None
        )

    def find(self, kind: str, key: str) -> OutlineItem | None:
        return next((item for item in self.items if item.kind == kind and item.key == key), None)

    def neighbours(self, kind: str, key: str) -> tuple[OutlineItem | None, OutlineItem | None]:
        items = self.items
        for index, item in enumerate(items):
            if item.kind == kind and item.key == key:
                return (
                    items[index - 1] if index > 0 else None,
                    items[index + 1] if index + 1 < len(items) else None,
                )
        return None, None


def live_courses() -> list[Course]:
    return list(
        db.session.scalars(sa.select(Course).where(Course.archived.is_(False)).order_by(Course.title))
    )


def get_course(key: str) -> Course | None:
    return db.session.scalar(sa.select(Course).where(Course.key == key, Course.archived.is_(False)))


def renamed_item(model: type[ItemT], course_id: int, old_key: str) -> ItemT | None:
    """The live lesson or quiz that had ``old_key`` before its identity changed
    (``previously:`` in its front matter): its old address redirects to it."""
    rows = db.session.execute(
        sa.select(model.id, model.previous_keys)
        .where(model.course_id == course_id, model.archived.is_(False))
    ).all()
    found = next((row.id for row in rows if old_key in (row.previous_keys or [])), None)
    return db.session.get(model, found) if found is not None else None


def done_lesson_ids(user_id: int, course_ids: list[int] | None = None) -> set[int]:
    stmt = sa.select(LessonProgress.lesson_id).where(LessonProgress.user_id == user_id)
    if course_ids is not None:
        stmt = stmt.join(Lesson, Lesson.id == LessonProgress.lesson_id).where(
            Lesson.course_id.in_(course_ids)
        )
    return set(db.session.scalars(stmt))


def outline(course: Course, user_id: int | None) -> Outline:
    modules = list(
        db.session.scalars(
            sa.select(Module)
            .where(Module.course_id == course.id, Module.archived.is_(False))
            .order_by(Module.position, Module.key)
        )
    )
    lessons = db.session.execute(
        sa.select(
            Lesson.id, Lesson.module_id, Lesson.key, Lesson.title, Lesson.minutes, Lesson.position
        ).where(Lesson.course_id == course.id, Lesson.archived.is_(False))
    ).all()
    quizzes = db.session.execute(
        sa.select(Quiz.id, Quiz.module_id, Quiz.key, Quiz.title, Quiz.position).where(
            Quiz.course_id == course.id, Quiz.archived.is_(False)
        )
    ).all()
    done = done_lesson_ids(user_id, [course.id]) if user_id else set()
    by_module: dict[int, list[tuple[int, str, OutlineItem]]] = {m.id: [] for m in modules}
    for row in lessons:
        if row.module_id in by_module:
            by_module[row.module_id].append(
                (
                    row.position,
                    row.key,
                    OutlineItem("lesson", row.key, row.title, row.minutes, row.id in done, row.id),
                )
            )
    for quiz in quizzes:
        if quiz.module_id in by_module:
            by_module[quiz.module_id].append(
                (quiz.position, quiz.key, OutlineItem("quiz", quiz.key, quiz.title, 0, False, quiz.id))
            )
    result = []
    for module in modules:
        items = [item for _pos, _key, item in sorted(by_module[module.id], key=lambda t: (t[0], t[1]))]
        result.append(OutlineModule(module.key, module.title, module.intro_html, items))
    return Outline(course, result)


def course_progress(user_id: int, courses: list[Course]) -> dict[int, tuple[int, int]]:
    """course id -> (lessons done, lessons in the course), in two queries."""
    ids = [c.id for c in courses]
    if not ids:
        return {}
    totals = dict(
        db.session.execute(
            sa.select(Lesson.course_id, sa.func.count())
            .where(Lesson.course_id.in_(ids), Lesson.archived.is_(False))
            .group_by(Lesson.course_id)
        ).all()
    )
    done = dict(
        db.session.execute(
            sa.select(Lesson.course_id, sa.func.count())
            .join(LessonProgress, LessonProgress.lesson_id == Lesson.id)
            .where(Lesson.course_id.in_(ids), Lesson.archived.is_(False), LessonProgress.user_id == user_id)
            .group_by(Lesson.course_id)
        ).all()
    )
    return {course_id: (done.get(course_id, 0), totals.get(course_id, 0)) for course_id in ids}
