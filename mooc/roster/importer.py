"""The roster import: read an HR file, compare it with the roster, show the plan, apply it.

``plan_import`` loads the current roster in a few bulk queries and compares every row in
memory (no query per row), so a plan for 100,000 people takes seconds. Each row is checked
by ``_StaffRows.validate_row`` (its values, or its issues) and compared by ``diff`` (a
``StaffChange`` of a ``ChangeKind``, or None when the person is unchanged); the shared parts
(cell text, dates, issues, column labels) are in ``planning``. ``apply_plan`` writes the
plan in bulk statements inside the caller's transaction: all of it or, if any statement
fails, none of it. A plan with errors is never applied; re-importing the same file finds
every person unchanged and writes nothing to the roster.
"""

from __future__ import annotations

import difflib
import enum
import functools
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from mooc import clock, events
from mooc.auth import audit
from mooc.auth.models import AuthSession, Role, User
from mooc.database import chunks, insert_many
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.i18n import lazy_gettext as _l
from mooc.progress import COMPARING, READING, SILENT, WRITING, Progress
from mooc.roster import keys, moves, planning, scope
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffStatus
from mooc.roster.planning import BadDate, PlanHasErrors, Table, parse_date, show_date
from mooc.roster.reader import (
    STAFF_FIELDS,
    STAFF_HEADERS_SHOWN,
    STAFF_REQUIRED,
    Cell,
    FileRefused,
    NumberCell,
    Sheet,
    cell_text,
    map_headers,
    open_sheet,
    read_rows,
)
from mooc.text import clean, fold, name_key, split_full_name, vi_sort_key

__all__ = [
    "AdminConfirmationNeeded", "ChangeKind", "ConfirmationNeeded", "FileRefused", "ImportPlan",
    "PlanHasErrors", "StaffChange", "StaffIssue",
    "apply_plan", "diff", "file_checksum", "map_headers", "open_sheet", "plan_import", "read_rows",
]


# The roster's own messages; the shared ones (required, too long, dates, columns) are in planning.
MESSAGES = {
    "left_before_joined": _l("The leaving date %(value)s is before the joining date %(joined)s."),
    "left_in_future": _l("The status says the person has left, but the leaving date %(value)s is in the "
                         "future. Leave the status empty (the person leaves on that day) or correct the "
                         "date."),
    "left_on_ignored": _l("The leaving date %(value)s is ignored: the status says the person is working."),
    "reused_code": _l("The staff code %(value)s belonged to %(old_name)s (%(old_email)s); the file gives it "
                      "to %(new_name)s (%(new_email)s). A code given to a new person? If so, give them a "
                      "new code."),
    "account_email_taken": _l("The e-mail %(value)s is the sign-in address of another account, so this "
                              "person's account cannot take it."),
    "invalid_email": _l("“%(value)s” is not a valid e-mail address."),
    "unknown_unit": _l("Unknown unit “%(value)s”. Give an existing unit's code or exact name."),
    "unknown_unit_suggest": _l("Unknown unit “%(value)s”. Did you mean %(suggestion)s?"),
    "ambiguous_unit": _l("Several units are named “%(value)s”. Give the unit's code instead."),
    "closed_unit": _l("The unit “%(value)s” is closed."),
    "unknown_status": _l("Unknown status “%(value)s”. Use: đang công tác, nghỉ phép, đã nghỉ "
                         "(or active, on leave, left)."),
    "duplicate_code": _l("The staff code %(value)s is also in row %(other)d."),
    "duplicate_email": _l("The e-mail %(value)s is also in row %(other)d."),
    "email_taken": _l("The e-mail %(value)s belongs to another person on the roster (staff code "
                      "%(other)s)."),
    "email_taken_elsewhere": _l("The e-mail %(value)s belongs to a person outside the units you are in "
                                "charge of: check the address, or ask an administrator."),
    "unit_out_of_scope": _l("The unit “%(value)s” is outside the units you are in charge of."),
    "person_out_of_scope": _l("The staff code %(value)s belongs to a person outside the units you are in "
                              "charge of: ask an administrator to move them."),
    "protected_account": _l("The import would change the account of %(value)s, whose role is above yours "
                            "(e-mail or access): ask an administrator."),
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

TRACKED = ("unit_id", "position_id", "status")  # changes to these open a new history row
COMPARED = ("full_name", "email", "unit_id", "position_id", "status", "joined_on", "left_on")


class ChangeKind(enum.StrEnum):
    """What an import does to one person."""

    ADDED = "added"
    CHANGED = "changed"
    MOVED = "moved"                # to another unit
    DEACTIVATED = "deactivated"    # marked as left
    REACTIVATED = "reactivated"    # back on the roster


class ConfirmationNeeded(DomainError):
    """A full import would mark too many people as left without explicit confirmation."""

    def __init__(self, count: int) -> None:
        super().__init__("confirmation_needed", count=count)


class AdminConfirmationNeeded(DomainError):
    """The import would disable administrators' accounts that were not named in the confirmation."""

    def __init__(self, emails: list[str]) -> None:
        super().__init__("admin_confirmation_needed", emails=emails)
        self.emails = emails


@dataclass(frozen=True)
class StaffIssue(planning.Issue):
    """A problem in a row (and column) of a roster file."""

    messages: ClassVar[Mapping[str, Any]] = {**planning.MESSAGES, **MESSAGES}


@dataclass
class StaffChange:
    """One person the import adds or changes. ``fields`` lists (field, old, new)."""

    kind: ChangeKind
    row: int | None                   # None: missing from a full roster
    staff_code: str
    full_name: str
    values: dict[str, Any]            # the person's values after the import
    staff_id: int | None = None
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)
    reused: bool = False              # new name and new e-mail: probably a code given to someone else


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
    issues: list[StaffIssue] = field(default_factory=list)
    warnings: list[StaffIssue] = field(default_factory=list)   # said, but the plan can be applied
    new_positions: list[str] = field(default_factory=list)
    # Active administrator accounts the import disables: {"email", "name", "staff_code", "you"}
    admins_leaving: list[dict[str, Any]] = field(default_factory=list)
    last_admin: bool = False          # no active administrator would be left
    # Sign-in addresses that follow a changed roster e-mail: (user id, old, new)
    account_emails: list[tuple[int, str, str]] = field(default_factory=list)
    # The units a scoped actor (a training officer) imports for; None: the whole roster. Rows
    # must be for these units, and a full import marks as left only the people of these units.
    scope: frozenset[int] | None = None

    KINDS = tuple(ChangeKind)

    @property
    def counts(self) -> dict[str, int]:
        counts = {kind.value: 0 for kind in ChangeKind}
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
        return {**self.counts, "rows": self.rows, "errors": [issue.as_dict() for issue in self.issues],
                "warnings": [issue.as_dict() for issue in self.warnings],
                "new_positions": list(self.new_positions),
                "confirmation_needed": self.confirmation_needed,
                "admins_leaving": [admin["email"] for admin in self.admins_leaving],
                "last_admin": self.last_admin,
                "reused_codes": [change.staff_code for change in self.changes if change.reused],
                "account_emails": [{"old": old, "new": new} for _id, old, new in self.account_emails]}

    def fingerprint(self) -> str:
        """Changes when the plan does: the upload page applies only the plan the admin saw."""
        digest = hashlib.sha256()
        for change in self.changes:
            digest.update(f"{change.kind}|{change.staff_code}|{sorted(change.values.items())!r}\n".encode())
        digest.update(repr((self.counts, self.new_positions, self.full, self.admins_leaving,
                            self.account_emails, sorted(self.scope or ()))).encode())
        return digest.hexdigest()[:32]


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=256)
def parse_status(text: str) -> StaffStatus | None:
    return _STATUS_BY_WORD.get(" ".join(re.sub(r"[^0-9a-z_]+", " ", fold(text)).split()))


