"""The administrators' page of reminders: what was sent, when and to whom, and what failed."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from mooc.auth.access import permission_required
from mooc.auth.models import Permission
from mooc.params import choice_arg, int_arg
from mooc.reminders import messages, queries
from mooc.reminders.models import ReminderKind, ReminderStatus

bp = Blueprint("reminders", __name__, url_prefix="/admin/reminders", template_folder="templates")

STATUS_LABELS = {
    ReminderStatus.SENT: lambda: _("Sent"),
    ReminderStatus.FAILED: lambda: _("Failed"),
    ReminderStatus.PENDING: lambda: _("Being sent"),
}
KIND_LABELS = {
    ReminderKind.ASSIGNED: lambda: _("Course assigned"),
    ReminderKind.DUE: lambda: _("Before the due date"),
    ReminderKind.OVERDUE: lambda: _("Overdue"),
    ReminderKind.EXPIRY: lambda: _("Certificate expiry"),
    ReminderKind.DIGEST: lambda: _("Managers' weekly digest"),
}


def _choice(enum_type, name: str):
    value = choice_arg(name, [member.value for member in enum_type])
    return enum_type(value) if value else None


@bp.get("/")
@permission_required(Permission.RUN_PLATFORM)
def log():
    status = _choice(ReminderStatus, "status")
    kind = _choice(ReminderKind, "kind")
    result = queries.log_page(status, kind, int_arg("page") or 1)
    args = {k: v for k, v in {"status": status and status.value, "kind": kind and kind.value}.items() if v}
    return render_template(
        "reminders/log.html",
        page=result,
        status=status,
        kind=kind,
        args=args,
        status_labels={s: label() for s, label in STATUS_LABELS.items()},
        kind_labels={k: label() for k, label in KIND_LABELS.items()},
        step_label=messages.step_label,
    )
