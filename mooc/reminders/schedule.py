"""What is due to whom today: the reminder schedule and the plan of one run.

A reminder is sent for the *current* step of each obligation only: when a run was missed,
the next run sends the step that applies now, never a backlog of stale ones (someone 200
days overdue gets one "overdue" mail, not 28). Steps, per open required enrolment:

- ``assigned``: within a week of the assignment (renewal cycles are announced by the
  certificate's ``expiry-N`` reminder instead);
- ``due-N``: from N days before the due date (``MOOC_REMINDER_DAYS_BEFORE``, default 14, 3
  and 0 = on the day), unless the assignment came after that point (its own mail said it);
- ``overdue-K``: the K-th period of ``MOOC_REMINDER_OVERDUE_EVERY_DAYS`` (default 7) after
  the due date, so weekly while overdue;

and per completed cycle whose certificate will expire (its rule renews it):
``expiry-N`` from N days before the expiry (``MOOC_REMINDER_EXPIRY_DAYS``, default 30).
Each unit manager gets ``digest-<ISO week>`` once a week (``MOOC_REMINDER_DIGEST_WEEKDAY``).

Only people who are on the roster as active (not left, not on leave) and have an active
account get mail; optional courses, completed, exempt and closed enrolments never do.
The plan is built with a handful of set-based queries whatever the size of the roster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from mooc import clock
from mooc.auth.models import Role, User
from mooc.config import Settings, settings
from mooc.courses.models import Course
from mooc.database import alias, chunks
from mooc.extensions import db
from mooc.reminders.models import ReminderKind, ReminderLog, ReminderStatus
from mooc.reports.queries import current_enrolments
from mooc.roster import account_status
from mooc.roster.account_status import AccountStatus
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from mooc.roster.units import children_map, subtree_ids, unit_labels
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentSource, EnrolmentState, Program
from mooc.training.status import TO_DO, EnrolmentStatus

ASSIGNED_LOOKBACK_DAYS = 7  # an assignment older than this is not announced any more


@dataclass(frozen=True)
class Schedule:
    days_before: tuple[int, ...] = (14, 3, 0)
    overdue_every: int = 7
    expiry_days: tuple[int, ...] = (30,)
    digest_weekday: int = 1  # ISO: 1 = Monday; 0 = no digest
    assigned_lookback: int = ASSIGNED_LOOKBACK_DAYS

    @classmethod
    def of(cls, config: Settings) -> Schedule:
        """The schedule the settings describe (MOOC_REMINDER_*)."""
        return cls(
            days_before=config.reminder_days_before,
            overdue_every=config.reminder_overdue_every_days,
            expiry_days=config.reminder_expiry_days,
            digest_weekday=config.reminder_digest_weekday,
        )

    @property
    def due_soon_days(self) -> int:
        """The "due soon" horizon: the first reminder before a due date (as on the home page)."""
        return max(self.days_before, default=14)


# --- the steps (pure) ------------------------------------------------------------------------------


def trainee_step(schedule: Schedule, today: date, assigned_on: date, due_on: date | None,
                 announce: bool = True) -> str | None:
    """The current step of an open required enrolment, or None."""
    if due_on is not None:
        left = (due_on - today).days
        if left >= 0:
            for days in sorted(schedule.days_before):
                if left <= days:
                    if due_on - timedelta(days=days) > assigned_on:
                        return f"due-{days}"
                    break  # the assignment came inside this window: its own mail said it
        elif schedule.overdue_every:
            period = -left // schedule.overdue_every
            if period >= 1:
                return f"overdue-{period}"
    if announce and 0 <= (today - assigned_on).days < schedule.assigned_lookback:
        return "assigned"
    return None


def expiry_step(schedule: Schedule, today: date, expires_on: date, completed_on: date) -> str | None:
    """The current renewal reminder of a certificate expiring on ``expires_on``, or None."""
    left = (expires_on - today).days
    if left < 0:
        return None
    for days in sorted(schedule.expiry_days):
        if left <= days:
            return f"expiry-{days}" if expires_on - timedelta(days=days) > completed_on else None
    return None


def digest_step(schedule: Schedule, today: date) -> str | None:
    """``digest-2026-W10`` from the digest's weekday to the end of the ISO week, else None."""
    if not schedule.digest_weekday or today.isoweekday() < schedule.digest_weekday:
        return None
    year, week, _day = today.isocalendar()
    return f"digest-{year}-W{week:02d}"


def kind_of(step: str) -> ReminderKind:
    return ReminderKind(step.split("-", 1)[0])


