"""Assignment rules, enrolments (one row per person, course and cycle) and certificates."""

from __future__ import annotations

import enum
from collections.abc import Collection
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mooc import clock, events
from mooc.database import CreatedAt, UTCDateTime, chunks, enum_column
from mooc.extensions import Model, db

rule_units = sa.Table(
    "assignment_rule_units",
    db.metadata,
    sa.Column("rule_id", sa.ForeignKey("assignment_rules.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("unit_id", sa.ForeignKey("org_units.id"), primary_key=True),
)
rule_positions = sa.Table(
    "assignment_rule_positions",
    db.metadata,
    sa.Column("rule_id", sa.ForeignKey("assignment_rules.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position_id", sa.ForeignKey("positions.id"), primary_key=True),
)


class RenewalMode(enum.StrEnum):
    """What a rule's renewal cycle asks: the whole course again, or only the lessons added or
    changed since the edition the person completed (plus the course's quizzes)."""

    FULL = "full"
    CHANGED_ONLY = "changed-only"


class AssignmentRule(CreatedAt, Model):
    """Course C is required for units U (and everything under them; or every unit when
    ``all_units``) and positions P (none listed = every position), due N days after
    assignment or by a fixed date, renewed every M months."""

    __tablename__ = "assignment_rules"
    __table_args__ = (
        sa.CheckConstraint("(due_days IS NULL) <> (due_on IS NULL)", name="one_due"),
        sa.CheckConstraint("due_days IS NULL OR due_days > 0", name="due_days_positive"),
        sa.CheckConstraint("renew_months IS NULL OR renew_months > 0", name="renew_positive"),
        # a rule requires a course or a programme (mooc.training.programs), never both
        sa.CheckConstraint("(course_id IS NULL) <> (program_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    due_days: Mapped[int | None]
    due_on: Mapped[date | None]
    renew_months: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    # Every unit, chosen as such (units created later are covered too); ``units`` is then empty.
    all_units: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    renewal: Mapped[RenewalMode] = mapped_column(
        enum_column(RenewalMode, "renewal"), default=RenewalMode.FULL, server_default=RenewalMode.FULL.value)
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    course = relationship("Course")
    program = relationship("Program")
    units = relationship("OrgUnit", secondary=rule_units, order_by="OrgUnit.code")
    positions = relationship("Position", secondary=rule_positions, order_by="Position.rank")


class EnrolmentState(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    EXEMPT = "exempt"
    # "overdue" and "closed" are not states: the status of a cycle is decided in
    # mooc.training.status (EnrolmentStatus) from its state, due date, closing and cycle.


class EnrolmentSource(enum.StrEnum):
    RULE = "rule"
    MANUAL = "manual"  # enrolled by a manager or an administrator
    SELF = "self"  # an optional course the trainee joined
    IMPORT = "import"  # a completion done elsewhere, imported
    PROGRAM = "program"  # a course of a programme the person follows (Enrolment.program_id)


OPEN_CYCLE = "closed_at IS NULL AND state IN ('not_started', 'in_progress')"  # uq_enrolments_open's predicate


class Enrolment(CreatedAt, Model):
    """A person's cycle of a course. A renewal opens cycle n+1 and keeps cycle n.

    (staff, course, cycle) is unique, so applying the rules twice cannot enrol anyone twice.
    """

    __tablename__ = "enrolments"
    __table_args__ = (
        sa.UniqueConstraint("staff_id", "course_id", "cycle"),
        sa.Index("ix_enrolments_course_id_state", "course_id", "state"),
        # At most one latest cycle per person and course: the database keeps the invariant.
        sa.Index(
            "uq_enrolments_latest",
            "staff_id",
            "course_id",
            unique=True,
            sqlite_where=sa.text("latest"),
            postgresql_where=sa.text("latest"),
        ),
        # At most one open cycle (not finished, not closed) per person and course: every source
        # that wants the course shares it (docs/architecture.md, "Sources of a cycle").
        sa.Index(
            "uq_enrolments_open",
            "staff_id",
            "course_id",
            unique=True,
            sqlite_where=sa.text(OPEN_CYCLE),
            postgresql_where=sa.text(OPEN_CYCLE),
        ),
        # What the reports count (mooc.reports.queries.obligation), person by person, read from
        # the index alone. The SQLite predicate is written as SQLAlchemy renders the query's.
        sa.Index(
            "ix_enrolments_obligations",
            "staff_id",
            "state",
            "due_on",
            sqlite_where=sa.text("required IS 1 AND closed_at IS NULL AND latest IS 1"),
            postgresql_where=sa.text("required AND closed_at IS NULL AND latest"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id"), index=True)
    cycle: Mapped[int] = mapped_column(default=1)
    # The person's latest cycle of this course (set false when cycle n+1 opens, by
    # ``supersede_earlier``): what reports count, without looking for a later cycle row by row.
    latest: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    required: Mapped[bool] = mapped_column(default=True)
    source: Mapped[EnrolmentSource] = mapped_column(enum_column(EnrolmentSource, "source"))
    rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignment_rules.id", ondelete="SET NULL"))
    # source "program": the programme whose step opened this course for the person
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id", ondelete="SET NULL"))
    state: Mapped[EnrolmentState] = mapped_column(
        enum_column(EnrolmentState, "state"),
        default=EnrolmentState.NOT_STARTED,
    )
    assigned_on: Mapped[date]
    due_on: Mapped[date | None] = mapped_column(index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    expires_on: Mapped[date | None]  # completed + renewal period
    completed_version: Mapped[str | None] = mapped_column(sa.String(64))  # course content hash
    completed_commit: Mapped[str | None] = mapped_column(sa.String(64))
    # A refresher cycle (a ``changed-only`` renewal): the content hash of the edition the person
    # completed before. The cycle asks only the lessons added or changed since then (and the
    # quizzes); null: the whole course (mooc.training.refreshers).
    refresher_of: Mapped[str | None] = mapped_column(sa.String(64))
    score: Mapped[float | None]  # best quiz percent at completion
    exempt_reason: Mapped[str | None] = mapped_column(sa.String(300))
    exempted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # no longer required (moved out)
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    # Raised by every write through SQLAlchemy (ORM or Core update: ``onupdate``): the read API's
    # ``updated_since`` (mooc/api) finds what changed since a client's last sync.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now,
                                                 index=True)

    staff = relationship("Staff")
    course = relationship("Course")
    rule = relationship("AssignmentRule")
    program = relationship("Program")


class Certificate(Model):
    """Proof of a completed cycle, checkable by anyone at /verify/<code>."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id", ondelete="CASCADE"), unique=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_on: Mapped[date | None]
    holder_name: Mapped[str] = mapped_column(sa.String(200))  # as it was when issued
    course_title: Mapped[str] = mapped_column(sa.String(300))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now,
                                                 index=True)  # for the read API's updated_since

    enrolment = relationship("Enrolment")


program_step_courses = sa.Table(
    "program_step_courses",
    db.metadata,
    sa.Column("step_id", sa.ForeignKey("program_steps.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("course_id", sa.ForeignKey("courses.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False, default=0),
)


class Program(CreatedAt, Model):
    """A path of courses (``courses/_chuong-trinh/<id>.md``), written by the courses sync
    through ``courses.signals.programs_synced`` (mooc/training/program_sync.py). Matched by
    ``key`` (the file's ``id``; ``previously:`` adopts a renamed one); archived, never
    deleted, when its file goes."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    code: Mapped[str] = mapped_column(sa.String(100))
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    intro: Mapped[str] = mapped_column(sa.Text, default="")  # Markdown, as written
    # the intro rendered at sync like a lesson (sanitised); intro_hash: what it was rendered
    # from (the Markdown, RENDER_VERSION, where its links lead), so a change of any renders it again
    intro_html: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    intro_hash: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    source_path: Mapped[str] = mapped_column(sa.String(300), default="")
    content_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    archived: Mapped[bool] = mapped_column(default=False)

    steps = relationship("ProgramStep", order_by="ProgramStep.position", cascade="all, delete-orphan",
                         back_populates="program")


class ProgramStep(Model):
    """Step ``position`` (1, 2...) of a programme: ``pick`` of its courses (a one-course step:
    1 of 1); ``after_previous``: opens only when the step before is done; ``optional``: the
    certificate does not wait for it."""

    __tablename__ = "program_steps"
    __table_args__ = (
        sa.UniqueConstraint("program_id", "position"),
        sa.CheckConstraint("pick > 0", name="pick_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id", ondelete="CASCADE"))
    position: Mapped[int]
    pick: Mapped[int] = mapped_column(default=1)
    after_previous: Mapped[bool] = mapped_column(default=False)
    optional: Mapped[bool] = mapped_column(default=False)

    program = relationship("Program", back_populates="steps")
    courses = relationship("Course", secondary=program_step_courses, order_by=program_step_courses.c.position,
                           viewonly=True)


class ProgramEnrolment(CreatedAt, Model):
    """A person's cycle of a programme. Its steps' progress is read from the person's course
    enrolments (``steps.step_states``); ``steps_done``/``steps_required`` keep the count
    the reports read, written by ``programs.advance`` each time it looks."""

    __tablename__ = "program_enrolments"
    __table_args__ = (
        sa.UniqueConstraint("staff_id", "program_id", "cycle"),
        sa.Index("uq_program_enrolments_latest", "staff_id", "program_id", unique=True,
                 sqlite_where=sa.text("latest"), postgresql_where=sa.text("latest")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    cycle: Mapped[int] = mapped_column(default=1)
    latest: Mapped[bool] = mapped_column(default=True)
    source: Mapped[EnrolmentSource] = mapped_column(enum_column(EnrolmentSource, "source"))
    rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignment_rules.id", ondelete="SET NULL"))
    assigned_on: Mapped[date]
    due_on: Mapped[date | None]
    steps_done: Mapped[int] = mapped_column(default=0)
    steps_required: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_on: Mapped[date | None]
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    staff = relationship("Staff")
    program = relationship("Program")
    rule = relationship("AssignmentRule")


class ProgramCertificate(Model):
    """Proof of a completed programme cycle, checkable at /verify/<code> like a course's."""

    __tablename__ = "program_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_enrolment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("program_enrolments.id", ondelete="CASCADE"), unique=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_on: Mapped[date | None]
    holder_name: Mapped[str] = mapped_column(sa.String(200))
    program_title: Mapped[str] = mapped_column(sa.String(300))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(300))

    enrolment = relationship("ProgramEnrolment")


def supersede_earlier(staff_id: int, course_id: int) -> None:
    """Before a new cycle of ``course_id`` opens for ``staff_id``: the earlier ones stop being latest."""
    supersede_earlier_of(course_id, [staff_id])


def supersede_earlier_of(course_id: int, staff_ids: Collection[int]) -> None:
    """``supersede_earlier`` for many people at once (renewals, refreshers, a history import):
    one UPDATE per ``database.CHUNK`` of them. Run it before their new cycles are flushed (the
    unique index allows one latest cycle per person and course); the loaded earlier cycles then
    say ``latest`` false too. A cycle superseded unfinished is closed with it (it reads "no
    longer required" either way): the person keeps one open cycle of the course (the unique
    index ``uq_enrolments_open``), the new one. No path supersedes an open cycle today (each
    completes, takes over or reopens it instead); this keeps the invariant if one ever does."""
    now = sa.literal(clock.now(), type_=Enrolment.__table__.c.closed_at.type)
    unfinished = sa.and_(Enrolment.closed_at.is_(None),
                         Enrolment.state.in_((EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS)))
    for chunk in chunks(sorted(staff_ids)):
        db.session.execute(
            sa.update(Enrolment)
            .where(Enrolment.staff_id.in_(chunk), Enrolment.course_id == course_id,
                   Enrolment.latest.is_(True))
            .values(latest=False, closed_at=sa.case((unfinished, now), else_=Enrolment.closed_at)),
            execution_options={"synchronize_session": "fetch"},
        )
    events.touched(staff_ids)