def position_key(title: str) -> tuple:
    """Titles match without regard to case or tone placement ("Hòa"/"Hoà"), but with their accents."""
    return vi_sort_key(title)[:3]


# --- the roster as it is -----------------------------------------------------------------


class _Units:
    """Units by code and by exact name, merged units resolved to where they went."""

    def __init__(self) -> None:
        rows = db.session.execute(sa.select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.active,
                                         OrgUnit.merged_into_id)).all()
        self.by_id = {row.id: row for row in rows}
        self.by_code = {row.code: row.id for row in rows}
        self.by_folded_code: dict[str, list[int]] = {}
        for row in rows:
            self.by_folded_code.setdefault(row.code.casefold(), []).append(row.id)
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
        if unit_id is None and len(self.by_folded_code.get(text.casefold(), [])) == 1:
            unit_id = self.by_folded_code[text.casefold()][0]  # codes match in any case: hn-p1 is HN-P1
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

    def suggest(self, text: str) -> str | None:
        """The closest active unit, as “CODE” (Name), for an unknown unit's message. Only a close
        one (0.8): names share long prefixes ("Phòng ...", "Thanh tra tỉnh ..."), and a looser match
        suggested "Phòng Nghiệp vụ 2" for "Phòng Tiếp dân"."""
        if not hasattr(self, "_choices"):
            self._choices: dict[str, int] = {}
            for row in self.by_id.values():
                if row.active:
                    self._choices.setdefault(row.code.casefold(), row.id)
                    self._choices.setdefault(fold(row.name), row.id)
        close = difflib.get_close_matches(fold(text), list(self._choices), n=1, cutoff=0.8)
        if not close:
            return None
        row = self.by_id[self._choices[close[0]]]
        return f"“{row.code}” ({row.name})"


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


