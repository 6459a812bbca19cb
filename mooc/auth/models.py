"""Accounts, server-side sessions, sign-in throttling and the audit trail."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from mooc import clock
from mooc.database import CreatedAt, UTCDateTime, enum_column
from mooc.extensions import Model
from mooc.text import name_key


class Permission(enum.StrEnum):
    """What a role lets an account do. Views and domain functions ask for a permission, never
    for a role, so a new role is one line in ``ROLE_PERMISSIONS``. A scoped role (manager,
    training officer) holds its permissions over its unit's subtree only."""

    READ_REPORTS = "read_reports"          # reports, roster and records of the people in scope
    ACT_ON_PEOPLE = "act_on_people"        # enrol, remind, extend a due date, grant an attempt
    MANAGE_TRAINING = "manage_training"    # assignment rules and exemptions
    MANAGE_ROSTER = "manage_roster"        # roster imports, units, history, invitations
    MANAGE_ACCOUNTS = "manage_accounts"    # roles, password resets, unlock, disable
    RUN_PLATFORM = "run_platform"          # reminders schedule and platform-wide settings


class Role(enum.StrEnum):
    """A named set of permissions. Ordered by reach: nobody grants a role above their own."""

    TRAINEE = "trainee"      # takes training
    MANAGER = "manager"      # reads and acts on the people of one unit and everything under it
    OFFICER = "officer"      # training officer (cán bộ phụ trách đào tạo) for one unit's subtree
    REPORTER = "reporter"    # ministry staff: reads every report, changes nothing
    ADMIN = "admin"          # runs the platform

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self]

    @property
    def scoped(self) -> bool:
        """Whether the role's permissions hold over one unit's subtree (it needs a unit)."""
        return self in (Role.MANAGER, Role.OFFICER)


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.TRAINEE: frozenset(),
    Role.MANAGER: frozenset({Permission.READ_REPORTS, Permission.ACT_ON_PEOPLE}),
    Role.OFFICER: frozenset({Permission.READ_REPORTS, Permission.ACT_ON_PEOPLE,
                             Permission.MANAGE_TRAINING, Permission.MANAGE_ROSTER}),
    Role.REPORTER: frozenset({Permission.READ_REPORTS}),
    Role.ADMIN: frozenset(Permission),
}


class User(UserMixin, CreatedAt, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), default=Role.TRAINEE)
    # A manager or training officer acts on this unit and everything under it.
    scope_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("org_units.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scope_unit = relationship("OrgUnit")
    staff = relationship("Staff")

    # The server-side session this request authenticated with: set at sign-in, or known by what
    # the session check read of it (``session_facts``) and loaded only when a view asks for it
    # (sign-out, a second factor proved, a password changed): loading its row as an object on
    # every request cost 1.5 % of a page's instructions.
    _current_session = None  # type: AuthSession | None
    session_facts = None  # type: SessionFacts | None

    @property
    def current_session(self) -> AuthSession | None:
        facts = self.session_facts
        if self._current_session is None and facts is not None:
            found = sa.orm.object_session(self).get(AuthSession, facts.id)  # type: ignore[union-attr]
            if found is not None:
                found.raw_token = facts.raw_token
            self._current_session = found
        return self._current_session

    @current_session.setter
    def current_session(self, auth_session: AuthSession | None) -> None:
        self._current_session = auth_session
        self.session_facts = None

    @property
    def session_second_factor(self) -> str:
        """How the current session proved a second factor ("" none), without loading it."""
        loaded = self._current_session
        if loaded is not None:
            return loaded.second_factor
        return self.session_facts.second_factor if self.session_facts is not None else ""

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.active

    def get_id(self) -> str:
        """Flask-Login stores this in the cookie: the session token, never the user id."""
        facts = self.session_facts
        token = facts.raw_token if facts is not None else (
            self._current_session.raw_token if self._current_session is not None else None)
        if token is None:
            raise RuntimeError("log in through mooc.auth.sessions.start_session")
        return token

    def can(self, permission: Permission) -> bool:
        """Whether the account holds ``permission`` (over its scope, for a scoped role)."""
        return self.active and permission in self.role.permissions

    @validates("email")
    def _folded_email(self, _key: str, email: str) -> str:
        """Stored folded (text.name_key), whoever writes it: the sign-in, the lock's key and the
        roster compare it by plain equality, never by SQL's lower()."""
        return name_key(email)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class SessionFacts(NamedTuple):
    """What the session check read of the request's session (mooc/auth/sessions.py)."""

    id: int
    raw_token: str
    second_factor: str


class AuthSession(CreatedAt, Model):
    """A signed-in browser. The cookie holds a random token; only its hash is stored here.

    Logging out, changing the password or deactivating the account revokes the row, so a
    copied cookie stops working everywhere at once.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")
    # How this sign-in proved a second factor: "" none, "totp", "recovery", "remembered" or
    # "provider" (the directory or OpenID provider asserted it). A role that requires one is
    # kept to the enrolment pages while this is "" (mooc/auth/second_factor.py).
    second_factor: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")

    user: Mapped[User] = relationship()

    raw_token = None  # type: str | None  # only in memory, for the request that knows it


class SecondFactor(CreatedAt, Model):
    """A person's authenticator app (TOTP). The shared secret is stored encrypted (Fernet, a key
    derived from MOOC_SECRET_KEY) and shown only while it is being set up; ``confirmed_at`` is
    set by the first right code, and only then is the code asked at sign-in."""

    __tablename__ = "second_factors"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(sa.String(255))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The time step (30 s) of the last code accepted: a code of that step or an earlier one is
    # refused (a code seen over a shoulder or in a proxy log cannot be used again).
    last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Raised to forget every remembered browser (their cookies carry the old value).
    devices_epoch: Mapped[int] = mapped_column(default=0)


class RecoveryCode(Model):
    """One of a person's ten one-time recovery codes: only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Model):
    """Failed sign-ins per e-mail address, known account or not (so locking reveals nothing)."""

    __tablename__ = "login_throttle"

    email: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AddressThrottle(Model):
    """Failed sign-ins (and current-password checks) per client address, whatever the account:
    one address trying one password on many accounts (password spraying) is locked too.
    In the database, like LoginThrottle, so every worker process counts the same failures."""

    __tablename__ = "login_throttle_addresses"

    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


