"""A batch of leavers pseudonymised together by the retention purge (``retention.purge``).

The purge's rule is the one person's at a time (``retention``'s docstring): each person's
identity is read as the people before them left the database, and each rewrite applies to what
the rewrites before it left. Taking hundreds at once changes neither: their identities are read
in a few queries (``read``), each as it would have been read in its turn (another leaver's name
that holds theirs is kept only while that leaver still has it); every copy is found in one pass
over each table (``traces.Cohort``), the rewrites applied in the people's order; and where one
person's turn would change what another's identity is read from (an address they shared, a
directory user name tied to both), the batch ends before the second (``independent``), who is
read again, in the next batch, after the first is written. The result is the one of the
people taken one at a time; the statements are a few per batch, not a few dozen per person.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mooc import clock, events
from mooc.api.models import ApiToken
from mooc.auth.models import (
    AuditEvent,
    AuthSession,
    DirectoryName,
    LoginThrottle,
    RecoveryCode,
    SecondFactor,
    User,
)
from mooc.auth.tokens import AccountToken
from mooc.database import chunks, write_rows
from mooc.extensions import db
from mooc.privacy import names, traces
from mooc.privacy.models import CorrectionRequest, Pseudonymisation
from mooc.quizzes.models import QuizAttempt
from mooc.reminders.models import ReminderLog
from mooc.reports.models import ReportSubscription
from mooc.roster import keys
from mooc.roster.models import Staff
from mooc.training.models import Certificate, Enrolment, ProgramCertificate, ProgramEnrolment

PER_PASS = 5000  # people a batch: a pass over each table of copies (audit_events: a million rows)
NAME_PREFIX = "Ẩn danh"
NO_MAIL_DOMAIN = "an-danh.invalid"  # RFC 2606: .invalid never receives mail


@dataclass
class Leaving:
    """One person of a batch: their roster entry and accounts, read before anything changes."""

    staff_id: int
    staff_code: str
    full_name: str
    user_ids: list[int]
    emails: list[str]  # their accounts' addresses, in the accounts' order
    identity: traces.Identity
    ties: frozenset[int]  # their rows of directory_names
    certificates: dict[type, list[int]]  # Certificate / ProgramCertificate -> ids of theirs


class _Roster:
    """Everyone's name on the roster, to find the names that hold a given one, as the database's
    ``LIKE '%name%'`` does (SQLite's ignores the case of ASCII letters, PostgreSQL's does not),
    without a pass over the roster per name."""

    def __init__(self, rows: Iterable[tuple[int, str]], ascii_case: bool) -> None:
        self.ascii_case = ascii_case
        self.fold = (lambda text: text.translate(_ASCII_LOWER)) if ascii_case else (lambda text: text)
        self.ids: list[int] = []
        self.names: list[str] = []
        self.starts: list[int] = []
        parts, at = [], 0
        for staff_id, name in rows:
            folded = self.fold(name or "")
            self.ids.append(staff_id)
            self.names.append(name or "")
            self.starts.append(at)
            parts.append(folded)
            at += len(folded) + 1
        self.text = "\x00".join(parts)  # a name holds no NUL (PostgreSQL stores none)

    def holding(self, name: str) -> list[int]:
        """The positions of the names that hold ``name``."""
        needle, found, at = self.fold(name), [], 0
        while (at := self.text.find(needle, at)) >= 0:
            index = bisect.bisect_right(self.starts, at) - 1
            found.append(index)
            at = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.text)
        return found


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _certificates(ids: list[int]) -> tuple[dict[int, set[str]], dict[int, dict[type, list[int]]]]:
    """The names their certificates were issued under, and the certificates, by person."""
    held: dict[int, set[str]] = defaultdict(set)
    owned: dict[int, dict[type, list[int]]] = defaultdict(lambda: {Certificate: [], ProgramCertificate: []})
    for model, enrolment, column in ((Certificate, Enrolment, Certificate.enrolment_id),
                                     (ProgramCertificate, ProgramEnrolment,
                                      ProgramCertificate.program_enrolment_id)):
        for staff_id, row_id, holder in db.session.execute(
                sa.select(enrolment.staff_id, model.id, model.holder_name)
                .join(enrolment, enrolment.id == column).where(enrolment.staff_id.in_(ids))):
            held[staff_id].add(holder)
            owned[staff_id][model].append(row_id)
    return held, owned


def _written(known: _Facts) -> set[str]:
    """Every name of theirs stored: the roster's, their accounts', their certificates'."""
    shown = {display for _id, _email, display in known.accounts}
    return {name for name in {known.row.full_name, *shown, *known.held} if name}