@dataclass
class _Roster:
    """The roster as it is, loaded in a few bulk queries."""

    units: _Units
    positions: dict[tuple, int | str]   # position_key(title) or ("code", code) -> id (or a new title)
    people: dict[str, _Current]         # staff code -> the person
    owner_of_email: dict[str, str]      # e-mail -> staff code
    active: int = 0                     # people who have not left

    @classmethod
    def load(cls, within: frozenset[int] | None = None) -> _Roster:
        """``within``: the units of a scoped import (``active`` counts their people only)."""
        roster = cls(_Units(), {}, {}, {})
        for pid, pcode, title in db.session.execute(sa.select(Position.id, Position.code, Position.title)):
            roster.positions[position_key(title)] = pid
            roster.positions.setdefault(("code", pcode), pid)
        for row in db.session.execute(sa.select(
                Staff.id, Staff.staff_code, Staff.full_name, Staff.email, Staff.unit_id, Staff.position_id,
                Staff.status, Staff.joined_on, Staff.left_on)):
            roster.people[row.staff_code] = _Current(row.id, row.full_name, row.email, row.unit_id,
                                                     row.position_id, row.status, row.joined_on, row.left_on)
            if row.email:
                roster.owner_of_email[row.email] = row.staff_code
            if row.status != StaffStatus.LEFT and (within is None or row.unit_id in within):
                roster.active += 1
        return roster


@dataclass(slots=True)
class StaffRow:
    """A row's values once checked (status and leaving date as the file gives them)."""

    number: int
    code: str
    full_name: str
    given_email: str | None           # the address in the file (None: empty or not valid)
    email: str | None                 # the address the person will have
    unit_id: int
    position_ref: int | str | None    # a position id, a new title, or None to keep the current one
    status: StaffStatus | None
    joined_on: date | None
    left_given: date | None
    before: _Current | None           # the person on the roster, if any


# --- the plan ----------------------------------------------------------------------------


