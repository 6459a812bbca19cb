"""Who checks the password typed on the sign-in page: the account's own (local) password, a
directory (LDAP / Active Directory), or both, under one throttle.

`auth` is the lowest domain and may not import `mooc.directory`, which sits above the roster.
So create_app registers the directory's check here (`install`), and the login view asks
`sign_in()`, which knows only the `Directory` shape: one callable that finds whom a user name
names (and the roster account it names, whose lock is the one that counts), another that tries
the password and returns the roster-matched account; both raise `DirectoryRefused` /
`DirectoryUnavailable`. With an OpenID provider and no
directory, create_app registers only the roles that keep a local password (`limit_local_passwords`):
the others sign in at the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app

from mooc import clock
from mooc.auth import passwords
from mooc.auth.models import Role, User
from mooc.config import ConfigError, settings
from mooc.extensions import db
from mooc.i18n import gettext as _
from mooc.text import clean

EXTENSION = "mooc_directory"
LOCAL_ROLES = "mooc_local_password_roles"  # with an OpenID provider and no directory


class DirectoryRefused(passwords.SignInError):
    """The directory did not let the person in.

    `reason` is for the audit trail ("directory_wrong_password", "roster_left"...). `message` is
    what the person reads when it says more than "wrong user name or password" (a directory
    account that is not on the roster), else None. `counts`: whether the refusal counts against
    the sign-in throttle (a wrong password does; a right password of someone not on the roster
    does not). `person`: whom the directory said it was (the staff code or e-mail it matched
    the roster by) when the password was right, for the audit trail, so that the retention
    purge knows the user name typed was theirs."""

    def __init__(self, reason: str, message: str | None = None, *, counts: bool = True,
                 person: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.counts = counts
        self.person = person


class DirectoryUnavailable(passwords.SignInError):
    """The directory could not be asked (down, a certificate refused, the service account
    refused): nobody's password was checked, so nothing is counted."""

    reason = "directory_unavailable"


@dataclass(frozen=True)
class Found:
    """Whom the directory found for the user name typed, before any password is tried there:
    its own record (for ``Directory.check``) and the ``passwords.lock_key`` of the roster account
    it names, if any: that account's lock and count are the ones the sign-in checks."""

    entry: object
    account: str | None


@dataclass(frozen=True)
class Directory:
    """A directory the sign-in page asks, registered by create_app."""

    method: str  # how the audit trail names it: "ldap"
    find: Callable[[str], Found]  # user name or e-mail -> whom the directory names (no password tried)
    check: Callable[[Found, str], User]  # (found, password) -> the roster's account
    local_roles: frozenset[Role] | None  # roles that may still use a local password; None: all
    probe: Callable[[], int]  # `mooc doctor`: how many people the directory shows; or DirectoryUnavailable
    match_by: str = "staff_code"  # how it finds the person on the roster: staff_code or email


@dataclass(frozen=True)
class SignedIn:
    user: User
    method: str  # "password" (a local password) or the directory's method
    login: str = ""  # the directory user name typed (normalised), when the directory let them in


def install(app: Flask, directory: Directory) -> None:
    app.extensions[EXTENSION] = directory


def directory(app: Flask | None = None) -> Directory | None:
    """The directory of `app` (or the current app), or None when there is none."""
    return (app or current_app).extensions.get(EXTENSION)


def limit_local_passwords(app: Flask, roles: frozenset[Role] | None) -> None:
    """People sign in through an OpenID provider, and no directory is asked on the sign-in
    form: only `roles` (None: every role) may still use a local password there."""
    app.extensions[LOCAL_ROLES] = roles


def local_roles(app: Flask | None = None) -> frozenset[Role] | None:
    """The roles that may sign in with a local password (None: every role)."""
    found = directory(app)
    if found is not None:
        return found.local_roles
    return (app or current_app).extensions.get(LOCAL_ROLES)


