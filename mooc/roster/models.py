"""Org units (a tree that reorganisations reshape), positions, staff, their history, and
the record of every roster import."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates

from mooc import clock, versions
from mooc.database import CreatedAt, UTCDateTime, enum_column
from mooc.extensions import Model
from mooc.roster import keys
from mooc.text import name_key


class StaffStatus(enum.StrEnum):
    ACTIVE = "active"
    ON_LEAVE = "on_leave"
    LEFT = "left"


class OrgUnit(CreatedAt, Model):
    """A unit of the organisation. Units are data: renamed and merged, never hard-coded.

    A merged unit stays (inactive, ``merged_into`` set) so that history pointing at it
    still reads; its people and sub-units move to the unit it merged into.
    """

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(40), default="")
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id"))

    parent: Mapped[OrgUnit | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(
        foreign_keys=[parent_id], back_populates="parent", order_by="OrgUnit.code")
    merged_into: Mapped[OrgUnit | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id])

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code}>"


class Position(CreatedAt, Model):
    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200), unique=True)
    rank: Mapped[int] = mapped_column(default=100)  # lower = more senior; orders lists


class Staff(CreatedAt, Model):
    """A person on the roster. ``staff_code`` is text: leading zeros matter.

    ``search_text`` and ``sort_key`` are derived from the name, code and e-mail (see
    roster/keys.py); ORM writes keep them current, the importer's bulk writes set them.
    """

    __tablename__ = "staff"
    __table_args__ = (
        # Covers the reports' headcount and last activity by unit (and any lookup by unit). The
        # headcount joins the accounts by staff id: SQLite's index holds the rowid (the id), and
        # PostgreSQL's includes it, so neither reads the wide roster rows (an index-only scan:
        # the headcount at 100,000 staff 150-180 -> 70-110 ms).
        sa.Index("ix_staff_unit_activity", "unit_id", "status", "last_training_at",
                 postgresql_include=["id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    family_name: Mapped[str] = mapped_column(sa.String(80), default="")
    middle_name: Mapped[str] = mapped_column(sa.String(120), default="")
    given_name: Mapped[str] = mapped_column(sa.String(80), default="")
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("org_units.id"))
    position_id: Mapped[int | None] = mapped_column(sa.ForeignKey("positions.id"), index=True)
    status: Mapped[StaffStatus] = mapped_column(enum_column(StaffStatus, "status"),
                                                default=StaffStatus.ACTIVE)
    joined_on: Mapped[date | None]
    left_on: Mapped[date | None]
    search_text: Mapped[str] = mapped_column(sa.String(keys.SEARCH_TEXT_LENGTH), default="")
    sort_key: Mapped[str] = mapped_column(sa.String(keys.SORT_KEY_LENGTH), default="", index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, onupdate=clock.now)
    # Written by the training domain (mooc.training.activity), never by the roster: the latest
    # lesson done, quiz submitted or course completed, so that the reports' "last training
    # activity" of a unit is one max() over the roster, not a scan of all progress.
    last_training_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[OrgUnit] = relationship()
    position: Mapped[Position | None] = relationship()

    @validates("email")
    def _folded_email(self, _key: str, email: str | None) -> str | None:
        """Stored folded (text.name_key), as the accounts' addresses are: every comparison is a
        plain equality with a value folded the same way."""
        return None if email is None else name_key(email)

    def __repr__(self) -> str:
        return f"<Staff {self.staff_code}>"


@event.listens_for(Staff, "before_insert")
@event.listens_for(Staff, "before_update")
def _staff_keys(mapper: Any, connection: Any, staff: Staff) -> None:
    staff.search_text = keys.search_text(staff.full_name, staff.staff_code, staff.email)
    staff.sort_key = keys.sort_key(staff.full_name)


class StaffHistory(Model):
    """Where a person was, in which position and status, from ``valid_from`` until the day
    before ``valid_to`` (open-ended while ``valid_to`` is empty). Reports "as of a date"
    read this table."""

    __tablename__ = "staff_history"
    __table_args__ = (sa.Index("ix_staff_history_staff_id_valid_from", "staff_id", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("org_units.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(sa.ForeignKey("positions.id"))
    status: Mapped[StaffStatus] = mapped_column(enum_column(StaffStatus, "status"))
    import_id: Mapped[int | None] = mapped_column(sa.ForeignKey("roster_imports.id", ondelete="SET NULL"))


class RosterImport(Model):
    """One applied import of a roster or units file: who, when, which file, what it did."""

    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(20), default="staff")  # staff | units
    source: Mapped[str] = mapped_column(sa.String(20), default="web")  # web | cli
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    checksum: Mapped[str] = mapped_column(sa.String(64))
    full: Mapped[bool] = mapped_column(default=False)
    rows: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    actor = relationship("User")


@event.listens_for(Session, "after_flush")
def _raise_tree_version(session: Session, _context: Any) -> None:
    """Raise the unit tree's version (``versions.ORG_UNITS``) in the transaction of every flush
    that adds, changes or deletes a unit, whoever writes (a page, the units file, a command, a
    test): what a process keeps of the tree is keyed by it (``mooc.roster.tree``)."""
    for obj in (*session.new, *session.deleted, *session.dirty):
        if isinstance(obj, OrgUnit) and (obj not in session.dirty
                                         or session.is_modified(obj, include_collections=False)):
            versions.raise_version(session, versions.ORG_UNITS)
            return