class _StaffRows:
    """Checks a file's rows one by one, remembering what earlier rows said (codes and e-mails
    already seen, new positions) for the checks that span rows."""

    def __init__(self, table: Table, roster: _Roster, plan: ImportPlan) -> None:
        self.table, self.roster, self.plan = table, roster, plan
        self.today = plan.effective
        self.code_rows: dict[str, int] = {}
        self.email_rows: dict[str, int] = {}
        self.final_email: dict[str, str | None] = {}
        self.email_checks: list[tuple[int, str]] = []  # (row, e-mail) to check against the roster
        self.number = table.header_row
        self.found: list[StaffIssue] = []
        # Read once, not per row: which optional columns the file has.
        self.people = roster.people
        self.with_position = "position" in table.present
        self.with_status = "status" in table.present
        self.date_fields = tuple(name for name in ("joined_on", "left_on") if name in table.present)

    def problem(self, name: str, code: str, **params: Any) -> None:
        self.found.append(StaffIssue(self.number, self.table.label(name), code, params))

    def validate_row(self, number: int, cells: dict[str, Cell]) -> StaffRow | list[StaffIssue]:
        """The row's values, or its issues."""
        self.number, self.found = number, []
        code = self._code(cells.get("staff_code"))
        full_name = cell_text(cells.get("full_name"))
        if not full_name:
            self.problem("full_name", "required")
        elif len(full_name) > 200:
            self.problem("full_name", "too_long", n=200)
        before = self.people.get(code)
        given_email, email = self._email(cells.get("email"), code, before)
        unit_id = self._unit(cells.get("unit"))
        self._scope(code, before, unit_id, cells.get("unit"))
        position_ref = self._position(cells.get("position"))
        status = self._status(cells.get("status"))
        joined_on, left_given = self._dates(cells, before, status)
        if self.found:
            return self.found
        assert unit_id is not None
        return StaffRow(number, code, full_name, given_email, email, unit_id, position_ref, status,
                        joined_on, left_given, before)

    def _code(self, raw: Cell) -> str:
        """The staff code: text, exactly as HR keeps it."""
        code = cell_text(raw)
        if isinstance(raw, NumberCell) and not raw.zero_padded:
            self.problem("staff_code", "number_code", value=code)
        elif not code:
            self.problem("staff_code", "required")
        elif SCIENTIFIC_RE.match(code):
            self.problem("staff_code", "scientific_code", value=code)
        elif len(code) > 40:
            self.problem("staff_code", "too_long", n=40)
        elif code in self.code_rows:
            self.problem("staff_code", "duplicate_code", value=code, other=self.code_rows[code])
        if code and code not in self.code_rows:
            self.code_rows[code] = self.number
        return code

    def _email(self, raw: Cell, code: str, before: _Current | None) -> tuple[str | None, str | None]:
        """(the address in the file, the address the person will have: an empty cell keeps theirs)."""
        given: str | None = name_key(cell_text(raw)) or None
        if given is not None:
            if len(given) > 254 or not EMAIL_RE.match(given):
                self.problem("email", "invalid_email", value=given)
                given = None
            elif given in self.email_rows:
                self.problem("email", "duplicate_email", value=given, other=self.email_rows[given])
            else:
                self.email_rows[given] = self.number
        email = given if given is not None or before is None else before.email
        if code:
            self.final_email[code] = email
        if email is not None and self.roster.owner_of_email.get(email, code) != code:
            self.email_checks.append((self.number, email))
        return given, email

    def _unit(self, raw: Cell) -> int | None:
        text = cell_text(raw)
        if not text:
            self.problem("unit", "required")
            return None
        units = self.roster.units
        unit_id, error = units.resolve(text)
        if error == "unknown_unit" and (suggestion := units.suggest(text)):
            self.problem("unit", "unknown_unit_suggest", value=text, suggestion=suggestion)
        elif error:
            self.problem("unit", error, value=text)
        return unit_id

    def _scope(self, code: str, before: _Current | None, unit_id: int | None, raw: Cell) -> None:
        """A scoped import names units of its scope only, and people who are in it already
        (or new): it never moves someone in from elsewhere."""
        within = self.plan.scope
        if within is None:
            return
        if unit_id is not None and unit_id not in within:
            self.problem("unit", "unit_out_of_scope", value=cell_text(raw))
        if before is not None and before.unit_id not in within:
            self.problem("staff_code", "person_out_of_scope", value=code)

    def _position(self, raw: Cell) -> int | str | None:
        """A position's id; a title not on the roster yet (created when the plan is applied);
        None for no column or an empty cell."""
        title = cell_text(raw) if self.with_position else ""
        if len(title) > 200:
            self.problem("position", "too_long", n=200)
            return None
        if not title:
            return None
        positions = self.roster.positions
        ref = positions.get(("code", title)) or positions.get(position_key(title))
        if ref is None:
            ref = positions[position_key(title)] = title
            self.plan.new_positions.append(title)
        return ref

    def _status(self, raw: Cell) -> StaffStatus | None:
        text = cell_text(raw) if self.with_status else ""
        if not text:
            return None
        status = parse_status(text)
        if status is None:
            self.problem("status", "unknown_status", value=text)
        return status

    def _dates(self, cells: dict[str, Cell], before: _Current | None,
               status: StaffStatus | None) -> tuple[date | None, date | None]:
        """(joining date: the file's, else the roster's; leaving date as the file gives it)."""
        dates: dict[str, date | None] = {}
        for name in self.date_fields:
            try:
                dates[name] = parse_date(cells.get(name))
            except BadDate as bad:
                self.problem(name, bad.code, value=str(bad))
        joined_on = dates.get("joined_on") or (before.joined_on if before else None)
        left_given = dates.get("left_on")
        if left_given is not None and joined_on is not None and left_given < joined_on:
            self.problem("left_on", "left_before_joined", value=show_date(left_given),
                         joined=show_date(joined_on))
        if left_given is not None and left_given > self.today and status == StaffStatus.LEFT:
            self.problem("left_on", "left_in_future", value=show_date(left_given))
        return joined_on, left_given

    def values(self, row: StaffRow) -> dict[str, Any]:
        """The person's values after the import: the status and leaving date settled (an empty
        status follows the leaving date; a leaving date an earlier file announced still holds)."""
        before, today = row.before, self.today
        left_on = row.left_given
        if left_on is None and before is not None and before.status != StaffStatus.LEFT:
            left_on = before.left_on
        status = row.status or _default_status(left_on, before, today)
        if status == StaffStatus.LEFT:
            left_on = left_on or (before.left_on if before and before.left_on else today)
        elif left_on is not None and left_on <= today:
            if row.left_given is not None:
                self.plan.warnings.append(StaffIssue(row.number, self.table.label("left_on"),
                                                     "left_on_ignored", {"value": show_date(row.left_given)}))
            left_on = None
        # else: a future leaving date is kept; the person leaves on that day.
        return {"full_name": row.full_name, "email": row.email, "unit_id": row.unit_id,
                "position_id": row.position_ref, "status": status, "joined_on": row.joined_on,
                "left_on": left_on}

    def emails_taken(self) -> list[StaffIssue]:
        """Addresses the file gives that another person on the roster keeps. A scoped import
        does not learn who, outside its units, has the address (no staff code named)."""
        owner_of_email, final_email = self.roster.owner_of_email, self.final_email
        people, within = self.roster.people, self.plan.scope
        column = self.table.label("email")
        issues = []
        for number, email in self.email_checks:
            owner = owner_of_email[email]
            if owner in final_email and final_email[owner] != email:
                continue  # the file gives its owner another address
            if within is not None and people[owner].unit_id not in within:
                issues.append(StaffIssue(number, column, "email_taken_elsewhere", {"value": email}))
            else:
                issues.append(StaffIssue(number, column, "email_taken", {"value": email, "other": owner}))
        return issues

    def leavers(self) -> list[StaffChange]:
        """Active people a full roster does not name: they are marked as left today. A scoped
        import is the whole roster of its units only: people elsewhere are not "missing"."""
        today, changes, within = self.today, [], self.plan.scope
        for code, before in self.roster.people.items():
            if code in self.code_rows or before.status == StaffStatus.LEFT:
                continue
            if within is not None and before.unit_id not in within:
                continue
            values = {"full_name": before.full_name, "email": before.email, "unit_id": before.unit_id,
                      "position_id": before.position_id, "status": StaffStatus.LEFT,
                      "joined_on": before.joined_on, "left_on": today}
            changes.append(StaffChange(
                ChangeKind.DEACTIVATED, None, code, before.full_name, values, before.id,
                [("status", before.status, StaffStatus.LEFT), ("left_on", before.left_on, today)]))
        return changes