def step_days(step: str) -> int | None:
    """The number in ``due-3``, ``overdue-2``, ``expiry-30``."""
    tail = step.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


# --- the plan of a run ------------------------------------------------------------------------------


@dataclass
class TraineeItem:
    key: str
    step: str
    enrolment_id: int
    course_title: str
    course_key: str
    day: date | None  # the due date; for ``expiry`` the certificate's expiry date
    days: int | None  # days from today to ``day``: negative when overdue
    program_title: str | None = None  # the programme whose step opened the course (mooc.training.programs)

    @property
    def kind(self) -> ReminderKind:
        return kind_of(self.step)


@dataclass
class TraineeMessage:
    user_id: int
    email: str
    name: str  # as on the roster
    items: list[TraineeItem] = field(default_factory=list)
    sender_name: str = ""  # a manual reminder: who sent it


@dataclass
class DigestRow:
    staff_name: str
    sort_key: str
    unit_name: str
    course_title: str
    status: EnrolmentStatus  # overdue, in progress or not started
    due_on: date | None
    staff_id: int = 0
    account: AccountStatus = AccountStatus.ACTIVE  # whether the person can sign in
    program_title: str | None = None  # the programme whose step opened the course


@dataclass
class DigestMessage:
    key: str
    step: str
    user_id: int
    email: str
    name: str
    unit_id: int
    unit_name: str
    overdue: list[DigestRow] = field(default_factory=list)
    due_soon: list[DigestRow] = field(default_factory=list)
    not_started: list[DigestRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.due_soon or self.not_started)

    @property
    def cannot_sign_in(self) -> list[DigestRow]:
        """The people listed who cannot sign in (once each, by name): they get no reminders."""
        seen: dict[int, DigestRow] = {}
        for row in self.overdue + self.due_soon + self.not_started:
            if not row.account.can_sign_in:
                seen.setdefault(row.staff_id, row)
        return sorted(seen.values(), key=lambda r: r.sort_key)


@dataclass
class Plan:
    today: date
    horizon: int  # "due soon" days
    trainees: list[TraineeMessage]
    digests: list[DigestMessage]
    without_account: int = 0  # reminders due to people with no active account: not sent
    retries: set[str] = field(default_factory=set)  # keys that failed or were never confirmed

    @property
    def messages(self) -> int:
        return len(self.trainees) + len(self.digests)


def enrolment_key(enrolment_id: int, step: str) -> str:
    return f"e{enrolment_id}:{step}"


def digest_key(user_id: int, step: str) -> str:
    return f"u{user_id}:{step}"


def unsent(keys: Iterable[str], stale_before: datetime) -> tuple[set[str], set[str]]:
    """Of ``keys``, those still to send, and among them the retries. Sent keys, and keys a
    run claimed less than the pending window ago (it may be sending them now), are left out."""
    keys = list(dict.fromkeys(keys))
    logged: dict[str, tuple[ReminderStatus, datetime]] = {}
    log = ReminderLog.__table__
    for chunk in chunks(keys):
        for key, status, claimed_at in db.session.execute(
            sa.select(log.c.key, log.c.status, log.c.claimed_at).where(log.c.key.in_(chunk))
        ):
            logged[key] = (ReminderStatus(status), claimed_at)
    todo, retries = set(), set()
    for key in keys:
        if key not in logged:
            todo.add(key)
            continue
        status, claimed_at = logged[key]
        abandoned = status == ReminderStatus.PENDING and claimed_at < stale_before
        if status == ReminderStatus.FAILED or abandoned:
            todo.add(key)
            retries.add(key)
    return todo, retries


def plan(today: date, schedule: Schedule, stale_before: datetime | None = None) -> Plan:
    """Every reminder due today and not sent yet: trainees' mails (one per person, all their
    courses together) and managers' digests. Reads only. A key claimed before ``stale_before``
    and never confirmed counts as unsent (default: the configured pending window)."""
    if stale_before is None:
        stale_before = clock.now() - timedelta(minutes=settings().reminder_pending_minutes)
    trainees, without_account, trainee_retries = _trainee_messages(today, schedule, stale_before)
    digests, digest_retries = _digests(today, schedule, stale_before)
    return Plan(today, schedule.due_soon_days, trainees, digests, without_account,
                trainee_retries | digest_retries)


