"""Sending a plan: claim, hand over, confirm, one message at a time, each step committed.

This module commits (it is the one piece of the reminders that must): every message goes

1. **claim**: its log rows are inserted as ``pending`` (or a ``failed`` / stale ``pending``
   row is taken over) in a short transaction, committed. A row another run holds is
   skipped, so two runs at once never send the same reminder;
2. **hand over** to the mail server, with no transaction open (a slow server never holds
   a database lock);
3. **confirm**: ``sent`` (with the Message-ID) or ``failed`` (with the error), committed.

So what was confirmed is never sent again, and what was never claimed is simply sent by
the next run. A refused message is ``failed`` and retried by the next runs while its step
is current. When the mail server cannot be reached the run stops at once: nothing more is
claimed, and the next run sends the rest.

**Delivery is at least once.** A run that dies between hand-over and confirmation (killed,
power cut, crash) leaves at most that one message ``pending``; after
``MOOC_REMINDER_PENDING_MINUTES`` it counts as unsent and the next run sends it again. The
alternative, at most once, would lose that reminder for good, and a missed deadline costs
more than a second copy of a reminder. Ctrl+C and SIGTERM (``commands.py``) stop the run
between two messages, so a stopped run leaves nothing in doubt. Until the window has
passed, a claimed row is left alone: it may belong to a run that is still sending.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from mooc import clock, mail
from mooc.config import public_url, settings
from mooc.extensions import db
from mooc.progress import SENDING, SILENT, Progress
from mooc.reminders import messages
from mooc.reminders.models import MANUAL_EVERY, ReminderKind, ReminderLog, ReminderStatus
from mooc.reminders.schedule import DigestMessage, Plan, TraineeMessage
from mooc.training.models import Enrolment

log = logging.getLogger(__name__)

Deliver = Callable[[str, str, str, str | None], EmailMessage]
MAX_CONSECUTIVE_FAILURES = 20  # refused one after another: something is wrong with the server
# Errors about one message (this recipient, this content): the run goes on with the next one.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)


@dataclass
class RunReport:
    sent: int = 0  # messages handed over and confirmed
    failed: int = 0  # messages refused or not handed over (retried by the next run)
    skipped: int = 0  # messages another run had claimed
    left: int = 0  # messages not tried because the run stopped
    stopped: str | None = None  # why the run stopped early
    errors: list[str] = field(default_factory=list)


@dataclass
class Outgoing:
    """One message to send and the log rows it settles."""

    to: str  # an address with the display name
    email: str
    user_id: int
    rows: dict[str, tuple[ReminderKind, str, int | None]]  # key -> (kind, step, enrolment id)
    compose: Callable[[set[str]], tuple[str, str, str]]  # claimed keys -> (subject, text, html)


def outgoing(plan: Plan, base_url: str) -> list[Outgoing]:
    """The plan's messages in sending order: trainees first, then digests."""
    result = [_trainee(message, base_url) for message in plan.trainees]
    result += [_digest(digest, base_url, plan.today, plan.horizon) for digest in plan.digests]
    return result


def _trainee(message: TraineeMessage, base_url: str) -> Outgoing:
    def compose(keys: set[str]) -> tuple[str, str, str]:
        items = [item for item in message.items if item.key in keys]
        return messages.trainee_message(replace(message, items=items), base_url)

    rows: dict[str, tuple[ReminderKind, str, int | None]] = {
        item.key: (item.kind, item.step, item.enrolment_id) for item in message.items}
    return Outgoing(mail.address(message.name, message.email), message.email, message.user_id, rows, compose)


def _digest(digest: DigestMessage, base_url: str, today: date, horizon: int) -> Outgoing:
    def compose(keys: set[str]) -> tuple[str, str, str]:
        return messages.digest_message(digest, base_url, today, horizon)

    rows: dict[str, tuple[ReminderKind, str, int | None]] = {
        digest.key: (ReminderKind.DIGEST, digest.step, None)}
    return Outgoing(mail.address(digest.name, digest.email), digest.email, digest.user_id, rows, compose)


def send_plan(plan: Plan, *, deliver: Deliver | None = None, should_stop: Callable[[], bool] = lambda: False,
              pending_minutes: int | None = None, progress: Progress = SILENT) -> RunReport:
    """Send every message of ``plan``; see the module's docstring for the guarantees."""
    config = settings()
    deliver = deliver or mail.send
    pending_minutes = pending_minutes or config.reminder_pending_minutes
    report = RunReport()
    db.session.commit()  # end the planning transaction: nothing is held while mail goes out
    queue = outgoing(plan, public_url())
    consecutive_failures = 0
    progress.phase(SENDING, len(queue))
    for position, message in enumerate(queue):
        progress.advance()
        if should_stop():
            report.stopped = "interrupted"
            report.left = len(queue) - position
            break
        now = clock.now()
        claimed = claim(message, now, now - timedelta(minutes=pending_minutes))
        if not claimed:
            report.skipped += 1
            continue
        subject, text, html = message.compose(claimed)
        try:
            sent = deliver(message.to, subject, text, html)
        except mail.MailError as error:
            settle(claimed, ReminderStatus.FAILED, error=str(error))
            report.failed += 1
            report.errors.append(f"{message.email}: {error}")
            log.warning("reminder to account %s not sent: %s", message.user_id, error)
            consecutive_failures += 1
            about_this_message = isinstance(error.__cause__, MESSAGE_ERRORS)
            if not about_this_message or consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                report.stopped = "mail server unavailable"
                report.left = len(queue) - position - 1
                break
            continue
        # Anything else (a bug, Ctrl+C inside the exchange) leaves the claim pending: in doubt.
        consecutive_failures = 0
        settle(claimed, ReminderStatus.SENT, message_id=sent["Message-ID"])
        report.sent += 1
    return report