def may_use_local_password(who: User | Role, app: Flask | None = None) -> bool:
    """The one rule for passwords kept on the platform: whether this account (or role) may sign
    in with one, and so whether the platform may offer, mail a link to set, or set one for it.
    Every role may without a directory or an OpenID provider; with one, the roles of
    MOOC_LOCAL_PASSWORD_ROLES (always the administrator). The others sign in with their ministry
    account only: what would set them a password is refused, and says where to go instead
    (`where_to_sign_in`)."""
    roles = local_roles(app)
    return roles is None or (who if isinstance(who, Role) else who.role) in roles


@dataclass(frozen=True)
class WaysIn:
    """The ways into this app that decide whether an account can sign in at all (the one rule is
    ``mooc.roster.account_status``'s, in SQL and in Python). Hashable: a statement built once per
    process keys on it."""

    local_roles: frozenset[Role] | None  # the roles a password kept on the platform lets in; None: all
    directory_by: str | None  # how the sign-in form's directory (LDAP) finds a person on the roster
    # ("staff_code", "email"); None without one
    provider_by: str | None = None  # how the OpenID provider finds them; None without one. The only
    # way in that checks no password here, so the sign-in lock does not pause it

    @property
    def directory(self) -> bool:
        return self.directory_by is not None or self.provider_by is not None


def ways_in(app: Flask | None = None) -> WaysIn:
    """This app's ways in: who may use a local password, and how the sign-in form's directory
    (LDAP) and the OpenID provider, when there are, match people to the roster."""
    found = directory(app)
    provider = settings(app).oidc
    return WaysIn(local_roles(app), found.match_by if found is not None else None,
                  provider.match_by if provider is not None else None)


def how_to_sign_in_with_the_ministry_account() -> str:
    """Where the sign-in page lets a person in with their ministry account, in a sentence:
    every way it offers, the directory's password on the form (LDAP) and the provider's button
    (OpenID Connect). "" with neither."""
    config = settings()
    if config.oidc is not None and directory() is not None:
        return _("On the sign-in page, either type the user name (or e-mail address) and password of "
                 "your account in the ministry's directory, the one you sign in to your work computer "
                 "with, or choose “Sign in with %(label)s” and sign in there with your ministry account.",
                 label=config.oidc.label)
    if config.oidc is not None:
        return _("On the sign-in page, choose “Sign in with %(label)s” and sign in there with your "
                 "ministry account.", label=config.oidc.label)
    if directory() is not None:
        return _("On the sign-in page, type the user name (or e-mail address) and password of your "
                 "account in the ministry's directory, the one you sign in to your work computer with.")
    return ""


def where_to_sign_in() -> list[str]:
    """What a person who may not use a local password does instead, in three short paragraphs
    (the pages that refuse or replace a password show one each; mails join them)."""
    return [
        _("Your account signs in with your ministry account: the training platform keeps no password "
          "for it."), how_to_sign_in_with_the_ministry_account(),
        _("Forgot that password? Ask the staff who manage the ministry's accounts: this platform "
          "cannot change it.")]


def local_password_roles(names: tuple[str, ...] | None) -> frozenset[Role] | None:
    """MOOC_LOCAL_PASSWORD_ROLES as roles (None: every role); ConfigError for an unknown role or a
    list without the administrator, who must never be locked out by a directory that is down."""
    if names is None:
        return None
    known = {role.value: role for role in Role}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(f"MOOC_LOCAL_PASSWORD_ROLES names unknown roles ({', '.join(unknown)}): use "
                          f"{', '.join(known)} or all")
    if Role.ADMIN.value not in names:
        raise ConfigError("MOOC_LOCAL_PASSWORD_ROLES must include admin: an administrator needs a way in "
                          "when the directory is down or misconfigured")
    return frozenset(known[name] for name in names)


