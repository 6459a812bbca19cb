"""The outbox: one row per statement, collected once, sent until the store accepts it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mooc import clock
from mooc.database import UTCDateTime
from mooc.extensions import Model


class XapiOutbox(Model):
    """A statement about one fact (``kind``, ``source_id``): a lesson done, an attempt started
    or graded, a course completed, a certificate issued. Unique per fact, so collecting twice
    (or two runs at once) queues it once."""

    __tablename__ = "xapi_outbox"
    __table_args__ = (
        sa.UniqueConstraint("kind", "source_id"),
        sa.Index("ix_xapi_outbox_pending", "sent_at", "next_try_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    source_id: Mapped[int]
    statement_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    statement: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
