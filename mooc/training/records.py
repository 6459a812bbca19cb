"""A person's training record as people read it: who may see it, and the tables its PDF and
CSV exports print: the courses (rows from ``queries.record``; statuses from ``status.py``) and
the programmes (rows and statuses from ``program_paths.record_of``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mooc.auth.models import Permission, User
from mooc.extensions import db
from mooc.formatting import format_date
from mooc.i18n import gettext as _
from mooc.i18n import lazy_gettext as _l
from mooc.roster import queries as roster_queries
from mooc.roster.models import Staff
from mooc.training import program_paths, queries
from mooc.training.models import EnrolmentSource
from mooc.training.queries import RecordRow
from mooc.training.status import held_to_due_dates

# How a cycle came to a person (``Enrolment.source``, ``ProgramEnrolment.source``).
SOURCE_LABELS = {
    EnrolmentSource.RULE: _l("Assigned by a rule"),
    EnrolmentSource.MANUAL: _l("Enrolled by hand"),
    EnrolmentSource.SELF: _l("Joined by the trainee (optional course)"),
    EnrolmentSource.IMPORT: _l("Imported from past records"),
    EnrolmentSource.PROGRAM: _l("Part of a programme"),
}


def may_see(user: User, staff: Staff) -> bool:
    """People see their own record; managers those of their units (and below); reporters
    and administrators everyone's."""
    if user.staff_id == staff.id:
        return True
    return user.can(Permission.READ_REPORTS) and roster_queries.can_see(user, staff)


def visible_staff(user: User, staff_id: int) -> Staff | None:
    """The person, if ``user`` may see their record (else None: the page does not exist)."""
    staff = db.session.get(Staff, staff_id)
    return staff if staff is not None and may_see(user, staff) else None


def may_act_on(user: User, staff: Staff) -> bool:
    """Who may enrol, remind or extend a due date on a record: those who act on people
    (managers, officers) on someone else's record in their scope, and administrators on any
    (reporters change nothing: the view refuses them)."""
    if not user.can(Permission.ACT_ON_PEOPLE) or not roster_queries.can_see(user, staff):
        return False
    return user.staff_id != staff.id or user.can(Permission.MANAGE_ACCOUNTS)


def may_enrol_others(user: User, staff: Staff) -> bool:
    """Who is offered the "enrol in a course" form on a record (see ``may_act_on``)."""
    return may_act_on(user, staff)


def offers_enrolment(user: User, staff: Staff) -> bool:
    """Whether the record shows the "enrol in a course" form: not for a person who left, whom
    enrolling refuses (assign.enrol: "left") until they come back."""
    return held_to_due_dates(staff.status) and may_enrol_others(user, staff)


def headers() -> list[str]:
    return [_("Course"), _("Cycle"), _("Status"), _("Assigned"), _("Due"), _("Completed"),
            _("Valid until"), _("Score"), _("Certificate")]


def table(staff: Staff, score_format: Callable[[float], str]) -> list[tuple[RecordRow, list[Any]]]:
    """Each cycle of the person's record with its cells, in the order of ``headers()``."""
    result = []
    for row in queries.record(staff):
        e = row.enrolment
        cells = [
            row.course_title,
            e.cycle,
            row.status.label,
            format_date(e.assigned_on),
            format_date(e.due_on),
            format_date(e.completed_at),
            format_date(e.expires_on),
            "" if e.score is None else score_format(e.score),
            row.certificate.code if row.certificate else "",
        ]
        result.append((row, cells))
    return result


def program_headers() -> list[str]:
    return [_("Programme"), _("Cycle"), _("Status"), _("Assigned"), _("Due"), _("Completed"),
            _("Valid until"), _("Required steps done"), _("Required steps"), _("Certificate")]


def program_table(staff: Staff) -> list[tuple[program_paths.RecordRow, list[Any]]]:
    """Each cycle of the person's programmes with its cells, in the order of ``program_headers()``
    (the steps as two numbers, as the programme report's export has them: "2/3" in a CSV cell
    is the 2nd of March to a spreadsheet)."""
    result = []
    for row in program_paths.record_of(staff):
        e = row.enrolment
        cells = [
            row.program_title,
            e.cycle,
            row.status_label,
            format_date(e.assigned_on),
            format_date(e.due_on),
            format_date(e.completed_at),
            format_date(e.expires_on),
            e.steps_done,
            e.steps_required,
            row.certificate.code if row.certificate else "",
        ]
        result.append((row, cells))
    return result
