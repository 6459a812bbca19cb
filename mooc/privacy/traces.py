"""Copies of a person's identity in stored text, found and rewritten by the retention purge.

The roster and the account hold a person's name, e-mail address and staff code; copies end up
in free text elsewhere: audit events (target and details), notes and reasons, mail errors, the
xAPI outbox's statements, file names, and what a person typed as their directory user name at
sign-in. ``FREE_TEXT`` names every such column; ``rewrite_copies_of`` finds the rows of each
that name the people of a batch of leavers and rewrites them. ``tests/privacy/test_retention.py``
walks the metadata: a new text or JSON column fails the suite until it is listed in
``FREE_TEXT``, in ``OWN_IDENTITY`` (set by ``cohort.pseudonymise`` itself), in ``NAMES_NOBODY``
or in ``DERIVED`` (kept by the database from a column listed above).

How text is matched (``Identity.rewrite``):

- names and the staff code as whole words: ``Nguyễn Văn An`` is not touched inside
  ``Nguyễn Văn Anh``, nor ``00123`` inside ``001234`` (another person's); nor inside the
  name of another person on the roster that holds it (``Nguyễn Văn An Khang``: ``kept``).
  Someone else with exactly the same name cannot be told apart in free text: such a mention
  is rewritten too (the person's privacy comes first);
- e-mail addresses as whole addresses, in any case (``Mai.Tran@…`` too, not ``x.mai.tran@…``);
- directory user names only where a whole value is one (a ``target``, a JSON value): a user
  name such as ``an`` or ``hoa`` is also a Vietnamese word.

Which addresses (now and before) and directory user names are the person's is
``mooc.privacy.names``'s rule, the one the export of their data and the audit log follow: a user
name only ever typed wrong cannot be tied to anyone and stays (a guess is no identity).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from mooc.api.models import ApiToken
from mooc.auth.models import AuditEvent
from mooc.database import write_texts
from mooc.extensions import db
from mooc.privacy.models import CorrectionRequest
from mooc.reminders.models import ReminderLog
from mooc.reports.models import ReportDelivery, ReportSubscription
from mooc.roster.models import RosterImport
from mooc.text import name_key
from mooc.training.models import AssignmentRule, Certificate, Enrolment, ProgramCertificate
from mooc.xapi.models import XapiOutbox

# The columns that may hold a copy of anyone's name, e-mail address, staff code or directory
# user name in free text, by model: the purge rewrites every row of them that names the person.
FREE_TEXT: dict[type, tuple[str, ...]] = {
    AuditEvent: ("target", "details"),
    XapiOutbox: ("statement", "last_error"),  # the person is an account named by their staff code
    ReminderLog: ("recipient", "last_error"),
    ReportDelivery: ("detail",),  # a mail server's refusal names the address
    ReportSubscription: ("email",),  # an address without an account, set up by an administrator
    RosterImport: ("filename",),
    Enrolment: ("note", "exempt_reason"),
    AssignmentRule: ("note",),
    Certificate: ("revoked_reason",),
    ProgramCertificate: ("revoked_reason",),
    CorrectionRequest: ("value_then", "note", "resolution_note"),
    ApiToken: ("name",),
}

# Set by cohort.pseudonymise on the person's own rows (whatever they said before).
OWN_IDENTITY = frozenset({
    "staff.staff_code", "staff.full_name", "staff.family_name", "staff.middle_name", "staff.given_name",
    "staff.email", "staff.search_text", "staff.sort_key",
    "users.email", "users.display_name", "users.password_hash",
    "certificates.holder_name", "program_certificates.holder_name",
    "quiz_attempts.answers",  # a short answer may be anything: the person's own attempts are rewritten
    "login_throttle.email",  # the person's rows (addresses and user names) are deleted
    "directory_names.name", "directory_names.person",  # the person's rows are deleted (names.forget)
})

# Kept by the database from another column of the row (a generated column): it follows what the
# purge writes there, and cannot be written itself.
DERIVED: dict[str, str] = {
    "audit_events.folded_target": "audit_events.target",  # lower(trim(target)), the log's index
}

# Text that names nobody: course content, codes, hashes, machine values. A person's own rows of
# auth_sessions, account_tokens, second_factors and recovery_codes are deleted by the purge.
NAMES_NOBODY = frozenset({
    "courses.key", "courses.code", "courses.title", "courses.summary", "courses.language",
    "courses.intro_html", "courses.source_dir", "courses.source_hash", "courses.content_hash",
    "courses.source_commit", "courses.completion",
    "course_modules.key", "course_modules.title", "course_modules.intro_html", "course_modules.source_hash",
    "lessons.key", "lessons.title", "lessons.source_path", "lessons.source_hash", "lessons.previous_keys",
    "lessons.html", "lessons.text", "lessons.headings",
    "quizzes.key", "quizzes.title", "quizzes.source_path", "quizzes.source_hash", "quizzes.previous_keys",
    "quizzes.intro_html",
    "quizzes.settings", "quizzes.questions",
    "lesson_versions.source_hash", "lesson_versions.title", "lesson_versions.text", "lesson_versions.html",
    "course_editions.content_hash", "course_editions.source_commit", "course_editions.lessons",
    "course_editions.legal",
    "legal_documents.key", "legal_documents.number", "legal_documents.kind", "legal_documents.title",
    "legal_documents.issuer", "legal_documents.superseded_by", "legal_documents.superseded_extent",
    "legal_documents.source_url",
    "course_syncs.source_commit", "course_syncs.content_hash", "course_syncs.counts",
    "search_sections.anchor", "search_sections.heading", "search_sections.body",
    "search_sections.title_words", "search_sections.heading_words", "search_sections.body_words",
    "programs.key", "programs.code", "programs.title", "programs.summary", "programs.intro",
    "programs.intro_html", "programs.intro_hash",
    "programs.source_path", "programs.content_hash",
    "org_units.code", "org_units.name", "org_units.kind", "positions.code", "positions.title",
    "data_versions.name",
    "enrolments.completed_version", "enrolments.completed_commit", "enrolments.refresher_of",
    "certificates.code", "certificates.course_title",
    "program_certificates.code", "program_certificates.program_title",
    "quiz_attempts.quiz_hash", "quiz_attempts.settings", "quiz_attempts.questions", "quiz_attempts.results",
    "roster_imports.kind", "roster_imports.source", "roster_imports.checksum", "roster_imports.counts",
    "reminder_log.key", "reminder_log.step", "reminder_log.message_id",
    "report_deliveries.period", "report_subscriptions.filters",
    "xapi_outbox.kind", "xapi_outbox.statement_id",
    "privacy_corrections.field", "privacy_corrections.resolution",
    "audit_events.action", "audit_events.ip",
    "auth_sessions.token_hash", "auth_sessions.ip", "auth_sessions.user_agent", "auth_sessions.second_factor",
    "account_tokens.token_hash", "second_factors.secret_encrypted", "recovery_codes.code_hash",
    "login_throttle_addresses.address", "api_tokens.token_hash", "api_tokens.prefix",
    "oidc_logins.state_hash", "oidc_logins.nonce", "oidc_logins.code_verifier", "oidc_logins.next_url",
})


@dataclass
class Identity:
    """How stored text names the person, and what names the pseudonym instead."""

    pseudonym: str  # the staff code's replacement, AD-…
    name: str  # the name's replacement, "Ẩn danh AD-…"
    staff_code: str
    names: set[str]  # every name of theirs stored: the roster's, their accounts', their certificates'
    addresses: dict[str, str]  # lower-case address -> its replacement (an address that takes no mail)
    logins: set[str] = field(default_factory=set)  # lower-case directory user names
    kept: set[str] = field(default_factory=set)  # other people's longer names that hold one of theirs

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        words = sorted({word for word in [*self.names, self.staff_code] if word}, key=len, reverse=True)
        parts = [rf"(?<![\w.+-])(?i:{re.escape(address)})(?![\w-]|\.\w)"
                 for address in sorted(self.addresses, key=len, reverse=True)]
        parts += [rf"(?<!\w){re.escape(word)}(?!\w)" for word in words]
        return re.compile("|".join(parts))

    def _swap(self, match: re.Match[str]) -> str:
        found = match.group(0)
        if found.lower() in self.addresses:
            return self.addresses[found.lower()]
        return self.pseudonym if found == self.staff_code else self.name

    @cached_property
    def _kept_pattern(self) -> re.Pattern[str] | None:
        kept = sorted(self.kept, key=len, reverse=True)
        return re.compile("|".join(rf"(?<!\w){re.escape(name)}(?!\w)" for name in kept)) if kept else None

    def _rewrite_text(self, value: str) -> str:
        if name_key(value) in self.logins:
            return self.pseudonym
        kept = self._kept_pattern
        spans = [match.span() for match in kept.finditer(value)] if kept is not None else []

        def swap(match: re.Match[str]) -> str:
            if any(start <= match.start() and match.end() <= end for start, end in spans):
                return match.group(0)  # inside another person's name
            return self._swap(match)

        return self._pattern.sub(swap, value)

    def rewrite(self, value: Any) -> Any:
        """``value`` (text, or JSON made of lists and dicts) naming the pseudonym instead."""
        if isinstance(value, str):
            return self._rewrite_text(value)
        if isinstance(value, list):
            return [self.rewrite(item) for item in value]
        if isinstance(value, dict):
            return {self.rewrite(key): self.rewrite(item) for key, item in value.items()}
        return value

    def condition(self, column: Any) -> sa.ColumnElement[bool]:
        """The rows whose ``column`` may name the person (``rewrite`` decides): a cheap filter in
        SQL, by substring. JSON is stored with non-ASCII letters escaped, so a name is looked
        for that way too, and a user name as a quoted JSON value."""
        is_json = isinstance(column.type, sa.JSON)
        text = sa.cast(column, sa.Text) if is_json else column
        terms = [text.contains(form, autoescape=True)
                 for word in {*self.names, self.staff_code} if word for form in _forms(word, is_json)]
        terms += [sa.func.lower(text).contains(address, autoescape=True) for address in self.addresses]
        if self.logins:
            folded = sa.func.lower(text)
            terms += ([folded.contains(json.dumps(login), autoescape=True) for login in self.logins]
                      if is_json else [folded.in_(sorted(self.logins))])
        return sa.or_(*terms) if terms else sa.false()


def _forms(word: str, is_json: bool) -> set[str]:
    return {word, json.dumps(word)[1:-1]} if is_json else {word}


def _fold_table() -> dict[int, str]:
    """The letters Python's case-insensitive match holds equal beyond ``lower()`` (ı and i, ſ and
    s, µ and μ, ...: ``re``'s own table), each to the smallest of its kind; and İ, whose
    ``lower()`` is two characters, to i (its simple lower case, which ``re`` compares)."""
    table = {0x130: "i"}
    try:
        from re._casefix import _EXTRA_CASES  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover (CPython 3.11 has it; without it, ASCII addresses)
        return table
    for code, others in _EXTRA_CASES.items():
        table[code] = chr(min(code, *others))
    return table


_FOLD = _fold_table()
_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    """``text`` in one case, a character for a character: two spellings ``Identity.rewrite``
    matches as one (an address in any case) fold to the same."""
    return text.translate(_FOLD).lower().translate(_FOLD)


def _strings(value: Any) -> list[str]:
    """The texts of a stored value: itself, or the keys and values of JSON, all the way down."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (*_strings(key), *_strings(item))]
    return []


