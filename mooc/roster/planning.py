"""What every spreadsheet import shares: the roster (``importer``), the units file (``units``)
and past completions (``training.history``).

``reader`` turns a file into rows of cells; this module turns cells into values and problems:
the table (its rows, the columns present, the header each field is named by in messages),
dates, and ``Issue``: a problem at a row and column whose message is translated (each import
adds its own messages to the shared ones in a subclass).

Each import is written the same way on top of it: ``validate_row(number, cells)`` returns the
row's values or its issues; ``diff(values, current)`` returns a change (of a kind from the
import's change-kind enum) or None when nothing changes; the plan lists the changes and the
issues sorted by row, and a plan with issues is never applied (``PlanHasErrors``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar

from mooc.errors import DomainError
from mooc.i18n import lazy_gettext as _l
from mooc.roster.reader import Cell, Sheet, cell_text

Rows = Iterator[tuple[int, dict[str, Cell]]]

MESSAGES: dict[str, Any] = {
    "missing_column": _l("The file has no “%(column)s” column. Headers found: %(found)s. Accepted headers "
                         "for it: %(accepted)s. Add the column, or choose it in the column mapping."),
    "no_rows": _l("The file has a header row but no data rows: there is nothing to import."),
    "unknown_header": _l("The column “%(value)s” is not used. Did you mean “%(suggestion)s”? If so, rename "
                         "the header or choose it in the column mapping."),
    "ignored_columns": _l("These columns are not used: %(value)s."),
    "control_removed": _l("Invisible control characters were removed from this cell."),
    "required": _l("This value is required."),
    "too_long": _l("This value is too long (at most %(n)d characters)."),
    "invalid_date": _l("“%(value)s” is not a date. Write dates as dd/mm/yyyy."),
    "date_out_of_range": _l("“%(value)s” is not a possible date (years 1900 to 2200)."),
    "number_code": _l("The staff code is stored as a number, so leading zeros may be lost "
                      "(%(value)s). Format the column as Text in Excel and type the codes again."),
    "scientific_code": _l("Excel turned this staff code into a number (%(value)s). Format the column "
                          "as Text and type the codes again."),
}

DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y")
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2200, 12, 31)


class PlanHasErrors(DomainError):
    """A plan with errors is never applied."""

    def __init__(self, count: int) -> None:
        super().__init__("plan_has_errors", count=count)


@dataclass(frozen=True)
class Issue:
    """A problem in a row (and column) of a file; its text comes from ``messages``, translated
    when it is read. Each import's subclass adds its own messages to the shared ones."""

    messages: ClassVar[Mapping[str, Any]] = MESSAGES
    row: int
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        text = self.messages[self.code]
        return str(text % self.params) if self.params else str(text)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


# --- dates ----------------------------------------------------------------------------------


IssueT = TypeVar("IssueT", bound=Issue)  # each import's own Issue subclass, kept in what the table returns


class BadDate(ValueError):
    """A cell that is not a date; ``str()`` is the cell's text."""

    code = "invalid_date"


class DateOutOfRange(BadDate):
    """A date that reads, but no HR date can be (year 0001, 9999); ``str()`` is dd/mm/yyyy."""

    code = "date_out_of_range"


def parse_date(cell: Cell) -> date | None:
    """A date from a cell (a spreadsheet date, or dd/mm/yyyy and the other ways HR writes one);
    None when the cell is empty; ``BadDate`` (or ``DateOutOfRange``) when it is not a date."""
    if isinstance(cell, datetime):
        found = cell.date()
    elif isinstance(cell, date):
        found = cell
    else:
        text = cell_text(cell)
        if not text:
            return None
        found = _strptime(text)
    if not MIN_DATE <= found <= MAX_DATE:
        raise DateOutOfRange(show_date(found))
    return found


def _strptime(text: str) -> date:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise BadDate(text)


def show_date(day: date) -> str:
    """A date as messages show it: dd/mm/yyyy (year 1 as 0001: strftime would write "1")."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


# --- the table --------------------------------------------------------------------------------


@dataclass
class Table:
    """The rows of a file (or of rows given directly, as tests do) and what messages need to
    name its columns: the header each field was read from, else the usual header for it."""

    rows: Rows
    present: set[str]
    header_row: int = 1
    headers: list[str] = field(default_factory=list)       # the named columns, as found
    labels: dict[str, str] = field(default_factory=dict)   # field -> header in the file
    shown: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # field -> usual headers
    sheet: Sheet | None = None

    def label(self, name: str) -> str:
        return self.labels.get(name) or self.shown.get(name, (name,))[0]

    def missing(self, required: Iterable[str], issue: type[IssueT]) -> list[IssueT]:
        """An issue on the header row for each required field no column holds."""
        found = ", ".join(f"“{header}”" for header in self.headers) or "—"
        return [issue(self.header_row, self.label(name), "missing_column",
                      {"column": self.label(name), "found": found,
                       "accepted": ", ".join(self.shown.get(name, (name,)))})
                for name in required if name not in self.present]

    def header_warnings(self, fields: dict[str, tuple[str, ...]], issue: type[IssueT]) -> list[IssueT]:
        """Columns the import does not use: one warning for each that looks like a misspelt
        known header, one listing the others."""
        if self.sheet is None:
            return []
        warnings, ignored = [], []
        for header, suggestion in self.sheet.unknown_headers(fields):
            if suggestion:
                warnings.append(issue(self.header_row, header, "unknown_header",
                                      {"value": header, "suggestion": self.shown.get(suggestion,
                                                                                      (suggestion,))[0]}))
            else:
                ignored.append(header)
        if ignored:
            warnings.append(issue(self.header_row, "", "ignored_columns", {"value": ", ".join(ignored)}))
        return warnings

    def control_warnings(self, issue: type[IssueT]) -> list[IssueT]:
        """Where invisible control characters were removed (known once the rows are read)."""
        if self.sheet is None:
            return []
        return [issue(row, self.label(name), "control_removed")
                for name, numbers in self.sheet.stripped.items() for row in numbers]


def read_table(source: Sheet | Iterable[tuple[int, dict[str, Cell]]], required: Iterable[str],
               shown: Mapping[str, tuple[str, ...]] | None = None) -> Table:
    """The table of an opened sheet, or of (row number, {field: cell}) pairs (the fields of the
    first row are the columns present; with no rows, the required ones)."""
    shown = shown or {}
    if isinstance(source, Sheet):
        return Table(source.rows(), set(source.mapping.values()), source.header_row,
                     [header for header in source.headers if header], source.labels, shown, source)
    rows = iter(source)
    first = next(rows, None)
    present = set(first[1]) if first else set(required)
    return Table(_chain(first, rows), present, 1, sorted(present), {}, shown)


def _chain(first: tuple[int, dict[str, Cell]] | None, rest: Rows) -> Rows:
    if first is not None:
        yield first
    yield from rest
