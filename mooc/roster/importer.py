"""The roster import: read an HR file, compare it with the roster, show the plan, apply it.

``plan_import`` loads the current roster in a few bulk queries and compares every row in
memory (no query per row), so a plan for 100,000 people takes seconds. ``apply_plan``
writes the plan in bulk statements inside the caller's transaction: all of it or, if any
statement fails, none of it. A plan with errors is never applied; re-importing the same
file finds every person unchanged and writes nothing to the roster.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from mooc import clock, events
from mooc.auth import audit
from mooc.auth.models import AuthSession, User
from mooc.roster import keys
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory, StaffStatus
from mooc.roster.reader import (
    STAFF_REQUIRED,
    Cell,
    FileRefused,
    NumberCell,
    Sheet,
    map_headers,
    open_sheet,
    read_rows,
)
from mooc.text import clean, fold, split_full_name, vi_sort_key

__all__ = [
    "ConfirmationNeeded", "FileRefused", "ImportPlan", "Issue", "PlanHasErrors", "StaffChange",
    "apply_plan", "file_checksum", "map_headers", "open_sheet", "plan_import", "read_rows",
]

CHUNK = 900  # ids per IN (...) list: well under SQLite's limit on bound parameters

MESSAGES = {
    "missing_column": _l("The file has no column for this. Add it, or choose it in the column mapping."),
    "required": _l("This value is required."),
    "too_long": _l("This value is too long (at most %(n)d characters)."),
    "number_code": _l("The staff code is stored as a number, so leading zeros may be lost "
                      "(%(value)s). Format the column as Text in Excel and type the codes again."),
    "scientific_code": _l("Excel turned this staff code into a number (%(value)s). Format the column "
                          "as Text and type the codes again."),
    "invalid_email": _l("“%(value)s” is not a valid e-mail address."),
    "unknown_unit": _l("Unknown unit “%(value)s”. Give an existing unit's code or exact name."),
    "ambiguous_unit": _l("Several units are named “%(value)s”. Give the unit's code instead."),
    "closed_unit": _l("The unit “%(value)s” is closed."),
    "unknown_status": _l("Unknown status “%(value)s”. Use: đang công tác, nghỉ phép, đã nghỉ "
                         "(or active, on leave, left)."),
    "invalid_date": _l("“%(value)s” is not a date. Write dates as dd/mm/yyyy."),
    "duplicate_code": _l("The staff code %(value)s is also in row %(other)d."),
    "duplicate_email": _l("The e-mail %(value)s is also in row %(other)d."),
    "email_taken": _l("The e-mail %(value)s belongs to another person on the roster (staff code "
                      "%(other)s)."),
}

STATUS_WORDS = {
    StaffStatus.ACTIVE: ("dang cong tac", "active", "dang lam viec", "cong tac", "lam viec",
                         "hoat dong", "dang hoat dong"),
    StaffStatus.ON_LEAVE: ("nghi phep", "on leave", "on_leave", "tam nghi", "nghi thai san", "nghi om",
                           "nghi dai han", "nghi khong luong"),
    StaffStatus.LEFT: ("da nghi", "left", "nghi viec", "thoi viec", "nghi huu", "da nghi huu",
                       "chuyen cong tac", "da chuyen cong tac", "nghi", "inactive"),
}
_STATUS_BY_WORD = {word: status for status, words in STATUS_WORDS.items() for word in words}

EMAIL_RE = re.compile(r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
                      r"(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
SCIENTIFIC_RE = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y")

TRACKED = ("unit_id", "position_id", "status")  # changes to these open a new history row
COMPARED = ("full_name", "email", "unit_id", "position_id", "status", "joined_on", "left_on")


class PlanHasErrors(Exception):
    """A plan with errors is never applied."""


class ConfirmationNeeded(Exception):
    """A full import would mark too many people as left without explicit confirmation."""


@dataclass(frozen=True)
class Issue:
    """A problem in a row (and column) of an HR file; its text comes from ``messages``."""

    messages: ClassVar[dict[str, Any]] = MESSAGES
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


@dataclass
class StaffChange:
    """One person the import adds or changes. ``fields`` lists (field, old, new)."""

    kind: str                         # added | changed | moved | deactivated | reactivated
    row: int | None                   # None: missing from a full roster
    staff_code: str
    full_name: str
    values: dict[str, Any]            # the person's values after the import
    staff_id: int | None = None
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)


@dataclass
class ImportPlan:
    full: bool = False
    filename: str = ""
    checksum: str = ""
    rows: int = 0
    unchanged: int = 0
    active_before: int = 0
    missing_left: int = 0             # active people a full roster marks as left
    confirm_percent: int = 10
    effective: date = field(default_factory=clock.today)
    changes: list[StaffChange] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    new_positions: list[str] = field(default_factory=list)

    KINDS = ("added", "changed", "moved", "deactivated", "reactivated")

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.KINDS, 0)
        for change in self.changes:
            counts[change.kind] += 1
        counts["unchanged"] = self.unchanged
        return counts

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def confirmation_needed(self) -> bool:
        """A full roster that would mark more than the set share of active staff as left."""
        return (self.full and self.active_before > 0
                and self.missing_left * 100 > self.active_before * self.confirm_percent)

    def of_kind(self, kind: str) -> list[StaffChange]:
        return [change for change in self.changes if change.kind == kind]

    def summary(self) -> dict[str, Any]:
        """The plan as the command's JSON prints it."""
        return {**self.counts, "errors": [issue.as_dict() for issue in self.issues],
                "new_positions": list(self.new_positions),
                "confirmation_needed": self.confirmation_needed}

    def fingerprint(self) -> str:
        """Changes when the plan does: the upload page applies only the plan the admin saw."""
        digest = hashlib.sha256()
        for change in self.changes:
            digest.update(f"{change.kind}|{change.staff_code}|{sorted(change.values.items())!r}\n".encode())
        digest.update(repr((self.counts, self.new_positions, self.full)).encode())
        return digest.hexdigest()[:32]


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- cells to values ----------------------------------------------------------------------