def _default_status(left_on: date | None, before: _Current | None, today: date) -> StaffStatus:
    """The status of a row that gives none: left once the leaving date has come, else as it was."""
    if left_on is not None and left_on <= today:
        return StaffStatus.LEFT
    if before is not None and before.status != StaffStatus.LEFT:
        return before.status
    return StaffStatus.ACTIVE


def diff(row: StaffRow, values: dict[str, Any]) -> StaffChange | None:
    """What the import does to the person of this row, or None when nothing changes."""
    before = row.before
    if before is None:
        return StaffChange(ChangeKind.ADDED, row.number, row.code, row.full_name, values)
    if row.position_ref is None:
        values["position_id"] = before.position_id  # no column or an empty cell: keep it
    fields = [(name, getattr(before, name), values[name]) for name in COMPARED
              if getattr(before, name) != values[name]]
    if not fields:
        return None
    status = values["status"]
    if before.status == StaffStatus.LEFT and status != StaffStatus.LEFT:
        kind = ChangeKind.REACTIVATED
    elif status == StaffStatus.LEFT and before.status != StaffStatus.LEFT:
        kind = ChangeKind.DEACTIVATED
    elif before.unit_id != values["unit_id"]:
        kind = ChangeKind.MOVED
    else:
        kind = ChangeKind.CHANGED
    # A new name and a new e-mail for a known code: probably a code given to someone else.
    reused = bool(row.given_email and before.email and row.given_email != before.email
                  and fold(row.full_name) != fold(before.full_name))
    return StaffChange(kind, row.number, row.code, row.full_name, values, before.id, fields, reused)


def plan_import(source: Sheet | Iterable[tuple[int, dict[str, Cell]]], *,
                full: bool = False, confirm_percent: int = 10, filename: str = "",
                checksum: str = "", actor_id: int | None = None, actor: User | None = None,
                progress: Progress = SILENT) -> ImportPlan:
    """Compare a roster file with the roster and say what importing it would do.

    A scoped ``actor`` (a training officer) imports for their units only (``ImportPlan.scope``).
    Raises ``FileRefused`` when a row cannot be read at all (a cell longer than any real one).
    """
    within = scope.visible_units(actor) if actor is not None else None
    actor_id = actor.id if actor is not None else actor_id
    plan = ImportPlan(full=full, filename=filename, checksum=checksum, confirm_percent=confirm_percent,
                      effective=clock.today(), scope=frozenset(within) if within is not None else None)
    table = planning.read_table(source, STAFF_REQUIRED, STAFF_HEADERS_SHOWN)
    plan.warnings += table.header_warnings(STAFF_FIELDS, StaffIssue)
    missing = table.missing(STAFF_REQUIRED, StaffIssue)
    if missing:
        plan.rows = sum(1 for _row in table.rows)  # the real number of data rows, said with the error
        plan.issues = missing
        return plan
    checker = _StaffRows(table, _Roster.load(plan.scope), plan)
    plan.active_before = checker.roster.active
    progress.phase(READING, getattr(source, "rows_hint", None))
    for number, cells in table.rows:
        plan.rows += 1
        progress.advance()
        checked = checker.validate_row(number, cells)
        if isinstance(checked, list):
            plan.issues += checked
        elif not plan.issues:  # the other rows are checked too, but a file with errors has no plan
            _add(plan, checker, checked)
    progress.phase(COMPARING)
    _finish(plan, table, checker, actor_id)
    return plan


def _add(plan: ImportPlan, checker: _StaffRows, row: StaffRow) -> None:
    change = diff(row, checker.values(row))
    if change is None:
        plan.unchanged += 1
        return
    if change.reused:
        before = row.before
        assert before is not None
        plan.warnings.append(StaffIssue(row.number, checker.table.label("staff_code"), "reused_code", {
            "value": row.code, "old_name": before.full_name, "old_email": before.email,
            "new_name": row.full_name, "new_email": row.given_email}))
    plan.changes.append(change)


def _finish(plan: ImportPlan, table: Table, checker: _StaffRows, actor_id: int | None) -> None:
    """The checks that need every row: no rows, e-mails other people keep, accounts; then the
    leavers of a full roster and the administrators the import disables."""
    if plan.rows == 0:
        plan.issues.append(StaffIssue(table.header_row, "", "no_rows"))
    plan.warnings += table.control_warnings(StaffIssue)
    plan.issues += checker.emails_taken()
    if not plan.issues:
        _plan_account_emails(plan, table.label("email"))
    if plan.issues:
        plan.issues.sort(key=lambda issue: issue.row)
        plan.changes = []
        plan.unchanged = 0
        plan.account_emails = []
        return
    if plan.full:
        leavers = checker.leavers()
        plan.changes += leavers
        plan.missing_left = len(leavers)
    if plan.scope is not None:
        plan.issues += _protected_accounts(plan, table.header_row)
        if plan.issues:
            plan.changes, plan.unchanged, plan.account_emails, plan.missing_left = [], 0, [], 0
            return
    _plan_admins(plan, actor_id)
    plan.warnings.sort(key=lambda issue: issue.row)


