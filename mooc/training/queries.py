"""Read side of training: a trainee's home, a person's record (statuses: ``training.status``)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from mooc import clock, versions
from mooc.caching import KeptCache, app_cache
from mooc.config import settings
from mooc.courses.models import Course, LessonProgress
from mooc.database import ids_joined, rows_as_json, utc_from_json
from mooc.extensions import db
from mooc.quizzes.attempts import counts, out_of_attempts
from mooc.quizzes.models import AttemptGrant, AttemptStatus, QuizAttempt
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
    # Whether it was built from more than its glance (a refresher cycle's lessons, read apart; the
    # catalog read again, changed since the glance or changed by this very transaction): then it
    # is not a function of the glance's facts, and nothing built from it may be kept.
    read_more: bool = False


class HomeGlance(NamedTuple):
    """What the home page shows, as one statement of plain columns reads it (``glance``): the
    version of the catalog (``versions.COURSES``: every course's row) and the person's own facts
    (their cycles with the certificates and their roster status, lessons done, quiz attempts,
    attempts granted), each as the text the database wrote. ``facts`` is a key for what is built
    from it: the same text is the same facts."""

    facts: tuple[Any, ...]  # the catalog's version; cycles; roster status; done; attempts; grants
    follows_programmes: bool  # a programme's path is on the page too (``program_paths.paths_of``)


def glance(user_id: int, staff_id: int | None) -> HomeGlance:
    """The home page's facts in one statement on the session's connection (no mapped objects,
    nothing decoded): a kept page is found by them (mooc/training/views.py ``home``)."""
    row = db.session.connection().execute(
        _home_glance_statement(), {"user_id": user_id, "staff_id": staff_id}).one()
    courses, cycles, staff_status, done, attempts, grants, follows = row
    return HomeGlance((courses, cycles, staff_status, done, attempts, grants), bool(follows))


def home(user_id: int, staff_id: int | None, today: date | None = None,
         due_soon_days: int | None = None) -> Home:
    """The trainee's home page: their current cycle of each open course, with its progress,
    and the open courses they are not enrolled in. One statement (``glance``), plus the
    outlines of course versions this process has not seen yet (``mooc.training.outlines``);
    everything about the person is read fresh."""
    return home_of(glance(user_id, staff_id), user_id, today, due_soon_days)


def home_of(seen: HomeGlance, user_id: int, today: date | None = None,
            due_soon_days: int | None = None) -> Home:
    """The home page built from ``seen`` alone, but for a refresher cycle's progress (read
    apart: the result's ``read_more`` says so) and the outlines (kept per course version)."""
    today = today or clock.today()
    if due_soon_days is None:
        due_soon_days = settings().reminder_due_soon_days
    result = Home([], [], [], [])
    courses, cycles, course_versions, staff_status = _courses_and_cycles(seen, result)
    shown: list[tuple[HomeEnrolment, str | None, HomeCourse, EnrolmentStatus]] = []
    for course_id, rows in cycles.items():
        for enrolment, certificate_code in _current(rows):
            status = EnrolmentStatus.of(enrolment, today, staff_status or StaffStatus.ACTIVE)
            if status != EnrolmentStatus.CLOSED:
                shown.append((enrolment, certificate_code, courses[course_id], status))
    enrolled = {course.id for _e, _c, course, _s in shown}
    if shown:
        for item in _home_items(user_id, seen, shown, course_versions, today, result):
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


def _as_json(rows: sa.Select) -> sa.ScalarSelect[str | None]:
    """``rows`` (in their order) as the text of one JSON array of arrays."""
    listed = rows.subquery()
    return sa.select(rows_as_json(*listed.c)).scalar_subquery()


@functools.cache
def _home_glance_statement() -> sa.Select:
    """``glance``'s statement, built once: reading columns, not entities, and building neither
    the statement nor its cache key per request cost less than the ORM's way (and the page kept,
    the reading is most of what is left)."""
    staff_id: sa.BindParameter[Any] = sa.bindparam("staff_id")
    user_id: sa.BindParameter[Any] = sa.bindparam("user_id")
    cycles = (
        sa.select(Enrolment.course_id, Enrolment.id, Enrolment.cycle, Enrolment.latest, Enrolment.required,
                  Enrolment.state, Enrolment.assigned_on, Enrolment.due_on, Enrolment.completed_at,
                  Enrolment.expires_on, Enrolment.closed_at, Enrolment.refresher_of, Certificate.code)
        .join(Course, Course.id == Enrolment.course_id)
        .outerjoin(Certificate, Certificate.enrolment_id == Enrolment.id)
        .where(Enrolment.staff_id == staff_id, Course.archived.is_(False))
        .order_by(Enrolment.course_id, Enrolment.cycle.desc(), Enrolment.id)
    )
    done = (sa.select(LessonProgress.lesson_id).where(LessonProgress.user_id == user_id)
            .order_by(LessonProgress.lesson_id).subquery())
    attempts = (sa.select(QuizAttempt.quiz_id, QuizAttempt.percent, QuizAttempt.passed,
                          QuizAttempt.submitted_at, QuizAttempt.status, QuizAttempt.started_at)
                .where(QuizAttempt.user_id == user_id).order_by(QuizAttempt.id))
    grants = (sa.select(AttemptGrant.quiz_id, AttemptGrant.extra, AttemptGrant.granted_at)
              .where(AttemptGrant.user_id == user_id).order_by(AttemptGrant.id))
    return sa.select(
        versions.version_column(versions.COURSES),
        _as_json(cycles),
        sa.select(Staff.status).where(Staff.id == staff_id).scalar_subquery(),
        sa.select(ids_joined(done.c.lesson_id)).scalar_subquery(),
        _as_json(attempts),
        _as_json(grants),
        sa.exists(_programmes_followed(staff_id)),
    )


def _programmes_followed(staff_id: sa.BindParameter[Any]) -> sa.Select:
    """The rows ``program_paths.paths_of`` shows on the home page (its own statement's terms)."""
    return (sa.select(ProgramEnrolment.id).join(Program, Program.id == ProgramEnrolment.program_id)
            .where(ProgramEnrolment.staff_id == staff_id, ProgramEnrolment.latest.is_(True),
                   ProgramEnrolment.closed_at.is_(None), Program.archived.is_(False)))


def _json_rows(text: str | None) -> list[list[Any]]:
    return json.loads(text) if text else []


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


class Catalog(NamedTuple):
    """The open courses as the home page lists them, at one version of the catalog."""

    version: int | None  # versions.COURSES, read with the rows (None: no version, or no course)
    courses: dict[int, HomeCourse]
    versions: dict[int, outlines.Version]


@functools.cache
def _catalog_statement() -> sa.Select:
    """Every open course's row and the catalog's version, in one statement (one snapshot)."""
    return (sa.select(versions.version_column(versions.COURSES), Course.id, Course.version, Course.key,
                      Course.title, Course.summary, Course.completion)
            .where(Course.archived.is_(False)).order_by(Course.id))


def catalog(version: int | None) -> Catalog:
    """The open courses at the catalog's ``version``: kept per version and process (a new
    version is a new key), else read with the version and kept under the version read. A
    transaction that changed a course reads its own rows, keeps nothing and names no version (it
    may still roll back, and its number be given to another change)."""
    session = db.session()
    mine = versions.raised_here(session, versions.COURSES)
    store = app_cache("mooc.training.catalogs", lambda: KeptCache(16))
    kept = store.peek(("catalog", version)) if version is not None and not mine else None
    if isinstance(kept, Catalog):
        return kept
    rows = session.connection().execute(_catalog_statement()).all()
    found = Catalog(rows[0][0] if rows and not mine else None,
                    {row.id: HomeCourse(row.id, row.key, row.title, row.summary or "", row.completion)
                     for row in rows},
                    {row.id: outlines.Version(row.id, row.version) for row in rows})
    if found.version is not None:
        store.put(("catalog", found.version), found)
    return found


def _courses_and_cycles(
    seen: HomeGlance, result: Home,
) -> tuple[dict[int, HomeCourse], _Cycles, list[outlines.Version], StaffStatus | None]:
    """Every open course, each with the person's cycles of it (newest first) and their
    certificates, and the person's roster status (no cycles when they have no roster row)."""
    catalog_version, cycles_text, staff_status, *_progress = seen.facts
    courses = catalog(catalog_version)
    if courses.version is None or courses.version != catalog_version:
        result.read_more = True  # the catalog changed since the glance, or has no version
    cycles: _Cycles = {}
    for row in _json_rows(cycles_text):
        (course_id, enrolment_id, cycle, latest, required, state, assigned_on, due_on, completed_at,
         expires_on, closed_at, refresher_of, certificate_code) = row
        if course_id not in courses.courses:  # archived since the glance (read_more: not kept)
            continue
        cycles.setdefault(course_id, []).append((
            HomeEnrolment(enrolment_id, cycle, bool(latest), bool(required), EnrolmentState(state),
                          date.fromisoformat(assigned_on), _day(due_on), utc_from_json(completed_at),
                          _day(expires_on), utc_from_json(closed_at), refresher_of),
            certificate_code,
        ))
    status = StaffStatus(staff_status) if staff_status is not None and cycles else None
    return courses.courses, cycles, [courses.versions[course_id] for course_id in cycles], status


def _current(rows: list[tuple[HomeEnrolment, str | None]]) -> list[tuple[HomeEnrolment, str | None]]:
    """Of one course's cycles (newest first): the latest, and also the last finished one if a
    renewal is under way (its certificate is still valid while the renewal runs)."""
    latest = rows[0]
    settled = (EnrolmentState.COMPLETED, EnrolmentState.EXEMPT)
    finished = next((row for row in rows if row[0].state in settled), None)
    return [latest] if finished is None or finished is latest else [latest, finished]


# A settled cycle without a completion time (an exemption) sorts as the newest, after any time a
# completion can have; among them the last listed first. (They were keyed by a new clock.now()
# each, which usually made that order, but not always, and made the page depend on the moment.)
_NOT_YET = datetime.max.replace(tzinfo=UTC)


def _newest_first(items: list[HomeItem]) -> list[HomeItem]:
    def newest(pair: tuple[int, HomeItem]) -> tuple[datetime, int]:
        completed_at = pair[1].enrolment.completed_at
        return (_NOT_YET, pair[0]) if completed_at is None else (completed_at, 0)

    return [item for _n, item in sorted(enumerate(items), key=newest, reverse=True)]


def _sort_and_flag(result: Home, due_soon_days: int) -> None:
    """Sort the home page's lists; flag the overdue and the due soon."""
    result.required.sort(key=lambda i: (i.enrolment.due_on or date.max, i.course.title))
    result.optional.sort(key=lambda i: i.course.title)
    result.completed = _newest_first(result.completed)
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


def _person_progress(seen: HomeGlance) -> _Progress:
    """Everything the person did that progress counts (in any course: the outlines pick their
    courses' rows), from the glance."""
    *_courses, done, attempts, grants = seen.facts
    progress = _Progress(set(_ids(done)), [], [], {})
    for quiz_id, extra, granted_at in _json_rows(grants):
        progress.granted.setdefault(quiz_id, []).append((int(extra or 0), _moment(granted_at)))
    for quiz_id, percent, passed, submitted_at, status, started_at in _json_rows(attempts):
        attempt = _Attempt(quiz_id, None if percent is None else float(percent), _flag(passed),
                           utc_from_json(submitted_at), AttemptStatus(status), _moment(started_at))
        progress.attempts.append(attempt)
        if attempt.percent is not None:
            progress.graded.append(attempt)
    return progress


def _moment(value: str) -> datetime:
    moment = utc_from_json(value)
    assert moment is not None  # (a column that is never NULL)
    return moment


def _ids(text: str | None) -> list[int]:
    return [int(part) for part in text.split(",")] if text else []


def _home_items(
    user_id: int,
    seen: HomeGlance,
    shown: list[tuple[HomeEnrolment, str | None, HomeCourse, EnrolmentStatus]],
    versions: list[outlines.Version],
    today: date,
    result: Home,
) -> list[HomeItem]:
    course_outlines = outlines.outlines(versions)
    mine = _person_progress(seen)
    items = []
    for enrolment, certificate_code, course, status in shown:
        outline = course_outlines[course.id]
        since = cycle_start(enrolment)
        progress = progress_of(
            course.completion, outline.lessons, outline.quizzes, mine.done, mine.graded, since)
        if enrolment.refresher_of and status not in (EnrolmentStatus.COMPLETED, EnrolmentStatus.EXEMPT):
            result.read_more = True
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
