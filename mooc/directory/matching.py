"""Match a person the directory vouched for to the roster: never create anyone from it.

The directory (LDAP or an OpenID provider) tells who the person is: a staff code and/or an
e-mail address. Only a roster entry that has not left, with an active account, lets them
in; every other case is refused with a message that says what to do."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from mooc.auth.models import User
from mooc.auth.passwords import normalise_email
from mooc.extensions import db
from mooc.i18n import gettext as _
from mooc.roster.models import Staff, StaffStatus
from mooc.text import clean


@dataclass(frozen=True)
class NoMatch(Exception):
    """The directory knows the person but the roster does not let them in."""

    reason: str  # "unknown", "left", "no_account", "inactive": for the audit trail

    def message(self) -> str:
        if self.reason == "left":
            return _("Your directory account is valid, but the staff roster lists you as "
                     "having left. Ask your unit's HR officer if this is wrong.")
        if self.reason in ("no_account", "inactive"):
            return _("Your directory account is valid, but you have no active account on "
                     "this platform. Ask an administrator to give you one.")
        return _("Your directory account is valid, but you are not on the staff roster. "
                 "Ask your unit's HR officer to add you.")


def named(*, by: str, staff_code: str | None = None, email: str | None = None) -> str:
    """Whom the directory named, as the roster is searched for them: the staff code
    (``by="staff_code"``) or the e-mail address (``by="email"``), normalised; "" for none. A
    refusal's audit event keeps it (``person``), which ties the user name typed to the person
    (``mooc.privacy.names``)."""
    if by == "staff_code":
        return clean(staff_code)
    if by == "email":
        return normalise_email(email)
    raise ValueError(f"match by staff_code or email, not {by!r}")


def _where(by: str, value: str) -> sa.ColumnElement[bool]:
    """The roster entry ``named()`` names: staff codes as written, addresses folded on both
    sides (Staff.email is stored folded, text.name_key), so no SQL lower() is asked."""
    return Staff.staff_code == value if by == "staff_code" else Staff.email == value


def account_named(*, by: str, staff_code: str | None = None, email: str | None = None) -> str | None:
    """The ``passwords.lock_key`` of the account of the roster entry the directory named (by staff
    code or e-mail, as ``match_person`` finds it), whatever the state of either; None when the
    roster has no such entry or it has no account. The sign-in counts a wrong password there,
    whichever of the person's names was typed."""
    value = named(by=by, staff_code=staff_code, email=email)
    if not value:
        return None
    address = db.session.scalar(sa.select(User.email).join(Staff, User.staff_id == Staff.id)
                                .where(_where(by, value)))
    return normalise_email(address) if address else None


def match_person(*, by: str, staff_code: str | None = None, email: str | None = None) -> User:
    """The account of the roster entry whose staff code (``by="staff_code"``) or e-mail
    (``by="email"``) the directory asserted; raises NoMatch otherwise."""
    value = named(by=by, staff_code=staff_code, email=email)
    if not value:
        raise NoMatch("unknown")
    row = db.session.execute(
        sa.select(Staff, User).outerjoin(User, User.staff_id == Staff.id).where(_where(by, value))
    ).first()
    if row is None:
        raise NoMatch("unknown")
    staff, user = row
    if staff.status == StaffStatus.LEFT:  # on leave still trains
        raise NoMatch("left")
    if user is None:
        raise NoMatch("no_account")
    if not user.active:
        raise NoMatch("inactive")
    return user
