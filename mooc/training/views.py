"""Training pages: the trainee's home, records, certificates and their public check, and the
administrators' assignment rules, manual enrolment and exemptions.

Thin: each view reads its form, calls the training domain (queries, records, certificates,
exemptions, assign, rules) and words the refusals (``DomainError``) it catches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
from markupsafe import Markup, escape
from wtforms.fields.choices import SelectChoice

from mooc import clock, kept
from mooc.auth import audit
from mooc.auth.access import permission_required, public
from mooc.auth.models import Permission
from mooc.config import public_url, settings
from mooc.courses import access as course_access
from mooc.courses.models import Course, LegalDocument
from mooc.downloads import content_disposition, csv_stream
from mooc.errors import refuse
from mooc.extensions import db
from mooc.fields import DayField
from mooc.formatting import format_date, format_datetime, format_number, format_percent
from mooc.i18n import gettext as _
from mooc.i18n import lazy_gettext as _l
from mooc.i18n import request_locale
from mooc.roster import dry_run, scope, uploads
from mooc.roster import queries as roster_queries
from mooc.roster.display import grouped
from mooc.roster.forms import ApplyForm
from mooc.roster.models import Staff
from mooc.roster.units import unit_label
from mooc.training import (
    assign,
    cards,
    certificates,
    course_standing,
    deadlines,
    exemptions,
    first_steps,
    history,
    program_paths,
    queries,
    records,
    refreshers,
    standing,
    team,
)
from mooc.training import rules as rule_changes
from mooc.training.certificate_pdf import render_certificate, render_program_certificate, render_record
from mooc.training.forms import (
    EnrolForm,
    ExemptForm,
    ExtendForm,
    HistoryUploadForm,
    LegalRefreshersForm,
    RuleForm,
)
from mooc.training.holders import Joined
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentSource, Program, RenewalMode
from mooc.training.status import held_to_due_dates, status_label

bp = Blueprint("training", __name__, template_folder="templates")

DEFAULT_REFRESHER_DAYS = timedelta(days=30)  # a refresher's due date, unless the officer picks one


@bp.record_once
def _template_globals(state: Any) -> None:
    # Globals, not a context processor: the home page's cards are macros rendered outside the
    # page's context (mooc/training/cards.py), and globals cost nothing per page.
    # The course page's own part (courses/_course_standing.html, and its kept page's filler).
    state.app.jinja_env.globals.update(status_label=status_label, home_card=cards.card,
                                       course_standing_html=course_standing.html, own_name=_own_name)


@bp.app_context_processor
def training_helpers() -> dict:
    return {"course_standing": lambda course, outline=None: standing.of(current_user, course, outline)}


HOME_PAGES = "mooc.kept_homes"  # kept home pages (mooc/kept.py): one person's facts each


def _own_name() -> Markup:
    """The person's name in a page's text; in a page rendered to be kept, the hole the site's
    "name" filler fills (mooc/site/chrome.py ``FILLERS``)."""
    return kept.hole("name") if kept.rendering() else Markup(escape(current_user.display_name))  # noqa: S704


@bp.get("/")
def home():
    today = clock.today()
    seen = queries.glance(current_user.id, current_user.staff_id)
    # Kept (mooc/kept.py) when the page is only the person's courses: no programme's path, no
    # team, no first steps (their own statements, not in the glance). The key holds every fact
    # the page is built from, as the glance's one statement read them, and the day.
    plain = not (seen.follows_programmes or team.possible(current_user)
                 or current_user.can(Permission.RUN_PLATFORM))
    key = ("home", seen.facts, today, settings().reminder_due_soon_days, str(request_locale()),
           current_user.role, request.script_root, current_user.staff_id)
    if plain and (page := kept.ready(key, {}, HOME_PAGES)) is not None:
        return page
    mine = queries.home_of(seen, current_user.id, today)
    if plain and not mine.read_more:
        return kept.render_in(HOME_PAGES, key, "training/home.html", {}, home=mine,
                              staff_id=current_user.staff_id, team=None, paths=[], first_steps=[])
    return render_template(
        "training/home.html", home=mine, staff_id=current_user.staff_id,
        team=team.summary(current_user, today),
        paths=program_paths.paths_of(current_user.staff_id, today) if seen.follows_programmes else [],
        first_steps=first_steps.steps(current_user) if current_user.can(Permission.RUN_PLATFORM) else [],
    )


@bp.post("/courses/<key>/join")
def join(key: str):
    course = queries.open_course(key) or abort(404)
    if (locked := course_access.refused_if_locked(current_user.id, course)) is not None:
        return locked  # joining would lift the lock (a course chosen by the person is never locked)
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
        elif error.code == "exempt":
            flash(_("You are exempt from this course."), "info")
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
    return _certificate_response(certificate.code, pdf)


def _certificate_response(code: str, pdf: bytes) -> Response:
    """A certificate's PDF, shown in the browser, saved as chung-nhan-<code>.pdf."""
    disposition = content_disposition(f"chung-nhan-{code}.pdf", inline=True)
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": disposition})


