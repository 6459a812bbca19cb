"""Where a person stands in one course, for the course page and a quiz's result page:
the enrolment's status and due date, the certificate, what to do next, and the quizzes
that block completion because their attempts ran out."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import User
from mooc.courses.models import Course, Quiz
from mooc.extensions import db
from mooc.quizzes import attempts
from mooc.roster.models import Staff
from mooc.training.completion import CourseProgress, _cycle_start, course_progress, current_enrolment
from mooc.training.models import Certificate, Enrolment
from mooc.training.status import EnrolmentStatus


@dataclass
class Standing:
    enrolment: Enrolment | None
    status: EnrolmentStatus | None
    certificate: Certificate | None
    progress: CourseProgress
    stuck: list[Quiz]  # required, not passed, no attempt left

    @property
    def complete(self) -> bool:
        return self.status == EnrolmentStatus.COMPLETED or (self.enrolment is None and self.progress.complete)

    @property
    def next_key(self) -> tuple[str, str] | None:
        """The next undone item; None when all is done (or a quiz blocks the way)."""
        if self.complete or self.stuck or self.status == EnrolmentStatus.EXEMPT:
            return None
        return self.progress.next_key


def of(user: User, course: Course) -> Standing:
    enrolment = current_enrolment(user.staff_id, course.id) if user.staff_id is not None else None
    status = certificate = None
    if enrolment is not None:
        staff = db.session.get(Staff, enrolment.staff_id)
        status = EnrolmentStatus.of(enrolment, clock.today(), staff.status if staff else "active")
        certificate = db.session.scalar(
            sa.select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    progress = course_progress(user.id, course, _cycle_start(enrolment) if enrolment is not None else None)
    stuck_ids = attempts.exhausted(user.id, progress.pending_quiz_ids)
    stuck = list(db.session.scalars(sa.select(Quiz).where(Quiz.id.in_(stuck_ids)).order_by(Quiz.key))) \
        if stuck_ids and status != EnrolmentStatus.COMPLETED else []
    return Standing(enrolment, status, certificate, progress, stuck)
