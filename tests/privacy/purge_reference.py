"""The retention purge as it was until session 14: one person at a time, each person's identity
read, their accounts closed, their own rows and every copy of their identity rewritten with
statements of their own (``traces.rewrite_copies``, a pass over each table of copies per
person). Kept here, unchanged, as the reference the batched purge (``mooc.privacy.cohort``) must
equal row for row (``tests/privacy/test_purge_batches.py``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mooc import clock
from mooc.api.models import ApiToken
from mooc.auth import audit
from mooc.auth.models import AuthSession, LoginThrottle, RecoveryCode, SecondFactor, User
from mooc.auth.tokens import AccountToken
from mooc.config import Settings
from mooc.extensions import db
from mooc.privacy import names, traces
from mooc.privacy.cohort import NAME_PREFIX, NO_MAIL_DOMAIN
from mooc.privacy.models import CorrectionRequest, Pseudonymisation
from mooc.privacy.retention import due, pseudonym_code
from mooc.quizzes.models import QuizAttempt
from mooc.reminders.models import ReminderLog
from mooc.reports.models import ReportSubscription
from mooc.roster.models import Staff
from mooc.training.models import Certificate, Enrolment, ProgramCertificate, ProgramEnrolment


def purge(config: Settings) -> None:
    """The leavers past retention pseudonymised one at a time, and the run recorded (no files)."""
    people = due(clock.today(), config.privacy_retention_days)
    for leaver in people:
        pseudonymise(db.session.get_one(Staff, leaver.staff_id), config)
    audit.record("privacy.purged", target=f"{len(people)} people", people=len(people), files=0)
    db.session.flush()


def rewrite_copies(identity: traces.Identity) -> int:
    """Rewrite every row of ``FREE_TEXT`` that names the person (flush only); how many changed."""
    changed = 0
    for model, columns_of in traces.FREE_TEXT.items():
        columns = [getattr(model, name) for name in columns_of]
        where = sa.or_(*[identity.condition(column) for column in columns])
        row: Any
        for row in db.session.scalars(sa.select(model).where(where)):
            before = [getattr(row, name) for name in columns_of]
            after = [traces._fit(identity.rewrite(value), column)
                     for value, column in zip(before, columns, strict=True)]
            if after != before:
                changed += 1
                for name, value in zip(columns_of, after, strict=True):
                    setattr(row, name, value)
    return changed


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
    rewrite_copies(identity)
    staff.staff_code, staff.full_name, staff.email = code, identity.name, None
    staff.family_name, staff.middle_name, staff.given_name = "", "", identity.name
    staff.updated_at = clock.now()
    db.session.add(Pseudonymisation(staff_id=staff.id, at=clock.now()))
    return code