# --- programmes: a person's path and its certificate --------------------------------------------


@bp.get("/programs/<key>")
def program(key: str):
    """The programme as a path: steps done, the current one, locked ones (and why), the due date."""
    found = program_paths.open_program(key) or abort(404)
    return render_template("training/program.html", path=program_paths.path_of(found, current_user.staff_id))


@bp.get("/programs/certificates/<code>.pdf")
def program_certificate_pdf(code: str):
    certificate = program_paths.certificate_by_code(code)
    if certificate is None or not records.may_see(current_user, certificate.enrolment.staff):
        abort(404)
    verify_url = public_url() + url_for("training.verify", code=certificate.code)
    program = certificate.enrolment.program
    pdf = render_program_certificate(certificate, verify_url, settings().issuer,
                                     [course.title for step in program.steps for course in step.courses])
    return _certificate_response(certificate.code, pdf)


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
    courses = queries.open_courses() if records.offers_enrolment(current_user, staff) else []
    enrol_form = EnrolForm()
    enrol_form.course.choices = [SelectChoice(c.id, c.title) for c in courses]
    return render_template(
        "training/record.html",
        staff=staff,
        rows=rows,
        programs=program_paths.record_of(staff),
        enrol_form=enrol_form,
        exempt_form=ExemptForm(),
        extend_form=ExtendForm(),
        can_enrol=bool(courses),
        can_exempt=current_user.can(Permission.MANAGE_TRAINING),
        can_act=records.may_act_on(current_user, staff),
        held=held_to_due_dates(staff.status),
        roster_link=current_user.can(Permission.READ_REPORTS) and roster_queries.can_see(current_user, staff),
    )


@bp.get("/training/people/<int:staff_id>/record.pdf")
def record_pdf(staff_id: int):
    staff = _visible_staff(staff_id)
    rows = [cells for _row, cells in records.table(staff, format_percent)]
    stamp = _(
        "Printed by %(name)s on %(when)s", name=current_user.display_name, when=format_datetime(clock.now())
    )
    pdf = render_record(
        staff.full_name,
        staff.staff_code,
        unit_label(staff.unit),
        rows,
        records.headers(),
        _("Training record"),
        stamp,
        (_("Programmes"), records.program_headers(),
         [cells for _row, cells in records.program_table(staff)]),
    )
    audit.record("training.record_exported", target=staff.staff_code, format="pdf")
    name = f"ho-so-dao-tao-{staff.staff_code}.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(name, inline=True)})


@bp.post("/certificates/<code>/revoke")
@permission_required(Permission.MANAGE_TRAINING)
def revoke_certificate(code: str):
    certificate = certificates.by_code(code) or abort(404)
    if not scope.in_scope(current_user, certificate.enrolment.staff.unit_id):
        abort(404)  # the domain refuses too; here nothing is said about people outside the scope
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
    programs = records.program_table(staff)
    if programs:  # a second table (the programmes) under the first, after an empty row
        table += [[], [_("Staff code"), _("Full name"), _("Programme code"), *records.program_headers()]]
        table += [[staff.staff_code, staff.full_name, row.program_code, *cells] for row, cells in programs]
    audit.record("training.record_exported", target=staff.staff_code, format="csv")
    return Response(
        stream_with_context(csv_stream(table)),
        mimetype="text/csv",
        headers={"Content-Disposition": content_disposition(f"ho-so-dao-tao-{staff.staff_code}.csv")},
    )


