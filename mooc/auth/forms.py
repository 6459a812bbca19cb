from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from mooc.auth import backends, passwords
from mooc.i18n import gettext as _
from mooc.i18n import lazy_gettext as _l

# What a person reads about a password passwords.password_problem() refuses (both password pages).
PASSWORD_PROBLEMS = {
    "too_short": lambda: _("Use at least %(n)d characters.", n=passwords.MIN_PASSWORD_LENGTH),
    "too_long": lambda: _("That password is too long."),
    "too_simple": lambda: _("That password is too simple."),
}


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class DirectoryLoginForm(LoginForm):
    """The sign-in form when a directory is on: the same fields, the directory's user name or an
    e-mail address in the first (a text field: a user name is not an e-mail address)."""

    email = StringField(_l("User name or e-mail"), validators=[DataRequired(), Length(max=254)],
                        render_kw={"autocomplete": "username", "autofocus": True,
                                   "autocapitalize": "none", "spellcheck": "false"})


def login_form() -> LoginForm:
    return DirectoryLoginForm() if backends.directory() is not None else LoginForm()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password again"), validators=[DataRequired()],
                            render_kw={"autocomplete": "new-password"})


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username", "autofocus": True})


class SetPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)],
                                 render_kw={"autocomplete": "new-password", "autofocus": True})
    confirm = PasswordField(_l("New password again"), validators=[DataRequired()],
                            render_kw={"autocomplete": "new-password"})


class SecondFactorForm(FlaskForm):
    """A code from the authenticator app (or, at sign-in, a recovery code)."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "autofocus": True,
                                  "autocapitalize": "off", "spellcheck": "false"})
    remember = BooleanField()
    next = HiddenField()


class PlainPostForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
