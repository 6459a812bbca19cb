"""Org units (a tree that reorganisations reshape), positions, and staff."""

from __future__ import annotations

import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mooc.database import CreatedAt
from mooc.extensions import db


class StaffStatus(enum.StrEnum):
    ACTIVE = "active"
    ON_LEAVE = "on_leave"
    LEFT = "left"


class OrgUnit(CreatedAt, db.Model):
    """A unit of the organisation. Units are data: renamed and merged, never hard-coded."""

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


class Position(CreatedAt, db.Model):
    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200), unique=True)
    rank: Mapped[int] = mapped_column(default=100)  # lower = more senior; orders lists


class Staff(CreatedAt, db.Model):
    """A person on the roster. ``staff_code`` is text: leading zeros matter."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    family_name: Mapped[str] = mapped_column(sa.String(80), default="")
    middle_name: Mapped[str] = mapped_column(sa.String(120), default="")
    given_name: Mapped[str] = mapped_column(sa.String(80), default="")
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("org_units.id"), index=True)
    position_id: Mapped[int | None] = mapped_column(sa.ForeignKey("positions.id"), index=True)
    status: Mapped[StaffStatus] = mapped_column(
        sa.Enum(StaffStatus, native_enum=False, length=20, create_constraint=True, name="status",
                values_callable=lambda e: [m.value for m in e]),
        default=StaffStatus.ACTIVE)
    joined_on: Mapped[date | None]
    left_on: Mapped[date | None]

    unit: Mapped[OrgUnit] = relationship()
    position: Mapped[Position | None] = relationship()

    def __repr__(self) -> str:
        return f"<Staff {self.staff_code}>"