def _said_not_a_date(field: DayField) -> bool:
    """On the record's small forms (which go back to the record): a typed date that is not one,
    said as its field says it ("New due date: “31/02/2026” is not a date. Write it as dd/mm/yyyy...")."""
    for error in field.process_errors:
        flash(error, "warning")
    return bool(field.process_errors)


@bp.post("/training/people/<int:staff_id>/enrol")
@permission_required(Permission.ACT_ON_PEOPLE)
def enrol(staff_id: int):
    staff = _visible_staff(staff_id)
    if not records.may_enrol_others(current_user, staff):
        abort(403)
    form = EnrolForm()
    form.course.choices = [SelectChoice(c.id, c.title) for c in queries.open_courses()]
    if not form.validate_on_submit():
        if not _said_not_a_date(form.due_on) or form.course.errors:
            flash(_("Choose a course and a due date."), "warning")
        return redirect(url_for("training.record", staff_id=staff.id))
    try:
        enrolled = assign.enrol_explained(staff, form.course.data, EnrolmentSource.MANUAL,
                                          due_on=form.due_on.data, actor=current_user._get_current_object())
    except assign.EnrolError as error:
        refuse()
        flash(ENROL_REFUSALS[error.code](staff), "warning")
        return redirect(url_for("training.record", staff_id=staff.id))
    enrolment, joined = enrolled.enrolment, enrolled.joined
    if joined is None:
        audit.record("training.enrolled", target=staff.staff_code, course_id=form.course.data,
                     due_on=str(enrolment.due_on or ""))
        flash(_("Enrolled."), "success")
    else:
        audit.record("training.enrolment_joined", target=staff.staff_code, course_id=form.course.data,
                     enrolment_id=enrolment.id, held_by=joined.source.value, rule_id=joined.rule_id,
                     program_id=joined.program_id, due_before=str(joined.due_on or ""),
                     due_asked=str(form.due_on.data or ""), due_on=str(enrolment.due_on or ""))
        flash(_joined_said(staff, joined, enrolment, form.due_on.data), "success")
    return redirect(url_for("training.record", staff_id=staff.id))


ENROL_REFUSALS = {
    "left": lambda staff: _("%(name)s has left.", name=staff.full_name),
    "already": lambda staff: _("%(name)s is already enrolled in this course by a manager.",
                               name=staff.full_name),
    "exempt": lambda staff: _("%(name)s is exempt from this course: nothing to enrol.", name=staff.full_name),
}


def _due_said(day) -> str:
    return format_date(day) if day is not None else _("no due date")


def _joined_said(staff: Staff, joined: Joined, enrolment: Enrolment, asked) -> str:
    """What the manager reads when they enrolled a person in a course another source held:
    whose it was, its due date, and the due date it keeps now (the earlier one)."""
    said = {"name": staff.full_name, "due": _due_said(joined.due_on), "new_due": _due_said(enrolment.due_on)}
    programme = db.session.get(Program, joined.program_id) if joined.program_id is not None else None
    if joined.source == EnrolmentSource.RULE:
        rule = db.session.get(AssignmentRule, joined.rule_id) if joined.rule_id is not None else None
        text = _("%(name)s was already required to take this course by a rule (%(rule)s), due %(due)s; "
                 "now also assigned by you, due %(new_due)s.", rule=_rule_named(rule), **said)
    elif programme is not None and joined.required:
        text = _("%(name)s was already required to take this course by the programme “%(programme)s”, "
                 "due %(due)s; now also assigned by you, due %(new_due)s.", programme=programme.title, **said)
    elif programme is not None:
        text = _("%(name)s had this course as an option of the programme “%(programme)s”; now assigned "
                 "by you, due %(new_due)s.", programme=programme.title, **said)
    else:
        text = _("%(name)s had joined this course themselves (optional); now assigned by you, due "
                 "%(new_due)s.", **said)
    if asked is not None and enrolment.due_on is not None and asked > enrolment.due_on:
        text += " " + _("Your date %(asked)s is later: the earlier due date stays.", asked=format_date(asked))
    return text


def _rule_named(rule: AssignmentRule | None) -> str:
    """A rule as a manager recognises it: its note, else its units (or "every unit")."""
    if rule is None:
        return _("switched off")
    if rule.note:
        return rule.note
    if rule.all_units:
        return _("every unit")
    return ", ".join(unit_label(unit) for unit in rule.units)


