"""Public pages for one-time links: accept an invitation, reset a password, ask for a reset."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, logout_user

from mooc.auth import backends, recovery
from mooc.auth.access import public
from mooc.auth.forms import PASSWORD_PROBLEMS, ForgotPasswordForm, SetPasswordForm
from mooc.auth.tokens import TokenPurpose
from mooc.errors import refuse
from mooc.i18n import gettext as _

bp = Blueprint("account", __name__, template_folder="templates")


@bp.after_request
def never_cached(response):
    """These pages show the e-mail of the account behind a link, to visitors who are not signed
    in (for whom the app-wide no-store does not apply): no browser or proxy may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/forgot", methods=["GET", "POST"])
@public
def forgot():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        recovery.request_reset(form.email.data)
        # The same answer whether or not the address has an account, and whatever its role.
        if backends.local_roles() is None:
            flash(_("If an account uses that address, a link to reset its password is on its way. "
                    "It works for one hour."), "info")
        else:
            flash(_("If an account uses that address, an e-mail is on its way: a link to choose a new "
                    "password (it works for one hour) or, for an account that signs in with the "
                    "ministry account, how to sign in."), "info")
        return redirect(url_for("auth.login"))
    return render_template("account/forgot.html", form=form, local_limited=backends.local_roles() is not None)


def _set_password(raw: str, purpose: TokenPurpose, template: str):
    try:
        token = recovery.check(raw, purpose)
    except recovery.TokenInvalid:
        refuse()
        return render_template("account/link_invalid.html", purpose=purpose.value), 404
    if not backends.may_use_local_password(token.user):
        return _signs_in_elsewhere(token.user.email)
    form = SetPasswordForm()
    errors: list[str] = []
    if form.validate_on_submit():
        if form.new_password.data != form.confirm.data:
            errors.append(_("The two new passwords are not the same."))
        else:
            try:
                recovery.set_password_with_token(raw, purpose, form.new_password.data)
            except recovery.PasswordRefused as problem:
                refuse()
                errors.append(PASSWORD_PROBLEMS[problem.code]())
            except recovery.TokenInvalid:
                refuse()
                return render_template("account/link_invalid.html", purpose=purpose.value), 404
            else:
                if current_user.is_authenticated:
                    logout_user()
                flash(_("Your password is set. Sign in with your e-mail and the new password."), "success")
                return redirect(url_for("auth.login"))
    return render_template(template, form=form, errors=errors, email=token.user.email)


def _signs_in_elsewhere(email: str):
    """A link of an account whose role signs in with the ministry account (its role changed, or
    the directory came, after the link left): no form, but where to sign in. A POST made anyway
    sets nothing (recovery.set_password_with_token would refuse it too) and says so."""
    posted = request.method == "POST"
    if posted:
        refuse()
    return render_template("account/signs_in_elsewhere.html", email=email, posted=posted,
                           how=backends.where_to_sign_in()), 403 if posted else 200


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def invite(token: str):
    return _set_password(token, TokenPurpose.INVITE, "account/invite.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset(token: str):
    return _set_password(token, TokenPurpose.RESET, "account/reset.html")
