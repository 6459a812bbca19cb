"""Correction (the right to have one's data corrected): a person flags a field of their roster
entry as wrong, with a note; the request is listed for the HR officers whose units hold the
person (MANAGE_ROSTER, scoped) and resolved by an administrator, or by the next roster import
that changes that field (``events.roster_fields_changed``). Every step is audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mooc import clock, events
from mooc.auth import audit
from mooc.auth.models import User
from mooc.database import chunks, update_rows
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.formatting import format_date
from mooc.i18n import lazy_gettext as _l
from mooc.privacy.models import CorrectionRequest, CorrectionStatus
from mooc.roster.display import STATUS_LABELS as STAFF_STATUS_LABELS
from mooc.roster.models import Staff, StaffStatus
from mooc.roster.scope import visible_units

# The roster's fields a person may say are wrong (those a roster import writes).
FIELDS: dict[str, Any] = {
    "full_name": _l("Full name"),
    "email": _l("E-mail"),
    "unit_id": _l("Unit"),
    "position_id": _l("Position"),
    "status": _l("Status"),
    "joined_on": _l("Joined on"),
    "left_on": _l("Left on"),
}
# Where a request stands, and who closed it (``resolution``), as the person reads it (their data export).
STATUS_LABELS = {CorrectionStatus.OPEN: _l("Being handled"), CorrectionStatus.RESOLVED: _l("Resolved")}
RESOLUTION_LABELS = {"admin": _l("By an administrator"), "import": _l("By a roster import")}


class CorrectionError(DomainError):
    """``unknown_field``; ``already_open`` (the same field is already flagged, not resolved);
    ``resolved`` (resolving a request twice)."""


def value_of(staff: Staff, field: str) -> str:
    """What the roster says now, as a person reads it."""
    if field == "unit_id":
        return staff.unit.name
    if field == "position_id":
        return staff.position.title if staff.position is not None else ""
    if field == "status":
        return staff.status.value
    if field in ("joined_on", "left_on"):
        return format_date(getattr(staff, field))
    return str(getattr(staff, field) or "")


def shown(field: str, value: str) -> str:
    """A value ``value_of`` gave, as a person reads it: a roster status by its name (what is kept,
    ``value_then``, is the stored code: what the roster said, in no one language)."""
    if field == "status" and value in set(StaffStatus):
        return str(STAFF_STATUS_LABELS[StaffStatus(value)])
    return value


def flag(staff: Staff, field: str, note: str, *, requested_by: User) -> CorrectionRequest:
    if field not in FIELDS:
        raise CorrectionError("unknown_field")
    if db.session.scalar(sa.select(CorrectionRequest.id).where(
            CorrectionRequest.staff_id == staff.id, CorrectionRequest.field == field,
            CorrectionRequest.status == CorrectionStatus.OPEN)):
        raise CorrectionError("already_open")
    request = CorrectionRequest(staff_id=staff.id, field=field, value_then=value_of(staff, field)[:300],
                                note=note.strip()[:500], requested_by_id=requested_by.id)
    db.session.add(request)
    db.session.flush()
    audit.record("privacy.correction_requested", actor=requested_by, target=staff.staff_code, field=field,
                 request_id=request.id)
    return request


def of_person(staff_id: int) -> list[CorrectionRequest]:
    return list(db.session.scalars(sa.select(CorrectionRequest).where(CorrectionRequest.staff_id == staff_id)
                                   .order_by(CorrectionRequest.id.desc())))


@dataclass
class Listed:
    request: CorrectionRequest
    staff: Staff
    now: str  # what the roster says now


def listed_for(actor: User, *, status: CorrectionStatus = CorrectionStatus.OPEN) -> list[Listed]:
    """The requests about people in ``actor``'s scope (every one for an unscoped actor), oldest first."""
    statement = (sa.select(CorrectionRequest, Staff).join(Staff, Staff.id == CorrectionRequest.staff_id)
                 .where(CorrectionRequest.status == status).order_by(CorrectionRequest.id))
    units = visible_units(actor)
    if units is not None:
        statement = statement.where(Staff.unit_id.in_(sorted(units)))
    return [Listed(request, staff, shown(request.field, value_of(staff, request.field)))
            for request, staff in db.session.execute(statement)]


def resolve(request: CorrectionRequest, *, actor: User, note: str = "") -> None:
    """An administrator closes the request (having corrected the roster, or explained why not)."""
    if request.status != CorrectionStatus.OPEN:
        raise CorrectionError("resolved")
    request.status, request.resolved_at = CorrectionStatus.RESOLVED, clock.now()
    request.resolved_by_id = actor.id
    request.resolution, request.resolution_note = "admin", note.strip()[:500]
    audit.record("privacy.correction_resolved", actor=actor, target=request.staff.staff_code,
                 field=request.field, request_id=request.id, by="admin")


def _on_fields_changed(_sender: object, *, changes: dict[int, set[str]], actor_id: int | None = None) -> None:
    """A roster import changed these fields: the open requests about them are resolved."""
    if not changes:
        return
    pairs = {(staff_id, field) for staff_id, fields in changes.items() for field in fields}
    # (an import may change everyone: their ids go a chunk at a time)
    open_requests = [row for chunk in chunks(sorted(changes)) for row in db.session.execute(
        sa.select(CorrectionRequest, Staff.staff_code).join(Staff, Staff.id == CorrectionRequest.staff_id)
        .where(CorrectionRequest.status == CorrectionStatus.OPEN, CorrectionRequest.staff_id.in_(chunk)))]
    resolved = [(request, staff_code) for request, staff_code in open_requests
                if (request.staff_id, request.field) in pairs]
    update_rows(db.session, CorrectionRequest, [request for request, _code in resolved], {  # set-based
        "status": CorrectionStatus.RESOLVED, "resolved_at": clock.now(), "resolved_by_id": actor_id,
        "resolution": "import"})
    for request, staff_code in resolved:
        audit.record("privacy.correction_resolved", target=staff_code, field=request.field,
                     request_id=request.id, by="import")


def connect() -> None:
    events.roster_fields_changed.connect(_on_fields_changed)
