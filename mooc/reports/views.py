"""Report pages: the dashboard, drill-down by unit, lists of people, compliance on a date,
course analytics and the trend. Every table exports to CSV and XLSX; the dashboard also to
the PDF its subscribers are mailed. Scope is enforced by the queries: a manager sees their
subtree only."""

from __future__ import annotations

import functools
from collections.abc import Sized
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from mooc import accel, clock, kept, replica, versions
from mooc.auth import audit
from mooc.auth.access import permission_required
from mooc.auth.models import Permission
from mooc.caching import KeptCache, app_cache
from mooc.courses.models import Course
from mooc.database import run_compiled
from mooc.downloads import content_disposition, slug
from mooc.errors import refuse
from mooc.extensions import db
from mooc.formatting import format_date, format_datetime, format_number
from mooc.i18n import gettext as _
from mooc.i18n import lazy_gettext as _l
from mooc.i18n import request_locale
from mooc.params import choice_arg, day_arg, int_arg, parse_int, say_ignored, say_not_a_day
from mooc.replica import reads_replica
from mooc.reports import analytics, charts, exports, figures, queries, subscriptions, tables
from mooc.reports import legal as legal_impact
from mooc.reports import programs as program_report
from mooc.reports.models import Frequency, ReportKind
from mooc.roster.models import Position
from mooc.roster.queries import unit_choices
from mooc.roster.tree import unit_tree_at
from mooc.roster.units import unit_label
from mooc.training.models import Program
from mooc.training.status import STILL_TO_DO, status_label

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")


@bp.app_template_filter("fit_label")
def _fit_label(label: str, room: float) -> str:
    return charts.fit_label(label, room)


@bp.teardown_request
def _close_streams(_error: BaseException | None) -> None:
    """An export's cursor is closed before the session is (a stream that failed half-way)."""
    queries.close_streams()


# A longer list is asked to be narrowed first: an export streams (memory stays flat), but a
# file of more rows is more than a spreadsheet reader can use (bench/reports.py: the whole
# ministry's 44,000 rows of XLSX in a few seconds).
EXPORT_MAX_ROWS = 100_000
EXPORT_KINDS = ("csv", "xlsx")


# The filters typed as dates, by the label of their box (a bad one is said naming the box).
DAY_FILTERS = {"due_from": _l("Due from"), "due_to": _l("Due until")}


def _filters() -> queries.Filters:
    return queries.read_filters(request.args, _say_bad_filter)


def _say_bad_filter(name: str, text: str) -> None:
    if name in DAY_FILTERS:
        say_not_a_day(name, str(DAY_FILTERS[name]), text)
    else:
        say_ignored(name)


def _export_arg() -> str | None:
    return choice_arg("export", EXPORT_KINDS)


def _narrow_first(message: str, endpoint: str) -> WerkzeugResponse:
    """An export too long to make: back to the same page without the export, saying why."""
    flash(message, "warning")
    return redirect(url_for(endpoint, **_args_but_export()))


class Choice(NamedTuple):
    """A course, position or programme as the filter form lists it."""

    id: int
    title: str


def _choice_selects() -> list[sa.Select]:
    """The live courses by title, the positions by rank, the live programmes by title: the form's
    choices as (kind, id, title, rank) rows, kinds 0 to 2 (the ORM's entities are not loaded)."""
    zero = sa.literal_column("0", sa.Integer)
    return [
        sa.select(zero.label("kind"), Course.id, Course.title, zero.label("rank"))
        .where(Course.archived.is_(False)),
        sa.select(sa.literal_column("1"), Position.id, Position.title, Position.rank),
        sa.select(sa.literal_column("2"), Program.id, Program.title, zero)
        .where(Program.archived.is_(False)),
    ]


def _in_order(*selects: sa.Select) -> sa.CompoundSelect:
    kind, rank = sa.literal_column("kind", sa.Integer), sa.literal_column("rank", sa.Integer)
    return sa.union_all(*selects).order_by(kind, rank, sa.literal_column("title"))