def sign_in(login: str, password: str, policy: passwords.ThrottlePolicy, method: str = "scrypt",
            address: str = "") -> SignedIn:
    """Whom the sign-in form's user name (or e-mail) and password prove, or a SignInError.

    Without a directory this is passwords.authenticate(), for the roles allowed to keep a local
    password when an OpenID provider signs the others in. With one, a local password counts for
    the roles allowed to keep one, and everything else is asked of the directory. Either way
    failures count against the account (``passwords.lock_key``) whatever name was typed for it
    (the directory says which account a user name or staff code names), an unknown name against
    itself, and against the client address; a lock is checked before the directory is asked to
    try the password.

    Before asking the directory it ends the current transaction (rolls it back): call it
    before writing anything in the request."""
    found = directory()
    if found is None:
        return SignedIn(_local_password(login, password, policy, method, address), "password")
    typed = passwords.normalise_email(login)
    now = clock.now()
    local = passwords.check_local_password(typed, password, method)  # one hash, whatever the case
    passwords.refuse_if_locked(typed, address, now)  # an account's e-mail is its lock's key
    if local is not None and _may_keep_local(local):
        passwords.signed_in(local, typed, now)
        return SignedIn(local, "password")
    # A wrong guess at a local password that could have let someone in counts even when the
    # directory turns out to be down (else making it unreachable would lift the throttle).
    guessed_local = local is None and _may_keep_local(passwords.account(typed))
    attempt = _Attempt(typed, address, now, policy)
    try:
        user = attempt.ask(found, clean(login), password)  # NFC: as the directory stores names
    except DirectoryRefused as refused:
        if local is not None and refused.reason.startswith("directory_"):
            # The password is this account's local one, which its role may not use any more.
            refused = DirectoryRefused("local_password_not_allowed")
        raise attempt.counted(refused, refused.counts) from None
    except DirectoryUnavailable as unavailable:
        raise attempt.counted(unavailable, guessed_local) from None
    passwords.signed_in(user, typed, now)
    return SignedIn(user, found.method, login=typed)


@dataclass
class _Attempt:
    """One sign-in asked of the directory: whose count a refusal adds to (``key``: the account
    the directory found, else the name typed)."""

    key: str
    address: str
    now: datetime
    policy: passwords.ThrottlePolicy

    def ask(self, way: Directory, login: str, password: str) -> User:
        # The directory answers over the network, in seconds when it is slow or down: not inside
        # this request's transaction, which on SQLite holds the database's one write lock (a POST
        # begins as a writer). Nothing is written yet; what follows begins a new transaction.
        db.session.rollback()
        found = way.find(login)
        if found.account is not None and found.account != self.key:
            self.key = found.account  # the user name named this account: its lock, its count
            passwords.refuse_if_locked(self.key, "", self.now)  # the address's was checked
        db.session.rollback()  # again, before the password goes over the network
        return way.check(found, password)

    def counted(self, refusal: passwords.SignInError, counts: bool) -> passwords.SignInError:
        """``refusal``, or the lock it brought on when it ``counts`` (passwords.record_failure)."""
        if counts and (locked := passwords.record_failure(self.key, self.address, self.now,
                                                          self.policy)) is not None:
            return locked
        return refusal


def _local_password(login: str, password: str, policy: passwords.ThrottlePolicy, method: str,
                    address: str) -> User:
    """The account's own password, when no directory is asked. A role that must sign in at the
    OpenID provider is refused as a wrong password is (same page, counted by the throttle, audit
    reason `local_password_not_allowed`): the page must not tell that the password was right."""
    try:
        return passwords.authenticate(login, password, policy, method, address, roles=local_roles())
    except passwords.RoleNotAllowed:
        raise DirectoryRefused("local_password_not_allowed", _("Wrong e-mail or password.")) from None


def _may_keep_local(user: User | None) -> bool:
    """Whether `user` is an active account with a local password its role may still use."""
    return user is not None and user.active and bool(user.password_hash) and may_use_local_password(user)
