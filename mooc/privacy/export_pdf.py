"""A person's data (``export.gather``) as a readable PDF: one heading per section, one block per
row, labels in the request's language (Vietnamese first), dates dd/mm/yyyy, in the bundled font
that has every Vietnamese letter (as the certificates: mooc/training/certificate_pdf.py).

A stored code (a report's frequency ``weekly``, an enrolment's state ``in_progress``, a role)
is printed by the name the interface gives it (``VALUES``: the pages' own labels, in the
request's language). The JSON export keeps the codes: it is for machines, and a code means the
same in every language."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from fpdf import FPDF

from mooc.auth import audit_actions
from mooc.auth.labels import PURPOSE_LABELS, ROLE_LABELS
from mooc.formatting import format_number, format_percent
from mooc.i18n import gettext as _
from mooc.i18n import lazy_gettext as _l
from mooc.privacy import audit_details, corrections
from mooc.quizzes.attempts import STATUS_LABELS as ATTEMPT_LABELS
from mooc.reminders import messages as reminders
from mooc.reports.subscriptions import FREQUENCY_LABELS, REPORT_LABELS
from mooc.roster.display import IMPORT_KIND_LABELS
from mooc.roster.display import STATUS_LABELS as STAFF_STATUS_LABELS
from mooc.training.certificate_pdf import FONT_DIR, INK, MUTED, RED
from mooc.training.records import SOURCE_LABELS
from mooc.training.status import status_label

# Each field's name, by its key in the export (in the request's language, as the headings are).
LABELS = {
    "staff_code": _l("Staff code"), "full_name": _l("Full name"), "family_name": _l("Family name"),
    "middle_name": _l("Middle name"), "given_name": _l("Given name"), "email": _l("E-mail"),
    "unit_code": _l("Unit code"), "unit": _l("Unit"), "position": _l("Position"), "status": _l("Status"),
    "joined_on": _l("Joined on"), "left_on": _l("Left on"), "created_at": _l("Created at"),
    "updated_at": _l("Updated at"), "last_training_at": _l("Last training"),
    "pseudonymised_at": _l("Pseudonymised at"), "valid_from": _l("From"), "valid_to": _l("Until"),
    "import_id": _l("Import number"), "id": _l("Number"), "display_name": _l("Display name"),
    "role": _l("Role"), "active": _l("In use"), "last_login_at": _l("Last sign-in"),
    "password_changed_at": _l("Password changed at"), "has_password": _l("Has a password"),
    "scope_unit": _l("In charge of unit"), "user_id": _l("Account"), "last_seen_at": _l("Last used"),
    "expires_at": _l("Expires at"), "revoked_at": _l("Revoked at"), "ip": _l("IP address"),
    "user_agent": _l("Browser"), "purpose": _l("Purpose"), "used_at": _l("Used at"),
    "course_key": _l("Course code"), "course": _l("Course"), "cycle": _l("Cycle"),
    "required": _l("Required"), "source": _l("Source"), "state": _l("State"),
    "assigned_on": _l("Assigned on"), "due_on": _l("Due"), "started_at": _l("Started at"),
    "completed_at": _l("Completed at"), "expires_on": _l("Expires on"), "score": _l("Score"),
    "exempt_reason": _l("Reason for exemption"), "closed_at": _l("Closed at"), "note": _l("Note"),
    "code": _l("Certificate number"), "holder_name": _l("Holder"), "course_title": _l("Course"),
    "issued_at": _l("Issued at"), "lesson": _l("Lesson"), "quiz": _l("Quiz title"), "number": _l("Attempt"),
    "submitted_at": _l("Handed in at"), "max_score": _l("Highest score"), "percent": _l("Result"),
    "passed": _l("Passed"), "questions": _l("Questions"), "answers": _l("Answers given"),
    "results": _l("Result of each question"), "extra": _l("Extra attempts"), "granted_at": _l("Granted at"),
    "kind": _l("Kind"), "step": _l("Step"), "recipient": _l("Recipient"), "claimed_at": _l("Handled at"),
    "sent_at": _l("Sent at"), "field": _l("Field"), "value_then": _l("Value when reported"),
    "resolved_at": _l("Resolved at"), "resolution": _l("How it was resolved"),
    "resolution_note": _l("Resolution note"), "at": _l("At"), "action": _l("Action"), "target": _l("About"),
    "details": _l("Details"), "by": _l("By"), "filename": _l("File"), "rows": _l("Rows"),
    "roster_imports": _l("Roster imports"), "rules_created": _l("Assignment rules created"),
    "links_issued": _l("Invitation and reset links sent"), "exemptions_granted": _l("Exemptions granted"),
    "attempts_granted": _l("Extra quiz attempts given"),
    "corrections_resolved": _l("Correction requests resolved"), "user_name": _l("User name"),
    "first_at": _l("Tied to you since"), "confirmed_at": _l("Confirmed at"),
    "recovery_codes_left": _l("Recovery codes left"), "frequency": _l("Frequency"),
    "last_sent_at": _l("Last sent"), "last_used_at": _l("Last used"), "name": _l("Name of the token"),
    "prefix": _l("Start of the key"), "program": _l("Programme"), "program_key": _l("Programme code"),
    "steps_done": _l("Steps done"), "steps_required": _l("Required steps"),
    "service_tokens_made": _l("Service API tokens made"),
    "report_mail_set_up": _l("Report mail set up for addresses without an account"),
}


Row = Mapping[str, Any]


def _named(labels: Mapping[Any, Any]) -> Callable[[Any, Row], str]:
    """The label of a code (a lazy string, or a function that gives one); an unknown code as stored."""
    def name(value: Any, _row: Row) -> str:
        label = labels.get(value)
        if label is None:
            return str(value)
        return str(label() if callable(label) else label)
    return name


# The fields that hold a stored code, by (section or part of ``export.SECTIONS``, field): how each
# is named. tests/privacy/test_export.py checks that every code of every field is named.
VALUES: dict[tuple[str, str], Callable[[Any, Row], str]] = {
    ("person", "status"): _named(STAFF_STATUS_LABELS),
    ("roster_history", "status"): _named(STAFF_STATUS_LABELS),
    ("accounts", "role"): _named(ROLE_LABELS),
    ("account_links", "purpose"): _named(PURPOSE_LABELS),
    ("links_issued", "purpose"): _named(PURPOSE_LABELS),
    ("enrolments", "source"): _named(SOURCE_LABELS),
    ("enrolments", "state"): lambda value, _row: status_label(value),
    ("programs", "source"): _named(SOURCE_LABELS),
    ("quiz_attempts", "status"): _named(ATTEMPT_LABELS),
    ("reminders", "kind"): _named(reminders.KIND_LABELS),
    ("reminders", "step"): lambda value, row: reminders.step_label(row["kind"], value),
    ("reminders", "status"): _named(reminders.STATUS_LABELS),
    ("report_mail", "kind"): _named(REPORT_LABELS),
    ("report_mail", "frequency"): _named(FREQUENCY_LABELS),
    ("corrections", "field"): _named(corrections.FIELDS),
    ("corrections", "value_then"): lambda value, row: corrections.shown(row["field"], value),
    ("corrections", "status"): _named(corrections.STATUS_LABELS),
    ("corrections", "resolution"): _named(corrections.RESOLUTION_LABELS),
    ("audit_events", "action"): lambda value, _row: audit_actions.label(value),
    ("audit_events", "details"): lambda value, _row: audit_details.text(value),
    ("roster_imports", "kind"): _named(IMPORT_KIND_LABELS),
    # percentages as every page writes them ("85,5%"): a quiz attempt's, an enrolment's best score
    ("quiz_attempts", "percent"): lambda value, _row: format_percent(value),
    ("enrolments", "score"): lambda value, _row: format_percent(value),
}


def readable(section: str, row: Row) -> list[tuple[str, str]]:
    """A row of a section (or of a part of one) as the PDF prints it: (label, value) per field."""
    return [(str(LABELS.get(key) or key), _value(section, key, value, row)) for key, value in row.items()]


def _value(section: str, key: str, value: Any, row: Row) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if (section, key) in VALUES:
        return VALUES[section, key](value, row)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (int, float)):
        return _number(key, value)
    if isinstance(value, str):
        return audit_details.dated(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


# Numbers that name a row (a record's number, an attempt's, a cycle's): as stored, never grouped.
IDENTIFIERS = frozenset({"id", "import_id", "user_id", "number", "cycle"})


def _number(key: str, value: float) -> str:
    """A score, a percentage or a count as the language writes it (85,5 and 1.200 in Vietnamese;
    85.5 and 1,200 in English): a score keeps at least one decimal, as the pages show it."""
    if key in IDENTIFIERS:
        return str(value)
    if isinstance(value, float):
        return format_number(value, max(1, -int(Decimal(str(value)).normalize().as_tuple().exponent)))
    return format_number(value)


def _record(pdf: FPDF, section: str, row: Row) -> None:
    for label, text in readable(section, row):
        pdf.set_font("DejaVu", "B", 9)
        pdf.set_text_color(*MUTED)
        pdf.cell(48, 5, label)
        pdf.set_font("DejaVu", "", 9)
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _heading(pdf: FPDF, text: str, size: int = 13) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", size)
    pdf.set_text_color(*RED)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)


def _rows(pdf: FPDF, section: str, rows: list[Row]) -> None:
    if not rows:
        pdf.set_font("DejaVu", "", 9)
        pdf.cell(0, 6, _("(none)"), new_x="LMARGIN", new_y="NEXT")
    for row in rows:
        _record(pdf, section, row)


def render_export(data: Mapping[str, Any], sections: Mapping[str, str], title: str, subject: str,
                  stamp: str) -> bytes:
    """``sections``: section key -> its translated heading, in the order to print them."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"{title} {subject}")
    pdf.set_creator("mooc")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans-vi.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold-vi.ttf"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    _heading(pdf, title.upper(), 16)
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 7, subject, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 5, stamp, new_x="LMARGIN", new_y="NEXT")
    for key, heading in sections.items():
        value = data.get(key)
        _heading(pdf, heading)
        if isinstance(value, list):
            _rows(pdf, key, value)
        elif isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            for part, rows in value.items():
                _heading(pdf, str(LABELS.get(part) or part), 10)
                _rows(pdf, part, rows)
        else:
            _rows(pdf, key, [value] if value else [])
    return bytes(pdf.output())