@functools.cache
def _choice_statement() -> sa.CompoundSelect:
    """The form's choices, in one statement of plain rows (built once per process)."""
    return _in_order(*_choice_selects())


_RULE_UNIT, _TREE_VERSION = 3, 4  # the dashboard's statement's other kinds of row


@functools.cache
def _dashboard_statement() -> sa.CompoundSelect:
    """What the dashboard reads before its counts, in one statement (one round trip, not three):
    the form's choices (kinds 0 to 2), the units active rules name (kind 3, the unit in the id's
    place; NULL: a rule covers every unit: ``queries.rule_target_selects``) and the unit tree's
    version (kind 4, in the id's place; ``tree.unit_tree_at``). Built once per process."""
    zero, no_title = sa.literal_column("0", sa.Integer), sa.null()
    named, every = queries.rule_target_selects(sa.literal_column(str(_RULE_UNIT)))
    version = versions.version_column(versions.ORG_UNITS)
    return _in_order(
        *_choice_selects(),
        named.add_columns(no_title, zero), every.add_columns(no_title, zero),
        sa.select(sa.literal_column(str(_TREE_VERSION)), version, no_title, zero),
    )


def _dashboard_reads() -> tuple[dict, queries.RuleTargets]:
    """The dashboard's first statement: its filter choices, the rules' coverage; the unit tree of
    the version read is this request's (``tree.unit_tree_at``)."""
    found: tuple[list[Choice], list[Choice], list[Choice]] = ([], [], [])
    rule_units: set[int | None] = set()
    tree_version = None
    statement = _dashboard_statement()
    # plain numbers and strings: its SQL compiled once, no ORM (the connection where the session
    # reads it: a @reads_replica page's is the replica's)
    connection = db.session.connection(bind_arguments={"clause": statement})
    rows: Any = run_compiled(connection, statement, {})
    for kind, number, title, _rank in rows:
        if kind == _RULE_UNIT:
            rule_units.add(number)
        elif kind == _TREE_VERSION:
            tree_version = number
        else:
            found[kind].append(Choice(number, title))
    unit_tree_at(tree_version)
    return _choices_of(found, units=False), queries.rule_targets_of(rule_units)


def _choices(*, units: bool = True) -> dict:
    """The filter form's choices; ``units``: the unit select box too (the dashboard has none:
    its units are its rows)."""
    found: tuple[list[Choice], list[Choice], list[Choice]] = ([], [], [])
    for kind, choice_id, title, _rank in db.session.execute(_choice_statement()):
        found[kind].append(Choice(choice_id, title))
    return _choices_of(found, units=units)


def _choices_of(found: tuple[list[Choice], list[Choice], list[Choice]], *, units: bool) -> dict:
    courses, positions, programs = found
    return {
        "courses": courses,
        "positions": positions,
        "programs": programs,
        "units": unit_choices(current_user) if units else None,
        "statuses": queries.LIST_STATUSES,  # with "still to finish", as every report reads it
    }


@dataclass
class Described:
    """What an export was made of: its filters as people read them (the file's header line)
    and as words for the file's name."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    name_parts: list[str] = field(default_factory=list)


def _described(unit: str, filters: queries.Filters | None = None, as_of: date | None = None) -> Described:
    """The unit (its label), then the course, position, status, due dates, account filter and
    as-of date that shaped the table: every one said, "all" included, so that a file read
    alone cannot be mistaken for another."""
    described = Described([(_("Unit"), unit)], [unit])
    if filters is not None:
        course = db.session.get(Course, filters.course_id) if filters.course_id else None
        _describe_program(described, filters.program_id)
        position = db.session.get(Position, filters.position_id) if filters.position_id else None
        status = status_label(filters.status) if filters.status else None
        described.lines += [
            (_("Course"), course.title if course else _("All courses")),
            (_("Position"), position.title if position else _("All positions")),
            (_("Status"), status or _("Any status")),
        ]
        described.name_parts += [course.key if course else "", position.code if position else "",
                                 status or ""]
        if filters.due_from or filters.due_to:
            due = f"{format_date(filters.due_from)}–{format_date(filters.due_to)}"
            described.lines.append((_("Due"), due))
        if filters.account:
            described.lines.append((_("Account"), _("Cannot sign in")))
            described.name_parts.append(_("Cannot sign in"))
    day = as_of or clock.today()
    described.lines.append((_("As of"), format_date(day)))
    described.name_parts.append(day.isoformat())
    return described


def _describe_program(described: Described, program_id: int | None) -> None:
    program = db.session.get(Program, program_id) if program_id else None
    if program is not None:
        described.lines.append((_("Programme"), program.title))
        described.name_parts.append(program.key)


def _stamp(described: Described) -> str:
    """An export's header line: its filters, who exported it and when."""
    return " · ".join(
        [f"{label}: {value}" for label, value in described.lines]
        + [_("Exported by %(name)s (%(email)s) on %(when)s", name=current_user.display_name,
             email=current_user.email, when=format_datetime(clock.now()))]
    )


