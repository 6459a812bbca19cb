"""How a roster import plan reads to people, on the web page and in the command's text:
unit names, position titles, Vietnamese labels, dd/mm/yyyy dates, and many identical
problems summarised as one line."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mooc.extensions import db
from mooc.formatting import format_date, format_number
from mooc.i18n import lazy_gettext as _l
from mooc.roster.models import Position, StaffStatus
from mooc.roster.reader import column_letter
from mooc.roster.units import unit_labels

FIELD_LABELS = {
    "staff_code": _l("Staff code"), "full_name": _l("Full name"), "email": _l("E-mail"),
    "unit": _l("Unit"), "position": _l("Position"), "status": _l("Status"),
    "joined_on": _l("Joined on"), "left_on": _l("Left on"),
    "unit_id": _l("Unit"), "position_id": _l("Position"),
}
STATUS_LABELS = {StaffStatus.ACTIVE: _l("Active"), StaffStatus.ON_LEAVE: _l("On leave"),
                 StaffStatus.LEFT: _l("Left")}
KIND_LABELS = {"added": _l("Added"), "changed": _l("Changed"), "moved": _l("Moved to another unit"),
               "deactivated": _l("Marked as left"), "reactivated": _l("Back on the roster"),
               "unchanged": _l("Unchanged")}
# What a roster import read (``RosterImport.kind``).
# Why a person of a list was not invited (the flash of an invitation to many, the audit log).
SKIP_LABELS = {
    "no_email": _l("no e-mail address"),
    "has_account": _l("can sign in already"),
    "protected": _l("an account above your role: ask an administrator"),
    "already_invited": _l("invited already, the link still works"),
    "account_disabled": _l("account disabled"),
    "email_in_use": _l("e-mail used by another person's account"),
    "staff_left": _l("left"),
}
IMPORT_KIND_LABELS = {"staff": _l("Roster"), "units": _l("List of units")}
# What a units file does (units.UnitPlan.counts).
UNIT_KIND_LABELS = {"added": _l("Units added"), "renamed": _l("Renamed"),
                    "moved": _l("Moved under another parent"), "changed": _l("Kind changed"),
                    "merged": _l("Merged"), "unchanged": _l("Unchanged")}

# Why an uploaded file was refused before any row was read (reader.FileRefused codes).
REFUSALS = {
    "old_excel": _l("This is an old Excel file (.xls). Open it in Excel and save it as .xlsx or CSV."),
    "empty": _l("The file is empty."),
    "not_a_table": _l("This is not a CSV or XLSX file."),
    "zip_bomb": _l("This XLSX file unpacks to an unreasonable size, so it was refused."),
    "no_header": _l("No header row found: one of the first rows must name the columns "
                    "(Mã cán bộ, Họ và tên, Đơn vị...)."),
    "cell_too_long": _l("Row %(row)d, column %(column)s: a cell holds more than %(n)s characters, so the "
                        "file was refused. A quote mark (\") that is never closed makes the rest of the file "
                        "one cell: check that row."),
    "cell_too_long_row": _l("Row %(row)d: a cell holds more than %(n)s characters, so the file was refused. "
                            "A quote mark (\") that is never closed makes the rest of the file one cell: "
                            "check that row."),
}

GROUP_FROM = 4      # this many problems of one kind in one column read as one summary line
FIRST_ROWS = 5      # rows a summary line names


def refusal_message(error: Exception) -> str:
    """Why a file was refused (a reader.FileRefused), as the upload page and `mooc roster import` say it."""
    code = getattr(error, "code", "not_a_table")
    params = dict(getattr(error, "params", {}) or {})
    if code == "cell_too_long":
        if params.get("column") is None:
            code = "cell_too_long_row"
        elif isinstance(params["column"], int):
            params["column"] = column_letter(params["column"])
        params["n"] = format_number(params.get("n"))
        return str(REFUSALS[code] % params)
    return str(REFUSALS.get(code, REFUSALS["not_a_table"]))


def names() -> tuple[dict[int, str], dict[int, str]]:
    """(unit id -> label, position id -> title), to show a plan's values: a unit's label has its
    path where another unit has the same name (``units.unit_labels``)."""
    return (unit_labels(),
            dict(db.session.execute(sa.select(Position.id, Position.title)).all()))


def show_value(name: str, value: Any, unit_names: dict, position_titles: dict) -> str:
    """A plan's value as people read it: names not ids, labels not codes, dd/mm/yyyy."""
    if value is None or value == "":
        return "—"
    if name == "unit_id":
        return unit_names.get(value, str(value))
    if name == "position_id":
        return position_titles.get(value, str(value)) if isinstance(value, int) else str(value)
    if name == "status":
        return str(STATUS_LABELS[StaffStatus(value)])
    if name in ("joined_on", "left_on"):
        return format_date(value)
    return str(value)


def grouped(issues: list) -> list[dict[str, Any]]:  # list[importer.Issue]
    """Problems as lines: one per problem, or, for GROUP_FROM or more of one kind in one
    column, one line with the count and the first rows."""
    groups: dict[tuple[str, str], list] = {}
    for issue in issues:
        groups.setdefault((issue.column, issue.code), []).append(issue)
    lines: list[dict[str, Any]] = []
    for (column, _code), members in groups.items():
        if len(members) < GROUP_FROM:
            lines += [{"row": issue.row, "rows": [issue.row], "count": 1, "column": column,
                       "message": issue.message} for issue in members]
            continue
        rows = [issue.row for issue in members[:FIRST_ROWS]]
        lines.append({"row": rows[0], "rows": rows, "count": len(members), "column": column,
                      "message": members[0].message, "same": len({m.message for m in members}) == 1})
    lines.sort(key=lambda line: line["row"])
    return lines
