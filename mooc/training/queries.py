"""Read side of training: a trainee's home, a person's record (statuses: ``training.status``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from mooc import clock
from mooc.config import settings
from mooc.courses.models import Course, LessonProgress
from mooc.extensions import db
from mooc.quizzes.attempts import counts, out_of_attempts
from mooc.quizzes.models import AttemptGrant, QuizAttempt
from mooc.roster.models import OrgUnit, Position, Staff, StaffStatus
from mooc.roster.units import tree
from mooc.training import outlines, refreshers
from mooc.training.completion import CourseProgress, course_progress, cycle_start, progress_of
from mooc.training.models import (
    AssignmentRule,
    Certificate,
    Enrolment,
    EnrolmentState,
    Program,
    ProgramEnrolment,
)
from mooc.training.status import EnrolmentStatus


class HomeCourse(NamedTuple):
    """A course as the home page shows it (read fresh; not the ORM entity: no lazy loads)."""

    id: int
    key: str
    title: str
    summary: str
    completion: dict[str, Any] | None


class HomeEnrolment(NamedTuple):
    """The columns of one enrolment cycle the home page (and ``EnrolmentStatus.of``) reads."""

    id: int
    cycle: int
    latest: bool
    required: bool
    state: EnrolmentState
    assigned_on: date
    due_on: date | None
    completed_at: datetime | None
    expires_on: date | None
    closed_at: datetime | None
    refresher_of: str | None = None  # a refresher cycle's basis edition (mooc.training.refreshers)


@dataclass
class HomeItem:
    enrolment: HomeEnrolment
    course: HomeCourse
    status: EnrolmentStatus
    progress: CourseProgress
    days_left: int | None
    certificate_code: str | None
    stuck: list[str] = field(default_factory=list)  # required quizzes out of attempts, unpassed


@dataclass
class Home:
    required: list[HomeItem]
    optional: list[HomeItem]
    completed: list[HomeItem]
    available: list[HomeCourse]
    # Warnings at the top of the page: required courses overdue, and those due within the
    # "due soon" horizon (the first e-mail reminder, MOOC_REMINDER_DAYS_BEFORE).
    overdue: list[HomeItem] = field(default_factory=list)
    due_soon: list[HomeItem] = field(default_factory=list)


def home(user_id: int, staff_id: int | None, today: date | None = None,
         due_soon_days: int | None = None) -> Home:
    """The trainee's home page: their current cycle of each open course, with its progress,
    and the open courses they are not enrolled in. Two queries (the courses with the person's
    enrolments; the person's progress), plus the outlines of course versions this process has
    not seen yet (``mooc.training.outlines``); everything about the person is read fresh."""
    today = today or clock.today()
    if due_soon_days is None:
        due_soon_days = settings().reminder_due_soon_days
    courses, cycles, versions, staff_status = _courses_and_cycles(staff_id)
    result = Home([], [], [], [])
    shown: list[tuple[HomeEnrolment, str | None, HomeCourse, EnrolmentStatus]] = []
    for course_id, rows in cycles.items():
        for enrolment, certificate_code in _current(rows):
            status = EnrolmentStatus.of(enrolment, today, staff_status or StaffStatus.ACTIVE)
            if status != EnrolmentStatus.CLOSED:
                shown.append((enrolment, certificate_code, courses[course_id], status))
    enrolled = {course.id for _e, _c, course, _s in shown}
    if shown:
        for item in _home_items(user_id, shown, versions, today):
            if item.status in (EnrolmentStatus.COMPLETED, EnrolmentStatus.EXEMPT):
                result.completed.append(item)
            elif item.enrolment.required:
                result.required.append(item)
            else:
                result.optional.append(item)
    result.available = sorted((c for c in courses.values() if c.id not in enrolled), key=lambda c: c.title)
    _sort_and_flag(result, due_soon_days)
    return result


_Cycles = dict[int, list[tuple[HomeEnrolment, str | None]]]  # course id -> (cycle, certificate code)


# The home page's two statements are built once, with bound parameters, and run on the session's
# connection (in its transaction) without the ORM layer: they read columns, not entities, and
# building a statement, working out its cache key and the ORM's result handling cost more than
# running it.
_COURSES_AND_CYCLES = (
    sa.select(
        Course.id, Course.key, Course.title, Course.summary, Course.completion, Course.version,
        Enrolment.id.label("enrolment_id"), Enrolment.cycle, Enrolment.latest, Enrolment.required,
        Enrolment.state, Enrolment.assigned_on, Enrolment.due_on, Enrolment.completed_at,
        Enrolment.expires_on, Enrolment.closed_at, Enrolment.refresher_of,
        Certificate.code.label("certificate_code"),
        sa.select(Staff.status).where(Staff.id == sa.bindparam("staff_id")).scalar_subquery()
        .label("staff_status"),
    )
    .select_from(Course)
    .outerjoin(Enrolment, sa.and_(Enrolment.course_id == Course.id,
                                  Enrolment.staff_id == sa.bindparam("staff_id")))
    .outerjoin(Certificate, Certificate.enrolment_id == Enrolment.id)
    .where(Course.archived.is_(False))
    .order_by(Course.id, Enrolment.cycle.desc())
)


def _courses_and_cycles(
    staff_id: int | None,
) -> tuple[dict[int, HomeCourse], _Cycles, list[outlines.Version], str | None]:
    """One query: every open course, each with the person's cycles of it (newest first) and their
    certificates, and the person's roster status (no cycles when ``staff_id`` is None)."""
    rows: Iterable[Any] = db.session.connection().execute(_COURSES_AND_CYCLES, {"staff_id": staff_id})
    courses: dict[int, HomeCourse] = {}
    cycles: _Cycles = {}
    versions: dict[int, outlines.Version] = {}
    staff_status = None
    for row in rows:
        if row.id not in courses:
            courses[row.id] = HomeCourse(row.id, row.key, row.title, row.summary or "", row.completion)
            versions[row.id] = outlines.Version(row.id, row.version)
        if row.enrolment_id is not None:
            staff_status = row.staff_status
            cycles.setdefault(row.id, []).append((
                HomeEnrolment(row.enrolment_id, row.cycle, row.latest, row.required, row.state,
                              row.assigned_on, row.due_on, row.completed_at, row.expires_on, row.closed_at,
                              row.refresher_of),
                row.certificate_code,
            ))
    return courses, cycles, [versions[course_id] for course_id in cycles], staff_status


def _current(rows: list[tuple[HomeEnrolment, str | None]]) -> list[tuple[HomeEnrolment, str | None]]:
    """Of one course's cycles (newest first): the latest, and also the last finished one if a
    renewal is under way (its certificate is still valid while the renewal runs)."""
    latest = rows[0]
    settled = (EnrolmentState.COMPLETED, EnrolmentState.EXEMPT)
    finished = next((row for row in rows if row[0].state in settled), None)
    return [latest] if finished is None or finished is latest else [latest, finished]


def _sort_and_flag(result: Home, due_soon_days: int) -> None:
    """Sort the home page's lists; flag the overdue and the due soon."""
    result.required.sort(key=lambda i: (i.enrolment.due_on or date.max, i.course.title))
    result.optional.sort(key=lambda i: i.course.title)
    result.completed.sort(key=lambda i: i.enrolment.completed_at or clock.now(), reverse=True)
    result.overdue = [i for i in result.required if i.status == EnrolmentStatus.OVERDUE]
    result.due_soon = [i for i in result.required if i.status != EnrolmentStatus.OVERDUE
                       and i.days_left is not None and i.days_left <= due_soon_days]


class _Attempt(NamedTuple):
    quiz_id: int
    percent: float | None
    passed: bool | None
    submitted_at: datetime | None
    status: str
    started_at: datetime


class _Progress(NamedTuple):
    """The person's own progress, read fresh: lessons done, attempts, attempts granted."""

    done: set[int]
    graded: list[_Attempt]  # the attempts graded (with a percent)
    attempts: list[_Attempt]  # every attempt, open ones too
    granted: dict[int, list[tuple[int, datetime]]]  # quiz id -> (extra attempts, when granted)


_NO: Any = sa.null()
_PERSON_PROGRESS = sa.union_all(
    sa.select(
        sa.literal_column("1").label("kind"), QuizAttempt.quiz_id.label("item_id"), QuizAttempt.percent,
        QuizAttempt.passed, QuizAttempt.submitted_at, QuizAttempt.status,
        sa.cast(_NO, sa.Integer).label("extra"),  # typed: PostgreSQL resolves a union's types pairwise
        QuizAttempt.started_at.label("at"),
    ).where(QuizAttempt.user_id == sa.bindparam("user_id")),
    sa.select(sa.literal_column("2"), LessonProgress.lesson_id, _NO, _NO, _NO, _NO, _NO, _NO)
    .where(LessonProgress.user_id == sa.bindparam("user_id")),
    sa.select(sa.literal_column("3"), AttemptGrant.quiz_id, _NO, _NO, _NO, _NO, AttemptGrant.extra,
              AttemptGrant.granted_at)
    .where(AttemptGrant.user_id == sa.bindparam("user_id")),
)


def _person_progress(user_id: int) -> _Progress:
    """One query for everything the person did that progress counts (in any course: the
    outlines pick their courses' rows)."""
    progress = _Progress(set(), [], [], {})
    rows: Iterable[Any] = db.session.connection().execute(_PERSON_PROGRESS, {"user_id": user_id})
    for row in rows:
        if row.kind == 2:
            progress.done.add(row.item_id)
        elif row.kind == 3:
            progress.granted.setdefault(row.item_id, []).append((int(row.extra or 0), row.at))
        else:
            attempt = _Attempt(row.item_id, row.percent, row.passed, row.submitted_at, row.status,
                               row.at)
            progress.attempts.append(attempt)
            if row.percent is not None:
                progress.graded.append(attempt)
    return progress


def _home_items(
    user_id: int,
    shown: list[tuple[HomeEnrolment, str | None, HomeCourse, EnrolmentStatus]],
    versions: list[outlines.Version],
    today: date,
) -> list[HomeItem]:
    course_outlines = outlines.outlines(versions)
    mine = _person_progress(user_id)
    items = []
    for enrolment, certificate_code, course, status in shown:
        outline = course_outlines[course.id]
        since = cycle_start(enrolment)
        progress = progress_of(
            course.completion, outline.lessons, outline.quizzes, mine.done, mine.graded, since)
        if enrolment.refresher_of and status not in (EnrolmentStatus.COMPLETED, EnrolmentStatus.EXEMPT):
            progress = _refresher_progress(user_id, course.id, enrolment, since) or progress
        items.append(HomeItem(
            enrolment, course, status, progress,
            (enrolment.due_on - today).days if enrolment.due_on else None,
            certificate_code,
            _stuck(outline, progress, mine, since),
        ))
    return items


def _refresher_progress(user_id: int, course_id: int, enrolment: HomeEnrolment,
                        since: datetime | None) -> CourseProgress | None:
    """A refresher cycle's progress: only its lessons, read since they changed (a few more
    statements, for these cycles alone); None when it asks the whole course."""
    course = db.session.get(Course, course_id)
    only = refreshers.lessons_to_take(course, enrolment) if course is not None else None
    if course is None or only is None:
        return None
    return course_progress(user_id, course, since, only)


def _stuck(outline: outlines.Outline, progress: CourseProgress, mine: _Progress,
           since: datetime | None) -> list[str]:
    """Titles of the required quizzes not passed that the person has no attempt left at in
    the cycle that began at ``since``."""
    if not progress.pending_quiz_ids:
        return []
    limits = {
        quiz.id: quiz.attempts + sum(extra for extra, at in mine.granted.get(quiz.id, ())
                                     if counts(at, since)) if quiz.attempts else 0
        for quiz in outline.quizzes if quiz.id in progress.pending_quiz_ids
    }
    stuck = out_of_attempts(limits, mine.attempts, since)
    return [quiz.title for quiz in sorted(outline.quizzes, key=lambda q: q.id) if quiz.id in stuck]


@dataclass
class RecordRow:
    enrolment: Enrolment
    course_title: str
    course_code: str
    status: EnrolmentStatus
    certificate: Certificate | None


def record(staff: Staff, today: date | None = None) -> list[RecordRow]:
    """Every cycle of every course for one person, newest first (a handful of queries)."""
    today = today or clock.today()
    rows = db.session.execute(
        sa.select(Enrolment, Course.title, Course.code, Certificate)
        .join(Course, Course.id == Enrolment.course_id)
        .outerjoin(Certificate, Certificate.enrolment_id == Enrolment.id)
        .where(Enrolment.staff_id == staff.id)
        .order_by(Course.title, Enrolment.cycle.desc())
    ).all()
    return [
        RecordRow(e, title, code, EnrolmentStatus.of(e, today, staff.status), cert)
        for e, title, code, cert in rows
    ]


def open_courses() -> list[Course]:
    """Courses people can be enrolled in (not archived), by title."""
    return list(db.session.scalars(
        sa.select(Course).where(Course.archived.is_(False)).order_by(Course.title)))


def open_course(key: str) -> Course | None:
    return db.session.scalar(sa.select(Course).where(Course.key == key, Course.archived.is_(False)))


def rules_overview() -> tuple[list[AssignmentRule], dict[int, int]]:
    """Every rule (active first, newest first) and how many enrolments each one made."""
    rules = list(db.session.scalars(
        sa.select(AssignmentRule).order_by(AssignmentRule.active.desc(), AssignmentRule.id.desc())))
    counts = {rule_id: count for rule_id, count in db.session.execute(
        sa.select(Enrolment.rule_id, sa.func.count())
        .where(Enrolment.rule_id.is_not(None))
        .group_by(Enrolment.rule_id)
    ) if rule_id is not None}
    counts.update({rule_id: count for rule_id, count in db.session.execute(  # a programme's rule
        sa.select(ProgramEnrolment.rule_id, sa.func.count())
        .where(ProgramEnrolment.rule_id.is_not(None))
        .group_by(ProgramEnrolment.rule_id)
    ) if rule_id is not None})
    return rules, counts


@dataclass
class RuleChoices:
    """What a rule may name: open courses, units (in tree order, with their depth), positions."""

    courses: list[Course]
    units: list[tuple[OrgUnit, int]]
    positions: list[Position]
    programs: list[Program]


def rule_choices() -> RuleChoices:
    return RuleChoices(
        open_courses(),
        tree(),
        list(db.session.scalars(sa.select(Position).order_by(Position.rank))),
        list(db.session.scalars(sa.select(Program).where(Program.archived.is_(False)).order_by(Program.title))),
    )