def _trainee_messages(today: date, schedule: Schedule,
                      stale_before: datetime) -> tuple[list[TraineeMessage], int, set[str]]:
    candidates: list[tuple[int | None, str | None, str, TraineeItem]] = []
    for row in _open_enrolments(today, schedule):
        announce = not (row.cycle > 1 and row.source == EnrolmentSource.RULE and schedule.expiry_days)
        step = trainee_step(schedule, today, row.assigned_on, row.due_on, announce)
        if step is None:
            continue
        days = (row.due_on - today).days if row.due_on is not None else None
        item = TraineeItem(enrolment_key(row.id, step), step, row.id, row.title, row.key, row.due_on, days,
                           row.program_title)
        candidates.append((row.user_id, row.email, row.full_name, item))
    for row in _expiring_certificates(today, schedule):
        completed_on = row.completed_at.astimezone(clock.LOCAL_TZ).date()
        step = expiry_step(schedule, today, row.expires_on, completed_on)
        if step is None:
            continue
        item = TraineeItem(enrolment_key(row.id, step), step, row.id, row.title, row.key, row.expires_on,
                           (row.expires_on - today).days)
        candidates.append((row.user_id, row.email, row.full_name, item))

    todo, retries = unsent((c[3].key for c in candidates), stale_before)
    messages: dict[int, TraineeMessage] = {}
    without_account = 0
    for user_id, email, name, item in candidates:
        if item.key not in todo:
            continue
        if user_id is None or not email:
            without_account += 1
            continue
        message = messages.setdefault(user_id, TraineeMessage(user_id, email, name))
        message.items.append(item)
    ordered = sorted(messages.values(), key=lambda m: m.user_id)
    for message in ordered:
        message.items.sort(key=_item_order)
    return ordered, without_account, retries


KIND_ORDER = {ReminderKind.OVERDUE: 0, ReminderKind.MANUAL: 1, ReminderKind.DUE: 1, ReminderKind.ASSIGNED: 2,
              ReminderKind.EXPIRY: 3}


def _item_order(item: TraineeItem) -> tuple:
    return (KIND_ORDER[item.kind], item.day or date.max, item.course_title)


def _recipients() -> Any:
    """The trainee's active account (outer join: people without one are counted, not mailed)."""
    return sa.and_(User.staff_id == Staff.id, User.active.is_(True))


def _open_enrolments(today: date, schedule: Schedule) -> list[sa.Row]:
    """Open required enrolments that may have a step today: assigned lately, or due within
    the first reminder's window, or overdue."""
    recent = today - timedelta(days=schedule.assigned_lookback - 1)
    horizon = today + timedelta(days=max(schedule.days_before, default=0))
    when = [Enrolment.assigned_on >= recent]
    if schedule.days_before or schedule.overdue_every:
        when.append(Enrolment.due_on <= horizon)
    stmt = (
        sa.select(Enrolment.id, Enrolment.cycle, Enrolment.source, Enrolment.assigned_on, Enrolment.due_on,
                  Course.title, Course.key, Staff.full_name, User.id.label("user_id"), User.email,
                  Program.title.label("program_title"))
        .join(Staff, Staff.id == Enrolment.staff_id)
        .join(Course, Course.id == Enrolment.course_id)
        .outerjoin(Program, Program.id == Enrolment.program_id)
        .outerjoin(User, _recipients())
        .where(
            Enrolment.required.is_(True),
            EnrolmentStatus.any_of(TO_DO, today, staff_status=Staff.status),  # still to do
            Staff.status == StaffStatus.ACTIVE,
            Course.archived.is_(False),
            sa.or_(*when),
        )
    )
    return list(db.session.execute(stmt))


def _expiring_certificates(today: date, schedule: Schedule) -> list[sa.Row]:
    """Completed cycles whose certificate expires within the first renewal reminder's window,
    whose rule still renews it, and that no later cycle has completed, exempted or closed."""
    if not schedule.expiry_days:
        return []
    later = alias(Enrolment, "later")
    settled = sa.exists().where(
        later.staff_id == Enrolment.staff_id,
        later.course_id == Enrolment.course_id,
        later.cycle > Enrolment.cycle,
        sa.or_(later.state.in_([EnrolmentState.COMPLETED, EnrolmentState.EXEMPT]),
               later.closed_at.is_not(None)),
    )
    stmt = (
        sa.select(Enrolment.id, Enrolment.expires_on, Enrolment.completed_at, Course.title, Course.key,
                  Staff.full_name, User.id.label("user_id"), User.email)
        .join(Staff, Staff.id == Enrolment.staff_id)
        .join(Course, Course.id == Enrolment.course_id)
        .join(AssignmentRule, AssignmentRule.id == Enrolment.rule_id)
        .outerjoin(User, _recipients())
        .where(
            Enrolment.state == EnrolmentState.COMPLETED,
            Enrolment.required.is_(True),
            Enrolment.closed_at.is_(None),
            Enrolment.completed_at.is_not(None),
            Enrolment.expires_on >= today,
            Enrolment.expires_on <= today + timedelta(days=max(schedule.expiry_days)),
            AssignmentRule.active.is_(True),
            AssignmentRule.renew_months.is_not(None),
            Staff.status == StaffStatus.ACTIVE,
            Course.archived.is_(False),
            ~settled,
        )
    )
    return list(db.session.execute(stmt))