def _protected_accounts(plan: ImportPlan, header_row: int) -> list[StaffIssue]:
    """A scoped import may not disable, re-enable or re-address an account whose role is above
    a scoped role's (an administrator's, a reporter's): the people of such accounts are
    left to an administrator."""
    touched = {change.staff_id: change for change in plan.changes if change.staff_id is not None and (
        change.kind in (ChangeKind.DEACTIVATED, ChangeKind.REACTIVATED)
        or any(name == "email" for name, _old, _new in change.fields))}
    highest_scoped = max((role for role in Role if role.scoped), key=lambda role: role.rank)
    above = [role for role in Role if role.rank > highest_scoped.rank]
    issues = []
    ids = list(touched)
    for chunk in chunks(ids):
        for email, staff_id in db.session.execute(sa.select(User.email, User.staff_id).where(
                User.staff_id.in_(chunk), User.role.in_(above))):
            assert staff_id is not None  # the IN filter leaves out accounts without a person
            change = touched[staff_id]
            issues.append(StaffIssue(change.row or header_row, "", "protected_account", {"value": email}))
    return sorted(issues, key=lambda issue: issue.row)


def _plan_account_emails(plan: ImportPlan, column: str) -> None:
    """A person's account signs in with their roster e-mail: when the roster e-mail changes, the
    account's address follows, unless another account (one not moving away from it) uses it."""
    changed = {change.staff_id: change for change in plan.changes
               if change.staff_id and any(name == "email" for name, _old, _new in change.fields)}
    if not changed:
        return
    moving = _accounts_moving(changed)
    holders = _holders(sorted({new for _old, new, _change in moving.values()}))
    for user_id, (old, new, change) in moving.items():
        holder = holders.get(new)
        if holder is not None and holder != user_id and holder not in moving:
            plan.issues.append(StaffIssue(change.row or 0, column, "account_email_taken", {"value": new}))
        else:
            plan.account_emails.append((user_id, old, new))
    plan.account_emails.sort()


def _accounts_moving(changed: dict[int, StaffChange]) -> dict[int, tuple[str, str, StaffChange]]:
    """user id -> (old address, new address, change) for the accounts of people whose e-mail changes."""
    moving: dict[int, tuple[str, str, StaffChange]] = {}
    ids = list(changed)
    for chunk in chunks(ids):
        linked = sa.select(User.id, User.email, User.staff_id).where(User.staff_id.in_(chunk))
        for user_id, email, staff_id in db.session.execute(linked):
            assert staff_id is not None  # the IN filter leaves out accounts without a person
            change = changed[staff_id]
            new = change.values["email"]
            if new and new != email:
                moving[user_id] = (email, new, change)
    return moving


def _holders(addresses: list[str]) -> dict[str, int]:
    """address -> the id of the account that signs in with it."""
    holders: dict[str, int] = {}
    for chunk in chunks(addresses):
        holders.update(db.session.execute(sa.select(User.email, User.id)
                                          .where(User.email.in_(chunk))).all())
    return holders


def _plan_admins(plan: ImportPlan, actor_id: int | None) -> None:
    """Administrators whose accounts the import disables, and whether any would be left."""
    leaving = {change.staff_id: change for change in plan.changes if change.kind == ChangeKind.DEACTIVATED}
    admins = db.session.execute(sa.select(User.id, User.email, User.staff_id)
                                .where(User.role == Role.ADMIN, User.active.is_(True))).all()
    for user_id, email, staff_id in admins:
        if staff_id in leaving:
            change = leaving[staff_id]
            plan.admins_leaving.append({"email": email, "name": change.full_name,
                                        "staff_code": change.staff_code, "you": user_id == actor_id})
    plan.admins_leaving.sort(key=lambda admin: admin["email"])
    plan.last_admin = bool(admins) and len(plan.admins_leaving) == len(admins)


# --- applying ----------------------------------------------------------------------------


