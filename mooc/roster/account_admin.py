"""What an administrator does to a person's account from the roster: send a password-reset
link, unlock it after too many failed sign-ins, reset its second factor, disable and re-enable
it, and correct the person's e-mail (the roster's and the account's together).

Every action checks first and raises ``AccountError`` (nothing written) when refused, then
writes and records an audit event. Only accounts with ``Permission.MANAGE_ACCOUNTS`` act,
and only on people they may see.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale

from mooc import clock, mail
from mooc.auth import audit, backends, passwords, recovery, second_factor, sessions, tokens
from mooc.auth.models import Permission, Role, User
from mooc.auth.tokens import TokenPurpose
from mooc.config import settings
from mooc.extensions import db
from mooc.i18n import gettext as _
from mooc.roster import queries
from mooc.roster.accounts import AccountError, account_of
from mooc.roster.importer import EMAIL_RE
from mooc.roster.models import Staff, StaffStatus


def _account(actor: User, staff: Staff) -> User:
    """The account of ``staff`` that ``actor`` may act on, or AccountError."""
    if not actor.can(Permission.MANAGE_ACCOUNTS) or not queries.can_see(actor, staff):
        raise AccountError("not_allowed")
    user = account_of(staff)
    if user is None:
        raise AccountError("no_account")
    return user


def send_reset_link(actor: User, staff: Staff) -> User:
    """Mail the person a link to choose a new password (valid one hour), as "forgot password"
    does, but at once and without its rate limit: the administrator asked. The mail is sent in
    the request; if it cannot go, MailError (the caller refuses: no link is kept). Refused for an
    account whose role signs in with the ministry account (backends.may_use_local_password)."""
    user = _account(actor, staff)
    if not user.active:
        raise AccountError("account_disabled")
    if not backends.may_use_local_password(user):
        raise AccountError("signs_in_elsewhere")  # its role signs in with the ministry account only
    if user.password_hash is None:
        raise AccountError("not_yet_accepted")  # send the invitation again instead
    raw = tokens.issue(user, TokenPurpose.RESET, created_by=actor)
    with force_locale(settings().default_locale):
        subject = _("Reset your password")
        text = _("Hello %(name)s,\n\n"
                 "An administrator of the training platform of the inspection sector sent you this "
                 "link to choose a new password for your account. Open it within one hour (it works "
                 "once):\n\n%(link)s\n\n"
                 "Until you use it, your current password keeps working.",
                 name=user.display_name, link=recovery.link(TokenPurpose.RESET, raw))
    mail.send(mail.address(user.display_name, user.email), subject, text)
    audit.record("password.reset_link_sent", actor=actor, target=user.email, staff_code=staff.staff_code)
    db.session.flush()
    return user


def unlock(actor: User, staff: Staff) -> User:
    """End whatever sign-in lock of the account holds, now: the lock of its passwords (the one an
    account has, whatever names were typed for it: passwords.lock_key; audit ``account.unlocked``)
    and the lock of its code step after too many wrong codes of the authenticator app
    (second_factor.code_lock_key; audit ``second_factor.unlocked``). AccountError when neither holds."""
    user = _account(actor, staff)
    now = clock.now()
    key = passwords.lock_key(user)
    password_locked = passwords.lock_ends(key, now) is not None
    code_locked = second_factor.code_lock_ends(user, now) is not None
    if not password_locked and not code_locked:
        raise AccountError("not_locked")
    if password_locked:
        passwords.forget_failures(key)
        audit.record("account.unlocked", actor=actor, target=user.email, staff_code=staff.staff_code)
    if code_locked:
        second_factor.unlock_code_step(user)
        audit.record("second_factor.unlocked", actor=actor, target=user.email, staff_code=staff.staff_code)
    db.session.flush()
    return user


def disable(actor: User, staff: Staff) -> User:
    """Disable the account and end its sessions at once. Nobody disables their own account,
    nor the last active administrator (someone must stay in charge)."""
    user = _account(actor, staff)
    if not user.active:
        raise AccountError("already_disabled")
    if user.id == actor.id:
        raise AccountError("self_disable")
    if user.role == Role.ADMIN and _other_active_admins(user) == 0:
        raise AccountError("last_admin")
    user.active = False
    ended = sessions.revoke_all(user)
    audit.record("account.disabled", actor=actor, target=user.email, staff_code=staff.staff_code,
                 sessions_ended=ended)
    db.session.flush()
    return user


def reset_second_factor(actor: User, staff: Staff) -> User:
    """Forget the person's authenticator app and recovery codes (a lost phone) and end their
    sessions; their remembered browsers stop counting (the cookie names the old authenticator).
    At their next sign-in they set a new one up (or sign in without, if their role does not
    require it). Nobody resets their own: another administrator does."""
    user = _account(actor, staff)
    if user.id == actor.id:
        raise AccountError("self_second_factor")
    if second_factor.factor_of(user) is None:
        raise AccountError("no_second_factor")
    second_factor.turn_off(user)
    ended = sessions.revoke_all(user)
    audit.record("second_factor.reset", actor=actor, target=user.email, staff_code=staff.staff_code,
                 sessions_ended=ended)
    db.session.flush()
    return user


def enable(actor: User, staff: Staff) -> User:
    """Let the account sign in again (not for someone who has left: the roster says they are gone)."""
    user = _account(actor, staff)
    if user.active:
        raise AccountError("already_active")
    if staff.status == StaffStatus.LEFT:
        raise AccountError("staff_left")
    user.active = True
    audit.record("account.enabled", actor=actor, target=user.email, staff_code=staff.staff_code)
    db.session.flush()
    return user


def _other_active_admins(user: User) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(User).where(
        User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)).scalar_one()


def change_email(actor: User, staff: Staff, email: str) -> str:
    """Give the person a new e-mail, on the roster and on their account (which signs in with
    it). Refused when the address is not valid or another person or account uses it. The links
    already sent (to the old address) stop working. Returns the address as saved."""
    if not actor.can(Permission.MANAGE_ACCOUNTS) or not queries.can_see(actor, staff):
        raise AccountError("not_allowed")
    new = passwords.normalise_email(email)
    if len(new) > 254 or not EMAIL_RE.match(new):
        raise AccountError("invalid_email")
    if new == (staff.email or ""):
        raise AccountError("same_email")
    user = account_of(staff)
    other_staff = db.session.execute(
        sa.select(Staff.id).where(Staff.email == new, Staff.id != staff.id)).first()
    other_user = db.session.execute(sa.select(User.id).where(
        User.email == new, User.id != (user.id if user else -1))).first()
    if other_staff is not None or other_user is not None:
        raise AccountError("email_in_use")
    previous = staff.email
    staff.email = new
    staff.updated_at = clock.now()
    if user is not None:
        user.email = new
        tokens.spend_all(user)  # a link in the old mailbox must not open the account
    audit.record("account.email_changed", actor=actor, target=new, previous=previous,
                 user_id=user.id if user else None, staff_code=staff.staff_code, reason="edited")
    db.session.flush()
    return new
