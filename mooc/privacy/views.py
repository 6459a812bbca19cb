"""Privacy pages: a person's own data (and the corrections they ask for), an administrator's
export on a written request, the audit log, the privacy notice. Thin: the logic is in
export, rights, audit_log, corrections and notice."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from mooc import accel
from mooc.auth import audit, audit_actions
from mooc.auth.access import permission_required, public
from mooc.auth.models import Permission
from mooc.downloads import content_disposition, csv_stream, slug
from mooc.errors import refuse
from mooc.extensions import db
from mooc.formatting import format_date, format_datetime
from mooc.i18n import gettext as _
from mooc.params import day_arg, int_arg, text_arg
from mooc.privacy import audit_details, audit_log, corrections, export, notice, rights
from mooc.privacy.forms import CorrectionForm, RequestExportForm, ResolveForm
from mooc.privacy.models import CorrectionRequest
from mooc.roster.models import Staff

bp = Blueprint("privacy", __name__, template_folder="templates")


def _download(file: rights.ExportFile) -> Response:
    inline = file.mimetype == "application/pdf"
    return Response(file.body, mimetype=file.mimetype,
                    headers={"Content-Disposition": content_disposition(file.name, inline=inline)})


@bp.get("/account/data")
def my_data():
    subject = export.subject_of_user(current_user._get_current_object())
    data = export.gather(subject)
    counts = {key: _count(data.get(key)) for key in export.SECTIONS}
    return render_template("privacy/my_data.html", subject=subject, counts=counts,
                           sections=export.SECTIONS, form=_correction_form(),
                           requests=corrections.of_person(subject.staff.id) if subject.staff else [],
                           fields=corrections.FIELDS)


def _correction_form() -> CorrectionForm:
    form = CorrectionForm()
    form.field.choices = [(key, str(label)) for key, label in corrections.FIELDS.items()]
    return form


@bp.post("/account/data/corrections")
def request_correction():
    user = current_user._get_current_object()
    staff = db.session.get(Staff, user.staff_id) if user.staff_id else None
    if staff is None:
        abort(404)
    form = _correction_form()
    if not form.validate_on_submit():
        flash(_("Choose what is wrong and say what it should be."), "warning")
        return redirect(url_for("privacy.my_data"))
    try:
        corrections.flag(staff, form.field.data, form.note.data, requested_by=user)
    except corrections.CorrectionError:
        refuse()
        flash(_("You already asked for this to be corrected: the request is being handled."), "info")
    else:
        flash(_("Your request was sent to the roster officers."), "success")
    return redirect(url_for("privacy.my_data"))


@bp.get("/privacy/corrections")
@permission_required(Permission.MANAGE_ROSTER)
def correction_list():
    user = current_user._get_current_object()
    return render_template("privacy/corrections.html", rows=corrections.listed_for(user),
                           fields=corrections.FIELDS, form=ResolveForm(),
                           can_resolve=user.can(Permission.MANAGE_ACCOUNTS))


@bp.post("/privacy/corrections/<int:request_id>/resolve")
@permission_required(Permission.MANAGE_ACCOUNTS)
def resolve_correction(request_id: int):
    correction = db.session.get(CorrectionRequest, request_id) or abort(404)
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(_("The note is too long."), "warning")
        return redirect(url_for("privacy.correction_list"))
    try:
        corrections.resolve(correction, actor=current_user._get_current_object(), note=form.note.data or "")
    except corrections.CorrectionError:
        refuse()
        flash(_("This request was already resolved."), "info")
    else:
        flash(_("The request is resolved."), "success")
    return redirect(url_for("privacy.correction_list"))


def _count(value: object) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        if value and all(isinstance(part, list) for part in value.values()):
            return sum(len(part) for part in value.values())
        return 1 if value else 0
    return 0


def _own_file(fmt: str) -> Response:
    user = current_user._get_current_object()
    return _download(rights.export_file(export.subject_of_user(user), fmt, actor=user))


@bp.get("/account/data.json")
def my_data_json():
    return _own_file("json")


@bp.get("/account/data.pdf")
def my_data_pdf():
    return _own_file("pdf")


@bp.route("/privacy/people/<int:staff_id>/export", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ACCOUNTS)
def export_person(staff_id: int):
    staff = db.session.get(Staff, staff_id) or abort(404)
    form = RequestExportForm()
    if form.validate_on_submit():
        return _download(rights.export_file(
            export.subject_of_staff(staff), form.format.data, actor=current_user._get_current_object(),
            reference=form.reference.data.strip(), reason=form.reason.data.strip()))
    return render_template("privacy/export_person.html", staff=staff, form=form)


# --- the audit log ------------------------------------------------------------------------------


def _audit_filters() -> audit_log.AuditFilters:
    """As asked for: ``audit_log.overview`` drops an action that is not one of the choices."""
    return audit_log.AuditFilters(action=text_arg("action", 60) or None, person=text_arg("person", 254),
                                  day_from=day_arg("from", _("From")), day_to=day_arg("to", _("Until")))


def _filter_args(filters: audit_log.AuditFilters) -> dict[str, str]:
    args = {"action": filters.action or "", "person": filters.person.strip(),
            "from": format_date(filters.day_from), "to": format_date(filters.day_to)}
    return {key: value for key, value in args.items() if value}


@bp.get("/admin/audit")
def audit_events():
    """Administrators read every event; managers and training officers those about their units."""
    user = current_user._get_current_object()
    if not audit_log.may_view(user):
        abort(403)
    units = audit_log.units_of(user)
    # the names of the scope and of the person asked for, read once; then the choices and the
    # count in one pass, the rows in another
    found = audit_log.overview(audit_log.reading(_audit_filters(), units))
    filters = found.filters
    if request.args.get("export") == "csv":
        return _audit_csv(found.reading)
    page = audit_log.page_of(found.reading, int_arg("page") or 1, total=found.total)
    return render_template("privacy/audit_log.html", page=page, actions=found.actions, filters=filters,
                           args=_filter_args(filters), details=audit_details.lines, scoped=units is not None,
                           action_label=audit_actions.label)


def _details(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


def _audit_csv(asked: audit_log.Reading) -> Response:
    """Named after the page (``nhat-ky-hoat-dong.csv``). Streamed as it is made; with
    MOOC_ACCEL_REDIRECT made whole into the spool, then sent by nginx (mooc/accel.py), as the
    reports' exports are: a log of years can be large."""
    header = [_("When"), _("Action"), _("Action code"), _("About"), _("By"), _("By (e-mail)"), _("Address"),
              _("Details")]

    def rows():
        yield header
        for row in audit_log.all_rows(asked):
            yield [format_datetime(row.at), audit_actions.label(row.action), row.action, row.target,
                   row.actor_name or "", row.actor_email or "", row.ip, _details(row.details)]

    audit.record("privacy.audit_exported", target="audit_events", filters=_filter_args(asked.filters))
    headers = {"Content-Disposition": content_disposition(f"{slug(_('Audit log'))}.csv")}
    if accel.enabled():
        return accel.redirect_response(accel.SPOOL_LOCATION, accel.spool(csv_stream(rows()), ".csv"),
                                       mimetype="text/csv", headers=headers)
    return Response(stream_with_context(csv_stream(rows())), mimetype="text/csv", headers=headers)


# --- the privacy notice -------------------------------------------------------------------------


@bp.get("/privacy")
@public
def notice_page():
    return render_template("privacy/notice.html", html=notice.html())
