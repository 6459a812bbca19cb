"""What a report says, made once for whoever shows it: the mailed report's summary, chart and
files (scheduled.py) and the dashboard's PDF download (views.py) are made of the same
``Figures``, so the PDF on the site is the one in the mail."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from mooc.auth.models import User
from mooc.config import settings
from mooc.formatting import format_number, format_percent
from mooc.i18n import gettext as _
from mooc.reports import charts, exports, queries, tables
from mooc.roster.models import OrgUnit
from mooc.roster.units import unit_label

EXPORT_MAX_ROWS = 100_000  # as the report pages' exports


@dataclass
class Figures:
    """What a report says, whichever it is: the mail's summary, chart and files come from it."""

    title: str
    rate_line: str  # the headline: "Completion rate: 75,0%" or "Compliance rate: ..."
    rate: float | None
    rated: list[tuple[str, float]]  # (unit, percentage) of each unit shown: chart, furthest behind
    facts: list[str]  # the summary's other lines
    sheets: list[exports.Table]  # the XLSX
    pdf_headers: list[str]
    pdf_rows: list[list[str]]  # the total last
    pdf_widths: list[float]


def percent(value: float | None) -> str:
    """A rate as every page writes it (``format_percent``): "75,0%"."""
    return format_percent(value)


def _place(unit: OrgUnit | None) -> str:
    return unit_label(unit) if unit is not None else _("All units")


def dashboard(rollup: queries.Rollup, title: str | None = None,
              sheets: list[exports.Table] | None = None) -> Figures:
    """The dashboard's figures from its rollup (as the page sorted it); ``title`` and
    ``sheets``: another report made of the same rollup (the overdue list)."""
    total = rollup.total
    if sheets is None:
        headers, rows = tables.rollup_table(rollup)
        sheets = [exports.Table(_("Completion by unit"), headers, rows)]
    shown = [*rollup.rows, total]
    return Figures(
        title or _("Training completion by unit — %(unit)s", unit=_place(rollup.parent)),
        _("Completion rate: %(rate)s", rate=percent(total.rate)), total.rate,
        [(row.label, row.rate) for row in rollup.rows if row.rate is not None],
        [_("People with required training: %(n)s; overdue: %(overdue)s",
           n=format_number(total.people_required), overdue=format_number(total.counts["overdue"]))],
        sheets,
        [_("Unit"), _("Active staff (people)"), _("With required training (people)"),
         _("Completed everything (people)"), _("Not started (people)"), _("Overdue (people)"),
         _("Completion rate (% of people)")],
        [[row.label if row.unit else _("Total"), format_number(row.headcount),
          format_number(row.people_required), format_number(row.counts["completed"]),
          format_number(row.counts["not_started"]), format_number(row.counts["overdue"]),
          percent(row.rate)] for row in shown],
        [95, 28, 32, 32, 28, 28, 30])


def overdue(reader: User, unit_id: int | None, filters: queries.Filters, today: date) -> Figures:
    """The overdue list (``filters``: its own, status "overdue"), headed by the completion of
    the same people and courses (the rollup of the same filters but the status)."""
    rollup = queries.rollup(reader, unit_id, replace(filters, status=None, account=None), today)
    stmt = queries.people_query(reader, unit_id, replace(filters, status="overdue"), today, None)
    headers, people = tables.people_table(queries.person_rows(stmt, today))
    sheet = exports.Table(_("Overdue training"), headers, list(people))
    return dashboard(rollup, _("Overdue training — %(unit)s", unit=_place(rollup.parent)), [sheet])


def compliance(reader: User, unit_id: int | None, today: date) -> Figures:
    """Compliance at the end of the last month (the month the report looks back on)."""
    month_end = today.replace(day=1) - timedelta(days=1)
    result = queries.compliance(reader, unit_id, month_end, listed=False)
    title, sheets = tables.compliance_tables(result, EXPORT_MAX_ROWS)
    facts = [_("People on the roster that day: %(n)s; compliant: %(compliant)s",
               n=format_number(result.people), compliant=format_number(result.compliant))]
    return Figures(
        title, _("Compliance rate: %(rate)s", rate=percent(result.percent)), result.percent,
        [(u.label, u.percent) for u in result.units if u.percent is not None], facts,
        sheets, [_("Unit"), _("People"), _("Compliant (people)"), _("Compliant (%)")],
        [[u.label, format_number(u.people), format_number(u.compliant), percent(u.percent)]
         for u in result.units]
        + [[_("Total"), format_number(result.people), format_number(result.compliant),
            percent(result.percent)]],
        [150, 40, 40, 40])


def pdf(figures: Figures, stamp: str) -> bytes:
    """The report as a PDF: heading, ``stamp`` (what it is of, as of when), chart, table."""
    return charts.report_pdf(figures.title, stamp, settings().issuer, figures.rated, figures.pdf_headers,
                             figures.pdf_rows, figures.pdf_widths)
