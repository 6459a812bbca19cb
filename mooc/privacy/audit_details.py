"""An audit event's details as people read them: one "label: value" line per key, the label in
the reader's language, a stored code by the name the interface gives it, dates dd/mm/yyyy,
numbers as the language writes them. The audit log page and the personal-data PDF show them so;
the log's CSV and the personal-data JSON keep the raw details (codes, ISO dates), on purpose.

Nothing is hidden: a key without a label reads as stored, a code without a name too.
tests/privacy/test_audit_details.py reads every ``audit.record(...)`` of the code and fails for a
key missing from ``KEYS``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from mooc.auth.labels import ROLE_LABELS
from mooc.formatting import format_date, format_datetime, format_number
from mooc.i18n import gettext as _
from mooc.i18n import lazy_gettext as _l
from mooc.privacy.corrections import FIELDS, RESOLUTION_LABELS
from mooc.reports.subscriptions import FREQUENCY_LABELS, REPORT_LABELS
from mooc.roster.display import SKIP_LABELS
from mooc.roster.units import KIND_LABELS as UNIT_KIND_LABELS
from mooc.training.models import RenewalMode
from mooc.training.records import SOURCE_LABELS
from mooc.training.status import status_label

# Each key the platform writes into an event's details (and the keys of the dictionaries some
# hold: a report's filters, an assignment rule's terms), by what it is called.
KEYS = {
    # sign-in, passwords, second factor
    "method": _l("Signed in with"), "second_factor": _l("Second factor"), "login": _l("User name typed"),
    "person": _l("Person named by the directory"), "reason": _l("Reason"), "detail": _l("Detail"),
    "lock_lifted": _l("Sign-in lock lifted"), "proved_by": _l("Proved with"), "via": _l("Done through"),
    "count": _l("Number"),
    # accounts, invitations, roles
    "staff_code": _l("Staff code"), "user_id": _l("Account number"), "previous": _l("Before"),
    "sessions_ended": _l("Sessions ended"), "way": _l("Signs in with"), "invited": _l("Invited"),
    "skipped": _l("Skipped"), "later": _l("Left for later"), "not_sent": _l("Not sent"), "role": _l("Role"),
    "scope": _l("In charge of unit"), "local_password": _l("Password on this platform"),
    # API tokens
    "prefix": _l("Start of the key"), "expires": _l("Expires on"), "unit": _l("Unit"),
    # roster and units
    "checksum": _l("File checksum"), "full": _l("Whole roster"), "source": _l("Source"),
    "import_id": _l("Import number"), "added": _l("Added"), "changed": _l("Changed"), "moved": _l("Moved"),
    "deactivated": _l("Marked as left"), "reactivated": _l("Back on the roster"),
    "unchanged": _l("Unchanged"),
    "renamed": _l("Renamed"), "merged": _l("Merged"), "name": _l("Name"), "parent": _l("Parent unit"),
    "kind": _l("Kind"), "into": _l("Merged into"), "people": _l("People"), "left": _l("Left"),
    "sub_units": _l("Units under it"), "scopes_moved": _l("Managers' units moved"),
    # courses
    "commit": _l("Commit"), "archived": _l("Archived"), "restored": _l("Restored"),
    "rendered": _l("Rendered"),
    "courses": _l("Courses"), "course": _l("Course"), "course_id": _l("Course"), "quiz": _l("Quiz"),
    "extra": _l("Extra attempts"),
    # training
    "enrolment_id": _l("Enrolment number"), "old": _l("Before"), "new": _l("After"), "due_on": _l("Due"),
    "enrolled": _l("Enrolled"), "renewed": _l("Renewed"), "closed": _l("Closed"), "opened": _l("Opened"),
    "program_id": _l("Programme"), "all_units": _l("Every unit"), "before": _l("Before"),
    "after": _l("After"),
    "due_changed": _l("Due dates changed"), "units": _l("Units"), "positions": _l("Positions"),
    "held_by": _l("Until then"), "rule_id": _l("Rule number"), "due_before": _l("Due date until then"),
    "due_asked": _l("Due date chosen"),
    "due_days": _l("Days to finish"), "renew_months": _l("Renew after (months)"), "renewal": _l("Renewal"),
    # reminders, reports, xAPI
    "sent": _l("Sent"), "failed": _l("Failed"), "stopped": _l("Stopped because"),
    "enrolments": _l("Enrolments"),
    "waiting": _l("Waiting"), "removed": _l("Removed"), "subscription": _l("Subscription number"),
    "period": _l("Period"), "frequency": _l("Frequency"), "filters": _l("Filters"), "rows": _l("Rows"),
    "path": _l("Page"), "format": _l("Format"), "collected": _l("Collected"), "queued": _l("Still queued"),
    "position": _l("Position"), "status": _l("Status"), "due_from": _l("Due from"), "due_to": _l("Due until"),
    "account": _l("Account"), "program": _l("Programme"),
    # privacy
    "field": _l("Field"), "request_id": _l("Request number"), "by": _l("Resolved"), "files": _l("Files"),
    "reference": _l("Reference of the request"), "action": _l("Action"), "from": _l("From"),
    "to": _l("Until"),
}

METHODS = {"password": _l("password"), "ldap": _l("ministry directory (LDAP)"),
           "oidc": _l("ministry account (OpenID Connect)")}
FACTORS = {"totp": _l("authenticator app code"), "recovery": _l("recovery code"),
           "remembered": _l("remembered browser"), "provider": _l("the sign-in provider"), "none": _l("none")}
WAYS = {"link": _l("a password set from the link"), "ministry_account": _l("the ministry account")}
LOCAL_PASSWORDS = {"taken_away": _l("taken away (the ministry account only)"),
                   "given_back": _l("may be set again")}
REASONS = {
    "locked": _l("too many failed tries: locked for a while"),
    "second_factor": _l("wrong second-factor code"),
    "second_factor_locked": _l("too many wrong codes: locked for a while"),
    "local_password_not_allowed": _l("this role signs in with the ministry account only"),
    "directory_unavailable": _l("the directory could not be reached"),
    "directory_unknown_user": _l("user name unknown to the directory"),
    "directory_wrong_password": _l("wrong directory password"),
    "directory_ambiguous": _l("the directory names several people"),
    # why the directory (mooc/directory/ldap.py: Active Directory's bind codes) refused the person
    "directory_not_permitted_now": _l("the directory does not let this account sign in at this hour"),
    "directory_not_permitted_here": _l("the directory does not let this account sign in from here"),
    "directory_password_expired": _l("the directory password has expired"),
    "directory_account_disabled": _l("the directory account is disabled"),
    "directory_account_expired": _l("the directory account has expired"),
    "directory_must_change_password": _l("the directory asks for a new password first"),
    "directory_account_locked": _l("the directory account is locked"),
    # why the ministry's sign-in service's answer was refused (mooc/directory/oidc.py REASONS)
    "state": _l("the sign-in link had expired or was already used"),
    "provider": _l("the sign-in service refused or could not be reached"),
    "token": _l("the sign-in service gave no usable token"),
    "signature": _l("the token's signature is not valid"),
    "issuer": _l("the answer names another issuer than the one configured"),
    "audience": _l("the token was issued for another application"),
    "nonce": _l("the token belongs to another sign-in"),
    "expired": _l("the token has expired or is not valid yet"),
    "claims": _l("what the sign-in service says of the person cannot be used"),
    # why a "forgot password" mail was not sent (mooc/auth/recovery.py)
    "no_active_account": _l("no active account has this address"),
    "rate_limited": _l("asked too often: wait before asking again"),
    "mail_error": _l("the mail server did not take the mail"),
    # why a report by e-mail was not sent (mooc/reports/scheduled.py)
    "account disabled": _l("the account is disabled"),
    "no longer reads reports": _l("the account no longer reads reports"),
    "unit outside the person's scope": _l("the unit is outside the person's scope"),
    "unit outside the scope": _l("the unit is outside the person's scope"),
    "filter course no longer exists": _l("a course the report is filtered on no longer exists"),
    "filter position no longer exists": _l("a position the report is filtered on no longer exists"),
    "filter program no longer exists": _l("a programme the report is filtered on no longer exists"),
    "edited": _l("corrected by an administrator"), "roster import": _l("a roster import"),
}
# Why the directory or the sign-in service named a person the roster does not let in
# (mooc/directory/matching.py NoMatch): as OpenID Connect records it, and as LDAP does ("roster_").
NOT_ON_ROSTER = {
    "unknown": _l("not on the staff roster"),
    "left": _l("the staff roster lists the person as having left"),
    "no_account": _l("no account on this platform"),
    "inactive": _l("the account on this platform is disabled"),
}
REASONS |= NOT_ON_ROSTER | {f"roster_{code}": name for code, name in NOT_ON_ROSTER.items()}
VIA = {"cli": _l("the command line"), "web": _l("the web")}
# An assignment rule's terms (mooc/training/rules.py _terms): its renewal, and "all" units.
RENEWALS = {RenewalMode.FULL: _l("the whole course again"),
            RenewalMode.CHANGED_ONLY: _l("changed lessons only")}
UNITS = {"all": _l("Every unit")}
# A report's filters (mooc/reports/queries.py ACCOUNT_FILTERS): the account filter's one value.
ACCOUNTS = {"cannot_sign_in": _l("Cannot sign in")}

# The stored codes a key holds, by key: their names (an unknown code reads as stored).
VALUES: dict[str, Mapping[Any, Any]] = {
    "method": METHODS, "second_factor": FACTORS, "proved_by": FACTORS, "way": WAYS,
    "local_password": LOCAL_PASSWORDS, "reason": REASONS, "via": VIA, "source": VIA,
    "role": ROLE_LABELS, "previous": ROLE_LABELS, "kind": {**REPORT_LABELS, **UNIT_KIND_LABELS},
    "frequency": FREQUENCY_LABELS, "field": FIELDS, "by": RESOLUTION_LABELS, "skipped": SKIP_LABELS,
    "held_by": SOURCE_LABELS, "renewal": RENEWALS, "units": UNITS, "account": ACCOUNTS,
}
# Numbers that name a row (an account, an import): written as stored, never grouped.
IDENTIFIERS = frozenset({"user_id", "import_id", "enrolment_id", "rule_id", "request_id", "subscription",
                         "course_id", "program_id", "unit", "course", "quiz", "program", "position", "units",
                         "positions", "parent", "scope", "commit", "checksum"})


def label(key: str) -> str:
    """The key's name; a key with none reads as stored."""
    name = KEYS.get(key)
    return str(name) if name is not None else key


