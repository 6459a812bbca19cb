"""A reminder a manager or training officer sends from the web, to one person or a selection.

It goes through the same machinery as the scheduled ones: the trainee's usual mail
(``messages``), the log and the claim / hand over / confirm of ``sender`` (so a manual
reminder shows on the administrators' page like the others). Rules of its own:

- only what is still to do is reminded (overdue, in progress, not started);
- only people who can sign in get it (``account_status``: an active account with a password, or
  whose role signs in with the ministry account): the others are
  listed as not reminded, with their account status, so someone invites them;
- at most one manual reminder per enrolment in ``MANUAL_EVERY`` (24 hours): a second one is
  refused for that enrolment and the page says when the last one went.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from mooc import clock
from mooc.auth import audit
from mooc.auth.models import User
from mooc.config import settings
from mooc.extensions import db
from mooc.reminders.models import MANUAL_EVERY, ReminderLog, ReminderStatus
from mooc.reminders.schedule import Plan, Schedule, TraineeItem, TraineeMessage, enrolment_key
from mooc.reminders.sender import Deliver, last_manual, send_plan
from mooc.roster import account_status
from mooc.roster.account_status import AccountStatus
from mooc.roster.models import Staff
from mooc.training import records
from mooc.training.models import Enrolment
from mooc.training.status import TO_DO, EnrolmentStatus

MAX_SELECTION = 500  # enrolments per request (the people list shows 500 rows)


class Outcome(enum.StrEnum):
    SENT = "sent"
    CANNOT_SIGN_IN = "cannot_sign_in"  # no account, invited, locked or disabled: not reminded
    RECENT = "recent"  # reminded by hand less than MANUAL_EVERY ago
    NOTHING_TO_DO = "nothing_to_do"  # completed, exempt or no longer required
    FAILED = "failed"  # the mail server refused it or could not be reached


@dataclass
class PersonOutcome:
    staff_id: int
    staff_code: str
    name: str
    unit_name: str
    outcome: Outcome
    courses: list[str] = field(default_factory=list)
    account: AccountStatus | None = None
    last_sent: datetime | None = None  # RECENT: when the last manual reminder went


@dataclass
class ManualReport:
    people: list[PersonOutcome]

    def of(self, *outcomes: Outcome) -> list[PersonOutcome]:
        return [p for p in self.people if p.outcome in outcomes]

    @property
    def sent(self) -> list[PersonOutcome]:
        return self.of(Outcome.SENT)

    @property
    def not_reminded(self) -> list[PersonOutcome]:
        return [p for p in self.people if p.outcome != Outcome.SENT]


def load(ids: Iterable[int]) -> list[Enrolment]:
    """The enrolments of ``ids`` with their person and course (unknown ids are left out)."""
    wanted = list(dict.fromkeys(ids))[:MAX_SELECTION]
    if not wanted:
        return []
    return list(db.session.scalars(
        sa.select(Enrolment).where(Enrolment.id.in_(wanted))
        .options(joinedload(Enrolment.staff).joinedload(Staff.unit), joinedload(Enrolment.course))))


def all_allowed(user: User, enrolments: list[Enrolment]) -> bool:
    """Whether ``user`` may remind every person of ``enrolments`` (in scope, not themself)."""
    people = {e.staff_id: e.staff for e in enrolments}
    return all(records.may_act_on(user, staff) for staff in people.values())


def to_do(staff: Staff) -> list[int]:
    """The ids of the person's enrolments still to do (what "remind this person" is about)."""
    today = clock.today()
    rows = db.session.scalars(sa.select(Enrolment).where(Enrolment.staff_id == staff.id))
    return [e.id for e in rows if EnrolmentStatus.of(e, today, staff.status) in TO_DO]


