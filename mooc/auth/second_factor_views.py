"""The second factor's pages: the code step of sign-in, and the account page's two-factor
section (set up, recovery codes, remembered browsers, turn off). Thin handlers over
second_factor.py."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from mooc.auth import audit, sessions, signin
from mooc.auth import second_factor as two_factor
from mooc.auth.access import public, safe_next
from mooc.auth.forms import PlainPostForm, SecondFactorForm
from mooc.auth.models import User
from mooc.config import settings
from mooc.database import writes
from mooc.errors import refuse
from mooc.i18n import gettext as _

bp = Blueprint("second_factor", __name__, template_folder="templates")


def _code_error(error: two_factor.CodeError) -> str:
    if isinstance(error, two_factor.CodeLocked):
        return _("Too many wrong codes. Try again in %(minutes)d minutes, or ask an administrator to "
                 "unlock your account (or to reset your second factor if you lost your phone).",
                 minutes=error.minutes)
    return _("That code is not right, or it was used already. Wait for the next code and try again.")


@bp.route("/login/code", methods=["GET", "POST"])
@public
def code():
    """The code step of sign-in: the password (or directory) was right; now the app's code."""
    if current_user.is_authenticated:
        return redirect(url_for("training.home"))
    waiting = two_factor.pending()
    if waiting is None:
        two_factor.end_pending()
        if request.method == "POST":
            flash(_("The sign-in took too long. Sign in again."), "error")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    error = None
    if form.validate_on_submit():
        user = waiting.user
        try:
            kind = two_factor.verify(user, form.code.data, address=request.remote_addr or "")
        except two_factor.CodeError as refused:
            error = _code_error(refused)
            audit.record("login.failed", actor=user, target=user.email, method=waiting.method,
                         reason="second_factor_locked" if isinstance(refused, two_factor.CodeLocked)
                         else "second_factor")
        else:
            response = signin.complete(user, method=waiting.method, next_url=waiting.next_url,
                                       second_factor=True, factor=kind)
            if kind == "recovery":
                flash(_("You used a recovery code: %(left)d left. Make new ones on your account page.",
                        left=two_factor.recovery_codes_left(user)), "info")
            if form.remember.data and two_factor.remember_days() > 0:
                value, max_age = two_factor.remember_cookie(user)
                response.set_cookie(two_factor.DEVICE_COOKIE, value, max_age=max_age, httponly=True,
                                    secure=settings().production, samesite="Lax")
            return response
    return render_template("auth/second_factor_code.html", form=form, error=error,
                           remember_days=two_factor.remember_days())


@bp.get("/account/two-factor")
@writes  # rarely: a session that never proved the factor a new role needs is ended here
def account():
    """The account page's two-factor section: what is on, and what the person can do."""
    user = current_user._get_current_object()
    row = two_factor.factor_of(user)
    next_url = safe_next(request.args.get("next"))
    if row is not None and row.confirmed_at is not None and two_factor.must_enrol_now(user):
        # Active, but this session never proved it (the role was granted since sign-in).
        return _sign_in_again(user)
    secret = two_factor.enrolment_secret(user)
    setup = None
    if secret is not None:
        uri = two_factor.provisioning_uri(user, secret)
        setup = {"qr": two_factor.qr_svg(uri, _("QR code to scan with the authenticator app")),
                 "secret": two_factor.grouped(secret)}
    form = SecondFactorForm(next=next_url or "")
    return render_template("auth/second_factor.html", row=row, setup=setup, form=form,
                           action_form=PlainPostForm(), required=two_factor.required(user),
                           must_enrol=two_factor.must_enrol_now(user), next_url=next_url,
                           codes_left=two_factor.recovery_codes_left(user) if row else 0,
                           remember_days=two_factor.remember_days())


def _sign_in_again(user: User) -> Response:
    sessions.end_session(user.current_session)
    logout_user()
    flash(_("Your role now needs a code from your authenticator app: sign in again."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/account/two-factor/setup")
def setup():
    if not PlainPostForm().validate_on_submit():
        return redirect(url_for("second_factor.account"))
    try:
        two_factor.begin_enrolment(current_user._get_current_object())
    except ValueError:
        refuse()
        flash(_("Two-factor sign-in is already on."), "info")
    return redirect(url_for("second_factor.account", next=safe_next(request.form.get("next"))))


@bp.post("/account/two-factor/confirm")
def confirm():
    """The first right code turns the authenticator on; the recovery codes are shown once."""
    user = current_user._get_current_object()
    form = SecondFactorForm()
    next_url = safe_next(form.next.data)
    if not form.validate_on_submit():
        return redirect(url_for("second_factor.account", next=next_url))
    try:
        codes = two_factor.confirm_enrolment(user, form.code.data, address=request.remote_addr or "")
    except two_factor.CodeError as refused:
        audit.record("second_factor.enrol_failed", target=user.email)
        flash(_code_error(refused), "error")
        return redirect(url_for("second_factor.account", next=next_url))
    if user.current_session is not None:
        user.current_session.second_factor = "totp"  # this session has just proved it
    audit.record("second_factor.enabled", target=user.email)
    return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url, first=True)


@bp.post("/account/two-factor/recovery-codes")
def recovery_codes():
    """Ten new recovery codes (the old ones stop working), after a right code from the app."""
    user = current_user._get_current_object()
    form = SecondFactorForm()
    if form.validate_on_submit():
        try:
            kind = two_factor.verify(user, form.code.data, address=request.remote_addr or "")
        except two_factor.CodeError as refused:
            flash(_code_error(refused), "error")
        else:
            codes = two_factor.new_recovery_codes(user)
            audit.record("second_factor.recovery_codes_renewed", target=user.email, proved_by=kind)
            return render_template("auth/recovery_codes.html", codes=codes, next_url=None, first=False)
    return redirect(url_for("second_factor.account"))


@bp.post("/account/two-factor/forget-browsers")
def forget_browsers():
    if PlainPostForm().validate_on_submit():
        two_factor.forget_devices(current_user._get_current_object())
        audit.record("second_factor.browsers_forgotten", target=current_user.email)
        flash(_("No browser is remembered any more: the code is asked at the next sign-in everywhere."),
              "success")
    return redirect(url_for("second_factor.account"))


@bp.post("/account/two-factor/off")
def turn_off():
    """Turn it off (only where the role does not require it), after a right code."""
    user = current_user._get_current_object()
    form = SecondFactorForm()
    if two_factor.required(user):
        refuse()
        flash(_("Your role requires two-factor sign-in: it cannot be turned off."), "error")
    elif form.validate_on_submit():
        try:
            two_factor.verify(user, form.code.data, address=request.remote_addr or "")
        except two_factor.CodeError as refused:
            flash(_code_error(refused), "error")
        else:
            two_factor.turn_off(user)
            audit.record("second_factor.disabled", target=user.email)
            flash(_("Two-factor sign-in is off."), "success")
    return redirect(url_for("second_factor.account"))
