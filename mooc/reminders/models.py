"""The reminder log: one row per reminder that was (or is being) sent, so nothing goes twice.

``key`` is unique: ``e<enrolment id>:<step>`` for a trainee's reminder about one enrolment
(``assigned``, ``due-14``, ``due-3``, ``due-0``, ``overdue-<n>``, ``expiry-30``) and
``u<user id>:digest-<ISO year>-W<week>`` for a manager's weekly digest;
``e<enrolment id>:manual-<UTC timestamp>`` for a reminder a manager sent from the web. A run claims a key
(status ``pending``) and commits before handing the message to the mail server, then marks
it ``sent`` or ``failed``; see sender.py for what an interruption leaves behind.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mooc import clock
from mooc.database import UTCDateTime, enum_column
from mooc.extensions import Model


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"  # claimed by a run, being handed to the mail server
    SENT = "sent"
    FAILED = "failed"  # the mail server refused it or could not be reached: retried next run


# At most one reminder by hand per enrolment in this time (``manual``; ``sender.claim`` holds it).
MANUAL_EVERY = timedelta(hours=24)


class ReminderKind(enum.StrEnum):
    ASSIGNED = "assigned"
    DUE = "due"
    OVERDUE = "overdue"
    EXPIRY = "expiry"
    DIGEST = "digest"
    MANUAL = "manual"  # sent from the web by a manager or training officer (``manual.py``)


class ReminderLog(Model):
    __tablename__ = "reminder_log"
    __table_args__ = (
        sa.CheckConstraint("enrolment_id IS NOT NULL OR kind = 'digest'", name="enrolment_or_digest"),
        sa.Index("ix_reminder_log_status_claimed_at", "status", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[ReminderKind] = mapped_column(enum_column(ReminderKind, "kind"))
    step: Mapped[str] = mapped_column(sa.String(40))
    # The log goes with the enrolment or account it is about (ids must never be reused under a key).
    enrolment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    status: Mapped[ReminderStatus] = mapped_column(enum_column(ReminderStatus, "status"))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    message_id: Mapped[str | None] = mapped_column(sa.String(255))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
