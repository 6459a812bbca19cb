"""Report subscriptions: a report mailed weekly or monthly, and the log of what was sent.

A subscription belongs to a person (who reads reports: their scope is checked again at every
sending) or, made by an administrator, to a mailing address without an account (its unit is
fixed when it is made). It keeps the report page's filters as they were when it was made: the
course in ``course_id``, the others (position, programme, status, due dates, account) in
``filters``, under the names the report pages' addresses use (``queries.Filters.as_args``);
they name rows without a foreign key, so they are checked again at every sending.
``ReportDelivery`` is unique per subscription and period, so a second run in the same period
sends nothing, as reminders do."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mooc import clock
from mooc.database import UTCDateTime, enum_column
from mooc.extensions import Model


class ReportKind(enum.StrEnum):
    DASHBOARD = "dashboard"  # completion by unit (the ministry's, or a unit's sub-units)
    OVERDUE = "overdue"      # the people with overdue training
    COMPLIANCE = "compliance"  # who was compliant at the end of the last month


class Frequency(enum.StrEnum):
    WEEKLY = "weekly"    # on the first run of each ISO week (Monday, with a daily cron)
    MONTHLY = "monthly"  # on the first run of each month


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # claimed by a run; sent or failed once it confirms
    SENT = "sent"
    FAILED = "failed"    # retried by the next runs in the period
    SKIPPED = "skipped"  # the subscriber may no longer read the report (reason kept)


class ReportSubscription(Model):
    __tablename__ = "report_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))  # an address without an account
    kind: Mapped[ReportKind] = mapped_column(enum_column(ReportKind, "kind"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id", ondelete="CASCADE"))
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))
    # {"position": 3, "program": 2, "status": "overdue", "due_from": "2026-01-01", ...}: the
    # report page's other filters (subscriptions.stored_filters / filters_of)
    filters: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict, server_default="{}")
    frequency: Mapped[Frequency] = mapped_column(enum_column(Frequency, "frequency"))
    xlsx: Mapped[bool] = mapped_column(default=True)
    pdf: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    user = relationship("User", foreign_keys=[user_id])
    unit = relationship("OrgUnit")
    course = relationship("Course")


class ReportDelivery(Model):
    __tablename__ = "report_deliveries"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("report_subscriptions.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(sa.String(10))  # "2026-W49" or "2026-12"
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, "status"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rate: Mapped[float | None]  # the completion rate sent, for "change since last period"
    detail: Mapped[str | None] = mapped_column(sa.String(500))  # an error, or why it was skipped


class ReportPerson(Model):
    """A person's obligations (required, open, latest cycles of each course), summed up so
    that the dashboard can count people by their most urgent status on any day without
    reading the enrolments: the earliest due date of those still to do (overdue is decided
    when read, ``open_due < today``: nothing stored changes with the clock) and how many are
    in each state. People who left, and people with no obligation, have no row. Derived
    data: ``summary.rebuild()`` makes it again from the enrolments and the roster."""

    __tablename__ = "report_people"
    __table_args__ = (
        # The dashboard's aggregate reads this index alone (per unit, or the units shown): every
        # column it counts (migration c3e8f1a5d7b9 added the last three, which it read from the rows)
        sa.Index("ix_report_people_unit", "unit_id", "open_due", "not_started", "in_progress",
                 "completed", "exempt", "position_id", "behind", "legal_unknown", "legal_since"),
    )

    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True,
                                          autoincrement=False)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("org_units.id"))
    position_id: Mapped[int | None] = mapped_column(sa.ForeignKey("positions.id"))
    open_due: Mapped[date | None]  # the earliest due date of the obligations not started or in progress
    not_started: Mapped[int] = mapped_column(sa.SmallInteger)  # obligations in each state
    in_progress: Mapped[int] = mapped_column(sa.SmallInteger)
    completed: Mapped[int] = mapped_column(sa.SmallInteger)
    exempt: Mapped[int] = mapped_column(sa.SmallInteger)
    # completed obligations of an edition no longer current (the course changed since): the
    # person is not "current with the latest editions" (mooc/courses/editions.py)
    behind: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    # completed obligations of an edition whose legal basis was not recorded, and the earliest
    # day a document one of the completed editions rests on is superseded: with both, whether
    # the person is "current with the legal basis" on a day (CourseEdition.legal)
    legal_unknown: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    legal_since: Mapped[date | None]
