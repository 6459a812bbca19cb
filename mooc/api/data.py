"""What each endpoint reads, within the reader's scope: a person who reads reports sees the
units they see on the site (the same ``visible_units``); a trainee sees their own records
only. Pages by id (keyset), so a client walking a large roster never skips or repeats a row
while others write."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from pydantic import BaseModel

from mooc import clock
from mooc.api import schemas
from mooc.auth.models import Permission, User
from mooc.config import public_url
from mooc.courses.models import Course
from mooc.extensions import db
from mooc.reports import queries as report_queries
from mooc.roster.models import OrgUnit, Position, Staff
from mooc.roster.scope import visible_units
from mooc.training.models import Certificate, Enrolment, EnrolmentState
from mooc.training.status import EnrolmentStatus

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


class BadParameter(ValueError):
    """A query parameter the API cannot use (the message says which and why)."""


class Forbidden(Exception):
    """The reader may not read this (a trainee's token and the dashboard)."""


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadParameter("cursor: not one this API gave") from None
    if not text.startswith("id:") or not text[3:].isdigit() or len(text) > 24:
        raise BadParameter("cursor: not one this API gave")
    return int(text[3:])


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadParameter(f"limit: a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def parse_since(raw: str | None) -> datetime | None:
    """``updated_since``: an ISO 8601 date-time (with its offset; without one it is UTC)."""
    if not raw:
        return None
    try:
        # "+07:00" in a query string unencoded reads as " 07:00": take the space for the plus
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter("updated_since: an ISO 8601 date-time, e.g. 2026-12-01T00:00:00+07:00") from None
    if not 1900 <= moment.year <= 2200:
        raise BadParameter("updated_since: a year from 1900 to 2200")
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.now().tzinfo)


def _reads_reports(reader: User) -> bool:
    return reader.can(Permission.READ_REPORTS)


def _staff_filter(reader: User) -> Any:
    """Which staff rows the reader sees: their scope, or only themselves."""
    if not _reads_reports(reader):
        return Staff.id == (reader.staff_id or -1)
    scope = visible_units(reader)
    return sa.true() if scope is None else Staff.unit_id.in_(scope or {-1})


PageT = TypeVar("PageT", bound=BaseModel)


def _page(model: type[PageT], rows: Sequence[Any], limit: int, make: Callable[[Any], BaseModel]) -> PageT:
    """One page of ``rows`` (``limit`` + 1 read: one more says there is a next page) as the
    documented page model (``schemas.PersonPage``...): pydantic checks every row against it."""
    data = [make(row) for row in rows[:limit]]
    more = len(rows) > limit
    return model(data=data, next_cursor=encode_cursor(rows[limit - 1][0].id) if more else None)


UNITS_WHOLE = ("updated_since: /units has none; it answers the whole tree in scope (a few hundred "
               "units at most), which a client reads whole to see renamed, moved and merged units")


def units(reader: User) -> list[schemas.Unit]:
    where: Any
    if _reads_reports(reader):
        scope = visible_units(reader)
        where = sa.true() if scope is None else OrgUnit.id.in_(scope or {-1})
    else:
        own_unit = sa.select(Staff.unit_id).where(Staff.id == (reader.staff_id or -1)).scalar_subquery()
        where = OrgUnit.id == own_unit
    return [schemas.Unit(id=u.id, code=u.code, name=u.name, kind=u.kind, parent_id=u.parent_id,
                         active=u.active, merged_into_id=u.merged_into_id)
            for u in db.session.scalars(sa.select(OrgUnit).where(where).order_by(OrgUnit.id))]


def _updated(column: Any, fallback: Any) -> Any:
    return sa.func.coalesce(column, fallback)


def people(reader: User, cursor: str | None, limit: int, since: datetime | None) -> schemas.PersonPage:
    changed = _updated(Staff.updated_at, Staff.created_at)
    stmt = (sa.select(Staff, Position, changed.label("changed"))
            .outerjoin(Position, Position.id == Staff.position_id)
            .where(_staff_filter(reader), Staff.id > decode_cursor(cursor)))
    if since is not None:
        stmt = stmt.where(changed >= since)
    rows = db.session.execute(stmt.order_by(Staff.id).limit(limit + 1)).all()

    def make(row: Any) -> schemas.Person:
        staff, position = row[0], row[1]
        return schemas.Person(
            id=staff.id, staff_code=staff.staff_code, full_name=staff.full_name, email=staff.email,
            unit_id=staff.unit_id, position_code=position.code if position else None,
            position_title=position.title if position else None, status=cast(Any, str(staff.status)),
            joined_on=staff.joined_on, left_on=staff.left_on, updated_at=_aware(row.changed))
    return _page(schemas.PersonPage, rows, limit, make)


def _aware(moment: Any) -> datetime:
    if isinstance(moment, str):  # SQLite's coalesce() of two timestamps is text
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.now().tzinfo)