def _kept(roster: _Roster, earlier: _Roster, order: dict[int, int], me: int, written: set[str]) -> set[str]:
    """The other people's longer names that hold one of ``written`` as the person's turn finds
    them: the people of the batch before them already carry their pseudonym (``earlier``: the
    batch's pseudonyms, in its order)."""
    found = set()
    position = order[me]
    for name in written:
        for index in roster.holding(name):
            staff_id = roster.ids[index]
            if staff_id != me and order.get(staff_id, position + 1) > position:
                found.add(roster.names[index])
        found.update(earlier.names[index] for index in earlier.holding(name) if index < position)
    return found - written


@dataclass
class _Facts:
    """What is stored of one person, read before anything changes."""

    row: Any  # staff_code, full_name
    accounts: list[tuple[int, str, str]]  # (id, address, display name), in the accounts' order
    held: set[str]
    certificates: dict[type, list[int]]
    addresses: set[str]
    ties: dict[int, str]


def _facts(staff_ids: list[int]) -> dict[int, _Facts]:
    """A chunk of people's facts, in a few queries."""
    staff = {row.id: row for row in db.session.execute(
        sa.select(Staff.id, Staff.staff_code, Staff.full_name).where(Staff.id.in_(staff_ids)))}
    accounts: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for user_id, staff_id, email, display in db.session.execute(
            sa.select(User.id, User.staff_id, User.email, User.display_name)
            .where(User.staff_id.in_(staff_ids)).order_by(User.id)):
        accounts[staff_id or 0].append((user_id, email, display))
    held, certificates = _certificates(staff_ids)
    addresses = names.addresses_of_each(staff_ids)
    ties = names.ties_of_each(staff_ids, addresses)
    return {staff_id: _Facts(staff[staff_id], accounts[staff_id], held[staff_id], certificates[staff_id],
                             addresses[staff_id], ties[staff_id]) for staff_id in staff_ids}


def read(staff_ids: list[int], codes: dict[int, str]) -> list[Leaving]:
    """The batch's people in the order given, each as their turn would read them (``codes``:
    each one's pseudonym code); a ``CHUNK`` of them a query."""
    facts: dict[int, _Facts] = {}
    for chunk in chunks(staff_ids):
        facts.update(_facts(chunk))
    roster = _Roster(db.session.execute(sa.select(Staff.id, Staff.full_name).order_by(Staff.id)),
                     ascii_case=db.session.get_bind().dialect.name == "sqlite")
    order = {staff_id: position for position, staff_id in enumerate(staff_ids)}
    pseudonyms = [(number, f"{NAME_PREFIX} {codes[staff_id]}") for number, staff_id in enumerate(staff_ids)]
    earlier = _Roster(pseudonyms, ascii_case=roster.ascii_case)
    return [_leaving(staff_id, facts[staff_id], codes[staff_id],
                     _kept(roster, earlier, order, staff_id, _written(facts[staff_id])))
            for staff_id in staff_ids]


