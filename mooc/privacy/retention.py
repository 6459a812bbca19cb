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
was done: a second run does nothing.

The rule is the one person at a time, in the order of the roster (``due``): each person's
identity as the people before them left it. A reorganisation's thousands of leavers are taken
a batch at a time (``cohort``: a few statements and one pass over each table of copies per
batch, the same result); the command commits once, so a run that fails leaves nothing done."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

from mooc import clock
from mooc.auth import audit
from mooc.config import Settings
from mooc.extensions import db
from mooc.privacy import cohort
from mooc.privacy.models import Pseudonymisation
from mooc.progress import PSEUDONYMISING, SILENT, Progress
from mooc.roster import uploads
from mooc.roster.models import Staff, StaffStatus

PSEUDONYM_PREFIX = "AD-"


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


def expired_outbox(config: Settings) -> list[Path]:
    outbox = config.instance_dir / "outbox"
    if not outbox.is_dir():
        return []
    limit = (clock.now() - timedelta(days=config.outbox_retention_days)).timestamp()
    return sorted(path for path in outbox.glob("*.eml") if path.is_file() and path.stat().st_mtime < limit)


def _delete(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def purge(config: Settings, *, dry_run: bool = False, progress: Progress = SILENT) -> PurgeReport:
    """Pseudonymise the leavers past retention and delete the files past theirs (flush only;
    the command commits: all or nothing). ``dry_run``: say who and what, change nothing."""
    people = due(clock.today(), config.privacy_retention_days)
    outbox = expired_outbox(config)
    report = PurgeReport(people, outbox + uploads.expire(dry_run=True), dry_run)
    if dry_run:
        return report
    progress.phase(PSEUDONYMISING, len(people))
    codes = {leaver.staff_id: pseudonym_code(leaver.staff_code, config.secret_key) for leaver in people}
    waiting = [leaver.staff_id for leaver in people]
    while waiting:  # a batch at a time, as if one at a time (cohort)
        batch = cohort.read(waiting[:cohort.PER_PASS], codes)
        taken = cohort.independent(batch)
        cohort.pseudonymise(batch[:taken])
        waiting = waiting[taken:]
        progress.advance(taken)
    _delete(outbox)
    uploads.expire()
    # Every run, an empty one too: `mooc doctor` sees a purge that stopped running.
    audit.record("privacy.purged", target=f"{len(people)} people", people=len(people),
                 files=len(report.files))
    db.session.flush()
    return report
