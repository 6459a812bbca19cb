"""An administrator's first steps, read from the data: shown on the home page until all are done."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from mooc.auth import backends
from mooc.auth.models import Role, User
from mooc.courses.models import Course
from mooc.extensions import db
from mooc.i18n import gettext as _
from mooc.roster.models import RosterImport, Staff
from mooc.training.models import AssignmentRule


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    hint: str
    endpoint: str
    done: bool


def _exists(query: sa.Select) -> bool:
    return bool(db.session.scalar(sa.select(query.exists())))


def steps(user: User) -> list[Step]:
    """The four first steps and whether each is done; empty once all are done."""
    roster = _exists(sa.select(RosterImport.id)) or _exists(sa.select(Staff.id))
    invited = _exists(sa.select(User.id).where(User.staff_id.is_not(None), User.id != user.id))
    rules = _exists(sa.select(AssignmentRule.id))
    courses = _exists(sa.select(Course.id).where(Course.archived.is_(False)))
    found = [
        Step("courses", _("Load the courses"),
             _("Put the course files in the courses folder and sync them; they appear in the catalogue."),
             "courses.catalog", courses),
        Step("roster", _("Import the roster"),
             _("Upload the staff list (Excel or CSV) of your units."), "roster.upload", roster),
        Step("invite", _("Invite people"),
             _("Send the people on the roster an invitation to choose their password.")
             if backends.may_use_local_password(Role.TRAINEE) else
             _("Open accounts for the people on the roster: each gets an e-mail saying to sign in with "
               "their ministry account."),
             "roster.invite_filtered", invited),
        Step("rules", _("Set assignment rules"),
             _("Say which units and positions must take which course, and by when."),
             "training.new_rule", rules),
    ]
    return [] if all(step.done for step in found) else found
