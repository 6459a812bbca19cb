"""Retention: people who left more than ``MOOC_PRIVACY_RETENTION_DAYS`` ago are pseudonymised,
and files holding personal data past their time are deleted (`mooc privacy purge`, for cron).

A pseudonymised person keeps their rows (enrolments, completions, certificates, history), so
counts and reports do not change and a certificate's public check still answers, under the
pseudonym; their name, e-mail and staff code are gone from every table: the staff code becomes
a keyed hash (HMAC of the old code with a key derived from the secret key, so nobody without
the key can test a guessed code against it), the name ``Ẩn danh <that code>``, the e-mail
nothing (the roster) or an address that cannot receive mail (the account, which is closed).
Their own rows are set whatever they said (certificates of courses and programmes, reminders,
correction requests, quiz answers); every other copy of their identity in free text (audit
events, notes, reasons, mail errors, the xAPI outbox, file names, directory user names typed
at sign-in) is found and rewritten by ``traces``; the directory user names tied to them
(``directory_names``) are deleted. The table ``privacy_pseudonyms`` records who
was done: a second run does nothing."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

from mooc import clock
from mooc.api.models import ApiToken
from mooc.auth import audit
from mooc.auth.models import AuthSession, LoginThrottle, RecoveryCode, SecondFactor, User
from mooc.auth.tokens import AccountToken
from mooc.config import Settings
from mooc.extensions import db
from mooc.privacy import names, traces
from mooc.privacy.models import CorrectionRequest, Pseudonymisation
from mooc.quizzes.models import QuizAttempt
from mooc.reminders.models import ReminderLog
from mooc.reports.models import ReportSubscription
from mooc.roster import uploads
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import Certificate, Enrolment, ProgramCertificate, ProgramEnrolment

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
    (a leaver with no leaving date counts from their roster entry's last change, a moment
    compared as such: SQLite's CAST(... AS DATE) of a stored time is its year, a number, which
    SQLite holds smaller than any date, so such a leaver was due on the day they left)."""
    if days <= 0:
        return []
    cutoff = today - timedelta(days=days)
    changed_by = datetime.combine(cutoff + timedelta(days=1), time.min, tzinfo=clock.LOCAL_TZ)
    left = sa.or_(Staff.left_on <= cutoff, sa.and_(Staff.left_on.is_(None), Staff.updated_at < changed_by))
    rows = db.session.execute(
        sa.select(Staff.id, Staff.staff_code, Staff.full_name, Staff.left_on)
        .where(Staff.status == StaffStatus.LEFT, left,
               ~sa.exists().where(Pseudonymisation.staff_id == Staff.id))
        .order_by(Staff.id))
    return [Leaver(*row) for row in rows]


def _identity(staff: Staff, users: list[User], code: str) -> traces.Identity:
    """Everything that names the person, read before anything changes: the roster's name and
    the accounts', the names their certificates were issued under (a name changed since is
    still theirs), every address (the roster's, the accounts', and those they had before), the
    staff code, and the directory user names tied to them (``names``: the rule the export of
    their data and the audit log follow too); and the longer names of other people on the
    roster that hold one of theirs (left as they are)."""
    enrolments = sa.select(Enrolment.id).where(Enrolment.staff_id == staff.id)
    programmes = sa.select(ProgramEnrolment.id).where(ProgramEnrolment.staff_id == staff.id)
    held = set(db.session.scalars(sa.union(
        sa.select(Certificate.holder_name).where(Certificate.enrolment_id.in_(enrolments)),
        sa.select(ProgramCertificate.holder_name)
        .where(ProgramCertificate.program_enrolment_id.in_(programmes)))))
    written = {name for name in {staff.full_name, *(user.display_name for user in users), *held} if name}
    people = names.People.of(staff.id, [user.id for user in users])
    addresses: dict[str, str] = {}
    for number, user in enumerate(users):  # each account gets an address of its own (unique)
        suffix = f"-{number}" if number else ""
        addresses[user.email.lower()] = f"{code.lower()}{suffix}@{NO_MAIL_DOMAIN}"
    for address in sorted(names.values(names.addresses(people))):  # the roster's, and those before
        addresses.setdefault(address, f"{code.lower()}@{NO_MAIL_DOMAIN}")
    longer = db.session.scalars(sa.select(Staff.full_name).where(
        Staff.id != staff.id, sa.or_(*[Staff.full_name.contains(name, autoescape=True) for name in written])))
    return traces.Identity(pseudonym=code, name=f"{NAME_PREFIX} {code}", staff_code=staff.staff_code,
                           names=written, addresses=addresses, kept=set(longer) - written,
                           logins=names.values(names.directory_logins(people)))


