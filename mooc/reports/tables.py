"""The tables a report is made of (headers and rows), shared by its page's export and the
scheduled mail's attachment, so a file reads the same whichever way it came."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flask_babel import gettext as _

from mooc.reports import queries
from mooc.roster.account_status import AccountStatus
from mooc.training.status import EnrolmentStatus


def rollup_table(rollup: queries.Rollup) -> tuple[list[str], list[list]]:
    """The dashboard's table: every number counts people (each person once, by their most
    urgent status), as the headers say."""
    headers = [
        _("Unit"),
        _("Active staff (people)"),
        _("Cannot sign in (people)"),
        _("With required training (people)"),
        _("Completed everything (people)"),
        _("In progress (people)"),
        _("Not started (people)"),
        _("Overdue (people)"),
        _("Exempt from all (people)"),
        _("Completion rate (% of people)"),
        _("Last activity"),
        _("Required training"),
    ]
    rows = [
        [
            row.label if row.unit else _("Total"),
            row.headcount,
            row.cannot_sign_in,
            row.people_required,
            row.counts["completed"],
            row.counts["in_progress"],
            row.counts["not_started"],
            row.counts["overdue"],
            row.counts["exempt"],
            row.rate,
            row.last_activity,
            (_("none: no rule covers this unit") if row.uncovered else _("yes")) if row.unit else "",
        ]
        for row in [*rollup.rows, rollup.total]
    ]
    return headers, rows


def people_table(rows: Iterable[queries.PersonRow]) -> tuple[list[str], Iterator[list]]:
    """The headers, and the rows as a generator (read as the export is sent). Each status's
    label is translated once, not once a row."""
    statuses = {status: status.label for status in EnrolmentStatus}
    accounts = {account: account.label for account in AccountStatus}
    headers = [
        _("Staff code"),
        _("Full name"),
        _("Unit"),
        _("Position"),
        _("Course"),
        _("Status"),
        _("Due"),
        _("Days overdue"),
        _("Completed"),
        _("Manager"),
        _("Last training activity"),
        _("Account"),
    ]
    table = (
        [
            r.staff.staff_code,
            r.staff.full_name,
            r.unit_name,
            r.position_title,
            r.course_title,
            statuses[r.status],
            r.due_on,
            r.days_overdue,
            r.completed_at,
            r.managers,
            r.last_activity,
            accounts[r.account],
        ]
        for r in rows
    )
    return headers, table