def _export(kind: str, title: str, tables: list[exports.Table], described: Described,
            rows: int | None = None) -> Response:
    """The tables as a file named after the report, the unit and the filters, its header
    line saying the filters, who exported it and when. Streamed: the response is a generator
    that makes the file as it is sent, in this request's context (``stream_with_context``: the
    database session stays open until the last byte, then is closed by the app's teardown, as
    it is when the generator fails half-way). ``rows``: how many rows the tables hold, when
    they are generators (counted before, for the audit trail)."""
    stamp = _stamp(described)
    if rows is None:
        rows = sum(len(table.rows) for table in tables if isinstance(table.rows, Sized))
    audit.record("report.exported", target=title[:200], format=kind, rows=rows, path=request.path)
    filename = slug(tables[0].title or title, *described.name_parts)
    if kind == "csv":
        chunks = exports.csv_chunks(title, tables, stamp, vietnamese=str(get_locale()) == "vi")
        mimetype = "text/csv; charset=utf-8"
    else:
        chunks = exports.xlsx_chunks(title, tables, stamp)
        mimetype = exports.XLSX_MIME
    headers = {"Content-Disposition": content_disposition(f"{filename}.{kind}")}
    if accel.enabled():  # made whole here, then sent by nginx (mooc/accel.py)
        return accel.redirect_response(accel.SPOOL_LOCATION, accel.spool(chunks, f".{kind}"),
                                       mimetype=mimetype, headers=headers)
    return Response(stream_with_context(replica.streaming(chunks)), mimetype=mimetype, headers=headers)


SORTS = {
    "name": lambda r: r.label,
    "rate": lambda r: (r.rate is None, r.rate or 0),
    "overdue": lambda r: -r.counts["overdue"],
    "headcount": lambda r: -r.headcount,
    "not_started": lambda r: -r.counts["not_started"],
    "cannot_sign_in": lambda r: -r.cannot_sign_in,
}


def _dashboard(unit_id: int | None):
    today = clock.today()
    months = min(int_arg("months") or 6, 36)
    choices, rules = _dashboard_reads()
    try:
        rollup = queries.rollup(current_user, unit_id, _filters(), today, months, rules)
    except queries.OutOfScope:
        abort(404)
    sort = choice_arg("sort", SORTS) or "name"
    rollup.rows.sort(key=SORTS[sort])
    export = choice_arg("export", (*EXPORT_KINDS, "pdf"))
    unit = unit_label(rollup.parent) if rollup.parent else _("All units")
    title = _("Training completion by unit") + (f" — {unit}" if rollup.parent else "")
    if export == "pdf":
        return _dashboard_pdf(rollup, _described(unit, _filters(), today))
    if export:
        headers, rows = tables.rollup_table(rollup)
        return _export(export, title, [exports.Table(_("Completion by unit"), headers, rows)],
                       _described(unit, _filters(), today))
    people = None
    if unit_id is not None and choice_arg("people", ("1",)):
        people = queries.people(current_user, unit_id, _filters(), today)
    page = dict(rollup=rollup, title=title, unit_id=unit_id, filters=_filters(), sort=sort, months=months,
                people=people, today=today, **choices)
    if people is not None or g.get("days_not_read"):
        return render_template("reports/dashboard.html", **page)
    return kept.render(_kept_key(page), "reports/dashboard.html", _fillers(page), **page)


