"""Form fields the domains share: a date typed as dd/mm/yyyy.

An ``<input type=date>`` shows and takes the date in the order of the browser's language, not
the page's (mm/dd/yyyy in an English Chromium), and the platform writes dates dd/mm/yyyy
everywhere: so a date is a text box, read on the server by ``params.parse_day`` (which also
takes ISO ``yyyy-mm-dd``: what those inputs sent, in older links and scripts)."""

from __future__ import annotations

from datetime import date
from typing import Any

from wtforms import Field
from wtforms.widgets import TextInput

from mooc.formatting import format_date
from mooc.i18n import gettext as _
from mooc.params import parse_day

# How every date box is drawn, in a WTForms form or by hand (templates/_forms.html day_input):
# the phone's number pad first, no browser autofill of past values, ten characters.
DAY_INPUT = {"inputmode": "numeric", "autocomplete": "off", "maxlength": "10", "class": "day"}
SHOWN_BACK = 20  # characters of a value that is not a date quoted in the error


class DayField(Field):
    """A date typed as dd/mm/yyyy (``params.parse_day``), shown back as dd/mm/yyyy. A value that
    is not a date (31/02/2026) is an error naming the field and the way to write it; an empty box
    is no date (``data`` None: ``Optional``/``InputRequired`` decide whether that is allowed)."""

    widget = TextInput()
    data: Any  # a date, or None: typed as loosely as WTForms' own fields (InputRequired makes it a date)

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs["render_kw"] = {**DAY_INPUT, **(kwargs.get("render_kw") or {})}
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return format_date(self.data) if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        self.data = parse_day(text) if text else None
        if text and self.data is None:
            shown = text if len(text) <= SHOWN_BACK else text[:SHOWN_BACK] + "…"
            raise ValueError(_("%(field)s: “%(value)s” is not a date. Write it as dd/mm/yyyy, for example "
                               "31/12/2026.", field=self.label.text, value=shown))
