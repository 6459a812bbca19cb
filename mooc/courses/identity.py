"""What the next sync would archive that trainees have progress on: a course whose folder was
renamed, a lesson or quiz renamed or moved without ``previously:``. Renaming is allowed, so
these are warnings, printed by ``mooc courses check`` (when it can read the database) and by
``mooc courses sync``; each says which line keeps the progress, and names the file that most
likely holds the renamed course, lesson or quiz. Reads the database, writes nothing."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from mooc.courses.check import CheckResult
from mooc.courses.format import CourseSource, LessonSource, QuizFile
from mooc.courses.models import Course, Lesson, LessonProgress, Quiz
from mooc.courses.queries import ENROLMENTS
from mooc.extensions import db
from mooc.formats.problem import Problem, bilingual

# The quizzes domain's attempts, by table name: quizzes sit above courses (they import the
# Quiz row the sync writes), so courses may not import their models; counting who has
# attempted a quiz the sync would archive needs only these two columns.
QUIZ_ATTEMPTS = sa.table("quiz_attempts", sa.column("user_id"), sa.column("quiz_id"))
WARNING, CODE = "warning", "progress-archived"


def archive_warnings(result: CheckResult) -> list[Problem]:
    """Every course, lesson and quiz that trainees have progress on and that the next sync of
    ``result`` would archive because no file holds its identity any more."""
    root = result.root or Path(".")
    wanted = [source.key for source in result.courses]
    stored = {c.key: c for c in db.session.scalars(sa.select(Course).where(Course.key.in_(wanted)))}
    problems: list[Problem] = []
    for source in result.courses:
        if (course := stored.get(source.key)) is not None:  # a new course: nothing to archive
            problems += _item_warnings(source, course, root)
    if result.whole_tree:
        problems += _course_warnings(result, set(stored), root)
    return problems


def _loaded(source: CourseSource, root: Path) -> set[str]:
    """The files of the course that were read without error, relative to the courses folder."""
    return {item.doc.path.resolve().relative_to(root).as_posix() for item in source.items()}


def _item_warnings(source: CourseSource, course: Course, root: Path) -> list[Problem]:
    kept = {item.key for item in source.items()} | {old for item in source.items() for old in item.previous}
    loaded = _loaded(source, root.resolve())
    problems = []
    for model, table, counter, column, kind in (
        (Lesson, LessonProgress.__table__, LessonProgress.user_id, LessonProgress.lesson_id, "lesson"),
        (Quiz, QUIZ_ATTEMPTS, QUIZ_ATTEMPTS.c.user_id, QUIZ_ATTEMPTS.c.quiz_id, "quiz"),
    ):
        live = set(db.session.scalars(sa.select(model.key).where(model.course_id == course.id,
                                                                  model.archived.is_(False))))
        rows = db.session.execute(
            sa.select(model.key, model.source_path, sa.func.count(sa.distinct(counter)))
            .join(table, column == model.id)
            .where(model.course_id == course.id, model.archived.is_(False))
            .group_by(model.id, model.key, model.source_path)
        ).all()
        for key, source_path, people in rows:
            # A file still there that failed to load holds the item: its own error is the news.
            still_there = source_path not in loaded and (root / source_path).is_file()
            if key in kept or not people or still_there:
                continue
            heir = _heir(source, kind, key, live)
            problems.append(Problem(f"{root.name}/{source_path}", 1, WARNING, CODE,
                                    _item_message(kind, key, people, heir)))
    return problems


def _heir(source: CourseSource, kind: str, key: str, live: set[str]) -> str | None:
    """The new file (its identity not in the database yet) with the same name as the item that
    goes: most likely the item itself, moved to another module."""
    wanted = LessonSource if kind == "lesson" else QuizFile
    name = key.rsplit("/", 1)[-1]
    found = [item.doc.rel for item in source.items()
             if isinstance(item, wanted) and item.slug == name and item.key not in live]
    return found[0] if len(found) == 1 else None


def _item_message(kind: str, key: str, people: int, heir: str | None) -> str:
    where_vi, where_en = (
        (f"{heir} có cùng tên: nếu đó là {_VI[kind]} này, thêm vào phần đầu của nó",
         f"{heir} has the same name: if it is this {kind}, add to its front matter") if heir else
        (f"nếu một tệp vẫn chứa {_VI[kind]} này (đổi tên, "
         "chuyển chương, thêm id), thêm vào phần đầu của tệp đó",
         f"if a file still holds this {kind} (renamed, moved, or given an id), add to its front matter"))
    return bilingual(
        f"{people} học viên có tiến độ ở {_VI[kind]} '{key}' và lần đồng bộ tới sẽ lưu "
        f"trữ nó vì không còn tệp nào mang định danh này. {where_vi}: 'previously: {key}'",
        f"{people} trainee(s) have progress on {kind} '{key}' and the next sync archives "
        f"it: no file has this identity any more. {where_en}: 'previously: {key}'")


_VI = {"lesson": "bài học", "quiz": "bài kiểm tra", "course": "khóa học"}


def _course_warnings(result: CheckResult, stored: set[str], root: Path) -> list[Problem]:
    """Live courses of the database whose folder is gone (renamed, most often) and that people
    have progress in or are enrolled in. A folder still there that failed to load is not gone."""
    present = {source.key for source in result.courses}
    gone = db.session.scalars(sa.select(Course).where(Course.archived.is_(False), Course.key.not_in(present)))
    new = [source for source in result.courses if source.key not in stored]
    problems = []
    for course in gone:
        people = _people_in(course.id)
        if not people or (root / course.source_dir / "course.md").is_file():
            continue
        heir = next((s for s in new if s.code == course.code), None) or next(
            (s for s in new if s.title == course.title), None)
        folder = heir.dir_name if heir else course.source_dir
        problems.append(Problem(f"{root.name}/{folder}/course.md", 1, WARNING, CODE,
                                _course_message(course.key, people, heir is not None)))
    return problems


def _course_message(key: str, people: int, heir: bool) -> str:
    where_vi, where_en = (
        ("nếu thư mục này là khóa học đó, thêm vào course.md", "if this folder is that course, add to its "
         "course.md") if heir else
        ("nếu thư mục của khóa học được đổi tên, thêm vào course.md mới", "if its folder was renamed, add to "
         "the new course.md"))
    return bilingual(
        f"{people} học viên có tiến độ hoặc được ghi danh ở khóa học '{key}' và lần đồng bộ tới "
        f"sẽ lưu trữ cả khóa vì không còn thư mục nào mang định danh này. {where_vi}: 'id: {key}'",
        f"{people} trainee(s) have progress or enrolments in course '{key}' and the next sync "
        f"archives the whole course: no folder has this identity any more. {where_en}: 'id: {key}'")


def _people_in(course_id: int) -> int:
    """People with a reading, an attempt or an enrolment in the course (each kind counted apart:
    an enrolment names a staff record, a reading an account; the largest count is reported)."""
    readers = (sa.select(LessonProgress.user_id).join(Lesson, Lesson.id == LessonProgress.lesson_id)
               .where(Lesson.course_id == course_id))
    takers = (sa.select(QUIZ_ATTEMPTS.c.user_id).join(Quiz, Quiz.id == QUIZ_ATTEMPTS.c.quiz_id)
              .where(Quiz.course_id == course_id))
    accounts = db.session.scalar(sa.select(sa.func.count()).select_from(sa.union(readers, takers).subquery()))
    enrolled = db.session.scalar(sa.select(sa.func.count(sa.distinct(ENROLMENTS.c.staff_id)))
                                 .where(ENROLMENTS.c.course_id == course_id))
    return max(accounts or 0, enrolled or 0)