_Words = dict[str, list[tuple[int, frozenset[str]]]]  # a word -> (person, every word of a key of theirs)


@dataclass
class Cohort:
    """Several people's identities, in the order the purge takes them (a batch of leavers):
    what each row says after each of them in turn, read once for all of them.

    ``Identity.rewrite`` changes a text only where one of the person's names, their staff code or
    an address of theirs stands whole, so every word of it (``\\w+``, folded: ``_fold``) stands
    whole in the text too; or where the whole text is a user name of theirs. So a row's words,
    looked up in an index of everyone's keys' words, tell whose rewrite may change it
    (``candidates``: never fewer, a few more), and only those are applied, in the people's order,
    the row read again after each change (a pseudonym written in may hold a later person's word):
    exactly the value the same rewrites one person at a time, over every row, would leave."""

    identities: list[Identity]

    @cached_property
    def _index(self) -> tuple[_Words, dict[str, set[int]], frozenset[int]]:
        """Each key's words (all of them stand whole in any text it matches), under the one of
        them fewest keys have (not a domain every address ends with); the user names, whole; the
        people with a key of no word (checked on every row)."""
        keys = [(position, frozenset(_WORD.findall(_fold(key))))
                for position, identity in enumerate(self.identities)
                for key in {*identity.names, identity.staff_code, *identity.addresses} - {""}]
        often = Counter(word for _position, found in keys for word in found)
        words: _Words = {}
        for position, found in keys:
            if found:
                words.setdefault(min(sorted(found), key=lambda word: (often[word], -len(word))), []).append(
                    (position, found))
        logins: dict[str, set[int]] = {}
        for position, identity in enumerate(self.identities):
            for login in identity.logins:
                logins.setdefault(login, set()).add(position)
        return words, logins, frozenset(position for position, found in keys if not found)

    def candidates(self, values: list[Any]) -> set[int]:
        """The people whose rewrite may change one of ``values`` (positions in ``identities``)."""
        words, logins, always = self._index
        texts = [text for value in values for text in _strings(value)]
        present = set(_WORD.findall(_fold("\0".join(texts))))
        found = set(always)
        for word in words.keys() & present:
            found.update(position for position, needed in words[word] if needed <= present)
        for text in texts:
            found |= logins.get(name_key(text), set())
        return found

    def rewrite_row(self, values: list[Any], columns: list[Any],
                    own: Mapping[int, Mapping[int, Any]] | None = None) -> list[Any]:
        """A row's ``values`` (of ``columns``) after each person in turn, as a pass of each one's
        own (the purge until session 14: ``tests/privacy/purge_reference.py``) would leave it;
        ``own``: person -> column index -> value, what the person's own row is set to (whatever
        it said) just before their rewrite."""
        own = own or {}
        current = list(values)
        pending = sorted(self.candidates(current) | own.keys())
        while pending:
            position = pending.pop(0)
            if position in own:
                current = [own[position].get(index, value) for index, value in enumerate(current)]
            identity = self.identities[position]
            after = [_fit(identity.rewrite(value), column)
                     for value, column in zip(current, columns, strict=True)]
            if after != current:
                current = after
                pending = sorted(later for later in self.candidates(current) | own.keys() if later > position)
        return current


