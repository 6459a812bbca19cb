"""Read side of training: a trainee's home, a person's record (statuses: ``training.status``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from mooc import clock
from mooc.config import settings
from mooc.courses.models import Course, Quiz
from mooc.extensions import db
from mooc.quizzes import attempts
from mooc.roster.models import OrgUnit, Position, Staff
from mooc.roster.units import tree
from mooc.training.completion import CourseProgress, courses_progress
from mooc.training.models import AssignmentRule, Certificate, Enrolment, EnrolmentState
from mooc.training.status import EnrolmentStatus


@dataclass
class HomeItem:
    enrolment: Enrolment
    course: Course
    status: EnrolmentStatus
    progress: CourseProgress
    days_left: int | None
    certificate: Certificate | None
    stuck: list[str] = field(default_factory=list)  # required quizzes out of attempts, unpassed


@dataclass
class Home:
    required: list[HomeItem]
    optional: list[HomeItem]
    completed: list[HomeItem]
    available: list[Course]
    # Warnings at the top of the page: required courses overdue, and those due within the
    # "due soon" horizon (the first e-mail reminder, MOOC_REMINDER_DAYS_BEFORE).
    overdue: list[HomeItem] = field(default_factory=list)
    due_soon: list[HomeItem] = field(default_factory=list)


def _current_per_course(staff_id: int) -> list[Enrolment]:
    """Per course: the latest cycle, and also the last finished one if a renewal is under way
    (its certificate is still valid while the renewal runs)."""
    enrolments = db.session.scalars(
        sa.select(Enrolment)
        .where(Enrolment.staff_id == staff_id)
        .order_by(Enrolment.course_id, Enrolment.cycle.desc())
    ).all()
    latest: dict[int, Enrolment] = {}
    finished: dict[int, Enrolment] = {}
    for enrolment in enrolments:
        latest.setdefault(enrolment.course_id, enrolment)
        if enrolment.state in (EnrolmentState.COMPLETED, EnrolmentState.EXEMPT):
            finished.setdefault(enrolment.course_id, enrolment)
    current = list(latest.values())
    current += [e for course_id, e in finished.items() if latest[course_id] is not e]
    return current


def home(user_id: int, staff: Staff | None, today: date | None = None,
         due_soon_days: int | None = None) -> Home:
    today = today or clock.today()
    if due_soon_days is None:
        due_soon_days = settings().reminder_due_soon_days
    result = Home([], [], [], [])
    courses = {c.id: c for c in db.session.scalars(sa.select(Course).where(Course.archived.is_(False)))}
    enrolled: set[int] = set()
    if staff is not None:
        for item in _home_items(user_id, staff, courses, today):
            enrolled.add(item.course.id)
            if item.status in (EnrolmentStatus.COMPLETED, EnrolmentStatus.EXEMPT):
                result.completed.append(item)
            elif item.enrolment.required:
                result.required.append(item)
            else:
                result.optional.append(item)
    _sort_and_flag(result, courses, enrolled, due_soon_days)
    return result


def _sort_and_flag(result: Home, courses: dict[int, Course], enrolled: set[int], due_soon_days: int) -> None:
    """Sort the home page's lists; fill the courses not enrolled in, the overdue and due soon."""
    result.required.sort(key=lambda i: (i.enrolment.due_on or date.max, i.course.title))
    result.optional.sort(key=lambda i: i.course.title)
    result.completed.sort(key=lambda i: i.enrolment.completed_at or clock.now(), reverse=True)
    result.available = sorted((c for c in courses.values() if c.id not in enrolled), key=lambda c: c.title)
    result.overdue = [i for i in result.required if i.status == EnrolmentStatus.OVERDUE]
    result.due_soon = [i for i in result.required if i.status != EnrolmentStatus.OVERDUE
                       and i.days_left is not None and i.days_left <= due_soon_days]


def _home_items(user_id: int, staff: Staff, courses: dict[int, Course], today: date) -> list[HomeItem]:
    """The staff member's current enrolment in each course of ``courses``, unless closed."""
    latest = _current_per_course(staff.id)
    certificates = {
        c.enrolment_id: c
        for c in db.session.scalars(
            sa.select(Certificate).where(Certificate.enrolment_id.in_([e.id for e in latest]))
        )
    }
    shown = []
    for enrolment in latest:
        course = courses.get(enrolment.course_id)
        if course is None:
            continue
        status = EnrolmentStatus.of(enrolment, today, staff.status)
        if status == EnrolmentStatus.CLOSED:
            continue
        since = None if enrolment.cycle <= 1 else _midnight(enrolment.assigned_on)
        shown.append((enrolment, course, status, since))
    progress = courses_progress(user_id, [(course, since) for _e, course, _s, since in shown])
    stuck = _stuck_titles(user_id, progress)
    return [
        HomeItem(
            enrolment,
            course,
            status,
            course_done,
            (enrolment.due_on - today).days if enrolment.due_on else None,
            certificates.get(enrolment.id),
            [stuck[quiz_id] for quiz_id in sorted(course_done.pending_quiz_ids) if quiz_id in stuck],
        )
        for (enrolment, course, status, _since), course_done in zip(shown, progress, strict=True)
    ]


def _stuck_titles(user_id: int, progress: list[CourseProgress]) -> dict[int, str]:
    """Quiz id -> title of the required quizzes the person can no longer pass (out of attempts)."""
    pending = set().union(*(p.pending_quiz_ids for p in progress)) if progress else set()
    stuck = attempts.exhausted(user_id, pending)
    if not stuck:
        return {}
    rows = db.session.execute(sa.select(Quiz.id, Quiz.title).where(Quiz.id.in_(stuck)))
    return {row.id: row.title for row in rows}


def _midnight(day: date):
    from datetime import UTC, datetime

    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


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
    return rules, counts


@dataclass
class RuleChoices:
    """What a rule may name: open courses, units (in tree order, with their depth), positions."""

    courses: list[Course]
    units: list[tuple[OrgUnit, int]]
    positions: list[Position]


def rule_choices() -> RuleChoices:
    return RuleChoices(
        open_courses(),
        tree(),
        list(db.session.scalars(sa.select(Position).order_by(Position.rank))),
    )