def enrolments(reader: User, cursor: str | None, limit: int, since: datetime | None) -> schemas.EnrolmentPage:
    stmt = (sa.select(Enrolment, Staff.staff_code, Staff.status.label("staff_status"), Course.key,
                      Course.title)
            .join(Staff, Staff.id == Enrolment.staff_id).join(Course, Course.id == Enrolment.course_id)
            .where(_staff_filter(reader), Enrolment.id > decode_cursor(cursor)))
    if since is not None:
        stmt = stmt.where(Enrolment.updated_at >= since)
    rows = db.session.execute(stmt.order_by(Enrolment.id).limit(limit + 1)).all()
    today = clock.today()

    def make(row: Any) -> schemas.Enrolment:
        e = row[0]
        return schemas.Enrolment(
            id=e.id, staff_id=e.staff_id, staff_code=row.staff_code, course_key=row.key,
            course_title=row.title,
            cycle=e.cycle, required=e.required, latest=e.latest,
            status=cast(Any, str(EnrolmentStatus.of(e, today, row.staff_status))), assigned_on=e.assigned_on,
            due_on=e.due_on, completed_at=e.completed_at, expires_on=e.expires_on, score=e.score,
            updated_at=e.updated_at)
    return _page(schemas.EnrolmentPage, rows, limit, make)


def completions(reader: User, cursor: str | None, limit: int,
                since: datetime | None) -> schemas.CompletionPage:
    """The course cycles completed (every cycle, renewals' earlier ones too; exemptions are
    not completions), with their certificate's code when one was issued. ``since``: by the
    enrolment's ``updated_at``, raised when it is completed (and by any later change)."""
    stmt = (sa.select(Enrolment, Staff.staff_code, Course.key, Course.title,
                      Certificate.code.label("certificate_code"))
            .join(Staff, Staff.id == Enrolment.staff_id).join(Course, Course.id == Enrolment.course_id)
            .outerjoin(Certificate, Certificate.enrolment_id == Enrolment.id)
            .where(_staff_filter(reader), Enrolment.state == EnrolmentState.COMPLETED,
                   Enrolment.completed_at.is_not(None), Enrolment.id > decode_cursor(cursor)))
    if since is not None:
        stmt = stmt.where(Enrolment.updated_at >= since)
    rows = db.session.execute(stmt.order_by(Enrolment.id).limit(limit + 1)).all()

    def make(row: Any) -> schemas.Completion:
        e = row[0]
        return schemas.Completion(
            enrolment_id=e.id, staff_id=e.staff_id, staff_code=row.staff_code, course_key=row.key,
            course_title=row.title, cycle=e.cycle, completed_at=e.completed_at, expires_on=e.expires_on,
            score=e.score, edition=e.completed_version, certificate_code=row.certificate_code,
            updated_at=e.updated_at)
    return _page(schemas.CompletionPage, rows, limit, make)


def certificates(reader: User, cursor: str | None, limit: int,
                 since: datetime | None) -> schemas.CertificatePage:
    stmt = (sa.select(Certificate, Enrolment.staff_id, Staff.staff_code, Course.key, Course.title)
            .join(Enrolment, Enrolment.id == Certificate.enrolment_id)
            .join(Staff, Staff.id == Enrolment.staff_id).join(Course, Course.id == Enrolment.course_id)
            .where(_staff_filter(reader), Certificate.id > decode_cursor(cursor)))
    if since is not None:
        stmt = stmt.where(Certificate.updated_at >= since)
    rows = db.session.execute(stmt.order_by(Certificate.id).limit(limit + 1)).all()
    base = public_url()

    def make(row: Any) -> schemas.Certificate:
        c = row[0]
        return schemas.Certificate(
            code=c.code, staff_id=row.staff_id, staff_code=row.staff_code, course_key=row.key,
            course_title=row.title, issued_at=c.issued_at, expires_on=c.expires_on,
            revoked=c.revoked_at is not None, verify_url=f"{base}/verify/{c.code}", updated_at=c.updated_at)
    return _page(schemas.CertificatePage, rows, limit, make)


def _dashboard_row(row: report_queries.Row) -> schemas.DashboardRow:
    return schemas.DashboardRow(
        unit_id=row.unit.id if row.unit else None, unit=row.label if row.unit else "total",
        headcount=row.headcount, people_required=row.people_required,
        completed=row.counts["completed"], in_progress=row.counts["in_progress"],
        not_started=row.counts["not_started"], overdue=row.counts["overdue"], exempt=row.counts["exempt"],
        cannot_sign_in=row.cannot_sign_in, completion_rate=row.rate)


def dashboard(reader: User, unit_id: int | None, course_id: int | None) -> schemas.Dashboard:
    """The dashboard's numbers (one row per child unit), as the web page has them."""
    if not _reads_reports(reader):
        raise Forbidden()
    today: date = clock.today()
    rollup = report_queries.rollup(reader, unit_id, report_queries.Filters(course_id=course_id), today)
    return schemas.Dashboard(unit_id=unit_id, as_of=today, rows=[_dashboard_row(r) for r in rollup.rows],
                             total=_dashboard_row(rollup.total))
