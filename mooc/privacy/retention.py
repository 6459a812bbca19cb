"""Retention: people who left more than ``MOOC_PRIVACY_RETENTION_DAYS`` ago are pseudonymised,
and files holding personal data past their time are deleted (`mooc privacy purge`, for cron).

A pseudonymised person keeps their rows (enrolments, completions, certificates, history), so
counts and reports do not change and a certificate's public check still answers, under the
pseudonym; their name, e-mail and staff code are gone from every table: the staff code becomes
a keyed hash (HMAC of the old code with a key derived from the secret key, so nobody without
the key can test a guessed code against it), the name ``Ẩn danh <that code>``, the e-mail
nothing (the roster) or an address that cannot receive mail (the account, which is closed).
Audit events, reminder logs and correction requests that name the person are rewritten. The
table ``privacy_pseudonyms`` records who was done: a second run does nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mooc import clock
from mooc.auth import audit
from mooc.auth.models import AuditEvent, AuthSession, LoginThrottle, User
from mooc.auth.tokens import AccountToken
from mooc.config import Settings
from mooc.extensions import db
from mooc.privacy.models import CorrectionRequest, Pseudonymisation
from mooc.reminders.models import ReminderLog
from mooc.roster import uploads
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import Certificate, Enrolment
from mooc.xapi.models import XapiOutbox

PSEUDONYM_PREFIX = "AD-"
NAME_PREFIX = "Ẩn danh"
NO_MAIL_DOMAIN = "an-danh.invalid"  # RFC 2606: .invalid never receives mail


@dataclass
class Leaver:
    staff_id: int
    staff_code: str
    full_name: str
    left_on: date | None


@dataclass
class PurgeReport:
    people: list[Leaver] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    dry_run: bool = False


def pseudonym_code(staff_code: str, secret_key: str) -> str:
    key = hmac.new(secret_key.encode(), b"mooc privacy pseudonym", hashlib.sha256).digest()
    return PSEUDONYM_PREFIX + hmac.new(key, staff_code.encode(), hashlib.sha256).hexdigest()[:16].upper()


def due(today: date, days: int) -> list[Leaver]:
    """People who left ``days`` or more days before ``today`` and are not pseudonymised yet
    (a leaver with no leaving date counts from their roster entry's last change)."""
    if days <= 0:
        return []
    cutoff = today - timedelta(days=days)
    left = sa.func.coalesce(Staff.left_on, sa.cast(Staff.updated_at, sa.Date))
    rows = db.session.execute(
        sa.select(Staff.id, Staff.staff_code, Staff.full_name, Staff.left_on)
        .where(Staff.status == StaffStatus.LEFT, left.is_not(None), left <= cutoff,
               ~sa.exists().where(Pseudonymisation.staff_id == Staff.id))
        .order_by(Staff.id))
    return [Leaver(*row) for row in rows]


def _replace(value: Any, old: dict[str, str]) -> Any:
    """``value`` (text, or JSON made of lists and dicts) with every old text replaced."""
    if isinstance(value, str):
        for before, after in old.items():
            value = value.replace(before, after)
        return value
    if isinstance(value, list):
        return [_replace(item, old) for item in value]
    if isinstance(value, dict):
        return {_replace(key, old): _replace(item, old) for key, item in value.items()}
    return value


def _rewrite_audit(old: dict[str, str], user_ids: list[int]) -> None:
    """Audit events that name the person (target, details) name the pseudonym instead. JSON is
    stored with non-ASCII letters escaped, so the name is looked for that way too."""
    needles = set(old) | {json.dumps(text)[1:-1] for text in old}  # as SQLAlchemy's JSON stores it
    details = sa.cast(AuditEvent.details, sa.Text)
    candidates = db.session.scalars(sa.select(AuditEvent).where(sa.or_(
        AuditEvent.target.in_(sorted(old)), AuditEvent.actor_id.in_(user_ids),
        *[details.contains(needle, autoescape=True) for needle in sorted(needles)])))
    for event in candidates:
        event.target = _replace(event.target, old)[:200]
        event.details = _replace(event.details, old)


def _rewrite_xapi(old: dict[str, str]) -> None:
    """The xAPI outbox's statements about the person name the pseudonym as their account (the
    statement ids stay, so nothing is collected or sent again; what a store received before
    is the store's to erase)."""
    text = sa.cast(XapiOutbox.statement, sa.Text)
    for row in db.session.scalars(sa.select(XapiOutbox).where(
            sa.or_(*[text.contains(before, autoescape=True) for before in sorted(old)]))):
        row.statement = _replace(row.statement, old)


def pseudonymise(staff: Staff, config: Settings) -> str:
    """Replace the person's identity everywhere it is stored; returns the pseudonym code."""
    code = pseudonym_code(staff.staff_code, config.secret_key)
    name = f"{NAME_PREFIX} {code}"
    users = list(db.session.scalars(sa.select(User).where(User.staff_id == staff.id)))
    old = {text: name for text in {staff.full_name, *(user.display_name for user in users)} if text}
    old[staff.staff_code] = code
    emails = {email for email in [staff.email, *(user.email for user in users)] if email}
    for number, user in enumerate(users):
        new_email = f"{code.lower()}{'-' + str(number) if number else ''}@{NO_MAIL_DOMAIN}"
        old[user.email] = new_email
        user.email, user.display_name, user.password_hash, user.active = new_email, name, None, False
    for email in emails:
        old.setdefault(email, f"{code.lower()}@{NO_MAIL_DOMAIN}")
    user_ids = [user.id for user in users]
    db.session.execute(sa.delete(AuthSession).where(AuthSession.user_id.in_(user_ids)))
    db.session.execute(sa.delete(AccountToken).where(AccountToken.user_id.in_(user_ids)))
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.email.in_(sorted(emails))))
    staff.staff_code, staff.full_name, staff.email = code, name, None
    staff.family_name, staff.middle_name, staff.given_name = "", "", name
    staff.updated_at = clock.now()
    enrolments = sa.select(Enrolment.id).where(Enrolment.staff_id == staff.id)
    db.session.execute(sa.update(Certificate).where(Certificate.enrolment_id.in_(enrolments))
                       .values(holder_name=name))
    for enrolment in db.session.scalars(sa.select(Enrolment).where(Enrolment.staff_id == staff.id)):
        enrolment.note = _replace(enrolment.note, old)
        enrolment.exempt_reason = _replace(enrolment.exempt_reason, old)
    for reminder in db.session.scalars(sa.select(ReminderLog).where(sa.or_(
            ReminderLog.user_id.in_(user_ids), ReminderLog.enrolment_id.in_(enrolments),
            ReminderLog.recipient.in_(sorted(emails))))):
        reminder.recipient = _replace(reminder.recipient, old)
        reminder.last_error = _replace(reminder.last_error, old)
    db.session.execute(sa.update(CorrectionRequest).where(CorrectionRequest.staff_id == staff.id)
                       .values(value_then="", note=""))
    _rewrite_audit(old, user_ids)
    _rewrite_xapi(old)
    db.session.add(Pseudonymisation(staff_id=staff.id, at=clock.now()))
    return code


def expired_outbox(config: Settings) -> list[Path]:
    outbox = config.instance_dir / "outbox"
    if not outbox.is_dir():
        return []
    limit = (clock.now() - timedelta(days=config.outbox_retention_days)).timestamp()
    return sorted(path for path in outbox.glob("*.eml") if path.is_file() and path.stat().st_mtime < limit)


def _delete(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def purge(config: Settings, *, dry_run: bool = False) -> PurgeReport:
    """Pseudonymise the leavers past retention and delete the files past theirs (flush only;
    the command commits). ``dry_run``: say who and what, change nothing."""
    people = due(clock.today(), config.privacy_retention_days)
    outbox = expired_outbox(config)
    report = PurgeReport(people, outbox + uploads.expire(dry_run=True), dry_run)
    if dry_run:
        return report
    for leaver in people:
        pseudonymise(db.session.get_one(Staff, leaver.staff_id), config)
    _delete(outbox)
    uploads.expire()
    # Every run, an empty one too: `mooc doctor` sees a purge that stopped running.
    audit.record("privacy.purged", target=f"{len(people)} people", people=len(people),
                 files=len(report.files))
    db.session.flush()
    return report