def remind(enrolments: list[Enrolment], *, actor: User, deliver: Deliver | None = None) -> ManualReport:
    """Send each person of ``enrolments`` one reminder about those still to do (see the
    module's rules); audited per person reminded. Commits (as ``sender`` does)."""
    now, today = clock.now(), clock.today()
    by_staff: dict[int, list[Enrolment]] = {}
    for enrolment in sorted(enrolments, key=lambda e: (e.staff.sort_key, e.course.title)):
        by_staff.setdefault(enrolment.staff_id, []).append(enrolment)
    accounts = account_status.of_many(by_staff, now)
    users = dict(db.session.execute(
        sa.select(User.staff_id, User).where(User.staff_id.in_(list(by_staff)))).all())
    recent = last_manual([e.id for e in enrolments], now - MANUAL_EVERY)
    step = f"manual-{now:%Y%m%d%H%M%S}"
    outcomes: list[PersonOutcome] = []
    messages: list[TraineeMessage] = []
    for staff_id, items in by_staff.items():
        outcome, fresh = _decide(items, accounts.get(staff_id), recent, today)
        if outcome.outcome == Outcome.SENT:
            user = users[staff_id]
            messages.append(TraineeMessage(user.id, user.email, outcome.name,
                                           [_item(e, step, today) for e in fresh], actor.display_name))
        outcomes.append(outcome)
    _send(messages, outcomes, actor, deliver)
    return ManualReport(outcomes)


def _decide(items: list[Enrolment], account: AccountStatus | None, recent: dict[int, datetime],
            today: date) -> tuple[PersonOutcome, list[Enrolment]]:
    """What to do for one person's selected enrolments: the outcome, and those to remind."""
    staff = items[0].staff
    outcome = PersonOutcome(staff.id, staff.staff_code, staff.full_name, staff.unit.name, Outcome.SENT,
                            account=account)
    open_items = [e for e in items if EnrolmentStatus.of(e, today, staff.status) in TO_DO]
    fresh = [e for e in open_items if e.id not in recent]
    outcome.courses = [e.course.title for e in (fresh or open_items)]
    if not open_items:
        outcome.outcome = Outcome.NOTHING_TO_DO
    elif account is None or not account.can_sign_in:
        outcome.outcome = Outcome.CANNOT_SIGN_IN
    elif not fresh:
        outcome.outcome = Outcome.RECENT
        outcome.last_sent = max(recent[e.id] for e in open_items)
    return outcome, fresh


def _item(enrolment: Enrolment, step: str, today: date) -> TraineeItem:
    due = enrolment.due_on
    return TraineeItem(enrolment_key(enrolment.id, step), step, enrolment.id, enrolment.course.title,
                       enrolment.course.key, due, (due - today).days if due else None,
                       enrolment.program.title if enrolment.program is not None else None)


def _send(messages: list[TraineeMessage], outcomes: list[PersonOutcome], actor: User,
          deliver: Deliver | None) -> None:
    if not messages:
        return
    today = clock.today()
    send_plan(Plan(today, Schedule.of(settings()).due_soon_days, messages, []), deliver=deliver)
    keys = [item.key for m in messages for item in m.items]
    sent = set(db.session.scalars(sa.select(ReminderLog.key).where(
        ReminderLog.key.in_(keys), ReminderLog.status == ReminderStatus.SENT)))
    staff_of = dict(db.session.execute(
        sa.select(User.id, User.staff_id).where(User.id.in_([m.user_id for m in messages]))).all())
    items_of = {staff_of[m.user_id]: m.items for m in messages}
    # Left out because someone else reminded them a moment before (sender.claim): "recent".
    others = last_manual([i.enrolment_id for m in messages for i in m.items], clock.now() - MANUAL_EVERY,
                         not_keys=keys)
    for outcome in outcomes:
        if outcome.outcome == Outcome.SENT:
            _settle(outcome, items_of[outcome.staff_id], sent, others, actor)


def _settle(outcome: PersonOutcome, items: list[TraineeItem], sent: set[str], others: dict[int, datetime],
            actor: User) -> None:
    """What became of one person's reminder: sent (audited), reminded by someone else a moment
    before (recent), or not sent (failed)."""
    went = [i.enrolment_id for i in items if i.key in sent]
    if went:
        audit.record("reminders.manual_sent", actor=actor, target=outcome.staff_code, enrolments=went)
        return
    by_others = [others[i.enrolment_id] for i in items if i.enrolment_id in others]
    outcome.outcome = Outcome.RECENT if by_others else Outcome.FAILED
    outcome.last_sent = max(by_others) if by_others else None
