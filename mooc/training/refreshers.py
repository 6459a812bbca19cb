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
from mooc.courses.models import Course, Lesson
from mooc.extensions import db
from mooc.roster.models import Staff, StaffStatus
from mooc.training.assign import _latest_cycles, _open
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentSource, EnrolmentState


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
    for start in range(0, len(staff_ids), 5000):
        chunk = staff_ids[start:start + 5000]
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
    sample = list(db.session.scalars(
        sa.select(Staff).where(Staff.id.in_(staff_ids[:5000])).order_by(Staff.sort_key).limit(sample_size)))
    return LessonsPreview(total, sorted(tally.items()), [(staff, each[staff.id]) for staff in sample])


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
    gone = set(db.session.scalars(sa.select(Staff.id).where(
        Staff.id.in_(staff_ids), Staff.status == StaffStatus.LEFT))) if staff_ids else set()
    latest = _latest_cycles(course_id, staff_ids)
    for staff_id in sorted(staff_ids):
        current = latest.get(staff_id)
        if staff_id in gone or current is None or current.state != EnrolmentState.COMPLETED:
            report.skipped += 1
            continue
        enrolment = _open(staff_id, course_id, current.cycle + 1, rule, today, due_on,
                          EnrolmentSource.RULE if rule is not None else EnrolmentSource.MANUAL)
        enrolment.refresher_of = current.completed_version
        report.opened += 1
        report.opened_ids.append(staff_id)
    db.session.flush()
    audit.record("training.refreshers_opened", actor=actor, target=f"course {course_id}",
                 opened=report.opened, skipped=report.skipped)
    return report