def apply_plan(plan: ImportPlan, actor: User | None = None, *, source: str = "web",
               confirmed: bool = False, confirmed_admins: Iterable[str] = (),
               progress: Progress = SILENT) -> RosterImport:
    """Write the plan in the request's (or command's) transaction (flush only; the caller commits).

    Every check is made before anything is written. ``confirmed_admins`` must name (by e-mail)
    every administrator account the import disables."""
    if plan.issues:
        raise PlanHasErrors(len(plan.issues))
    _check_scope(plan, actor)
    if plan.confirmation_needed and not confirmed:
        raise ConfirmationNeeded(plan.missing_left)
    unconfirmed = admins_unconfirmed(plan, confirmed_admins)
    if unconfirmed:
        raise AdminConfirmationNeeded(unconfirmed)
    record = RosterImport(actor_id=actor.id if actor else None, kind="staff", source=source,
                          filename=plan.filename[:255], checksum=plan.checksum or "-", full=plan.full,
                          rows=plan.rows, counts={**plan.counts, "new_positions": len(plan.new_positions)})
    db.session.add(record)
    db.session.flush()

    position_ids = _create_positions(plan)

    def resolved(values: dict[str, Any]) -> dict[str, Any]:
        ref = values["position_id"]
        return {**values, "position_id": position_ids[ref] if isinstance(ref, str) else ref}

    progress.phase(WRITING, 4)
    _write_staff(plan, resolved)
    events.roster_fields_changed.send(None, changes={
        change.staff_id: {name for name, _old, _new in change.fields} for change in plan.changes
        if change.kind != ChangeKind.ADDED and change.staff_id and change.fields},
        actor_id=actor.id if actor else None)
    progress.advance()
    _sync_accounts(plan)
    progress.advance()
    _move_account_emails(plan, actor)
    progress.advance()
    # New hires, transfers, changes of position or status: history, and the training rules
    # follow (same transaction).
    _record_moves(plan, record.id, resolved)
    progress.advance()

    audit.record("roster.imported", actor=actor, target=plan.filename[:200] or plan.checksum,
                 checksum=plan.checksum, full=plan.full, source=source, import_id=record.id, **plan.counts)
    db.session.flush()
    return record


def _check_scope(plan: ImportPlan, actor: User | None) -> None:
    """A scoped actor applies only a plan made for their scope, touching only people of it."""
    within = scope.visible_units(actor) if actor is not None else None
    if within is None:
        return
    if plan.scope is None or set(plan.scope) != within:
        raise scope.ScopeError("out_of_scope")
    units = {change.values["unit_id"] for change in plan.changes}
    units |= {old for change in plan.changes for name, old, _new in change.fields if name == "unit_id"}
    scope.require_units(actor, units)


def _write_staff(plan: ImportPlan, resolved: Any) -> None:
    """The staff rows: addresses that move cleared, new people inserted, changes updated, in bulk."""
    now = clock.now()
    staff = Staff.__table__
    updated = [change for change in plan.changes if change.kind != ChangeKind.ADDED]
    # E-mails that move between people are cleared first (before new people are inserted and
    # before anyone takes a new address), so no row ever holds an address another row still has:
    # swaps, and hand-overs from a current person to a new hire, work in any order of rows.
    moving = [change.staff_id for change in updated
              if any(name == "email" for name, _old, _new in change.fields)]
    for chunk in chunks(moving):
        db.session.execute(sa.update(staff).where(staff.c.id.in_(chunk))
                           .values(email=None))
    _insert_added([change for change in plan.changes if change.kind == ChangeKind.ADDED], resolved, now)
    # summary: neutral here (an address is not summed); _update_changed touches everyone changed
    _update_changed(updated, resolved, now)


def _update_changed(updated: list[StaffChange], resolved: Any, now: datetime) -> None:
    """The changed rows. People given the same new values (moved to one unit, one position,
    leaving on one day) share one UPDATE per chunk of them; a row's own values (a new name) go
    in one executemany per set of columns changed."""
    staff = Staff.__table__
    same: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for change in updated:
        values = resolved(change.values)
        names = {name for name, _old, _new in change.fields}
        row = {name: values[name] for name in names}
        if names & {"full_name", "email"}:
            row.update(_derived(change.staff_code, values["full_name"], values["email"]))
        row["updated_at"] = now
        assert change.staff_id is not None
        same[tuple(sorted(row.items()))].append(change.staff_id)
    own: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    connection = db.session.connection()
    for items, ids in same.items():
        if len(ids) == 1:
            own.setdefault(tuple(name for name, _value in items), []).append({"_id": ids[0], **dict(items)})
            continue
        for part in chunks(sorted(ids)):
            connection.execute(sa.update(staff).where(staff.c.id.in_(part)).values(dict(items)))
    for columns, params in own.items():
        statement = (sa.update(staff).where(staff.c.id == sa.bindparam("_id"))
                     .values({name: sa.bindparam(name) for name in columns}))
        connection.execute(statement, params)
    events.touched(_ids_of(updated))  # the reports' summary: their unit, position or status may have changed


def _ids_of(changes: list[StaffChange]) -> list[int | None]:
    return [change.staff_id for change in changes]


def _insert_added(added: list[StaffChange], resolved: Any, now: datetime) -> None:
    """New people, inserted in batches; each change learns its person's id."""
    if not added:
        return
    staff = Staff.__table__
    for start in range(0, len(added), 5000):  # rows built per batch: memory stays flat
        insert_many(db.session, staff, [_staff_row(change.staff_code, resolved(change.values), now)
                                        for change in added[start:start + 5000]])
    # One read of (id, code) beats RETURNING row by row (SQLite cannot batch it in order).
    ids = dict(db.session.execute(sa.select(staff.c.staff_code, staff.c.id)).all())
    for change in added:
        change.staff_id = ids[change.staff_code]
    events.touched(_ids_of(added))