def cell_text(cell: Cell) -> str:
    """A cell as cleaned text (numbers as a spreadsheet shows them, dates dd/mm/yyyy)."""
    if type(cell) is str:
        return " ".join(cell.split()) if cell.isascii() else clean(cell)
    if cell is None:
        return ""
    if isinstance(cell, NumberCell):
        return cell.as_text()
    if isinstance(cell, datetime | date):
        return cell.strftime("%d/%m/%Y")
    return clean(str(cell))


def _date(cell: Cell) -> date | None:
    """A date from a cell; None when empty; ValueError when it is not a date."""
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = cell_text(cell)
    if not text:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


@functools.lru_cache(maxsize=256)
def parse_status(text: str) -> StaffStatus | None:
    return _STATUS_BY_WORD.get(" ".join(re.sub(r"[^0-9a-z_]+", " ", fold(text)).split()))


def position_key(title: str) -> tuple:
    """Titles match without regard to case or tone placement ("Hòa"/"Hoà"), but with their accents."""
    return vi_sort_key(title)[:3]


# --- the roster as it is -----------------------------------------------------------------


class _Units:
    """Units by code and by exact name, merged units resolved to where they went."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(sa.select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.active,
                                         OrgUnit.merged_into_id)).all()
        self.by_id = {row.id: row for row in rows}
        self.by_code = {row.code: row.id for row in rows}
        self.by_name: dict[str, list[int]] = {}
        for row in rows:
            if row.active:
                self.by_name.setdefault(clean(row.name), []).append(row.id)
        self.cache: dict[str, tuple[int | None, str | None]] = {}

    def final(self, unit_id: int) -> int | None:
        """Follow merges to the unit that exists today; None if the unit is closed."""
        seen: set[int] = set()
        while True:
            row = self.by_id[unit_id]
            if row.active:
                return unit_id
            if row.merged_into_id is None or unit_id in seen:
                return None
            seen.add(unit_id)
            unit_id = row.merged_into_id

    def resolve(self, text: str) -> tuple[int | None, str | None]:
        """(unit id, None) or (None, error code)."""
        if text in self.cache:
            return self.cache[text]
        unit_id = self.by_code.get(text)
        if unit_id is None:
            named = self.by_name.get(text, [])
            if len(named) > 1:
                found: tuple[int | None, str | None] = (None, "ambiguous_unit")
            elif named:
                found = (named[0], None)
            else:
                found = (None, "unknown_unit")
        else:
            final = self.final(unit_id)
            found = (final, None) if final is not None else (None, "closed_unit")
        self.cache[text] = found
        return found


@dataclass(slots=True)
class _Current:
    id: int
    full_name: str
    email: str | None
    unit_id: int
    position_id: int | None
    status: StaffStatus
    joined_on: date | None
    left_on: date | None


# --- the plan ----------------------------------------------------------------------------


def plan_import(source: Sheet | Iterable[tuple[int, dict[str, Cell]]], session: Session, *,
                full: bool = False, confirm_percent: int = 10, filename: str = "",
                checksum: str = "") -> ImportPlan:
    """Compare a roster file with the roster and say what importing it would do."""
    plan = ImportPlan(full=full, filename=filename, checksum=checksum, confirm_percent=confirm_percent,
                      effective=clock.today())
    if isinstance(source, Sheet):
        labels = source.labels
        present = set(source.mapping.values())
        rows: Iterator[tuple[int, dict[str, Cell]]] = source.rows()
        header_row = source.header_row
    else:
        rows = iter(source)
        first = next(rows, None)
        present = set(first[1]) if first else set(STAFF_REQUIRED)
        labels = {}
        header_row = 1
        rows = _chain(first, rows)
    label = lambda name: labels.get(name, name)  # noqa: E731

    missing = [name for name in STAFF_REQUIRED if name not in present]
    if missing:
        plan.issues = [Issue(header_row, name, "missing_column") for name in missing]
        return plan

    units = _Units(session)
    positions: dict[tuple, int | str] = {}
    for pid, pcode, title in session.execute(sa.select(Position.id, Position.code, Position.title)):
        positions[position_key(title)] = pid
        positions.setdefault(("code", pcode), pid)
    current: dict[str, _Current] = {}
    owner_of_email: dict[str, str] = {}
    for row in session.execute(sa.select(
            Staff.id, Staff.staff_code, Staff.full_name, Staff.email, Staff.unit_id, Staff.position_id,
            Staff.status, Staff.joined_on, Staff.left_on)):
        current[row.staff_code] = _Current(row.id, row.full_name, row.email, row.unit_id, row.position_id,
                                           row.status, row.joined_on, row.left_on)
        if row.email:
            owner_of_email[row.email] = row.staff_code
        if row.status != StaffStatus.LEFT:
            plan.active_before += 1

    code_rows: dict[str, int] = {}
    email_rows: dict[str, int] = {}
    final_email: dict[str, str | None] = {}
    email_checks: list[tuple[int, str, str]] = []  # (row, email, code) to check against the roster
    today = plan.effective
    issues = plan.issues

    number = header_row

    def problem(name: str, code: str, **params: Any) -> None:
        issues.append(Issue(number, label(name), code, params))

    for number, cells in rows:  # noqa: B007 (problem() reads the current row number)
        plan.rows += 1

        # staff code: text, exactly as HR keeps it
        raw_code = cells.get("staff_code")
        code = cell_text(raw_code)
        if isinstance(raw_code, NumberCell) and not raw_code.zero_padded:
            problem("staff_code", "number_code", value=code)
        elif not code:
            problem("staff_code", "required")
        elif SCIENTIFIC_RE.match(code):
            problem("staff_code", "scientific_code", value=code)
        elif len(code) > 40:
            problem("staff_code", "too_long", n=40)
        elif code in code_rows:
            problem("staff_code", "duplicate_code", value=code, other=code_rows[code])
        if code and code not in code_rows:
            code_rows[code] = number

        full_name = cell_text(cells.get("full_name"))
        if not full_name:
            problem("full_name", "required")
        elif len(full_name) > 200:
            problem("full_name", "too_long", n=200)

        email: str | None = cell_text(cells.get("email")).lower() or None
        if email is not None:
            if len(email) > 254 or not EMAIL_RE.match(email):
                problem("email", "invalid_email", value=email)
                email = None
            elif email in email_rows:
                problem("email", "duplicate_email", value=email, other=email_rows[email])
            else:
                email_rows[email] = number

        before = current.get(code)
        if email is None and before is not None:
            email = before.email  # an empty cell keeps the address we have
        if code:
            final_email[code] = email
        if email is not None and owner_of_email.get(email, code) != code:
            email_checks.append((number, email, code))

        unit_text = cell_text(cells.get("unit"))
        unit_id: int | None = None
        if not unit_text:
            problem("unit", "required")
        else:
            unit_id, error = units.resolve(unit_text)
            if error:
                problem("unit", error, value=unit_text)

        position_ref: int | str | None = None
        title = cell_text(cells.get("position")) if "position" in present else ""
        if len(title) > 200:
            problem("position", "too_long", n=200)
        elif title:
            position_ref = positions.get(("code", title)) or positions.get(position_key(title))
            if position_ref is None:
                position_ref = title
                positions[position_key(title)] = title
                plan.new_positions.append(title)

        status: StaffStatus | None = None
        status_text = cell_text(cells.get("status")) if "status" in present else ""
        if status_text:
            status = parse_status(status_text)
            if status is None:
                problem("status", "unknown_status", value=status_text)

        dates: dict[str, date | None] = {}
        for name in ("joined_on", "left_on"):
            if name in present:
                try:
                    dates[name] = _date(cells.get(name))
                except ValueError as bad:
                    problem(name, "invalid_date", value=str(bad))

        if issues:
            # Keep checking the other rows, but there is no plan to build for a file with errors.
            continue

        joined_on = dates.get("joined_on") or (before.joined_on if before else None)
        left_on = dates.get("left_on")
        if status is None:
            if left_on is not None and left_on <= today:
                status = StaffStatus.LEFT
            elif before is not None and before.status != StaffStatus.LEFT:
                status = before.status
            else:
                status = StaffStatus.ACTIVE
        if status == StaffStatus.LEFT:
            left_on = left_on or (before.left_on if before and before.left_on else today)
        else:
            left_on = None
        values = {"full_name": full_name, "email": email, "unit_id": unit_id, "position_id": position_ref,
                  "status": status, "joined_on": joined_on, "left_on": left_on}
        if before is None:
            plan.changes.append(StaffChange("added", number, code, full_name, values))
            continue
        if position_ref is None:
            values["position_id"] = before.position_id  # no column or an empty cell: keep it
        diffs = [(name, getattr(before, name), values[name]) for name in COMPARED
                 if getattr(before, name) != values[name]]
        if not diffs:
            plan.unchanged += 1
            continue
        if before.status == StaffStatus.LEFT and status != StaffStatus.LEFT:
            kind = "reactivated"
        elif status == StaffStatus.LEFT and before.status != StaffStatus.LEFT:
            kind = "deactivated"
        elif before.unit_id != unit_id:
            kind = "moved"
        else:
            kind = "changed"
        plan.changes.append(StaffChange(kind, number, code, full_name, values, before.id, diffs))

    for number, email, _code in email_checks:
        owner = owner_of_email[email]
        if owner not in final_email or final_email[owner] == email:  # the owner keeps it
            issues.append(Issue(number, label("email"), "email_taken", {"value": email, "other": owner}))
    if plan.issues:
        plan.issues.sort(key=lambda issue: issue.row)
        plan.changes = []
        plan.unchanged = 0
        return plan

    if full:
        for code, before in current.items():
            if code in code_rows or before.status == StaffStatus.LEFT:
                continue
            values = {"full_name": before.full_name, "email": before.email, "unit_id": before.unit_id,
                      "position_id": before.position_id, "status": StaffStatus.LEFT,
                      "joined_on": before.joined_on, "left_on": today}
            plan.changes.append(StaffChange(
                "deactivated", None, code, before.full_name, values, before.id,
                [("status", before.status, StaffStatus.LEFT), ("left_on", before.left_on, today)]))
            plan.missing_left += 1
    return plan


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    if first is not None:
        yield first
    yield from rest


# --- applying ----------------------------------------------------------------------------


def apply_plan(plan: ImportPlan, session: Session, actor: User | None = None, *, source: str = "web",
               confirmed: bool = False) -> RosterImport:
    """Write the plan in the session's transaction (flush only; the caller commits)."""
    if plan.issues:
        raise PlanHasErrors(len(plan.issues))
    if plan.confirmation_needed and not confirmed:
        raise ConfirmationNeeded(plan.missing_left)
    record = RosterImport(actor_id=actor.id if actor else None, kind="staff", source=source,
                          filename=plan.filename[:255], checksum=plan.checksum or "-", full=plan.full,
                          rows=plan.rows, counts={**plan.counts, "new_positions": len(plan.new_positions)})
    session.add(record)
    session.flush()

    position_ids = _create_positions(plan, session)

    def resolved(values: dict[str, Any]) -> dict[str, Any]:
        ref = values["position_id"]
        return {**values, "position_id": position_ids[ref] if isinstance(ref, str) else ref}

    now = clock.now()
    staff = Staff.__table__
    added = [change for change in plan.changes if change.kind == "added"]
    if added:
        for start in range(0, len(added), 5000):  # rows built per batch: memory stays flat
            _insert_many(session, staff, [_staff_row(change.staff_code, resolved(change.values), now)
                                          for change in added[start:start + 5000]])
        # One read of (id, code) beats RETURNING row by row (SQLite cannot batch it in order).
        ids = dict(session.execute(sa.select(staff.c.staff_code, staff.c.id)).all())
        for change in added:
            change.staff_id = ids[change.staff_code]
        del ids

    updated = [change for change in plan.changes if change.kind != "added"]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in updated:
        values = resolved(change.values)
        names = {name for name, _old, _new in change.fields}
        row = {name: values[name] for name in names}
        if names & {"full_name", "email"}:
            row.update(_derived(change.staff_code, values["full_name"], values["email"]))
        row["updated_at"] = now
        groups.setdefault(tuple(sorted(row)), []).append({"_id": change.staff_id, **row})
    # E-mails that move between people are cleared first, so no row ever holds a taken address.
    moving = [change.staff_id for change in updated
              if any(name == "email" for name, _old, _new in change.fields)]
    for start in range(0, len(moving), CHUNK):
        session.execute(sa.update(staff).where(staff.c.id.in_(moving[start:start + CHUNK]))
                        .values(email=None))
    for columns, params in groups.items():
        statement = (sa.update(staff).where(staff.c.id == sa.bindparam("_id"))
                     .values({name: sa.bindparam(name) for name in columns}))
        session.connection().execute(statement, params)

    _write_history(plan, session, record.id, resolved)
    _sync_accounts(plan, session)

    audit.record("roster.imported", actor=actor, target=plan.filename[:200] or plan.checksum,
                 checksum=plan.checksum, full=plan.full, source=source, import_id=record.id, **plan.counts)
    session.flush()
    # New hires, transfers, changes of position or status: the training rules follow (same
    # transaction).
    changed = {change.staff_id for change in plan.changes if change.staff_id}
    events.roster_changed.send(None, staff_ids=changed)
    return record