# --- the log --------------------------------------------------------------------------------------------


def _insert(dialect: str):
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ReminderLog.__table__)


def last_manual(enrolment_ids: list[int], since: datetime,
                not_keys: list[str] | None = None) -> dict[int, datetime]:
    """The latest manual reminder (sent or being sent) of each enrolment since ``since``
    (``not_keys``: other than these log rows)."""
    if not enrolment_ids:
        return {}
    others = [ReminderLog.key.not_in(not_keys)] if not_keys else []
    rows = db.session.execute(
        sa.select(ReminderLog.enrolment_id, sa.func.max(ReminderLog.claimed_at))
        .where(ReminderLog.kind == ReminderKind.MANUAL, ReminderLog.enrolment_id.in_(enrolment_ids),
               ReminderLog.status != ReminderStatus.FAILED, ReminderLog.claimed_at >= since, *others)
        .group_by(ReminderLog.enrolment_id))
    result: dict[int, datetime] = {}
    for enrolment_id, moment in rows:
        if enrolment_id is None:
            continue
        if isinstance(moment, str):  # SQLite gives max() of a timestamp as text
            moment = datetime.fromisoformat(moment)
        result[enrolment_id] = moment if moment.tzinfo else moment.replace(tzinfo=clock.now().tzinfo)
    return result


def _reminded_by_hand(message: Outgoing, since: datetime) -> set[int]:
    """The enrolments of the message's reminders by hand that another one (another key: another
    manager, a second later) has claimed since ``since``: at most one per MANUAL_EVERY.

    Checked where the rows are inserted, in the same transaction, after locking the enrolments
    (PostgreSQL, in id order; on SQLite this transaction is a writer from its first statement):
    of two managers a second apart, the second waits, then sees the first one's claim."""
    ids = sorted({row[2] for row in message.rows.values() if row[0] == ReminderKind.MANUAL and row[2]})
    if not ids:
        return set()
    db.session.execute(sa.select(Enrolment.id).where(Enrolment.id.in_(ids)).order_by(Enrolment.id)
                       .with_for_update())
    return set(last_manual(ids, since, not_keys=list(message.rows)))


def claim(message: Outgoing, now: datetime, stale_before: datetime) -> set[str]:
    """Take the message's log rows for this run (committed); returns the keys taken."""
    table = ReminderLog.__table__
    dialect = db.session.get_bind().dialect.name
    reminded = _reminded_by_hand(message, now - MANUAL_EVERY)
    rows = {key: row for key, row in message.rows.items() if row[2] not in reminded}
    if not rows:
        db.session.commit()
        return set()
    values = [
        {"key": key, "kind": kind, "step": step, "enrolment_id": enrolment_id, "user_id": message.user_id,
         "recipient": message.email, "status": ReminderStatus.PENDING, "attempts": 1,
         "claimed_at": now}
        for key, (kind, step, enrolment_id) in rows.items()
    ]
    inserted = db.session.execute(
        _insert(dialect).values(values).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key)
    ).scalars().all()
    claimed = set(inserted)
    rest = set(rows) - claimed
    if rest:
        retaken = db.session.execute(
            sa.update(table)
            .where(
                table.c.key.in_(rest),
                sa.or_(
                    table.c.status == ReminderStatus.FAILED,
                    sa.and_(table.c.status == ReminderStatus.PENDING, table.c.claimed_at < stale_before),
                ),
            )
            .values(status=ReminderStatus.PENDING, claimed_at=now, attempts=table.c.attempts + 1,
                    recipient=message.email, user_id=message.user_id)
            .returning(table.c.key)
        ).scalars().all()
        claimed |= set(retaken)
    db.session.commit()
    return claimed


def settle(keys: set[str], status: ReminderStatus, *, message_id: str | None = None,
           error: str | None = None) -> None:
    """Record the outcome of a hand-over (committed)."""
    table = ReminderLog.__table__
    values: dict = {"status": status, "last_error": error[:500] if error else None}
    if status == ReminderStatus.SENT:
        values |= {"sent_at": clock.now(), "message_id": (message_id or "")[:255] or None}
    db.session.execute(sa.update(table).where(table.c.key.in_(keys)).values(**values))
    db.session.commit()


def describe(plan: Plan) -> list[str]:
    """One line per message that would go out, for ``--dry-run``."""
    lines = []
    for message in plan.trainees:
        parts = []
        for item in message.items:
            due = f" ({item.day:%d/%m/%Y})" if item.day else ""
            retry = " [retry]" if item.key in plan.retries else ""
            parts.append(f"{item.step} “{item.course_title}”{due}{retry}")
        lines.append(f"to {mail.address(message.name, message.email)}: {'; '.join(parts)}")
    for digest in plan.digests:
        retry = " [retry]" if digest.key in plan.retries else ""
        lines.append(
            f"to {mail.address(digest.name, digest.email)}: {digest.step} of {digest.unit_name}: "
            f"{len(digest.overdue)} overdue, {len(digest.due_soon)} due within {plan.horizon} days, "
            f"{len(digest.not_started)} not started{retry}"
        )
    return lines