def lines(details: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) per key, in the order the event wrote them."""
    return [(label(key), shown(key, value)) for key, value in (details or {}).items()]


def text(details: Mapping[str, Any] | None) -> str:
    """The lines as "label: value", one a line (the personal-data PDF)."""
    return "\n".join(f"{name}: {value}" for name, value in lines(details))


def shown(key: str, value: Any) -> str:
    """One value as people read it: a code by its name, yes or no, a date dd/mm/yyyy, a number
    as the language writes it (an identifier as stored), a list joined, a dictionary's keys named."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Mapping):
        return "; ".join(f"{_inner_label(key, inner)}: {shown(inner, item)}" for inner, item in value.items())
    if isinstance(value, (list, tuple)):
        return " → ".join(shown(key, item) for item in value) if _is_change(key, value) \
            else ", ".join(shown(key, item) for item in value)
    if isinstance(value, (int, float)):
        return _number(key, value)
    return _coded(key, str(value))


def _number(key: str, value: float) -> str:
    """A count or score as the language writes it (57.000, 1,5); an identifier as stored."""
    if key in IDENTIFIERS:
        return str(value)
    return format_number(value, None if isinstance(value, float) else 0)


def _inner_label(key: str, inner: str) -> str:
    """The key of a dictionary a detail holds: a skipped reason by its name, else as a key."""
    names = VALUES.get(key)
    if names is not None and names.get(inner) is not None:
        return str(names[inner])
    return label(inner)


