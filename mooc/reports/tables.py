"""The tables a report is made of (headers and rows), shared by its page's export and the
scheduled mail's attachment, so a file reads the same whichever way it came."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mooc.formatting import format_date
from mooc.i18n import gettext as _
from mooc.reports import exports, queries
from mooc.reports.programs import ProgramPerson, ProgramRollup
from mooc.roster.account_status import AccountStatus
from mooc.roster.units import unit_label
from mooc.training.program_paths import ProgramStatus
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
        _("Current with the latest editions (people)"),
        _("Current with the legal basis (people)"),
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
            row.current,
            row.legal_current,
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


def compliance_tables(result: queries.Compliance, max_rows: int) -> tuple[str, list[exports.Table]]:
    """The compliance export: a sheet of units (path, people, compliant, percentage) and a
    sheet of people (unit and position on that day, what they missed)."""
    title = _("Compliance of %(unit)s on %(date)s",
              unit=unit_label(result.unit) if result.unit else _("All units"), date=format_date(result.day))
    units = exports.Table(
        _("Compliance by unit"),
        [_("Unit"), _("People"), _("Compliant (people)"), _("Compliant (%)")],
        [[u.label, u.people, u.compliant, u.percent] for u in result.units]
        + [[_("Total"), result.people, result.compliant, result.percent]],
    )
    people = exports.Table(
        _("Compliance by person"),
        [_("Staff code"), _("Full name"), _("Unit"), _("Position"), _("Compliant"), _("Missing")],
        ([r.staff_code, r.full_name, r.unit, r.position, _("yes") if r.compliant else _("no"),
          "; ".join(r.missing)] for r in queries.compliance_rows(result, max_rows)),
    )
    return title, [units, people]


def program_tables(data: ProgramRollup,
                   people: Iterator[ProgramPerson]) -> tuple[exports.Table, exports.Table]:
    """The programme report: by unit (people by status), and its people one by one."""
    headers = [_("Unit"), _("People following it"), _("Completed (people)"), _("On track (people)"),
               _("Behind schedule (people)"), _("Overdue (people)"), _("Completion rate (% of people)")]
    rows = [[row.label if row.unit else _("Total"), row.people, row.counts["completed"],
             row.counts["on_track"], row.counts["behind"], row.counts["overdue"], row.rate]
            for row in [*data.rows, data.total]]
    labels = {status: status.label for status in ProgramStatus}
    people_rows = ([p.staff_code, p.full_name, p.unit, labels[p.status], p.steps_done, p.steps_required,
                    format_date(p.due_on) if p.due_on else ""] for p in people)
    people_headers = [_("Staff code"), _("Full name"), _("Unit"), _("Status"), _("Required steps done"),
                      _("Required steps"), _("Due")]
    return (exports.Table(_("By unit"), headers, rows),
            exports.Table(_("People of the programme"), people_headers, people_rows))
