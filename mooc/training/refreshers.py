"""Refreshers: a renewal that asks only what changed since the edition a person completed.

An assignment rule whose renewal is ``changed-only`` (``RenewalMode.CHANGED_ONLY``) opens
each renewal cycle as a *refresher*: ``Enrolment.refresher_of`` holds the content hash of the
edition the person last completed, and the cycle asks only the lessons added or changed since
then (``mooc.courses.editions.changes_since``), read again in their current version, plus the
course's quizzes passed within the cycle. When that edition was never recorded (completed
before lesson versions were kept, or imported from elsewhere) the cycle asks the whole course,
as a full renewal would: nobody is let off what cannot be shown to be unchanged.

``open_refreshers`` opens such cycles for given people and a course outside the rules (the
administrator's explicit action, e.g. after a legal document they rested on was
superseded); ``lessons_each`` counts, for a rule's preview, how many lessons each person will
have to take.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from mooc import clock
from mooc.auth import audit
from mooc.auth.models import User
from mooc.courses import editions
from mooc.courses.models import Course, Lesson, LessonLegalBasis
from mooc.database import chunks
from mooc.extensions import db
from mooc.roster.models import Staff, StaffStatus
from mooc.training import legal
from mooc.training.assign import _latest_cycles, _new_cycle, sample_of
from mooc.training.models import (
    AssignmentRule,
    Enrolment,
    EnrolmentSource,
    EnrolmentState,
    supersede_earlier_of,
)


def lessons_to_take(course: Course, enrolment: Any) -> frozenset[int] | None:
    """The lessons ``enrolment``'s cycle (an ``Enrolment``, or a row with its ``refresher_of``)
    asks for, when it is a refresher whose basis edition is known; None: the whole course (a
    first cycle, a full renewal, an unknown basis)."""
    if enrolment is None or not enrolment.refresher_of:
        return None
    changes = editions.changes_since(course, enrolment.refresher_of)
    return changes.to_take if changes.known else None


def what_changed(course: Course, completed_version: str | None) -> editions.Changes | None:
    """For the course page: what changed since the edition the person last completed
    (``completed_version``, which ``standing.of`` read); None when they never completed it or
    completed the current edition. No statement once the course's cache holds it."""
    if not completed_version or completed_version == course.content_hash:
        return None
    return editions.changes_since(course, completed_version)


# --- how many lessons each person will take --------------------------------------------------------


def live_lessons(course: Course) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Lesson).where(
        Lesson.course_id == course.id, Lesson.archived.is_(False))) or 0


def lessons_each(course: Course, staff_ids: list[int]) -> dict[int, int]:
    """Staff id -> the number of lessons their next cycle of ``course`` asks under a
    ``changed-only`` renewal: the added and changed lessons since the edition they last
    completed; the whole course when they never completed it or that edition is unknown.
    A few statements whatever the number of people (one per distinct edition completed)."""
    total = live_lessons(course)
    basis: dict[int, str | None] = {}
    for chunk in chunks(staff_ids):
        rows = db.session.execute(
            sa.select(Enrolment.staff_id, Enrolment.cycle, Enrolment.completed_version)
            .where(Enrolment.course_id == course.id, Enrolment.staff_id.in_(chunk),
                   Enrolment.state == EnrolmentState.COMPLETED)
            .order_by(Enrolment.staff_id, Enrolment.cycle))
        for row in rows:
            basis[row.staff_id] = row.completed_version  # the latest completed cycle wins
    counts: dict[str | None, int] = {}
    for version in set(basis.values()):
        changes = editions.changes_since(course, version)
        counts[version] = len(changes.to_take) if changes.known else total
    return {staff_id: counts[basis[staff_id]] if staff_id in basis else total for staff_id in staff_ids}


@dataclass
class LessonsPreview:
    """A ``changed-only`` rule's preview: people by the number of lessons they will take,
    and a sample of them in Vietnamese name order."""

    total_lessons: int
    by_count: list[tuple[int, int]]  # (lessons to take, people), fewest first
    sample: list[tuple[Staff, int]] = field(default_factory=list)


def preview_lessons(course: Course, staff_query: sa.Select, sample_size: int = 20) -> LessonsPreview:
    """How many lessons each person ``staff_query`` (a select of staff ids) covers will take."""
    staff_ids = list(db.session.scalars(staff_query))
    each = lessons_each(course, staff_ids)
    total = live_lessons(course)
    tally: dict[int, int] = defaultdict(int)
    for count in each.values():
        tally[count] += 1
    sample = sample_of(staff_ids, sample_size)
    return LessonsPreview(total, sorted(tally.items()), [(staff, each[staff.id]) for staff in sample])