def _kept_key(page: dict[str, Any]) -> tuple:
    """Everything the dashboard's page shows but its rows (``_fillers``) and the chrome's holes:
    the page is a pure function of it (mooc/kept.py). The parent's and grandparent's labels are the
    breadcrumbs'; the choices are the filter form's, as read by this request."""
    rollup: queries.Rollup = page["rollup"]
    parent = rollup.parent
    above = parent.parent_id if parent is not None else None
    return ("reports.dashboard", str(request_locale()), current_user.role, request.script_root, request.path,
            page["title"], page["unit_id"], tuple(page["filters"].as_args().items()), bool(rollup.rows),
            None if parent is None else (parent.id, unit_label(parent), above, above and unit_label(above)),
            tuple(page["courses"]), tuple(page["positions"]), tuple(page["programs"]))


class _ShownUnit(NamedTuple):
    id: int  # all the holes read of a row's unit


def _row_facts(row: queries.Row) -> tuple:
    """Everything the holes read of a row (``_shown_row`` makes the row they are given again)."""
    return (row.unit.id if row.unit is not None else None, row.label, row.inactive, row.uncovered,
            row.headcount, row.cannot_sign_in, row.people_required,
            tuple(row.counts[s] for s in queries.STATUSES), row.current, row.legal_current)


def _shown_row(facts: tuple) -> queries.Row:
    unit_id, label, inactive, uncovered, headcount, cannot, required, counts, current, legal = facts
    unit: Any = _ShownUnit(unit_id) if unit_id is not None else None
    return queries.Row(unit, headcount=headcount, people_required=required,
                       counts=dict(zip(queries.STATUSES, counts, strict=True)), inactive=inactive,
                       cannot_sign_in=cannot, label=label, uncovered=uncovered, current=current,
                       legal_current=legal)


def _fillers(page: dict[str, Any]) -> dict[str, kept.Filler]:
    """The dashboard's holes: its chart and warnings, its table's rows, as this request counts them.
    Rendered from exactly the facts they show (``_row_facts`` of each row and of the total, the
    months looked at, the unit, the filters) and kept under those facts, the locale and the script
    root (``_HOLES``: what is kept is what these facts render, so it is never stale). Their
    templates read only what they are given and the environment's globals and filters, so they
    are rendered without Flask's context processors (what ``{% include %}`` gives them in a
    page rendered in full is the same: ``test_every_kept_dashboard_is_the_page_its_template_renders``)."""
    rollup: queries.Rollup = page["rollup"]
    base_args = tuple((k, v) for k, v in page["filters"].as_args().items() if k != "account")
    facts = (tuple(_row_facts(row) for row in rollup.rows), _row_facts(rollup.total), rollup.inactive_months,
             page["unit_id"], base_args)
    key = (str(request_locale()), request.script_root, facts)

    def render() -> tuple[str, str]:
        rows, total, months, unit_id, args = facts
        shown = queries.Rollup(None, [_shown_row(row) for row in rows], _shown_row(total), months)
        context = {"rollup": shown, "unit_id": unit_id, "base_args": dict(args)}
        templates = current_app.jinja_env
        return (templates.get_template("reports/_dashboard_chart.html").render(context),
                templates.get_template("reports/_dashboard_rows.html").render(context))

    holes = app_cache(_HOLES, lambda: KeptCache(4096)).get(key, render)
    return {"report_chart": lambda: holes[0], "report_rows": lambda: holes[1]}


_HOLES = "mooc.reports.kept_holes"  # the dashboard's holes, rendered, by the facts they show


