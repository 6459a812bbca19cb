"""Training pages: the trainee's home, records, certificates and their public check, and the
administrators' assignment rules, manual enrolment and exemptions.

Thin: each view reads its form, calls the training domain (queries, records, certificates,
exemptions, assign, rules) and words the refusals (``DomainError``) it catches."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from mooc import clock
from mooc.auth import audit
from mooc.auth.access import permission_required, public
from mooc.auth.models import Permission
from mooc.config import public_url, settings
from mooc.downloads import content_disposition, csv_bytes
from mooc.errors import refuse
from mooc.extensions import db
from mooc.formatting import format_datetime, format_number
from mooc.roster.models import Staff
from mooc.training import assign, certificates, exemptions, queries, records
from mooc.training import rules as rule_changes
from mooc.training.certificate_pdf import render_certificate, render_record
from mooc.training.forms import EnrolForm, ExemptForm, RuleForm
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentSource
from mooc.training.status import EnrolmentStatus

bp = Blueprint("training", __name__, template_folder="templates")


@bp.app_context_processor
def training_helpers() -> dict:
    return {"status_label": _status_label}


def _status_label(status: str) -> str:
    """The label of an enrolment status (``training.status``) for templates."""
    try:
        return EnrolmentStatus(status).label
    except ValueError:
        return status


@bp.get("/")
def home():
    staff = db.session.get(Staff, current_user.staff_id) if current_user.staff_id else None
    return render_template(
        "training/home.html", home=queries.home(current_user.id, staff), staff=staff, today=clock.today()
    )


@bp.post("/courses/<key>/join")
def join(key: str):
    course = queries.open_course(key) or abort(404)
    staff = db.session.get(Staff, current_user.staff_id) if current_user.staff_id is not None else None
    if staff is None:
        flash(_("Only people on the roster can join courses."), "warning")
        return redirect(url_for("courses.course", key=key))
    try:
        assign.enrol(staff, course.id, EnrolmentSource.SELF)
        flash(_("You joined the course."), "success")
    except assign.EnrolError as error:
        refuse()
        if error.code == "left":
            flash(_("You have left the roster: you cannot join courses."), "warning")
        else:
            flash(_("You are already enrolled in this course."), "info")
    return redirect(url_for("courses.course", key=key))


# --- certificates --------------------------------------------------------------------------------


@bp.get("/certificates/<code>.pdf")
def certificate_pdf(code: str):
    certificate = certificates.by_code(code)
    if certificate is None or not records.may_see(current_user, certificate.enrolment.staff):
        abort(404)
    verify_url = public_url() + url_for("training.verify", code=certificate.code)
    pdf = render_certificate(certificate, verify_url, settings().issuer)
    name = f"chung-nhan-{certificate.code}.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(name, inline=True)})


@bp.get("/verify/<code>")
@public
def verify(code: str):
    """Anyone may check a certificate: name, course, completion date, validity. Nothing more."""
    certificate, state = certificates.verify(code)
    return render_template("training/verify.html", certificate=certificate, state=state), (
        200 if certificate else 404
    )


# --- records --------------------------------------------------------------------------------------


def _visible_staff(staff_id: int) -> Staff:
    return records.visible_staff(current_user, staff_id) or abort(404)


@bp.get("/training/record")
def my_record():
    if current_user.staff_id is None:
        abort(404)
    return redirect(url_for("training.record", staff_id=current_user.staff_id))


@bp.get("/training/people/<int:staff_id>")
def record(staff_id: int):
    staff = _visible_staff(staff_id)
    rows = queries.record(staff)
    courses = queries.open_courses() if records.may_enrol_others(current_user, staff) else []
    enrol_form = EnrolForm()
    enrol_form.course.choices = [SelectChoice(c.id, c.title) for c in courses]
    return render_template(
        "training/record.html",
        staff=staff,
        rows=rows,
        enrol_form=enrol_form,
        exempt_form=ExemptForm(),
        can_enrol=bool(courses),
        can_exempt=current_user.can(Permission.MANAGE_TRAINING),
    )


@bp.get("/training/people/<int:staff_id>/record.pdf")
def record_pdf(staff_id: int):
    staff = _visible_staff(staff_id)
    rows = [cells for _row, cells in records.table(staff, lambda score: format_number(score, 1) + "%")]
    stamp = _(
        "Printed by %(name)s on %(when)s", name=current_user.display_name, when=format_datetime(clock.now())
    )
    pdf = render_record(
        staff.full_name,
        staff.staff_code,
        staff.unit.name,
        rows,
        records.headers(),
        _("Training record"),
        stamp,
    )
    audit.record("training.record_exported", target=staff.staff_code, format="pdf")
    name = f"ho-so-dao-tao-{staff.staff_code}.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(name, inline=True)})


@bp.post("/certificates/<code>/revoke")
@permission_required(Permission.MANAGE_TRAINING)
def revoke_certificate(code: str):
    certificate = certificates.by_code(code) or abort(404)
    form = ExemptForm()  # one required "reason" field
    if not form.validate_on_submit():
        flash(_("Give the reason for revoking the certificate."), "warning")
        return redirect(url_for("training.record", staff_id=certificate.enrolment.staff_id))
    try:
        certificates.revoke(certificate, form.reason.data, actor=current_user._get_current_object())
    except certificates.CertificateError:
        refuse()
        flash(_("This certificate was already revoked."), "info")
    else:
        flash(_("The certificate is revoked: its verification page says so."), "success")
    return redirect(url_for("training.record", staff_id=certificate.enrolment.staff_id))


@bp.get("/training/people/<int:staff_id>/record.csv")
def record_csv(staff_id: int):
    staff = _visible_staff(staff_id)
    table = [[_("Staff code"), _("Full name"), _("Course code"), *records.headers()]]
    for row, cells in records.table(staff, "{:.1f}".format):
        table.append([staff.staff_code, staff.full_name, row.course_code, *cells])
    audit.record("training.record_exported", target=staff.staff_code, format="csv")
    return Response(
        csv_bytes(table),
        mimetype="text/csv",
        headers={"Content-Disposition": content_disposition(f"ho-so-dao-tao-{staff.staff_code}.csv")},
    )


@bp.post("/training/people/<int:staff_id>/enrol")
@permission_required(Permission.ACT_ON_PEOPLE)
def enrol(staff_id: int):
    staff = _visible_staff(staff_id)
    form = EnrolForm()
    form.course.choices = [SelectChoice(c.id, c.title) for c in queries.open_courses()]
    if not form.validate_on_submit():
        flash(_("Choose a course and a due date."), "warning")
        return redirect(url_for("training.record", staff_id=staff.id))
    try:
        enrolment = assign.enrol(staff, form.course.data, EnrolmentSource.MANUAL, due_on=form.due_on.data)
    except assign.EnrolError as error:
        refuse()
        flash(
            _("%(name)s has left.", name=staff.full_name)
            if error.code == "left"
            else _("%(name)s is already enrolled in this course.", name=staff.full_name),
            "warning",
        )
        return redirect(url_for("training.record", staff_id=staff.id))
    audit.record(
        "training.enrolled",
        target=staff.staff_code,
        course_id=form.course.data,
        due_on=str(enrolment.due_on or ""),
    )
    flash(_("Enrolled."), "success")
    return redirect(url_for("training.record", staff_id=staff.id))


@bp.post("/training/enrolments/<int:enrolment_id>/exempt")
@permission_required(Permission.MANAGE_TRAINING)
def exempt(enrolment_id: int):
    enrolment = db.session.get(Enrolment, enrolment_id) or abort(404)
    form = ExemptForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for the exemption."), "warning")
        return redirect(url_for("training.record", staff_id=enrolment.staff_id))
    try:
        exemptions.exempt(enrolment, form.reason.data, actor=current_user._get_current_object())
    except exemptions.ExemptionError:
        refuse()
        flash(_("A completed course cannot be exempted."), "warning")
    else:
        flash(_("Exempted."), "success")
    return redirect(url_for("training.record", staff_id=enrolment.staff_id))


# --- assignment rules (administrators) ---------------------------------------------------------------


def _rule_form() -> RuleForm:
    form = RuleForm()
    choices = queries.rule_choices()
    form.course.choices = [SelectChoice(c.id, f"{c.title} ({c.code})") for c in choices.courses]
    form.units.choices = [SelectChoice(unit.id, "— " * depth + unit.name) for unit, depth in choices.units]
    form.positions.choices = [SelectChoice(p.id, p.title) for p in choices.positions]
    return form


@bp.get("/admin/rules")
@permission_required(Permission.MANAGE_TRAINING)
def rules():
    rows, counts = queries.rules_overview()
    return render_template("training/rules.html", rules=rows, counts=counts)


@bp.route("/admin/rules/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_TRAINING)
def new_rule():
    """Two steps: the form, then its effect (how many people, who) before anything is saved."""
    form = _rule_form()
    preview = None
    if form.validate_on_submit():
        draft = assign.RuleDraft(
            form.course.data,
            list(form.units.data),
            list(form.positions.data or []),
            form.due_days.data if form.due_kind.data == "days" else None,
            form.due_on.data if form.due_kind.data == "date" else None,
            form.renew_months.data or None,
        )
        preview = assign.preview(draft)
        if request.form.get("confirm") == "1":
            _rule, report = rule_changes.create_rule(draft, note=form.note.data or "",
                                              actor=current_user._get_current_object())
            flash(_("Rule saved: %(n)d people enrolled.", n=report.enrolled), "success")
            return redirect(url_for("training.rules"))
    return render_template("training/rule_form.html", form=form, preview=preview)


@bp.post("/admin/rules/<int:rule_id>/deactivate")
@permission_required(Permission.MANAGE_TRAINING)
def deactivate_rule(rule_id: int):
    rule = db.session.get(AssignmentRule, rule_id) or abort(404)
    try:
        report = rule_changes.deactivate_rule(rule, actor=current_user._get_current_object())
    except rule_changes.RuleError:
        refuse()
        flash(_("This rule is already switched off."), "warning")
    else:
        flash(_("Rule switched off: %(n)d open enrolments are no longer required.", n=report.closed),
              "success")
    return redirect(url_for("training.rules"))