@bp.post("/training/enrolments/<int:enrolment_id>/exempt")
@permission_required(Permission.MANAGE_TRAINING)
def exempt(enrolment_id: int):
    enrolment = db.session.get(Enrolment, enrolment_id) or abort(404)
    if not scope.in_scope(current_user, enrolment.staff.unit_id):
        abort(404)  # the domain refuses too; here nothing is said about people outside the scope
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


DEADLINE_REFUSALS = {
    "left": lambda e: _("This person has left the roster: no due date of theirs counts until they come "
                        "back."),
    "settled": lambda e: _("This course is completed, exempt or no longer required: its due date stays."),
    "no_due_date": lambda e: _("This course has no due date to extend."),
    "not_later": lambda e: _("The new due date must be after the current one."),
    "past": lambda e: _("The new due date cannot be in the past."),
}


@bp.post("/training/enrolments/<int:enrolment_id>/extend")
@permission_required(Permission.ACT_ON_PEOPLE)
def extend_due(enrolment_id: int):
    """A later due date for one cycle, with a reason (managers and officers in their scope)."""
    enrolment = db.session.get(Enrolment, enrolment_id) or abort(404)
    if not records.may_act_on(current_user, enrolment.staff):
        abort(404)
    back = redirect(url_for("training.record", staff_id=enrolment.staff_id))
    form = ExtendForm()
    if not form.validate_on_submit():
        if not _said_not_a_date(form.due_on) or form.reason.errors:
            flash(_("Give the new due date and the reason."), "warning")
        return back
    try:
        old = deadlines.extend(enrolment, form.due_on.data, form.reason.data,
                               actor=current_user._get_current_object())
    except deadlines.DeadlineError as error:
        refuse()
        flash(DEADLINE_REFUSALS[error.code](error), "warning")
        return back
    flash(_("Due date moved from %(old)s to %(new)s.", old=format_date(old),
            new=format_date(enrolment.due_on)), "success")
    return back


# --- assignment rules (administrators) ---------------------------------------------------------------


def _rule_form() -> RuleForm:
    form = RuleForm()
    choices = queries.rule_choices()
    courses = [SelectChoice(str(c.id), f"{c.title} ({c.code})") for c in choices.courses]
    form.course.choices = {_("Courses"): courses, _("Programmes"): [
        SelectChoice(f"p{p.id}", f"{p.title} ({p.code})") for p in choices.programs]} \
        if choices.programs else courses
    # A training officer's other units are shown but cannot be chosen (the domain refuses them too).
    allowed = scope.visible_units(current_user)
    form.units.choices = [SelectChoice(unit.id, "— " * depth + unit.name,
                                       render_kw={} if allowed is None or unit.id in allowed
                                       else {"disabled": True})
                          for unit, depth in choices.units]
    form.positions.choices = [SelectChoice(p.id, p.title) for p in choices.positions]
    return form


@bp.get("/admin/rules")
@permission_required(Permission.MANAGE_TRAINING)
def rules():
    rows, counts = queries.rules_overview()
    # A training officer sees every rule; those naming units outside their scope (or every
    # unit) are read-only for them.
    editable = {rule.id for rule in rows if rule_changes.in_scope(current_user, rule)}
    return render_template("training/rules.html", rules=rows, counts=counts, editable=editable)


def _target(value: str | None) -> tuple[int | None, int | None]:
    """The rule form's target: (course id, None), or (None, programme id) for "p<id>"."""
    value = value or ""
    if value.startswith("p") and value[1:].isdigit():
        return None, int(value[1:])
    return (int(value), None) if value.isdigit() else (0, None)


def _draft(form: RuleForm, course_id: int | None, program_id: int | None = None) -> assign.RuleDraft:
    every = form.scope.data == "all"
    return assign.RuleDraft(
        course_id,
        [] if every else list(form.units.data or []),
        list(form.positions.data or []),
        form.due_days.data if form.due_kind.data == "days" else None,
        form.due_on.data if form.due_kind.data == "date" else None,
        form.renew_months.data or None,
        all_units=every,
        renewal=RenewalMode(form.renewal.data or RenewalMode.FULL),
        program_id=program_id,
    )