# lower(trim(target)), written so that PostgreSQL reflects it as written (it reflects trim()
# as TRIM(BOTH FROM ...), which the migration check would read as a change): trim() is
# ltrim(rtrim()) on both databases (spaces only).
FOLDED_TARGET = "lower(ltrim(rtrim(target)))"


class AuditEvent(Model):
    """Who did what, when (UTC) and from where. Never holds passwords or tokens.

    ``folded_target`` is ``target`` as the audit log compares it with a person's addresses and
    directory user names (lower-case, trimmed: ``FOLDED_TARGET``), kept by the database itself
    on every write (a generated column: whoever writes or rewrites ``target``, ``audit.record``,
    the retention purge, a bulk load, it follows) and indexed, so the log of a unit tree or of a
    person is found through the index instead of by folding every event's target
    (``mooc.privacy.names``)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # The log of a unit tree or a person, through their names; with what the page counts and
        # filters (the action; the target, actor and time on PostgreSQL), so that its pass
        # grouped by action reads the index only, not the rows it points to.
        sa.Index("ix_audit_events_folded_target", "folded_target", "action",
                 postgresql_include=["target", "actor_id", "at"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    target: Mapped[str] = mapped_column(sa.String(200), default="")
    # No length: lower() may lengthen a text. STORED (PostgreSQL indexes no other kind); the
    # migration adds it VIRTUAL on SQLite (the only kind ALTER TABLE adds there), indexed too.
    folded_target: Mapped[str | None] = mapped_column(sa.String(), sa.Computed(FOLDED_TARGET, persisted=True))
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class DirectoryName(Model):
    """A directory user name the directory tied to a person, kept when the audit trail records
    the sign-in that ties it (``audit.record``): typed at a sign-in the directory let in (tied
    to the account, ``user_id``), or typed with the right password when the roster refused them
    (tied to whom the directory named, ``person``: a staff code or an address, lower-case, as
    the roster was searched for them; whether or not that person is on the roster yet).
    ``mooc.privacy.names`` reads this small table instead of every sign-in's details; the
    migration that made it filled it from the audit trail. The retention purge deletes a
    pseudonymised person's rows."""

    __tablename__ = "directory_names"
    __table_args__ = (
        sa.CheckConstraint("(user_id IS NULL) <> (person IS NULL)", name="one_owner"),
        sa.Index("uq_directory_names_account", "user_id", "name", unique=True,
                 sqlite_where=sa.text("user_id IS NOT NULL"),
                 postgresql_where=sa.text("user_id IS NOT NULL")),
        sa.Index("uq_directory_names_person", "person", "name", unique=True,
                 sqlite_where=sa.text("person IS NOT NULL"),
                 postgresql_where=sa.text("person IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(254))  # lower-case, trimmed: as the audit log folds a target
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    person: Mapped[str | None] = mapped_column(sa.String(254))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
