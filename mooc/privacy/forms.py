"""The privacy pages' forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from mooc.i18n import lazy_gettext as _l

FORMATS = [SelectChoice("pdf", _l("PDF (to read and print)")),
           SelectChoice("json", _l("JSON (for a program)"))]


class RequestExportForm(FlaskForm):
    """An administrator exports a person's data on their written request: which request, and why."""

    reference = StringField(_l("Reference of the written request"),
                            validators=[DataRequired(), Length(max=100)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    format = RadioField(_l("Format"), choices=FORMATS, default="pdf", validators=[DataRequired()])


class CorrectionForm(FlaskForm):
    """A person says a field of their roster entry is wrong (the choices: corrections.FIELDS)."""

    field = SelectField(_l("What is wrong"), validators=[DataRequired()])
    note = TextAreaField(_l("What it should say"), validators=[DataRequired(), Length(max=500)])


class ResolveForm(FlaskForm):
    note = StringField(_l("Note (optional)"), validators=[Length(max=500)])
