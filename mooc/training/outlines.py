"""What progress is counted against in a course (its live lessons and quizzes), kept in memory
per course version.

``Course.version`` is raised in the transaction of every flush that adds, changes or deletes the
course or one of its modules, lessons or quizzes (``mooc.courses.models``; a sync, the authors'
auto-sync, a script). So the outline of one version, ``(course id, version)``, never changes: a
process may keep it, and a new version is a new key. Nothing here is ever invalidated by hand,
and a process (a gunicorn worker, another app server) that still holds an old version never
uses it once the database names a new one, because every request reads the versions first. A
version is read only once committed, so a sync rolled back never names one.

Only structure is kept here, never anyone's progress: lessons done and attempts are read
fresh on every request and applied to the outline (``mooc.training.queries.home``).

The cache belongs to the app (``app.extensions``): one app, one database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa

from mooc.caching import KeptCache, app_cache
from mooc.courses.models import Lesson, Quiz
from mooc.extensions import db

MAX_VERSIONS = 512  # course versions kept per process; the oldest go first


class Version(NamedTuple):
    course_id: int
    version: int  # Course.version


class OutlineLesson(NamedTuple):
    id: int
    key: str
    position: int
    module_id: int


class OutlineQuiz(NamedTuple):
    id: int
    key: str
    title: str
    attempts: int  # the quiz's attempt limit (0: unlimited), before any grant


@dataclass(frozen=True)
class Outline:
    lessons: tuple[OutlineLesson, ...]  # live (not archived) lessons
    quizzes: tuple[OutlineQuiz, ...]  # live quizzes


class OutlineCache(KeptCache):
    """Outlines by version (``mooc.caching.KeptCache``: bounded, safe across a worker's
    threads), with how many times they were read from the database."""

    def __init__(self, size: int = MAX_VERSIONS) -> None:
        super().__init__(size)
        self.loads = 0  # versions read from the database (a miss): for tests and benchmarks


def cache() -> OutlineCache:
    """This app's outline cache."""
    return app_cache("mooc.training.outlines", OutlineCache)


def outlines(versions: Iterable[Version]) -> dict[int, Outline]:
    """Course id -> outline of that version: from the cache, else (one or two queries for all
    the courses missing) from the database, kept for the next request."""
    store = cache()
    found: dict[int, Outline] = {}
    missing: dict[int, Version] = {}
    for version in versions:
        kept = store.peek(version)
        if isinstance(kept, Outline):
            found[version.course_id] = kept
        else:
            missing[version.course_id] = version
    if missing:
        loaded = _load(sorted(missing))
        store.loads += 1
        for course_id, version in missing.items():
            outline = loaded[course_id]
            found[course_id] = outline
            store.put(version, outline)
    return found


def _load(course_ids: list[int]) -> dict[int, Outline]:
    lessons: dict[int, list[OutlineLesson]] = {course_id: [] for course_id in course_ids}
    quizzes: dict[int, list[OutlineQuiz]] = {course_id: [] for course_id in course_ids}
    for row in db.session.execute(
        sa.select(Lesson.course_id, Lesson.id, Lesson.key, Lesson.position, Lesson.module_id)
        .where(Lesson.course_id.in_(course_ids), Lesson.archived.is_(False))
        .order_by(Lesson.id)
    ):
        lessons[row.course_id].append(OutlineLesson(row.id, row.key, row.position, row.module_id))
    for row in db.session.execute(
        sa.select(Quiz.course_id, Quiz.id, Quiz.key, Quiz.title, Quiz.settings)
        .where(Quiz.course_id.in_(course_ids), Quiz.archived.is_(False))
        .order_by(Quiz.id)
    ):
        limit = int((row.settings or {}).get("attempts") or 0)
        quizzes[row.course_id].append(OutlineQuiz(row.id, row.key, row.title, limit))
    return {
        course_id: Outline(tuple(lessons[course_id]), tuple(quizzes[course_id])) for course_id in course_ids
    }
