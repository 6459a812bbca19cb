from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from mooc.fields import DayField
from mooc.i18n import lazy_gettext as _l


class RuleForm(FlaskForm):
    # a course's id, or "p<id>" for a programme (a rule's target: mooc.training.programs)
    course = SelectField(_l("Course"), coerce=str, validators=[InputRequired()])
    scope = RadioField(
        _l("Who must take it"),
        choices=[
            SelectChoice("units", _l("people in the chosen units (and every unit under them)")),
            SelectChoice("all", _l("people in every unit, including units created later")),
        ],
        default="units",
    )
    units = SelectMultipleField(_l("Units (and every unit under them)"), coerce=int)
    positions = SelectMultipleField(
        _l("Positions (none chosen: every position)"), coerce=int, validators=[Optional()]
    )
    due_kind = RadioField(
        _l("Due"),
        choices=[
            SelectChoice("days", _l("a number of days after assignment")),
            SelectChoice("date", _l("by a fixed date")),
        ],
        default="days",
    )
    due_days = IntegerField(
        _l("Days to complete"), default=90, validators=[Optional(), NumberRange(min=1, max=3650)]
    )
    due_on = DayField(_l("Due date"), validators=[Optional()])
    renew_months = IntegerField(
        _l("Renew every (months, empty: never)"), validators=[Optional(), NumberRange(min=1, max=120)]
    )
    renewal = RadioField(
        _l("At renewal"),
        choices=[
            SelectChoice("full", _l("the whole course again")),
            SelectChoice("changed-only", _l("only the lessons added or changed since the edition each person "
                                            "completed, and the course's quizzes")),
        ],
        default="full",
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])

    def validate_units(self, field: SelectMultipleField) -> None:
        if self.scope.data != "all" and not field.data:
            raise ValidationError(_l("Choose at least one unit, or choose every unit."))

    def validate_due_days(self, field: IntegerField) -> None:
        if self.due_kind.data == "days" and not field.data:
            raise ValidationError(_l("Give the number of days."))

    def validate_due_on(self, field: DayField) -> None:
        if self.due_kind.data == "date" and not field.data and not field.errors:  # not "not a date" twice
            raise ValidationError(_l("Give the due date."))


class EnrolForm(FlaskForm):
    course = SelectField(_l("Course"), coerce=int, validators=[InputRequired()])
    due_on = DayField(_l("Due date"), validators=[Optional()])


class ExemptForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class HistoryUploadForm(FlaskForm):
    file = FileField(_l("Completions file (CSV or XLSX)"), validators=[FileRequired()])


class ExtendForm(FlaskForm):
    due_on = DayField(_l("New due date"), validators=[InputRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class LegalRefreshersForm(FlaskForm):
    """Open refresher cycles for the people whose completions rested on a superseded document."""

    courses = SelectMultipleField(_l("Courses"), coerce=int, validators=[InputRequired()])
    due_on = DayField(_l("Due date"), validators=[InputRequired()])