def _is_change(key: str, value: list | tuple) -> bool:
    """[before, after] of a unit's name, parent or kind (``unit.updated``)."""
    return key in ("renamed", "parent", "kind") and len(value) == 2


def _coded(key: str, value: str) -> str:
    names = VALUES.get(key)
    if names is not None and names.get(value) is not None:
        return str(names[value])
    if key == "status":
        return status_label(value)
    if key == "period":
        return period(value)
    return dated(value)


_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def period(value: str) -> str:
    """A report mail's period as stored (mooc/reports/scheduled.py period_of: ISO week "2026-W10"
    or month "2026-03") as people write it: "tuần 10/2026", "03/2026"; anything else as stored."""
    if week := _WEEK.fullmatch(value):
        return _("week %(week)s of %(year)s", week=str(int(week.group(2))), year=week.group(1))
    if month := _MONTH.fullmatch(value):
        return f"{month.group(2)}/{month.group(1)}"
    return value


def dated(value: str) -> str:
    """An ISO date or time (as the details and the export store them) dd/mm/yyyy; any other text as it is."""
    if len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-" and value[:4].isdigit():
        try:
            if len(value) == 10:
                return format_date(date.fromisoformat(value))
            return format_datetime(datetime.fromisoformat(value))
        except ValueError:
            return value
    return value
