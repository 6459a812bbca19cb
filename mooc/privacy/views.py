"""Privacy pages: a person's own data (and the corrections they ask for), an administrator's
export on a written request, the audit log, the privacy notice. Thin: the logic is in
export, rights, audit_log, corrections and notice."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user

from mooc.auth.access import permission_required
from mooc.auth.models import Permission
from mooc.downloads import content_disposition
from mooc.extensions import db
from mooc.privacy import export, rights
from mooc.privacy.forms import RequestExportForm
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
                           sections=export.SECTIONS)


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