def _close_accounts(users: list[User], identity: traces.Identity) -> None:
    """The accounts get an address that takes no mail and lose every way in: password,
    sessions, links, second factor, API tokens, sign-in counts; their report mail stops."""
    user_ids = [user.id for user in users]
    for user in users:
        user.email = identity.addresses[user.email.lower()]
        user.display_name, user.password_hash, user.active = identity.name, None, False
    for model in (AuthSession, AccountToken, SecondFactor, RecoveryCode):
        db.session.execute(sa.delete(model).where(model.user_id.in_(user_ids)))
    db.session.execute(sa.update(ApiToken)
                       .where(ApiToken.user_id.in_(user_ids), ApiToken.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))
    throttled = sorted({*identity.addresses, *identity.logins})  # what was typed: addresses, user names
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.email.in_(throttled)))
    db.session.execute(sa.update(ReportSubscription).where(
        sa.or_(ReportSubscription.user_id.in_(user_ids),
               sa.func.lower(ReportSubscription.email).in_(sorted(identity.addresses))))
        .values(active=False))


def _rewrite_own_rows(staff: Staff, user_ids: list[int], identity: traces.Identity) -> None:
    """The person's own rows that hold their identity whatever it was then: certificates (the
    name they were issued under), reminders (the address they went to), correction requests
    (what the roster said, what it should say), quiz answers (a short answer may be anything)."""
    enrolments = sa.select(Enrolment.id).where(Enrolment.staff_id == staff.id)
    programmes = sa.select(ProgramEnrolment.id).where(ProgramEnrolment.staff_id == staff.id)
    db.session.execute(sa.update(Certificate).where(Certificate.enrolment_id.in_(enrolments))
                       .values(holder_name=identity.name))
    db.session.execute(sa.update(ProgramCertificate)
                       .where(ProgramCertificate.program_enrolment_id.in_(programmes))
                       .values(holder_name=identity.name))
    db.session.execute(sa.update(ReminderLog).where(
        sa.or_(ReminderLog.user_id.in_(user_ids), ReminderLog.enrolment_id.in_(enrolments)))
        .values(recipient=f"{identity.pseudonym.lower()}@{NO_MAIL_DOMAIN}"))
    db.session.execute(sa.update(CorrectionRequest).where(CorrectionRequest.staff_id == staff.id)
                       .values(value_then="", note=""))
    for attempt in db.session.scalars(sa.select(QuizAttempt).where(QuizAttempt.user_id.in_(user_ids))):
        answers = identity.rewrite(attempt.answers)
        if answers != attempt.answers:
            attempt.answers = answers


def pseudonymise(staff: Staff, config: Settings) -> str:
    """Replace the person's identity everywhere it is stored; returns the pseudonym code."""
    code = pseudonym_code(staff.staff_code, config.secret_key)
    users = list(db.session.scalars(sa.select(User).where(User.staff_id == staff.id)))
    identity = _identity(staff, users, code)
    # Their directory user names go while their addresses and staff code still read as theirs.
    names.forget(names.People.of(staff.id, [user.id for user in users]))
    _close_accounts(users, identity)
    _rewrite_own_rows(staff, [user.id for user in users], identity)
    db.session.flush()  # the updates above run before the copies are read (autoflush would too)
    traces.rewrite_copies(identity)
    staff.staff_code, staff.full_name, staff.email = code, identity.name, None
    staff.family_name, staff.middle_name, staff.given_name = "", "", identity.name
    staff.updated_at = clock.now()
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
