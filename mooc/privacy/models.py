"""What the privacy domain keeps: correction requests and the record of who was pseudonymised."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mooc import clock
from mooc.database import CreatedAt, UTCDateTime, enum_column
from mooc.extensions import Model


class CorrectionStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class CorrectionRequest(CreatedAt, Model):
    """A person says a field of their roster entry is wrong. Resolved by an administrator, or by
    the next roster import that changes that field (``resolution``: ``admin`` or ``import``)."""

    __tablename__ = "privacy_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(sa.String(40))
    value_then: Mapped[str] = mapped_column(sa.String(300), default="")  # what the roster said
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[CorrectionStatus] = mapped_column(enum_column(CorrectionStatus, "status"),
                                                     default=CorrectionStatus.OPEN, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str] = mapped_column(sa.String(20), default="")  # admin | import
    resolution_note: Mapped[str] = mapped_column(sa.String(500), default="")

    staff = relationship("Staff")


class Pseudonymisation(Model):
    """A person who left, pseudonymised by the retention purge (so a second run skips them)."""

    __tablename__ = "privacy_pseudonyms"

    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