def _dashboard_pdf(rollup: queries.Rollup, described: Described) -> Response:
    """The dashboard as the PDF its subscribers are mailed (figures.py): chart and table."""
    made = figures.dashboard(rollup)
    audit.record("report.exported", target=made.title[:200], format="pdf", rows=len(rollup.rows) + 1,
                 path=request.path)
    filename = slug(_("Completion by unit"), *described.name_parts)
    return Response(figures.pdf(made, _stamp(described)), mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(f"{filename}.pdf")})


def _args_but_export() -> dict[str, Any]:
    """This page's query parameters without ``export``, for the page to redirect to itself.
    Names starting with "_" are not the page's: url_for would read them as its own options
    (``_external``, ``_scheme``, ``_anchor``), so they are left out."""
    return {k: v for k, v in request.args.items() if k != "export" and not k.startswith("_")}


@bp.get("/")
@permission_required(Permission.READ_REPORTS)
@reads_replica
def dashboard():
    return _dashboard(None)


@bp.get("/units/<int:unit_id>")
@permission_required(Permission.READ_REPORTS)
@reads_replica
def unit(unit_id: int):
    return _dashboard(unit_id)  # an unknown unit: 404 (``queries.drill_down`` loads it, or refuses)


@bp.get("/people")
@permission_required(Permission.READ_REPORTS)
@reads_replica
def people():
    """Obligations person by person: the overdue and never-started lists are this page filtered."""
    today = clock.today()
    unit_id = int_arg("unit")
    filters = _filters()
    export = _export_arg()
    try:
        stmt = queries.people_query(current_user, unit_id, filters, today, limit=None if export else 500)
    except queries.OutOfScope:
        abort(404)
    titles = {"overdue": _("Overdue training"), "not_started": _("Training never started"),
              STILL_TO_DO: _("Training still to finish")}
    title = titles.get(filters.status or "", _("Training by person"))
    if filters.account:
        title = _("%(list)s: people who cannot sign in", list=title)
    if export is not None:
        count = queries.count_rows(stmt, EXPORT_MAX_ROWS + 1)
        if count > EXPORT_MAX_ROWS:
            return _narrow_first(_("This list has more than %(n)s rows: narrow it by unit, course or status "
                                   "before exporting.", n=format_number(EXPORT_MAX_ROWS)), "reports.people")
        headers, table = tables.people_table(queries.person_rows(stmt, today))
        unit = unit_label(unit_id) if unit_id else _("All my units")
        return _export(export, title, [exports.Table(title, headers, table)],
                       _described(unit, filters, today), rows=count)
    rows = list(queries.person_rows(stmt, today, batch=None))
    queries.lesson_progress(rows)
    return render_template(
        "reports/people.html",
        rows=rows,
        people_count=len({r.staff.id for r in rows}),
        title=title,
        filters=filters,
        unit_id=unit_id,
        today=today,
        **_choices(),
    )


@bp.get("/compliance")
@permission_required(Permission.READ_REPORTS)
@reads_replica
def compliance():
    all_units = request.args.get("unit") == "all"  # the viewer's whole scope
    unit_id = None if all_units else int_arg("unit")
    day = day_arg("date", _("Date")) or clock.today()
    result = None
    if unit_id is not None or all_units:
        export = _export_arg()
        try:  # an export lists nobody here: its people are streamed (tables.compliance_tables)
            result = queries.compliance(current_user, unit_id, day, listed=export is None)
        except queries.OutOfScope:  # also an unknown unit
            abort(404)
        if export is not None and result.people > EXPORT_MAX_ROWS:
            return _narrow_first(_("This unit had more than %(n)s people on that day: export a smaller unit.",
                                   n=format_number(EXPORT_MAX_ROWS)), "reports.compliance")
        if export is not None:
            return _export(export, *tables.compliance_tables(result, EXPORT_MAX_ROWS), _described(
                unit_label(result.unit) if result.unit else _("All units"), as_of=day),
                rows=len(result.units) + 1 + result.people)
    return render_template(
        "reports/compliance.html", result=result, unit_id=unit_id, all_units=all_units, day=day, **_choices()
    )


