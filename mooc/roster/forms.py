from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from mooc.i18n import lazy_gettext as _l


class UploadForm(FlaskForm):
    file = FileField(_l("Roster file (CSV or XLSX)"), validators=[FileRequired()])
    full = BooleanField(_l("This file is the whole roster: mark people who are not in it as left"))


class UnitsUploadForm(FlaskForm):
    file = FileField(_l("Units file (CSV or XLSX)"), validators=[FileRequired()])


class ApplyForm(FlaskForm):
    """The plan the admin saw (its fingerprint), the column mapping and the confirmation."""

    confirm = BooleanField(_l("Yes, mark these people as left"))


class UnitForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40),
                                               Regexp(r"^\S+$", message=_l("No spaces in a code."))])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = StringField(_l("Kind (e.g. central, province, section)"), validators=[Optional(), Length(max=40)])
    parent = SelectField(_l("Parent unit"), coerce=int, validate_choice=False)


class MergeForm(FlaskForm):
    target = SelectField(_l("Merge into"), coerce=int, validate_choice=False)
    confirm = BooleanField(_l("I understand: the people and sub-units move there and this unit closes"))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), validate_choice=False)
    scope = SelectField(_l("Unit (for a unit manager or a training officer)"), coerce=int,
                        validate_choice=False)


class ConfirmForm(FlaskForm):
    """A button that acts (invite a list, unlock, disable...): only the CSRF token."""


class EmailForm(FlaskForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
