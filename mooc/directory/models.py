"""What the directory sign-in keeps: OpenID Connect authorisations under way."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mooc.database import UTCDateTime
from mooc.extensions import Model


class OidcLogin(Model):
    """One sign-in sent to the OpenID provider and not yet back: the secrets of the round trip.

    Keyed by a hash of its ``state``; the browser that started it holds the state itself in its
    session (so nobody else's browser can finish it). Deleted when the provider's answer comes
    back, whatever that answer is: a state is good once (a replayed callback finds nothing).
    In the database rather than the signed cookie, whose old copy would otherwise replay it."""

    __tablename__ = "oidc_logins"

    state_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(128))
    code_verifier: Mapped[str] = mapped_column(sa.String(128))
    next_url: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