@bp.get("/trend")
@permission_required(Permission.READ_REPORTS)
@reads_replica
def trend():
    months = queries.completions_per_month(current_user, clock.today())
    export = _export_arg()
    if export:
        title = _("Completions per month")
        rows = [[f"{m[5:]}/{m[:4]}", n] for m, n in months]  # mm/yyyy, as the page writes a month
        return _export(export, title, [exports.Table(title, [_("Month"), _("Completions")], rows)],
                       _described(_("All my units")))
    return render_template("reports/trend.html", months=months)


@bp.get("/legal")
@permission_required(Permission.READ_REPORTS)
@reads_replica
def legal():
    """Documents superseded, or to be within ``days`` days, and what rests on them."""
    days = int_arg("days", low=0, high=legal_impact.MAX_DAYS)
    days = legal_impact.DEFAULT_DAYS if days is None else days
    today = clock.today()
    rows = legal_impact.superseded_impact(current_user, today, days)
    export = _export_arg()
    if export:
        title = _("Superseded legal documents and what rests on them")
        described = _described(_("All my units"))
        described.lines.insert(1, (_("Within (days)"), str(days)))
        table = exports.Table(
            _("Legal impact"),
            [_("Document"), _("Kind"), _("Title"), _("Superseded from"), _("Superseded by"), _("Extent"),
             _("Course"), _("Lessons"), _("People with a completion")],
            _legal_rows(rows),
        )
        return _export(export, title, [table], described)
    return render_template("reports/legal.html", rows=rows, days=days, today=today)


def _legal_rows(rows: list[legal_impact.ImpactRow]) -> list[list]:
    """One line per document and course resting on it (a document nothing rests on: one line)."""
    lines = []
    for row in rows:
        document = row.document
        head = [document.number, document.kind, document.title, format_date(document.superseded_from),
                ", ".join(document.superseded_by or []),
                _("partly") if document.superseded_extent == "partly" else _("wholly")]
        if not row.courses:
            lines.append([*head, "", "", row.people])
        for course in row.courses:
            lessons = "; ".join(title for _key, title in course.lessons) or (
                _("updated: no lesson rests on it now, earlier editions did")
                if course.updated else "")
            lines.append([*head, course.title, lessons, row.people])
    return lines


@bp.get("/courses/<int:course_id>")
@permission_required(Permission.READ_REPORTS)
@reads_replica
def course(course_id: int):
    course = db.session.get(Course, course_id) or abort(404)
    data = analytics.course_analytics(current_user, course)
    export = _export_arg()
    if export:
        described = _described(_("All my units"))
        described.lines.insert(1, (_("Course"), course.title))
        described.name_parts.insert(1, course.key)
        if choice_arg("table", ("questions", "lessons")) == "lessons":
            title = _("How far trainees get: %(course)s", course=course.title)
            return _export(export, title, [exports.Table(
                _("How far trainees get"), [_("Lesson"), _("People done"), _("Share of enrolled (%)")],
                [[r.title, r.done, r.percent] for r in data.lessons])], described)
        title = _("Question difficulty: %(course)s", course=course.title)
        return _export(export, title, [exports.Table(
            _("Question difficulty"), [_("Quiz"), _("Question"), _("Answers"), _("Share correct (%)")],
            [[q.quiz_title, q.title, q.answers, q.percent_correct] for q in data.questions])], described)
    return render_template("reports/course.html", course=course, data=data)


@bp.get("/programs/<int:program_id>")
@permission_required(Permission.READ_REPORTS)
@reads_replica
def program(program_id: int):
    """A programme per unit: its people completed, on track, behind, overdue; with exports."""
    found = db.session.get(Program, program_id) or abort(404)
    today = clock.today()
    unit_id = int_arg("unit")
    try:
        data = program_report.program_rollup(current_user, found, unit_id, today)
    except queries.OutOfScope:
        abort(404)
    export = _export_arg()
    if export:
        unit = unit_label(data.parent) if data.parent else _("All my units")
        described = _described(unit)
        described.lines.insert(1, (_("Programme"), found.title))
        described.name_parts.insert(1, found.key)
        by_unit, people = tables.program_tables(data, program_report.program_people(
            current_user, found, unit_id, today))
        return _export(export, _("Programme: %(title)s", title=found.title), [by_unit, people], described)
    return render_template("reports/program.html", data=data, program=found, unit_id=unit_id,
                           statuses=program_report.STATUSES)