# --- managers' digests ------------------------------------------------------------------------------


def _digests(today: date, schedule: Schedule, stale_before: datetime) -> tuple[list[DigestMessage], set[str]]:
    step = digest_step(schedule, today)
    if step is None:
        return [], set()
    managers = db.session.execute(
        sa.select(User.id, User.email, User.display_name, User.scope_unit_id, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == User.scope_unit_id)
        .where(User.role == Role.MANAGER, User.active.is_(True))
        .order_by(User.id)
    ).all()
    todo, retries = unsent((digest_key(m.id, step) for m in managers), stale_before)
    managers = [m for m in managers if digest_key(m.id, step) in todo]
    if not managers:
        return [], set()
    children = children_map()
    labels = unit_labels()
    subtrees = {m.id: subtree_ids(m.scope_unit_id, children) for m in managers}
    by_unit = _behind_by_unit(today, schedule.due_soon_days, set().union(*subtrees.values()))
    digests = []
    horizon = today + timedelta(days=schedule.due_soon_days)
    for manager in managers:
        digest = DigestMessage(digest_key(manager.id, step), step, manager.id, manager.email,
                               manager.display_name, manager.scope_unit_id,
                               labels.get(manager.scope_unit_id, manager.name))
        rows = [row for unit_id in subtrees[manager.id] for row in by_unit.get(unit_id, [])]
        _sort_into(digest, rows, horizon)
        if not digest.empty:
            digests.append(digest)
    return digests, retries & {d.key for d in digests}


def _sort_into(digest: DigestMessage, rows: list[DigestRow], horizon: date) -> None:
    """Put each row, by name then course, in the digest's overdue, due soon or not started list."""
    rows.sort(key=lambda r: (r.sort_key, r.course_title))
    for row in rows:
        if row.status == EnrolmentStatus.OVERDUE:
            digest.overdue.append(row)
        elif row.due_on is not None and row.due_on <= horizon:
            digest.due_soon.append(row)
        elif row.status == EnrolmentStatus.NOT_STARTED:
            digest.not_started.append(row)


def _behind_by_unit(today: date, horizon_days: int, units: set[int]) -> dict[int, list[DigestRow]]:
    """Current obligations (as the reports count them) that are overdue, due soon or never
    started, of people who have not left, grouped by their unit. One query."""
    current = current_enrolments().subquery()
    enrolment = aliased(Enrolment, current)
    horizon = today + timedelta(days=horizon_days)
    status = EnrolmentStatus.expression(today, enrolment, current=True)  # people who left: excluded below
    stmt = (
        sa.select(Staff.unit_id, Staff.full_name, Staff.sort_key, OrgUnit.name, Course.title,
                  status, enrolment.due_on, Staff.id, account_status.expression(), Program.title)
        .select_from(enrolment)
        .join(Staff, Staff.id == enrolment.staff_id)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .join(Course, Course.id == enrolment.course_id)
        .outerjoin(Program, Program.id == enrolment.program_id)
        .outerjoin(User, User.staff_id == Staff.id)  # account_status.join(): the person's account
        .where(
            Staff.status != StaffStatus.LEFT,
            Staff.unit_id.in_(units),
            EnrolmentStatus.any_of(TO_DO, today, enrolment, current=True),
            sa.or_(enrolment.due_on <= horizon, enrolment.state == EnrolmentState.NOT_STARTED),
        )
    )
    grouped: dict[int, list[DigestRow]] = defaultdict(list)
    labels = unit_labels()  # "Phòng 1 — Thanh tra TP Hà Nội" where another unit is also "Phòng 1"
    for row in db.session.execute(stmt):
        unit_id, name, sort_key, unit_name, title, row_status, due_on, staff_id, account, program = row
        label = labels.get(unit_id, unit_name)
        grouped[unit_id].append(DigestRow(name, sort_key, label, title, EnrolmentStatus(row_status),
                                          due_on, staff_id, AccountStatus(account), program))
    return grouped