def _lessons_preview(draft: assign.RuleDraft) -> refreshers.LessonsPreview | None:
    """A ``changed-only`` rule's preview: how many lessons each person covered will take."""
    if draft.renewal != RenewalMode.CHANGED_ONLY or not draft.renew_months:
        return None
    course = db.session.get(Course, draft.course_id)
    return refreshers.preview_lessons(course, assign.matching_staff_query(draft)) if course else None


@bp.route("/admin/rules/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_TRAINING)
def new_rule():
    """Two steps: the form, then its effect (how many people, who) before anything is saved."""
    form = _rule_form()
    preview = lessons = effect = None
    if form.validate_on_submit():
        draft = _draft(form, *_target(form.course.data))
        preview = assign.preview(draft)
        lessons = _lessons_preview(draft)
        effect = rule_changes.preview_create(draft) if request.form.get("confirm") != "1" else None
        if request.form.get("confirm") == "1":
            try:
                _rule, report = rule_changes.create_rule(draft, note=form.note.data or "",
                                                         actor=current_user._get_current_object())
            except scope.ScopeError as error:
                refuse()
                flash(error.message, "error")
            else:
                flash(_("Rule saved: %(n)s people enrolled.", n=format_number(report.enrolled)), "success")
                return redirect(url_for("training.rules"))
    return render_template("training/rule_form.html", form=form, preview=preview, rule=None, lessons=lessons,
                           effect=effect)


RULE_REFUSALS = {
    "inactive": _l("This rule is switched off: it cannot be changed."),
    "course": _l("A rule cannot move to another course: switch it off and create a new rule."),
}


def _edit_form(rule: AssignmentRule) -> RuleForm:
    form = _rule_form()
    del form.course  # an edit keeps the rule's course
    if request.method == "GET":
        form.scope.data = "all" if rule.all_units else "units"
        form.units.data = [unit.id for unit in rule.units]
        form.positions.data = [position.id for position in rule.positions]
        form.due_kind.data = "date" if rule.due_on else "days"
        form.due_days.data = rule.due_days
        form.due_on.data = rule.due_on
        form.renew_months.data = rule.renew_months
        form.renewal.data = RenewalMode(rule.renewal or RenewalMode.FULL).value
        form.note.data = rule.note
    return form


@bp.route("/admin/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_TRAINING)
def edit_rule(rule_id: int):
    """Two steps as for a new rule: the form, then what the change does to the people the rule
    covers and to their open enrolments, before anything is saved."""
    rule = db.session.get(AssignmentRule, rule_id) or abort(404)
    if not rule_changes.in_scope(current_user, rule):
        abort(403)
    form = _edit_form(rule)
    change = lessons = None
    if form.validate_on_submit():
        draft = _draft(form, rule.course_id, rule.program_id)
        lessons = _lessons_preview(draft)
        actor = current_user._get_current_object()
        try:
            if request.form.get("confirm") == "1":
                report = rule_changes.update_rule(rule, draft, note=form.note.data or "", actor=actor)
                flash(_("Rule saved: %(enrolled)s people enrolled, %(closed)s open enrolments no longer "
                        "required, %(due)s due dates changed.", enrolled=format_number(report.enrolled),
                        closed=format_number(report.closed), due=format_number(report.due_changed)),
                      "success")
                return redirect(url_for("training.rules"))
            change = rule_changes.preview_update(rule, draft, note=form.note.data or "")
        except rule_changes.RuleError as error:
            refuse()
            flash(str(RULE_REFUSALS[error.code]), "warning")
            return redirect(url_for("training.rules"))
        except scope.ScopeError as error:
            refuse()
            flash(error.message, "error")
    elif not rule.active:
        flash(str(RULE_REFUSALS["inactive"]), "warning")
        return redirect(url_for("training.rules"))
    return render_template("training/rule_form.html", form=form, preview=None, change=change, rule=rule,
                           lessons=lessons)


@bp.post("/admin/rules/<int:rule_id>/deactivate")
@permission_required(Permission.MANAGE_TRAINING)
def deactivate_rule(rule_id: int):
    """Two steps: how many open enrolments stop being required (and how many another active
    rule keeps), then, confirmed, the rule is switched off."""
    rule = db.session.get(AssignmentRule, rule_id) or abort(404)
    if not rule_changes.in_scope(current_user, rule):
        abort(403)  # listed read-only for a training officer: it covers units outside theirs
    try:
        if request.form.get("confirm") != "1":
            change = rule_changes.preview_deactivation(rule)
            return render_template("training/rule_deactivate.html", rule=rule, change=change)
        report = rule_changes.deactivate_rule(rule, actor=current_user._get_current_object())
    except rule_changes.RuleError:
        refuse()
        flash(_("This rule is already switched off."), "warning")
    else:
        flash(_("Rule switched off: %(n)s open enrolments are no longer required.",
                n=format_number(report.closed)),
              "success")
    return redirect(url_for("training.rules"))


# --- refreshers after a legal document was superseded ----------------------------------------------


@bp.route("/admin/legal/<int:document_id>/refreshers", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_TRAINING)
def legal_refreshers(document_id: int):
    """Two steps, never automatic: for a superseded document, per course resting on it, who
    would get a refresher cycle and how many lessons each would take; then, confirmed, the
    cycles are opened (a training officer: for the people of their units only)."""
    document = db.session.get(LegalDocument, document_id) or abort(404)
    if document.superseded_from is None:
        refuse()
        flash(_("%(number)s is not superseded: there is nothing to refresh.", number=document.number),
              "warning")
        return redirect(url_for("reports.legal"))
    units = scope.visible_units(current_user)
    plans = refreshers.plan_for_document(document.id, units)
    form = LegalRefreshersForm()
    form.courses.choices = [SelectChoice(plan.course.id, plan.course.title) for plan in plans]
    if request.method == "GET":
        form.courses.data = [plan.course.id for plan in plans if plan.to_open and not plan.still_rests]
        form.due_on.data = clock.today() + DEFAULT_REFRESHER_DAYS
    elif form.validate_on_submit():
        if form.due_on.data < clock.today():
            refuse()
            form.due_on.errors = [_("The due date has passed: choose a day from today on.")]
        else:
            reports = refreshers.open_for_document(document.id, set(form.courses.data), form.due_on.data,
                                                   units, actor=current_user._get_current_object())
            flash(_("Refresher cycles opened for %(n)s people in %(courses)s courses, due %(date)s.",
                    n=format_number(sum(r.opened for r in reports.values())),
                    courses=format_number(len(reports)), date=format_date(form.due_on.data)), "success")
            return redirect(url_for("reports.legal"))
    else:
        refuse()
    return render_template("training/legal_refreshers.html", document=document, plans=plans, form=form)


# --- completions done elsewhere, on the web (as `mooc training import-history`) -------------------


@bp.route("/admin/history/import", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_TRAINING)
def history_upload():
    form = HistoryUploadForm()
    moved, error = dry_run.receive(
        form, lambda data: history.plan_history(data, clock.today(), current_user._get_current_object()),
        "training.history_preview")
    return moved or render_template("training/history_upload.html", form=form, error=error)


@bp.route("/admin/history/import/<checksum>", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_TRAINING)
def history_preview(checksum: str):
    """The dry run of a completions file; applied all or nothing, only without errors and
    only the plan that was shown (its fingerprint)."""
    run = dry_run.open_plan(checksum, lambda path, _filename: history.plan_history(
        path, clock.today(), current_user._get_current_object()), "training.history_upload")
    if not isinstance(run, dry_run.DryRun):
        return run
    plan = run.plan
    fingerprint = uploads.fingerprint([plan.as_dict(), [c.key for c in plan.to_add]])
    errors: list[str] = []
    if request.method == "POST":
        refusal = dry_run.apply_refusal(fingerprint, bool(plan.issues), _(
            "The records changed since this preview. Check the new plan below and apply again."))
        if refusal:
            errors.append(refusal)
        else:
            added = history.apply_history(plan)
            audit.record("training.history_imported", target=run.label, added=added, source="web")
            run.applied()
            flash(_("%(n)s completions imported.", n=format_number(added)), "success")
            return redirect(url_for("training.history_upload"))
    return render_template("training/history_preview.html", plan=plan, errors=errors, checksum=checksum,
                           name=run.name, fingerprint=fingerprint, issue_lines=grouped(plan.issues),
                           shown=history.shown(plan), form=ApplyForm())
