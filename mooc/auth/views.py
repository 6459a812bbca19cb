"""Sign in, sign out, change password: thin handlers over passwords.py and sessions.py."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from mooc.auth import audit, backends, demo_accounts, passwords, sessions, signin
from mooc.auth.access import public, safe_next
from mooc.auth.forms import PASSWORD_PROBLEMS, ChangePasswordForm, login_form
from mooc.auth.models import Role
from mooc.config import settings
from mooc.i18n import gettext as _

bp = Blueprint("auth", __name__, template_folder="templates")

def _policy() -> passwords.ThrottlePolicy:
    config = settings()
    return passwords.ThrottlePolicy(config.login_max_failures, config.login_lock_minutes,
                                    config.login_address_max_failures)


def _locked_message(locked: passwords.SignInLocked, *, signing_in: bool = False) -> str:
    """Say which lock holds: the account's (an administrator can unlock it on the person's
    roster page) or only the client address's (too many failures from one network). The lock
    pauses passwords only: on the sign-in page, with an OpenID provider, it says that the
    provider's button still lets people in (to everyone alike: the page tells nothing of
    whether the account exists)."""
    if locked.named:
        message = _("Too many failed attempts. Try again in %(minutes)d minutes, "
                    "or ask an administrator to unlock your account.", minutes=locked.minutes)
    else:
        message = _("Too many failed attempts from this network. Try again in %(minutes)d minutes.",
                    minutes=locked.minutes)
    provider = settings().oidc
    if provider is None or not signing_in:
        return message
    return " ".join((message, _("The “Sign in with %(label)s” button still works.", label=provider.label)))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("training.home"))
    form = login_form()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    error = None
    if form.validate_on_submit():
        typed = passwords.normalise_email(form.email.data)
        try:
            # The client's address after ProxyFix (MOOC_PROXY_COUNT), for the per-address limit.
            found = backends.sign_in(form.email.data, form.password.data, _policy(),
                                     settings().password_method, address=request.remote_addr or "")
        except passwords.SignInLocked as locked:
            error = _locked_message(locked, signing_in=True)
            audit.record("login.failed", target=typed, reason="locked")
        except backends.DirectoryUnavailable:
            error = _("The directory cannot be reached just now. Try again in a few minutes.")
            audit.record("login.failed", target=typed, reason=backends.DirectoryUnavailable.reason)
        except backends.DirectoryRefused as refused:
            error = refused.message or _("Wrong user name, e-mail or password.")
            named: dict[str, Any] = {"person": refused.person} if refused.person else {}
            audit.record("login.failed", target=typed, reason=refused.reason, **named)
        except passwords.SignInError:
            error = _("Wrong e-mail or password.")
            audit.record("login.failed", target=typed)
        else:
            return signin.complete(found.user, method=found.method, next_url=form.next.data,
                                   login=found.login)
    return render_template("auth/login.html", form=form, error=error,
                           directory=backends.directory() is not None,
                           local_roles=_local_roles_shown(),
                           demo=demo_accounts.on_sign_in_page(), demo_password=demo_accounts.DEMO_PASSWORD)


def _local_roles_shown() -> list[Role] | None:
    """The roles that keep a password on the platform, in order, when not every role does."""
    roles = backends.local_roles()
    return None if roles is None else [role for role in Role if role in roles]


@bp.post("/logout")
def logout():
    elsewhere = signin.signed_out_elsewhere_url()  # the directory's own sign-out, when it has one
    sessions.end_session(current_user.current_session)
    audit.record("logout", target=current_user.email)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(elsewhere or url_for("auth.login"))


@bp.app_context_processor
def local_password_rule() -> dict[str, Any]:
    """The rule for passwords kept on the platform, for every page that offers one (the sign-in
    page, a person's roster page, the invitation pages): ``may_use_local_password(user or role)``."""
    return {"may_use_local_password": backends.may_use_local_password}


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    user = current_user._get_current_object()
    if not backends.may_use_local_password(user):
        return _no_local_password(user)
    form = ChangePasswordForm()
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            # Under the sign-in throttle: a borrowed session must not become a password oracle.
            passwords.confirm_password(user, form.current_password.data, _policy(),
                                       address=request.remote_addr or "")
        except passwords.SignInLocked as locked:
            errors.append(_locked_message(locked))
            audit.record("password.change_failed", target=user.email, reason="locked")
        except passwords.SignInError:
            errors.append(_("Your current password is not right."))
            audit.record("password.change_failed", target=user.email)
        else:
            if form.new_password.data != form.confirm.data:
                errors.append(_("The two new passwords are not the same."))
            elif problem := passwords.password_problem(form.new_password.data):
                errors.append(PASSWORD_PROBLEMS[problem]())
            else:
                passwords.set_password(user, form.new_password.data,
                                       settings().password_method)
                sessions.revoke_all(user, keep=user.current_session)
                audit.record("password.changed", target=user.email)
                flash(_("Your password is changed. Other devices have been signed out."), "success")
                return redirect(url_for("training.home"))
    return render_template("auth/change_password.html", form=form, errors=errors)


def _no_local_password(user):
    """The account page of a person whose role signs in with the ministry account only: no
    password form, but where their password lives. A POST made anyway changes nothing and
    checks nothing (no current password is tried, nothing counted): it says why, as the page's
    other refusals do, and the audit trail keeps it."""
    errors: list[str] = []
    if request.method == "POST":
        errors.append(_("Nothing was changed: there is no password on this platform to change."))
        audit.record("password.change_failed", target=user.email, reason="local_password_not_allowed")
    return render_template("auth/change_password.html", form=None, errors=errors,
                           elsewhere=backends.where_to_sign_in())
