"""The reports' summary table: one narrow row per person who owes training (``summary.py``
keeps it; the dashboard counts it)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from mooc.extensions import Model


class ReportPerson(Model):
    """A person's obligations (required, open, latest cycles of each course), summed up so
    that the dashboard can count people by their most urgent status on any day without
    reading the enrolments: the earliest due date of those still to do (overdue is decided
    when read, ``open_due < today``: nothing stored changes with the clock) and how many are
    in each state. People who left, and people with no obligation, have no row. Derived
    data: ``summary.rebuild()`` makes it again from the enrolments and the roster."""

    __tablename__ = "report_people"
    __table_args__ = (
        # The dashboard's aggregate reads this index alone (per unit, or the units shown).
        sa.Index("ix_report_people_unit", "unit_id", "open_due", "not_started", "in_progress",
                 "completed", "exempt", "position_id"),
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
