"""Accounts for people on the roster: invitations by e-mail, and roles granted by admins.

An invitation creates (or finds) the person's account, with no password yet, and mails a
one-time link to choose one. Nobody grants a role above their own, and only
administrators grant roles at all.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from mooc import mail
from mooc.auth import audit, recovery, sessions, tokens
from mooc.auth.access import grantable_roles
from mooc.auth.models import Permission, Role, User
from mooc.auth.tokens import TokenPurpose
from mooc.config import settings
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.roster import scope
from mooc.roster.models import OrgUnit, Staff, StaffStatus


class AccountError(DomainError):
    """Why an invitation or a grant cannot be done; ``code`` is stable, views translate it."""


def account_of(staff: Staff) -> User | None:
    return db.session.execute(sa.select(User).where(User.staff_id == staff.id)).scalar_one_or_none()


def invite(staff: Staff, actor: User) -> User:
    """Create or find the account of ``staff`` and e-mail an invitation link (valid 7 days).
    A training officer invites the people of their units, never an account above their role."""
    if not actor.can(Permission.MANAGE_ROSTER):
        raise AccountError("not_allowed")
    scope.require_staff(actor, staff)
    scope.require_account(actor, account_of(staff))
    if staff.status == StaffStatus.LEFT:
        raise AccountError("staff_left")
    if not staff.email:
        raise AccountError("no_email")
    # Every check before the first change: a refused invitation writes nothing.
    user = account_of(staff)
    if user is None:
        user = db.session.execute(sa.select(User).where(User.email == staff.email)).scalar_one_or_none()
        if user is not None and user.staff_id is not None:
            raise AccountError("email_in_use")
    if user is not None and not user.active:
        raise AccountError("account_disabled")
    if user is None:
        user = User(email=staff.email, display_name=staff.full_name, role=Role.TRAINEE, active=True)
        db.session.add(user)
    if user.staff_id is None:
        user.staff_id = staff.id
        db.session.flush()
    raw = tokens.issue(user, TokenPurpose.INVITE, created_by=actor)
    with force_locale(settings().default_locale):
        subject = _("Your account on the inspection training platform")
        text = _("Hello %(name)s,\n\n"
                 "An account has been opened for you on the training platform of the inspection "
                 "sector, where you will find your required courses, quizzes and certificates.\n\n"
                 "To choose your password, open this link within 7 days (it works once):\n\n%(link)s\n\n"
                 "Then sign in with this e-mail address: %(email)s",
                 name=staff.full_name, link=recovery.link(TokenPurpose.INVITE, raw), email=user.email)
    mail.send(mail.address(staff.full_name, user.email), subject, text)
    audit.record("invitation.sent", actor=actor, target=user.email, staff_code=staff.staff_code)
    return user


def grant_role(actor: User, user: User, role: Role, scope_unit: OrgUnit | None) -> None:
    """Give ``user`` a role (a scoped role, manager or training officer, needs a unit). Admins
    only, never above their own role, and an administrator cannot demote themselves (someone
    must stay in charge)."""
    if not actor.can(Permission.MANAGE_ACCOUNTS) or role not in grantable_roles(actor.role):
        raise AccountError("not_allowed")
    if user.id == actor.id and role != actor.role:
        raise AccountError("self_demotion")
    if role.scoped and scope_unit is None:
        raise AccountError("manager_needs_unit")
    before = (user.role, user.scope_unit_id)
    user.role = role
    user.scope_unit_id = scope_unit.id if role.scoped and scope_unit else None
    if before != (user.role, user.scope_unit_id):
        # Fewer rights take effect now: end the person's sessions so no page keeps old access.
        sessions.revoke_all(user)
        audit.record("role.granted", actor=actor, target=user.email, role=role.value,
                     previous=before[0].value, scope=scope_unit.code if scope_unit else None)
    db.session.flush()