def _openable(course_id: int, staff_ids: set[int]) -> tuple[list[tuple[int, Any]], int]:
    """(staff id, latest cycle) of each of ``staff_ids`` whose latest cycle of the course is
    completed and who has not left, in id order; and how many others (skipped)."""
    gone = {staff_id for chunk in chunks(sorted(staff_ids)) for staff_id in db.session.scalars(
        sa.select(Staff.id).where(Staff.id.in_(chunk), Staff.status == StaffStatus.LEFT))}
    latest = _latest_cycles(course_id, staff_ids)
    openable = [(staff_id, latest[staff_id]) for staff_id in sorted(staff_ids)
                if staff_id not in gone and staff_id in latest
                and latest[staff_id].state == EnrolmentState.COMPLETED]
    return openable, len(staff_ids) - len(openable)


# --- opening refresher cycles outside the rules ------------------------------------------------------


@dataclass
class RefresherReport:
    opened: int = 0  # refresher cycles opened
    skipped: int = 0  # people with no completed latest cycle (nothing to refresh), or who left
    opened_ids: list[int] = field(default_factory=list, repr=False)


def open_refreshers(course_id: int, staff_ids: set[int], due_on: date | None, *,
                    actor: User | None = None, today: date | None = None,
                    rule: AssignmentRule | None = None) -> RefresherReport:
    """Open a refresher cycle of ``course_id`` for each of ``staff_ids`` whose latest cycle is
    completed (the edition they completed becomes the cycle's basis); everyone else is left
    as they are. Flush only: the caller owns the transaction (and previews by rolling a
    savepoint back, as ``rules`` does)."""
    today = today or clock.today()
    report = RefresherReport()
    openable, report.skipped = _openable(course_id, staff_ids)
    supersede_earlier_of(course_id, [staff_id for staff_id, _current in openable])  # a chunk at a time
    for staff_id, current in openable:
        enrolment = _new_cycle(staff_id, course_id, current.cycle + 1, rule, today, due_on,
                               EnrolmentSource.RULE if rule is not None else EnrolmentSource.MANUAL)
        enrolment.refresher_of = current.completed_version
        db.session.add(enrolment)
        report.opened += 1
        report.opened_ids.append(staff_id)
    db.session.flush()  # the new cycles, inserted together
    audit.record("training.refreshers_opened", actor=actor, target=f"course {course_id}",
                 opened=report.opened, skipped=report.skipped)
    return report


# --- after a legal document was superseded ----------------------------------------------------------


@dataclass
class CoursePlan:
    """What "open refreshers" would do in one course resting on a superseded document."""

    course: Course
    people: int  # holding a completion of it that rested on the document (in the actor's units)
    to_open: list[int]  # staff ids: their latest cycle is that completion, and they are still here
    skipped: int  # already in a later cycle (a renewal or refresher under way), or left
    by_count: list[tuple[int, int]]  # (lessons to take, people), fewest first
    total_lessons: int
    still_rests: bool  # a live lesson still declares the document: the author has not moved it yet


def plan_for_document(document_id: int, units: set[int] | None) -> list[CoursePlan]:
    """For each course whose completions rest on the document (``legal.resting_by_course``),
    who would get a refresher cycle and how many lessons each would take; ``units``: only
    people of these units (None: everybody). Reads only: the preview of the action."""
    resting = legal.resting_by_course(document_id, units)
    if not resting:
        return []
    still = set(db.session.scalars(
        sa.select(Lesson.course_id).join(LessonLegalBasis, LessonLegalBasis.lesson_id == Lesson.id)
        .where(LessonLegalBasis.document_id == document_id, Lesson.archived.is_(False))))
    plans = []
    for course in db.session.scalars(sa.select(Course).where(Course.id.in_(resting)).order_by(Course.title)):
        openable, skipped = _openable(course.id, resting[course.id])
        to_open = [staff_id for staff_id, _cycle in openable]
        tally: dict[int, int] = defaultdict(int)
        for count in lessons_each(course, to_open).values():
            tally[count] += 1
        plans.append(CoursePlan(course, len(resting[course.id]), to_open, skipped, sorted(tally.items()),
                                live_lessons(course), course.id in still))
    return plans


def open_for_document(document_id: int, course_ids: set[int], due_on: date, units: set[int] | None, *,
                      actor: User | None = None) -> dict[int, RefresherReport]:
    """Open a refresher cycle, due ``due_on``, in each of ``course_ids`` for the people whose
    latest completion of it rested on the document (``units``: only these units' people).
    The administrator's explicit action after a preview (``plan_for_document``), never run
    on its own. Flush only: the caller owns the transaction."""
    resting = legal.resting_by_course(document_id, units)
    reports = {course_id: open_refreshers(course_id, resting[course_id], due_on, actor=actor)
               for course_id in sorted(course_ids & set(resting))}
    audit.record("legal.refreshers_opened", actor=actor, target=f"legal document {document_id}",
                 courses=sorted(reports), opened=sum(r.opened for r in reports.values()),
                 skipped=sum(r.skipped for r in reports.values()), due_on=due_on.isoformat())
    return reports
