"""The administrators' page of reminders (what was sent, when and to whom, what failed, who
cannot sign in), and the reminders managers and training officers send by hand."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mooc import clock
from mooc.auth.access import permission_required
from mooc.auth.models import Permission
from mooc.config import settings
from mooc.i18n import gettext as _
from mooc.params import choice_arg, int_arg
from mooc.reminders import manual, messages, queries
from mooc.reminders.models import MANUAL_EVERY, ReminderKind, ReminderStatus
from mooc.reminders.schedule import Schedule, plan
from mooc.training import records
from mooc.training.models import Enrolment

bp = Blueprint("reminders", __name__, template_folder="templates")



def _choice(enum_type, name: str):
    value = choice_arg(name, [member.value for member in enum_type])
    return enum_type(value) if value else None


@bp.get("/admin/reminders/")
@permission_required(Permission.RUN_PLATFORM)
def log():
    status = _choice(ReminderStatus, "status")
    kind = _choice(ReminderKind, "kind")
    result = queries.log_page(status, kind, int_arg("page") or 1)
    today = clock.today()
    cannot_total, cannot = queries.cannot_sign_in(today)
    skipped_today = plan(today, Schedule.of(settings())).without_account
    args = {k: v for k, v in {"status": status and status.value, "kind": kind and kind.value}.items() if v}
    return render_template(
        "reminders/log.html",
        page=result,
        status=status,
        kind=kind,
        args=args,
        status_labels={s: label() for s, label in messages.STATUS_LABELS.items()},
        kind_labels={k: label() for k, label in messages.KIND_LABELS.items()},
        step_label=messages.step_label,
        cannot_total=cannot_total,
        cannot=cannot,
        skipped_today=skipped_today,
    )


# --- sent by hand ---------------------------------------------------------------------------------


def _selected_ids() -> list[int]:
    return [int(value) for value in request.form.getlist("enrolment") if value.isdigit()]


def _send(enrolments: list[Enrolment]):
    if not manual.all_allowed(current_user, enrolments):
        abort(404)  # not 403: nothing is learnt about people out of scope
    report = manual.remind(enrolments, actor=current_user._get_current_object())
    return render_template("reminders/manual.html", report=report, outcomes=manual.Outcome,
                           every_hours=int(MANUAL_EVERY.total_seconds() // 3600))


@bp.post("/training/people/<int:staff_id>/remind")
@permission_required(Permission.ACT_ON_PEOPLE)
def remind_person(staff_id: int):
    """One person: the courses posted (of theirs), or all they still have to do."""
    staff = records.visible_staff(current_user, staff_id)
    if staff is None or not records.may_act_on(current_user, staff):
        abort(404)
    ids = set(_selected_ids()) or set(manual.to_do(staff))
    enrolments = [e for e in manual.load(ids) if e.staff_id == staff.id]
    if not enrolments:
        flash(_("%(name)s has no required training left to finish.", name=staff.full_name), "info")
        return redirect(url_for("training.record", staff_id=staff.id))
    return _send(enrolments)


@bp.post("/reports/people/remind")
@permission_required(Permission.ACT_ON_PEOPLE)
def remind_selected():
    """The rows ticked on a list of people (one enrolment each)."""
    enrolments = manual.load(_selected_ids())
    if not enrolments:
        flash(_("Tick the people to remind first."), "warning")
        return redirect(url_for("reports.people", **_list_args()))  # type: ignore[arg-type]
    return _send(enrolments)


def _list_args() -> dict[str, str]:
    """The list's filters, posted back with the selection, to return to the same list."""
    return {key.removeprefix("list_"): value for key, value in request.form.items()
            if key.startswith("list_") and value}
