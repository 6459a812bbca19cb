"""Setting a password through a one-time link (an invitation or a reset), and asking for a
reset link by e-mail without revealing whether an address has an account.

An account whose role may not use a password kept on the platform (backends.may_use_local_password:
it signs in with the ministry account) gets no link: "forgot password" mails it how to sign in
instead, and a link it still holds sets nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import force_locale

from mooc import clock, mail
from mooc.auth import audit, backends, passwords, sessions, tokens
from mooc.auth.models import AuditEvent, User
from mooc.auth.tokens import AccountToken, TokenPurpose
from mooc.config import public_url, settings
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.i18n import gettext as _

log = logging.getLogger(__name__)

RESET_RATE_LIMIT = timedelta(minutes=5)  # one reset e-mail per account per 5 minutes


class TokenInvalid(DomainError):
    """The link is unknown, used, expired, or its account is disabled."""

    def __init__(self) -> None:
        super().__init__("token_invalid")


class PasswordRefused(DomainError):
    """The new password is not acceptable (``code``: a key of passwords.password_problem)."""


class LocalPasswordNotAllowed(DomainError):
    """The account's role signs in with the ministry account: no password is set for it here."""

    def __init__(self) -> None:
        super().__init__("local_password_not_allowed")


def link(purpose: TokenPurpose, raw: str, base: str | None = None) -> str:
    path = "invite" if purpose == TokenPurpose.INVITE else "reset"
    return f"{base or public_url()}/{path}/{raw}"


def request_reset(email: str) -> None:
    """Ask for a reset link for ``email``. The request does the same for every address (one
    audit event, one job): looking the account up, issuing the link and sending the mail happen
    after the answer (send_reset), so neither the answer nor its timing tells whether the
    address has an account, and a slow mail server delays nobody."""
    email = passwords.normalise_email(email)
    audit.record("password.reset_requested", target=email)
    base = public_url()  # the job runs after the request, which knows the address
    mail.after_request(lambda: send_reset(email, base), what="reset e-mail")


def send_reset(email: str, base: str | None = None) -> bool:
    """Send a reset link if ``email`` is an active account, in its own transactions (run after
    the request that asked, see request_reset). Returns whether the mail went out; the outcome
    is in the audit trail."""
    # The account row is locked until the link is committed: two requests racing (a double
    # click, two workers) cannot both pass the rate limit below. On SQLite the job's
    # transaction is a writer (BEGIN IMMEDIATE), which serialises them the same way.
    user = db.session.execute(
        sa.select(User).where(User.email == email).with_for_update()).scalar_one_or_none()
    if user is None or not user.active:
        return _not_sent(email, "no_active_account")
    if not backends.may_use_local_password(user):
        return _send_directory_hint(user, email, base)
    if tokens.recently_issued(user, TokenPurpose.RESET, RESET_RATE_LIMIT):
        return _not_sent(email, "rate_limited")
    raw = tokens.issue(user, TokenPurpose.RESET)
    with force_locale(settings().default_locale):
        subject = _("Reset your password")
        text = _("Hello %(name)s,\n\n"
                 "Someone (hopefully you) asked to reset the password of your account on the "
                 "training platform of the inspection sector. To choose a new password, open this "
                 "link within one hour:\n\n%(link)s\n\n"
                 "If you did not ask for this, ignore this e-mail: your password stays as it is.",
                 name=user.display_name, link=link(TokenPurpose.RESET, raw, base))
    user_id, to = user.id, mail.address(user.display_name, user.email)
    # The link exists before the mail that carries it leaves; and no transaction (on SQLite,
    # the write lock) is held while the mail server takes its time.
    db.session.commit()
    if not _send_or_record_why_not(to, subject, text, email, what=f"reset e-mail to account {user_id}"):
        return False
    audit.record("password.reset_sent", target=email)
    db.session.commit()
    return True


def _send_directory_hint(user: User, email: str, base: str | None) -> bool:
    """"Forgot password" for an account that signs in with the ministry account: a link would set
    a password that can never let it in, so the mail says how to sign in instead (as often as a
    reset link: once per RESET_RATE_LIMIT). The request's answer was the same as for any address."""
    since = clock.now() - RESET_RATE_LIMIT
    if db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "password.directory_hint_sent", AuditEvent.target == email,
            AuditEvent.at > since)):
        return _not_sent(email, "rate_limited")
    sign_in_page = f"{base or public_url()}/login"
    with force_locale(settings().default_locale):
        subject = _("How to sign in to the training platform")
        text = _("Hello %(name)s,\n\n"
                 "Someone (hopefully you) asked to reset the password of your account on the "
                 "training platform of the inspection sector.\n\n%(how)s\n\n"
                 "The sign-in page: %(link)s\n\n"
                 "If you did not ask for this, ignore this e-mail.",
                 name=user.display_name, how="\n\n".join(backends.where_to_sign_in()), link=sign_in_page)
    user_id, to = user.id, mail.address(user.display_name, user.email)
    # Recorded before the mail leaves (the rate limit above counts it), as a reset link is.
    audit.record("password.directory_hint_sent", target=email)
    db.session.commit()
    return _send_or_record_why_not(to, subject, text, email, what=f"sign-in help e-mail to account {user_id}")


def _send_or_record_why_not(to: str, subject: str, text: str, email: str, what: str) -> bool:
    """Send a "forgot password" mail; when the mail server refuses it, the audit trail says so
    (``password.reset_not_sent``, mail_error) and the answer is False."""
    try:
        mail.send(to, subject, text)
    except mail.MailError:
        log.exception("%s not sent", what)
        return _not_sent(email, "mail_error")
    return True


def _not_sent(email: str, reason: str) -> bool:
    """No "forgot password" mail went to ``email``: the audit trail says why (committed), and
    the answer is False."""
    audit.record("password.reset_not_sent", target=email, reason=reason)
    db.session.commit()
    return False


def check(raw: str, purpose: TokenPurpose) -> AccountToken:
    token = tokens.find(raw, purpose)
    if token is None:
        raise TokenInvalid()
    return token


def set_password_with_token(raw: str, purpose: TokenPurpose, password: str) -> User:
    """Spend the link, set the password, end every session of the account.

    Raises TokenInvalid, PasswordRefused when the password is not acceptable (the link is then
    still good for another try), or LocalPasswordNotAllowed when the account's role signs in with
    the ministry account (nothing is set, the link is left as it was).
    """
    token = check(raw, purpose)
    if not backends.may_use_local_password(token.user):
        raise LocalPasswordNotAllowed()
    if problem := passwords.password_problem(password):
        raise PasswordRefused(problem)
    try:
        tokens.use(token)
    except LookupError:
        raise TokenInvalid() from None
    user = token.user
    passwords.set_password(user, password, settings().password_method)
    sessions.revoke_all(user)
    # The link proved the mailbox: the lock that wrong passwords put on the account (often the
    # person's own, trying to remember) would refuse the new password for up to LOGIN_LOCK_MINUTES.
    key = passwords.lock_key(user)
    lock_lifted = passwords.lock_ends(key, clock.now()) is not None
    passwords.forget_failures(key)
    action = "invitation.accepted" if purpose == TokenPurpose.INVITE else "password.reset"
    audit.record(action, actor=user, target=user.email, **({"lock_lifted": True} if lock_lifted else {}))
    db.session.flush()
    return user