# --- reports by e-mail ---------------------------------------------------------------------------

SUBSCRIPTION_REFUSALS = {
    "out_of_scope": lambda: _("You cannot receive this report: it is outside the units you can read."),
    "too_many": lambda: _("You already receive %(n)d reports by e-mail: end one first.",
                          n=subscriptions.MAX_PER_PERSON),
    "bad_email": lambda: _("Enter a valid e-mail address."),
    "no_format": lambda: _("Choose XLSX, PDF or both."),
    "not_yours": lambda: _("This subscription is not yours to end."),
    "bad_filter": lambda: _("This report's filters name a course, position or programme that does not "
                            "exist, or a value they do not take: open the report again and subscribe "
                            "from it."),
}


def _posted_choice() -> subscriptions.Choice:
    """The report, its unit and filters (as the page's hidden fields carry them), how often,
    which files. A filter that cannot be read: SubscriptionRefused."""
    form = request.form
    kind = form.get("kind", "")
    frequency = form.get("frequency", "")
    report = ReportKind(kind) if kind in set(ReportKind) else ReportKind.DASHBOARD
    try:
        filters = subscriptions.read_filters(report, form)
    except subscriptions.BadFilter:
        raise subscriptions.SubscriptionRefused("bad_filter") from None
    return subscriptions.Choice(
        kind=report, frequency=Frequency(frequency) if frequency in set(Frequency) else Frequency.MONTHLY,
        unit_id=parse_int(form.get("unit"), low=1), filters=filters,
        xlsx=bool(form.get("xlsx")), pdf=bool(form.get("pdf")))


@bp.get("/subscriptions")
@permission_required(Permission.READ_REPORTS)
def subscriptions_page():
    admin = current_user.can(Permission.MANAGE_ACCOUNTS)
    listed = subscriptions.listed(current_user)
    return render_template("reports/subscriptions.html", subscriptions=listed,
                           filters={s.id: subscriptions.described(s) for s in listed},
                           admin=admin, report_labels=subscriptions.REPORT_LABELS,
                           frequency_labels=subscriptions.FREQUENCY_LABELS,
                           **(_choices() if admin else {}))


@bp.post("/subscriptions")
@permission_required(Permission.READ_REPORTS)
def subscribe():
    try:
        subscriptions.subscribe(current_user, _posted_choice())
    except subscriptions.SubscriptionRefused as refused:
        refuse()
        flash(SUBSCRIPTION_REFUSALS[refused.code](), "warning")
    else:
        flash(_("Done: this report will come to %(email)s.", email=current_user.email), "success")
    return redirect(url_for("reports.subscriptions_page"))


@bp.post("/subscriptions/address")
@permission_required(Permission.MANAGE_ACCOUNTS)
def subscribe_address():
    email = request.form.get("email", "")[:300]
    try:
        subscriptions.subscribe_address(current_user, email, _posted_choice())
    except subscriptions.SubscriptionRefused as refused:
        refuse()
        flash(SUBSCRIPTION_REFUSALS[refused.code](), "warning")
    else:
        flash(_("Done: this report will come to %(email)s.", email=email.strip()), "success")
    return redirect(url_for("reports.subscriptions_page"))


@bp.post("/subscriptions/<int:subscription_id>/end")
@permission_required(Permission.READ_REPORTS)
def unsubscribe(subscription_id: int):
    try:
        subscriptions.unsubscribe(current_user, subscription_id)
    except subscriptions.SubscriptionRefused:
        refuse()
        abort(404)
    flash(_("Done: this report will not be mailed any more."), "success")
    return redirect(url_for("reports.subscriptions_page"))