def _leaving(staff_id: int, known: _Facts, code: str, kept: set[str]) -> Leaving:
    mapped: dict[str, str] = {}
    for number, (_user_id, email, _display) in enumerate(known.accounts):  # an address each
        mapped[email.lower()] = f"{code.lower()}{f'-{number}' if number else ''}@{NO_MAIL_DOMAIN}"
    for address in sorted(known.addresses):  # the roster's, and those before
        mapped.setdefault(address, f"{code.lower()}@{NO_MAIL_DOMAIN}")
    identity = traces.Identity(
        pseudonym=code, name=f"{NAME_PREFIX} {code}", staff_code=known.row.staff_code, names=_written(known),
        addresses=mapped, kept=kept, logins={name for name in known.ties.values() if name})
    return Leaving(staff_id, known.row.staff_code, known.row.full_name,
                   [user_id for user_id, _e, _d in known.accounts],
                   [email for _u, email, _d in known.accounts], identity, frozenset(known.ties),
                   known.certificates)


def _first_touched(cohort: traces.Cohort, owners: list[int], values: list) -> int | None:
    """The first of ``owners`` (positions) whose reading of ``values`` a rewrite of someone
    before them in the batch would change."""
    candidates = cohort.candidates(values)
    for owner in sorted(owners):
        for earlier in sorted(position for position in candidates if position < owner):
            identity = cohort.identities[earlier]
            if any(identity.rewrite(value) != value for value in values):
                return owner
    return None


def independent(people: list[Leaving]) -> int:
    """How many of the batch, from the first, may be taken together: up to the first person whose
    identity the turn of someone before them would change: a directory user name tied to both
    (the first one's turn deletes it), or an address change of theirs (``account.email_changed``),
    or a report subscription to their address, that an earlier rewrite would rewrite."""
    cohort = traces.Cohort([person.identity for person in people])
    first = len(people)
    seen: set[int] = set()
    for position, person in enumerate(people):
        if person.ties & seen:
            first = min(first, position)
            break
        seen |= person.ties
    owners: dict[str, list[int]] = defaultdict(list)
    for position, person in enumerate(people):
        for address in person.identity.addresses:
            owners[address].append(position)
    changes = db.session.execute(
        sa.select(AuditEvent.folded_target, AuditEvent.target, AuditEvent.details)
        .where(AuditEvent.action == names.EMAIL_CHANGED, names.in_values(AuditEvent.folded_target, owners)))
    subscriptions = db.session.execute(
        sa.select(sa.func.lower(ReportSubscription.email), ReportSubscription.email)
        .where(ReportSubscription.email.is_not(None)))
    for address, *values in [*changes, *subscriptions]:
        if address in owners and (touched := _first_touched(cohort, owners[address], values)) is not None:
            first = min(first, touched)
    return max(first, 1)


def _forget(people: list[Leaving]) -> None:
    """Their rows of directory_names go (``names.forget``'s, read with their identity)."""
    for chunk in chunks(sorted({row_id for person in people for row_id in person.ties})):
        db.session.execute(sa.delete(DirectoryName).where(DirectoryName.id.in_(chunk)))


def _close_accounts(people: list[Leaving]) -> None:
    """The accounts get an address that takes no mail and lose every way in: password,
    sessions, links, second factor, API tokens, sign-in counts; their report mail stops."""
    accounts = {user_id: {"email": person.identity.addresses[email.lower()],
                          "display_name": person.identity.name, "password_hash": None, "active": False}
                for person in people for user_id, email in zip(person.user_ids, person.emails, strict=True)}
    write_rows(db.session, User, accounts)
    events.touched(person.staff_id for person in people)  # the reports count who can sign in
    for chunk in chunks(sorted(accounts)):
        for model in (AuthSession, AccountToken, SecondFactor, RecoveryCode):
            db.session.execute(sa.delete(model).where(model.user_id.in_(chunk)))
        db.session.execute(sa.update(ApiToken)
                           .where(ApiToken.user_id.in_(chunk), ApiToken.revoked_at.is_(None))
                           .values(revoked_at=clock.now()))
        db.session.execute(sa.update(ReportSubscription).where(ReportSubscription.user_id.in_(chunk))
                           .values(active=False))
    typed = {value for person in people for value in (*person.identity.addresses, *person.identity.logins)}
    for values in chunks(sorted(typed)):  # what was typed: addresses, user names
        db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.email.in_(values)))
    addresses = {address for person in people for address in person.identity.addresses}
    for values in chunks(sorted(addresses)):
        db.session.execute(sa.update(ReportSubscription)
                           .where(sa.func.lower(ReportSubscription.email).in_(values)).values(active=False))