OwnRows = dict[type, dict[int, dict[int, dict[int, Any]]]]  # model -> row id -> person -> column -> value


def rewrite_copies_of(cohort: Cohort, own: OwnRows) -> dict[type, dict[int, dict[str, Any]]]:
    """Rewrite every row of ``FREE_TEXT`` that names one of the people (flush only): one pass over
    each table for all of them, the changed rows written set-based (``write_texts``); ``own``:
    the people's own rows of these tables, and what each is set to. Returns what changed, by
    model: row id -> column -> value."""
    # summary: neutral (the notes and reasons of enrolments are not in the reports' summary)
    changed: dict[type, dict[int, dict[str, Any]]] = {}
    for model, names in FREE_TEXT.items():
        columns = [getattr(model, name) for name in names]
        key: Any = sa.inspect(model).primary_key[0]
        mine = own.get(model, {})
        query = sa.select(key, *columns)
        if not mine:  # a row that holds no text names nobody
            query = query.where(sa.or_(*[column.is_not(None) for column in columns]))
        rows: dict[int, dict[str, Any]] = {}
        for row in db.session.execute(query.execution_options(yield_per=5000)):
            before = list(row[1:])
            after = cohort.rewrite_row(before, columns, mine.get(row[0]))
            if after != before:
                rows[row[0]] = dict(zip(names, after, strict=True))
        write_texts(db.session, model, rows)
        changed[model] = rows
    return changed


def _fit(value: Any, column: Any) -> Any:
    """A rewritten text cut to its column's length (a pseudonym may be longer than a name)."""
    length = getattr(column.type, "length", None)
    return value[:length] if isinstance(value, str) and length else value
