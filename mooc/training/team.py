"""A manager's (or training officer's) team at a glance, for their home page: people, people
behind, people overdue and people who cannot sign in, for their unit and each section under it.

Every number counts **people** (not enrolments), of the roster (not left):

- *people*: everyone placed in the unit or below;
- *behind*: people with at least one required course still to finish (overdue, in progress
  or not started), as the reports count obligations (the latest open cycle of a required course);
- *overdue*: people with at least one of them past its due date;
- *cannot sign in*: people behind whose account cannot sign in (none, invited, locked,
  disabled): they cannot train and get no reminders.

One aggregate query grouped by unit, rolled up into the sections in Python (the tree is small).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from mooc.auth.models import Permission, User
from mooc.extensions import db
from mooc.roster import account_status
from mooc.roster.account_status import CANNOT_SIGN_IN
from mooc.roster.models import OrgUnit, Staff, StaffStatus
from mooc.roster.units import children_map, subtree_ids
from mooc.training.models import Enrolment
from mooc.training.status import TO_DO, EnrolmentStatus


@dataclass
class TeamRow:
    unit: OrgUnit
    direct: bool = False  # people placed in the unit itself, not in a section under it
    people: int = 0
    behind: int = 0
    overdue: int = 0
    cannot_sign_in: int = 0

    def add(self, counts: tuple[int, int, int, int]) -> None:
        self.people += counts[0]
        self.behind += counts[1]
        self.overdue += counts[2]
        self.cannot_sign_in += counts[3]


@dataclass
class Team:
    unit: OrgUnit
    total: TeamRow
    sections: list[TeamRow] = field(default_factory=list)


def possible(user: User) -> bool:
    """Whether ``user`` may have a team on their home page (``summary`` may not be None)."""
    return user.role.scoped and user.scope_unit_id is not None and user.can(Permission.READ_REPORTS)


def summary(user: User, today: date) -> Team | None:
    """The team of a scoped user who reads reports (a manager, a training officer), else None."""
    if not possible(user):
        return None
    root = db.session.get(OrgUnit, user.scope_unit_id)
    if root is None:
        return None
    children = children_map()
    units = subtree_ids(root.id, children)
    counts = _counts_by_unit(units, today)
    team = Team(root, TeamRow(root))
    sections = [db.session.get(OrgUnit, i) for i in children.get(root.id, [])]
    for section in sorted((s for s in sections if s is not None and s.active), key=lambda s: s.name):
        row = TeamRow(section)
        for unit_id in subtree_ids(section.id, children):
            row.add(counts.get(unit_id, (0, 0, 0, 0)))
        team.sections.append(row)
    direct = TeamRow(root, direct=True)
    direct.add(counts.get(root.id, (0, 0, 0, 0)))
    if direct.people and team.sections:
        team.sections.append(direct)
    for values in counts.values():
        team.total.add(values)
    return team


def _flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """1 when any of the group's rows meets ``condition``."""
    return sa.func.max(sa.case((condition, 1), else_=0))


def _counts_by_unit(units: set[int], today: date) -> dict[int, tuple[int, int, int, int]]:
    """unit id -> (people, behind, overdue, behind who cannot sign in), people counted once."""
    in_units = sa.select(Staff.id).where(Staff.unit_id.in_(units), Staff.status != StaffStatus.LEFT)
    per_person = (
        sa.select(
            Enrolment.staff_id,
            _flag(EnrolmentStatus.any_of(TO_DO, today, current=True)).label("behind"),
            _flag(EnrolmentStatus.OVERDUE.condition(today, current=True)).label("overdue"),
        )
        .where(Enrolment.required.is_(True), Enrolment.closed_at.is_(None), Enrolment.latest.is_(True),
               Enrolment.staff_id.in_(in_units))
        .group_by(Enrolment.staff_id)
        .subquery()
    )
    behind = sa.func.coalesce(per_person.c.behind, 0)
    cannot = sa.case((sa.and_(behind == 1, account_status.expression().in_(CANNOT_SIGN_IN)), 1), else_=0)
    stmt = (
        account_status.join(sa.select(Staff.unit_id, sa.func.count(Staff.id), sa.func.sum(behind),
                                      sa.func.sum(sa.func.coalesce(per_person.c.overdue, 0)),
                                      sa.func.sum(cannot)))
        .outerjoin(per_person, per_person.c.staff_id == Staff.id)
        .where(Staff.unit_id.in_(units), Staff.status != StaffStatus.LEFT)
        .group_by(Staff.unit_id)
    )
    return {unit_id: (int(people), int(b or 0), int(o or 0), int(c or 0))
            for unit_id, people, b, o, c in db.session.execute(stmt)}