def _rewrite_own_rows(people: list[Leaving]) -> traces.OwnRows:
    """The people's own rows that hold their identity whatever it was then: certificates (the
    name they were issued under) and quiz answers (a short answer may be anything) are written
    here; reminders (the address they went to) and correction requests (what the roster said,
    what it should say) are returned, set with the copies (``traces.rewrite_copies_of``)."""
    for model in (Certificate, ProgramCertificate):
        write_rows(db.session, model, {row_id: {"holder_name": person.identity.name}
                                       for person in people for row_id in person.certificates[model]})
    by_user = {user_id: person.identity for person in people for user_id in person.user_ids}
    answers = {}
    for chunk in chunks(sorted(by_user)):
        for row_id, user_id, given in db.session.execute(
                sa.select(QuizAttempt.id, QuizAttempt.user_id, QuizAttempt.answers)
                .where(QuizAttempt.user_id.in_(chunk))):
            if (rewritten := by_user[user_id].rewrite(given)) != given:
                answers[row_id] = {"answers": rewritten}
    write_rows(db.session, QuizAttempt, answers)
    return _own_copies(people)


def _own_copies(people: list[Leaving]) -> traces.OwnRows:
    position = {person.staff_id: number for number, person in enumerate(people)}
    recipient = traces.FREE_TEXT[ReminderLog].index("recipient")
    said = [traces.FREE_TEXT[CorrectionRequest].index(name) for name in ("value_then", "note")]
    own: traces.OwnRows = {ReminderLog: defaultdict(dict), CorrectionRequest: defaultdict(dict)}
    for ids in chunks(sorted(position)):
        reminders: sa.CompoundSelect = sa.union(
            sa.select(ReminderLog.id, User.staff_id).join(User, User.id == ReminderLog.user_id)
            .where(User.staff_id.in_(ids)),
            sa.select(ReminderLog.id, Enrolment.staff_id)
            .join(Enrolment, Enrolment.id == ReminderLog.enrolment_id).where(Enrolment.staff_id.in_(ids)))
        for row_id, staff_id in db.session.execute(reminders):
            code = people[position[staff_id]].identity.pseudonym
            own[ReminderLog][row_id][position[staff_id]] = {recipient: f"{code.lower()}@{NO_MAIL_DOMAIN}"}
        for row_id, staff_id in db.session.execute(sa.select(CorrectionRequest.id, CorrectionRequest.staff_id)
                                                   .where(CorrectionRequest.staff_id.in_(ids))):
            own[CorrectionRequest][row_id][position[staff_id]] = dict.fromkeys(said, "")
    return own


def pseudonymise(people: list[Leaving]) -> None:
    """Replace the batch's identities everywhere they are stored (flush only), as taking them one
    at a time in this order would (the module's docstring)."""
    _forget(people)  # while their addresses and staff codes still read as theirs
    _close_accounts(people)
    own = _rewrite_own_rows(people)
    traces.rewrite_copies_of(traces.Cohort([person.identity for person in people]), own)
    now = clock.now()
    write_rows(db.session, Staff, {person.staff_id: {
        "staff_code": person.identity.pseudonym, "full_name": person.identity.name, "email": None,
        "family_name": "", "middle_name": "", "given_name": person.identity.name, "updated_at": now,
        "search_text": keys.search_text(person.identity.name, person.identity.pseudonym, None),
        "sort_key": keys.sort_key(person.identity.name)} for person in people})
    events.touched(person.staff_id for person in people)
    db.session.execute(sa.insert(Pseudonymisation),
                       [{"staff_id": person.staff_id, "at": now} for person in people])