def _create_positions(plan: ImportPlan) -> dict[str, int]:
    ids: dict[str, int] = {}
    if not plan.new_positions:
        return ids
    taken = set(db.session.execute(sa.select(Position.code)).scalars())
    for title in plan.new_positions:
        base = re.sub(r"[^0-9A-Z]+", "-", fold(title).upper()).strip("-")[:34] or "CV"
        code, n = base, 1
        while code in taken:
            n += 1
            code = f"{base}-{n}"
        taken.add(code)
        position = Position(code=code, title=title)
        db.session.add(position)
        db.session.flush()
        ids[title] = position.id
    return ids


def _derived(code: str, full_name: str, email: str | None) -> dict[str, Any]:
    family, middle, given = split_full_name(full_name)
    return {"family_name": family[:80], "middle_name": middle[:120], "given_name": given[:80],
            "search_text": keys.search_text(full_name, code, email), "sort_key": keys.sort_key(full_name)}


def _staff_row(code: str, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"staff_code": code, **values, **_derived(code, values["full_name"], values["email"]),
            "created_at": now, "updated_at": now}


def _record_moves(plan: ImportPlan, import_id: int, resolved: Any) -> None:
    """Everyone whose unit, position or status changed (and every new person) moved: through
    ``moves.record_moves``, history and the training rules follow from the plan's day."""
    found: list[moves.Move] = []
    for change in plan.changes:
        if change.kind != ChangeKind.ADDED and not any(name in TRACKED for name, _old, _new in change.fields):
            continue
        values = resolved(change.values)
        after = moves.Placement(values["unit_id"], values["position_id"], values["status"])
        before = None
        if change.kind != ChangeKind.ADDED:
            old = {name: old for name, old, _new in change.fields}
            before = moves.Placement(old.get("unit_id", values["unit_id"]),
                                     old.get("position_id", values["position_id"]),
                                     old.get("status", values["status"]))
        assert change.staff_id is not None  # the people added were written (and given ids) first
        found.append(moves.Move(change.staff_id, after, before, values["joined_on"]))
    moves.record_moves(found, plan.effective, import_id)


def _sync_accounts(plan: ImportPlan) -> None:
    """People who leave lose access at once (in this transaction); people who return get it back."""
    # (a person who leaves or returns is on the roster already: staff_id is set)
    gone = [c.staff_id for c in plan.changes if c.kind == ChangeKind.DEACTIVATED and c.staff_id is not None]
    back = [c.staff_id for c in plan.changes if c.kind == ChangeKind.REACTIVATED and c.staff_id is not None]
    deactivate_accounts(gone)
    for chunk in chunks(back):
        db.session.execute(sa.update(User).where(User.staff_id.in_(chunk))
                        .values(active=True), execution_options={"synchronize_session": False})
    events.touched(back)  # the reports count who can sign in


def admins_unconfirmed(plan: ImportPlan, confirmed_admins: Iterable[str]) -> list[str]:
    """The e-mails of administrators the import disables that the confirmation did not name."""
    named = {name_key(email) for email in confirmed_admins}
    return [admin["email"] for admin in plan.admins_leaving if name_key(admin["email"]) not in named]


def _move_account_emails(plan: ImportPlan, actor: User | None) -> None:
    """Accounts sign in with the roster e-mail: each linked account's address follows it. Each
    moving address is first parked on a value no address can be ("#<id>"), so swaps work."""
    if not plan.account_emails:
        return
    users = User.__table__
    ids = [user_id for user_id, _old, _new in plan.account_emails]
    for chunk in chunks(ids):
        db.session.execute(sa.update(users).where(users.c.id.in_(chunk))
                        .values(email=sa.literal("#") + sa.cast(users.c.id, sa.String)))
    statement = sa.update(users).where(users.c.id == sa.bindparam("_id")).values(email=sa.bindparam("_email"))
    db.session.connection().execute(statement, [{"_id": user_id, "_email": new}
                                             for user_id, _old, new in plan.account_emails])
    for user_id, old, new in plan.account_emails:
        audit.record("account.email_changed", actor=actor, target=new, previous=old, user_id=user_id,
                     reason="roster import")
    moved = set(ids)
    for chunk in chunks(ids):  # the reports count who can sign in (a lock is kept per address)
        events.touched(db.session.scalars(sa.select(User.staff_id).where(User.id.in_(chunk))))
    for obj in list(db.session.identity_map.values()):  # loaded accounts read their new address
        if isinstance(obj, User) and obj.id in moved:
            db.session.expire(obj, ["email"])


def deactivate_accounts(staff_ids: list[int]) -> None:
    """Disable the accounts of these people and end their sessions."""
    now = clock.now()
    for chunk in chunks(staff_ids):
        users = sa.select(User.id).where(User.staff_id.in_(chunk)).scalar_subquery()
        db.session.execute(sa.update(AuthSession).where(AuthSession.user_id.in_(users),
                                                     AuthSession.revoked_at.is_(None))
                        .values(revoked_at=now), execution_options={"synchronize_session": False})
        db.session.execute(sa.update(User).where(User.staff_id.in_(chunk)).values(active=False),
                        execution_options={"synchronize_session": False})
    events.touched(staff_ids)  # the reports count who can sign in
