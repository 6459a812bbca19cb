"""The read side of the reminder log, and who cannot sign in, for the administrators' page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from mooc.auth.models import User
from mooc.courses.models import Course
from mooc.extensions import db
from mooc.reminders.models import ReminderKind, ReminderLog, ReminderStatus
from mooc.reports.summary import obligation
from mooc.roster import account_status
from mooc.roster.account_status import CANNOT_SIGN_IN, AccountStatus
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from mooc.training.models import Enrolment
from mooc.training.status import TO_DO, EnrolmentStatus

PER_PAGE = 50


@dataclass
class LogRow:
    entry: ReminderLog
    recipient_name: str
    course_title: str


@dataclass
class LogPage:
    rows: list[LogRow]
    total: int
    page: int
    per_page: int
    counts: dict[ReminderStatus, int]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def log_page(status: ReminderStatus | None = None, kind: ReminderKind | None = None, page: int = 1,
             per_page: int = PER_PAGE) -> LogPage:
    """One page of the log, newest first (claim order, by the primary key): three queries."""
    conditions = []
    if status is not None:
        conditions.append(ReminderLog.status == status)
    if kind is not None:
        conditions.append(ReminderLog.kind == kind)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(ReminderLog).where(*conditions)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        sa.select(ReminderLog, User.display_name, Course.title)
        .outerjoin(User, User.id == ReminderLog.user_id)
        .outerjoin(Enrolment, Enrolment.id == ReminderLog.enrolment_id)
        .outerjoin(Course, Course.id == Enrolment.course_id)
        .where(*conditions)
        .order_by(ReminderLog.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    counts = dict.fromkeys(ReminderStatus, 0)
    for row_status, count in db.session.execute(
        sa.select(ReminderLog.status, sa.func.count()).group_by(ReminderLog.status)
    ):
        counts[ReminderStatus(row_status)] = count
    return LogPage([LogRow(entry, name or "", title or "") for entry, name, title in rows], total, page,
                   per_page, counts)


@dataclass
class Unreachable:
    """A person with required training to finish who cannot sign in."""

    staff_id: int
    full_name: str
    staff_code: str
    unit_name: str
    account: AccountStatus


def cannot_sign_in(today: date, limit: int = 50) -> tuple[int, list[Unreachable]]:
    """How many people (not left) have required training still to finish and cannot sign in
    (no account, invited, locked, disabled), and the first ``limit`` of them by name."""
    behind = sa.select(Enrolment.staff_id).where(obligation(),
                                                 EnrolmentStatus.any_of(TO_DO, today, current=True))
    status = account_status.expression()
    conditions = [Staff.status != StaffStatus.LEFT, Staff.id.in_(behind), status.in_(CANNOT_SIGN_IN)]
    total = db.session.scalar(account_status.join(sa.select(sa.func.count(Staff.id))).where(*conditions)) or 0
    rows = db.session.execute(
        account_status.join(sa.select(Staff.id, Staff.full_name, Staff.staff_code, OrgUnit.name, status))
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .where(*conditions).order_by(Staff.sort_key, Staff.staff_code).limit(limit))
    return total, [Unreachable(staff_id, name, code, unit, AccountStatus(value))
                   for staff_id, name, code, unit, value in rows]