def _insert_many(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, executemany on SQLite.

    On psycopg a plain executemany sends one statement per row, and SQLAlchemy's
    multi-VALUES batches spend their time parsing huge statements client-side; COPY on the
    session's own connection (same transaction) is an order of magnitude faster.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(sa.insert(table), rows)
        return
    columns = list(rows[0])
    driver = connection.connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([_plain(row[name]) for name in columns])


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _create_positions(plan: ImportPlan, session: Session) -> dict[str, int]:
    ids: dict[str, int] = {}
    if not plan.new_positions:
        return ids
    taken = set(session.execute(sa.select(Position.code)).scalars())
    for title in plan.new_positions:
        base = re.sub(r"[^0-9A-Z]+", "-", fold(title).upper()).strip("-")[:34] or "CV"
        code, n = base, 1
        while code in taken:
            n += 1
            code = f"{base}-{n}"
        taken.add(code)
        position = Position(code=code, title=title)
        session.add(position)
        session.flush()
        ids[title] = position.id
    return ids


def _derived(code: str, full_name: str, email: str | None) -> dict[str, Any]:
    family, middle, given = split_full_name(full_name)
    return {"family_name": family[:80], "middle_name": middle[:120], "given_name": given[:80],
            "search_text": keys.search_text(full_name, code, email), "sort_key": keys.sort_key(full_name)}


def _staff_row(code: str, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"staff_code": code, **values, **_derived(code, values["full_name"], values["email"]),
            "created_at": now, "updated_at": now}


def _write_history(plan: ImportPlan, session: Session, import_id: int, resolved: Any) -> None:
    """Close the open history row of everyone whose unit, position or status changed, and open
    a new one from today. People who predate history get their earlier state recorded first."""
    today = plan.effective
    history = StaffHistory.__table__
    tracked = [change for change in plan.changes if change.kind == "added"
               or any(name in TRACKED for name, _old, _new in change.fields)]
    if not tracked:
        return
    changed_ids = [change.staff_id for change in tracked if change.kind != "added"]
    with_history: set[int] = set()
    for start in range(0, len(changed_ids), CHUNK):
        chunk = changed_ids[start:start + CHUNK]
        with_history.update(session.execute(
            sa.select(history.c.staff_id).where(history.c.staff_id.in_(chunk),
                                                history.c.valid_to.is_(None))).scalars())
        session.execute(sa.update(history).where(history.c.staff_id.in_(chunk), history.c.valid_to.is_(None))
                        .values(valid_to=today))
    for start in range(0, len(tracked), 5000):
        rows: list[dict[str, Any]] = []
        for change in tracked[start:start + 5000]:
            values = resolved(change.values)
            if change.kind != "added" and change.staff_id not in with_history:
                old = {name: old for name, old, _new in change.fields}
                rows.append({"staff_id": change.staff_id,
                             "valid_from": values["joined_on"] or date(1900, 1, 1),
                             "valid_to": today, "unit_id": old.get("unit_id", values["unit_id"]),
                             "position_id": old.get("position_id", values["position_id"]),
                             "status": old.get("status", values["status"]), "import_id": None})
            rows.append({"staff_id": change.staff_id, "valid_from": today, "valid_to": None,
                         "unit_id": values["unit_id"], "position_id": values["position_id"],
                         "status": values["status"], "import_id": import_id})
        _insert_many(session, history, rows)


def _sync_accounts(plan: ImportPlan, session: Session) -> None:
    """People who leave lose access at once (in this transaction); people who return get it back."""
    gone = [c.staff_id for c in plan.changes if c.kind == "deactivated"]
    back = [c.staff_id for c in plan.changes if c.kind == "reactivated"]
    deactivate_accounts(session, gone)
    for start in range(0, len(back), CHUNK):
        session.execute(sa.update(User).where(User.staff_id.in_(back[start:start + CHUNK]))
                        .values(active=True), execution_options={"synchronize_session": False})


def deactivate_accounts(session: Session, staff_ids: list[int]) -> None:
    """Disable the accounts of these people and end their sessions."""
    now = clock.now()
    for start in range(0, len(staff_ids), CHUNK):
        chunk = staff_ids[start:start + CHUNK]
        users = sa.select(User.id).where(User.staff_id.in_(chunk)).scalar_subquery()
        session.execute(sa.update(AuthSession).where(AuthSession.user_id.in_(users),
                                                     AuthSession.revoked_at.is_(None))
                        .values(revoked_at=now), execution_options={"synchronize_session": False})
        session.execute(sa.update(User).where(User.staff_id.in_(chunk)).values(active=False),
                        execution_options={"synchronize_session": False})
