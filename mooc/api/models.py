"""API tokens: a person's own (reads as them, with their scope today) or a service account's
(made by an administrator for one unit's subtree, or the whole ministry). Only a hash is kept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mooc import clock
from mooc.database import UTCDateTime
from mooc.extensions import Model


class ApiToken(Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # sha256 of the secret
    prefix: Mapped[str] = mapped_column(sa.String(16))  # shown in lists, to tell tokens apart
    name: Mapped[str] = mapped_column(sa.String(100))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # A service token (no person): reads one unit's subtree, or everything when None.
    scope_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The rate limit's current window (one minute) and the requests counted in it.
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_count: Mapped[int] = mapped_column(default=0)

    user = relationship("User", foreign_keys=[user_id])
    scope_unit = relationship("OrgUnit")

    @property
    def service(self) -> bool:
        return self.user_id is None
