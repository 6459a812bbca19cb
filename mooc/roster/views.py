"""Roster pages: browse people (scoped for managers), a person's page with their account,
the import (upload -> preview with column mapping -> apply), import history, and units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mooc.auth import backends, second_factor
from mooc.auth.access import grantable_roles, permission_required
from mooc.auth.labels import ROLE_LABELS
from mooc.auth.models import Permission, Role, User
from mooc.config import settings
from mooc.errors import refuse
from mooc.extensions import db
from mooc.formatting import format_number
from mooc.i18n import gettext as _
from mooc.i18n import lazy_gettext as _l
from mooc.mail import MailError
from mooc.params import choice_arg, int_arg, parse_int, text_arg
from mooc.roster import (
    account_admin,
    account_status,
    accounts,
    display,
    dry_run,
    importer,
    queries,
    scope,
    units,
    uploads,
)
from mooc.roster.display import (
    FIELD_LABELS,
    KIND_LABELS,
    SKIP_LABELS,
    STATUS_LABELS,
    UNIT_KIND_LABELS,
    grouped,
    show_value,
)
from mooc.roster.forms import (
    ApplyForm,
    ConfirmForm,
    EmailForm,
    MergeForm,
    RoleForm,
    UnitForm,
    UnitsUploadForm,
    UploadForm,
)
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory, StaffStatus
from mooc.roster.reader import STAFF_FIELDS, STAFF_HEADERS_SHOWN, UNIT_FIELDS, Sheet

bp = Blueprint("roster", __name__, template_folder="templates", url_prefix="/roster")

SHOWN_PER_KIND = 300

ACCOUNT_ERRORS = {
    "not_allowed": _l("You cannot do that."),
    "staff_left": _l("This person has left: they cannot be invited."),
    "no_email": _l("This person has no e-mail address on the roster."),
    "email_in_use": _l("Another person's account already uses this e-mail address."),
    "account_disabled": _l("This account is disabled."),
    "self_demotion": _l("You cannot change your own role."),
    "manager_needs_unit": _l("A unit manager or a training officer needs a unit: choose it."),
    "out_of_scope": _l("Some of these people are outside your units: nobody was invited."),
    "nobody_to_invite": _l("Nobody in this list can be invited now."),
    "no_account": _l("This person has no account yet: send an invitation first."),
    "not_yet_accepted": _l("This person has not chosen a password yet: send the invitation again instead."),
    "signs_in_elsewhere": _l("This person signs in with their ministry account: the platform keeps no "
                             "password for them, so no link was sent. Their password is changed where "
                             "the ministry's accounts are managed."),
    "not_locked": _l("This account is not locked."),
    "already_disabled": _l("This account is disabled already."),
    "already_active": _l("This account can already sign in."),
    "self_disable": _l("You cannot disable your own account."),
    "last_admin": _l("This is the last active administrator account: it cannot be disabled."),
    "invalid_email": _l("This is not a valid e-mail address."),
    "same_email": _l("This is the person's e-mail already."),
    "self_second_factor": _l("You cannot reset your own second factor: ask another administrator."),
    "no_second_factor": _l("This account has no second factor to reset."),
}
MAIL_FAILED = _l("The e-mail could not be sent. Try again later, or tell the operator.")


@bp.app_context_processor
def template_helpers() -> dict:
    return {"Role": Role, "Permission": Permission, "STATUS_LABELS": STATUS_LABELS,
            "ROLE_LABELS": ROLE_LABELS, "SKIP_LABELS": SKIP_LABELS, "unit_kind": units.kind_label}


# --- browsing ------------------------------------------------------------------------------


@bp.get("/")
@permission_required(Permission.READ_REPORTS)
def index():
    user = current_user._get_current_object()
    filters = _roster_filter()
    page = queries.roster_page(user, filters, page=int_arg("page") or 1,
                               per_page=queries.PER_PAGE)
    positions = db.session.execute(
        sa.select(Position).order_by(Position.rank, Position.title)).scalars().all()
    return render_template("roster/index.html", page=page, filters=filters, args=_filter_args(),
                           units=queries.unit_choices(user), positions=positions,
                           statuses=account_status.of_many(staff.id for staff in page.items))


def _roster_filter() -> queries.RosterFilter:
    status_arg = choice_arg("status", [status.value for status in StaffStatus])
    return queries.RosterFilter(
        unit_id=int_arg("unit"), position_id=int_arg("position"),
        status=StaffStatus(status_arg) if status_arg else None,
        query=text_arg("q"))


def _filter_args() -> dict[str, Any]:
    return {key: value for key, value in request.args.items()
            if key in ("unit", "position", "status", "q") and value}


@bp.route("/invite", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ROSTER)
def invite_filtered():
    """Invite everyone of the roster's filtered list who can be invited: a confirmation with
    the counts (GET), then the invitations (POST, the filters in the query string)."""
    user = current_user._get_current_object()
    people = queries.roster_people(user, _roster_filter())
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        return _send_invitations(people, "roster", url_for("roster.index", **_filter_args()))
    return render_template("roster/invite_many.html", plan=accounts.plan_invitations(people),
                           total=len(people), form=form, args=_filter_args(),
                           back=url_for("roster.index", **_filter_args()))


def _send_invitations(people: list[Staff], origin: str, back: str):
    try:
        report = accounts.invite_many(people, current_user._get_current_object(), origin=origin)
    except accounts.AccountError as error:
        refuse()
        flash(str(ACCOUNT_ERRORS[error.code]), "error")
    except MailError:
        refuse()  # not one mail went out: no account, no link
        flash(str(MAIL_FAILED), "error")
    else:
        flash(_report_message(report), "error" if report.not_sent else "success")
    return redirect(back)


def _report_message(report: accounts.InviteReport) -> str:
    parts = [_("Invitations sent: %(n)s.", n=format_number(report.invited))]
    if report.not_sent:
        parts.append(_("The mail server failed after that: %(n)s people were not invited. Try again "
                       "later (those invited now are skipped).", n=format_number(report.not_sent)))
    skipped = [f"{SKIP_LABELS[reason]}: {format_number(n)}" for reason, n in report.skipped.items() if n]
    if skipped:
        parts.append(_("Not invited: %(reasons)s.", reasons="; ".join(skipped)))
    if report.later:
        parts.append(_("%(n)s more can be invited: do it again for the next ones.",
                       n=format_number(report.later)))
    return " ".join(parts)


def _visible_staff(staff_id: int) -> Staff:
    staff = db.session.get(Staff, staff_id)
    if staff is None or not queries.can_see(current_user, staff):
        abort(404)  # not 403: a manager learns nothing about people outside their units
    return staff


@bp.get("/staff/<int:staff_id>")
@permission_required(Permission.READ_REPORTS)
def person(staff_id: int):
    staff = _visible_staff(staff_id)
    history = db.session.execute(
        sa.select(StaffHistory).where(StaffHistory.staff_id == staff.id)
        .order_by(StaffHistory.valid_from.desc(), StaffHistory.id.desc())).scalars().all()
    unit_names = units.unit_labels()
    position_titles = dict(db.session.execute(sa.select(Position.id, Position.title)).all())
    account = accounts.account_of(staff)
    role_form = email_form = None
    if current_user.can(Permission.MANAGE_ACCOUNTS):
        email_form = EmailForm(email=staff.email or "")
        if account is not None:
            role_form = _role_form(account)
    return render_template("roster/person.html", staff=staff, history=history, unit_names=unit_names,
                           position_titles=position_titles, account=account, role_form=role_form,
                           apply_form=ApplyForm(), action_form=ConfirmForm(), email_form=email_form,
                           account_status=account_status.of(staff),
                           lock_ends=account_status.password_lock_ends(account) if account else None,
                           code_lock_ends=second_factor.code_lock_ends(account) if account else None,
                           ways=account_status.ways_of(account, staff) if account else frozenset(),
                           offers_invitation=accounts.offers_invitation(staff, account),
                           has_second_factor=account is not None
                           and second_factor.factor_of(account) is not None)


def _role_form(account: User) -> RoleForm:
    form = RoleForm(role=account.role.value, scope=account.scope_unit_id or 0)
    form.role.choices = [(role.value, str(ROLE_LABELS[role])) for role in grantable_roles(current_user.role)]
    form.scope.choices = [(0, "—")] + [(unit.id, "— " * depth + unit.name)
                                       for unit, depth in units.tree()]
    return form


@bp.post("/staff/<int:staff_id>/invite")
@permission_required(Permission.MANAGE_ROSTER)
def invite(staff_id: int):
    staff = _visible_staff(staff_id)
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        user = accounts.invite(staff, current_user._get_current_object())
    except accounts.AccountError as error:
        refuse()
        flash(str(ACCOUNT_ERRORS[error.code]), "error")
    except scope.ScopeError as error:
        refuse()  # an account above the officer's role (the person is in scope: the view found them)
        flash(error.message, "error")
    except MailError:
        refuse()  # no invitation went out: no account, no link
        flash(str(MAIL_FAILED), "error")
        return redirect(url_for("roster.person", staff_id=staff_id))
    else:
        if backends.may_use_local_password(user):
            flash(_("Invitation sent to %(email)s. The link works for 7 days.", email=user.email), "success")
        else:
            flash(_("Invitation sent to %(email)s: the account can sign in now, with the ministry account "
                    "(no password on this platform).", email=user.email), "success")
    return redirect(url_for("roster.person", staff_id=staff_id))


@bp.post("/staff/<int:staff_id>/role")
@permission_required(Permission.MANAGE_ACCOUNTS)
def grant_role(staff_id: int):
    staff = _visible_staff(staff_id)
    account = accounts.account_of(staff)
    if account is None:
        abort(404)
    form = _role_form(account)
    if not form.validate_on_submit():
        abort(400)
    try:
        role = Role(form.role.data)
    except ValueError:
        abort(400)
    scope_unit = db.session.get(OrgUnit, form.scope.data) if form.scope.data else None
    try:
        local = accounts.grant_role(current_user._get_current_object(), account, role, scope_unit)
    except accounts.AccountError as error:
        refuse()
        flash(str(ACCOUNT_ERRORS[error.code]), "error")
    else:
        change = LOCAL_PASSWORD_CHANGES.get(local)
        flash(_("Role saved.") + (" " + str(change) % {"email": account.email} if change else ""), "success")
    return redirect(url_for("roster.person", staff_id=staff_id))


# What a role change that crosses MOOC_LOCAL_PASSWORD_ROLES did (accounts.grant_role).
LOCAL_PASSWORD_CHANGES = {
    accounts.LocalPassword.TAKEN_AWAY: _l(
        "This role signs in with the ministry account only: the password %(email)s kept on this "
        "platform is deleted, and its links no longer work."),
    accounts.LocalPassword.GIVEN_BACK: _l(
        "This role may also sign in with a password kept on this platform. %(email)s has none: it "
        "still signs in with the ministry account, or send an invitation to choose a password."),
}


ADMIN_ACTIONS = {
    "reset": (account_admin.send_reset_link,
              _l("A link to choose a new password was sent to %(email)s. It works for one hour.")),
    "unlock": (account_admin.unlock, _l("The account %(email)s is unlocked: it can sign in again now.")),
    "second-factor": (account_admin.reset_second_factor,
                      _l("The second factor of %(email)s is reset and its sessions are ended: it sets "
                         "up a new one at its next sign-in.")),
    "disable": (account_admin.disable,
                _l("The account %(email)s is disabled: it cannot sign in, and its sessions are ended.")),
    "enable": (account_admin.enable, _l("The account %(email)s can sign in again.")),
}


@bp.post("/staff/<int:staff_id>/account/<action>")
@permission_required(Permission.MANAGE_ACCOUNTS)
def account_action(staff_id: int, action: str):
    staff = _visible_staff(staff_id)
    if action not in ADMIN_ACTIONS:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    act, done = ADMIN_ACTIONS[action]
    try:
        user = act(current_user._get_current_object(), staff)
    except accounts.AccountError as error:
        refuse()
        flash(str(ACCOUNT_ERRORS[error.code]), "error")
    except MailError:
        refuse()  # the reset link was not sent: it is not kept
        flash(str(MAIL_FAILED), "error")
    else:
        flash(str(done) % {"email": user.email}, "success")
    return redirect(url_for("roster.person", staff_id=staff_id))


@bp.post("/staff/<int:staff_id>/email")
@permission_required(Permission.MANAGE_ACCOUNTS)
def change_email(staff_id: int):
    staff = _visible_staff(staff_id)
    form = EmailForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        email = account_admin.change_email(current_user._get_current_object(), staff, form.email.data)
    except accounts.AccountError as error:
        refuse()
        flash(str(ACCOUNT_ERRORS[error.code]), "error")
    else:
        flash(_("The e-mail is now %(email)s.", email=email), "success")
    return redirect(url_for("roster.person", staff_id=staff_id))


# --- import --------------------------------------------------------------------------------


def _numbers(counts: dict[str, int]) -> dict[str, str]:
    """Counts written for a message: 1.234, as everywhere on screen."""
    return {key: format_number(value) for key, value in counts.items()}


def _stored(checksum: str) -> Path:
    return uploads.stored(checksum) or abort(404)


@bp.route("/import", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ROSTER)
def upload():
    form = UploadForm()
    moved, error = dry_run.receive(form, importer.open_sheet, "roster.preview",
                                   full="1" if form.full.data else None)
    return moved or render_template("roster/upload.html", form=form, error=error,
                                    fields=STAFF_HEADERS_SHOWN, field_labels=FIELD_LABELS)


def _mapping_from(values) -> dict[int, str] | None:
    mapping: dict[int, str] = {}
    given = False
    for key, value in values.items():
        column = parse_int(key[4:], high=10_000) if key.startswith("col_") else None
        if column is not None:
            given = True
            if value in STAFF_FIELDS:
                mapping[column] = value
    return mapping if given else None


@bp.route("/import/<checksum>", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ROSTER)
def preview(checksum: str):
    values = dry_run.values()
    full = values.get("full") == "1"
    mapping = _mapping_from(values)
    actor = current_user._get_current_object()

    def make_plan(path: Path, filename: str) -> tuple[Sheet, importer.ImportPlan]:
        sheet = importer.open_sheet(path, mapping=mapping)
        return sheet, importer.plan_import(sheet, full=full, filename=filename, checksum=checksum,
                                           actor=actor, confirm_percent=settings().roster_confirm_percent)

    run = dry_run.open_plan(checksum, make_plan, "roster.upload")
    if not isinstance(run, dry_run.DryRun):
        return run
    sheet, plan = run.plan
    form = ApplyForm()
    errors: list[str] = []
    if request.method == "POST":
        named = request.form.getlist("confirm_admin")
        refusal = dry_run.apply_refusal(plan.fingerprint(), not plan.ok, _(
            "The roster or the column mapping changed since this preview. Check the new plan below "
            "and apply again."))
        if refusal:
            errors.append(refusal)
        elif plan.confirmation_needed and not form.confirm.data:
            errors.append(_("Tick the confirmation to mark this many people as left."))
        elif importer.admins_unconfirmed(plan, named):
            errors.append(_("Tick each administrator account the import disables to confirm it: %(emails)s.",
                            emails=", ".join(importer.admins_unconfirmed(plan, named))))
        else:
            record = importer.apply_plan(plan, actor, source="web",
                                         confirmed=bool(form.confirm.data), confirmed_admins=named)
            run.applied()
            flash(_("Import applied: %(added)s added, %(changed)s changed, %(moved)s moved, "
                    "%(deactivated)s marked as left, %(reactivated)s back.", **_numbers(plan.counts)),
                  "success")
            return redirect(url_for("roster.import_detail", import_id=record.id))
    unit_names, position_titles = display.names()
    return render_template("roster/preview.html", sheet=sheet, plan=plan, form=form, errors=errors,
                           checksum=checksum, name=run.name, full=full, fields=STAFF_FIELDS,
                           field_labels=FIELD_LABELS, kind_labels=KIND_LABELS, unit_names=unit_names,
                           position_titles=position_titles, shown=SHOWN_PER_KIND,
                           show=show_value, issue_lines=grouped(plan.issues), scope_unit=actor.scope_unit,
                           warning_lines=grouped(plan.warnings))


@bp.get("/imports")
@permission_required(Permission.MANAGE_ROSTER)
def imports():
    """Every import for the unscoped; a training officer sees the imports they made."""
    query = sa.select(RosterImport).order_by(RosterImport.at.desc()).limit(200)
    if not scope.unscoped(current_user):
        query = query.where(RosterImport.actor_id == current_user.id)
    records = db.session.execute(query).scalars().all()
    return render_template("roster/imports.html", records=records, kind_labels=KIND_LABELS)


@bp.get("/imports/<int:import_id>")
@permission_required(Permission.MANAGE_ROSTER)
def import_detail(import_id: int):
    record = _import_in_scope(import_id)
    labels = UNIT_KIND_LABELS if record.kind == "units" else KIND_LABELS
    added = accounts.added_by_import(record.id, current_user._get_current_object())
    return render_template("roster/import_detail.html", record=record, kind_labels=labels,
                           plan=accounts.plan_invitations(added) if added else None, form=ConfirmForm())


def _import_in_scope(import_id: int) -> RosterImport:
    """The import, if the user may see it: administrators all, an officer those they ran."""
    record = db.session.get(RosterImport, import_id)
    if record is None or not (scope.unscoped(current_user) or record.actor_id == current_user.id):
        abort(404)
    return record


@bp.post("/imports/<int:import_id>/invite")
@permission_required(Permission.MANAGE_ROSTER)
def invite_imported(import_id: int):
    """Invite the people this import added who can be invited (an e-mail, no working account)."""
    record = _import_in_scope(import_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    added = accounts.added_by_import(record.id, current_user._get_current_object())
    return _send_invitations(added, f"import {record.id}",
                             url_for("roster.import_detail", import_id=record.id))


# --- units ---------------------------------------------------------------------------------


@bp.get("/units")
@permission_required(Permission.MANAGE_ROSTER)
def unit_list():
    """The units the account may manage (a training officer: their unit's subtree)."""
    allowed = queries.visible_units(current_user)
    counts = dict(db.session.execute(
        sa.select(Staff.unit_id, sa.func.count()).where(Staff.status != StaffStatus.LEFT)
        .group_by(Staff.unit_id)).all())
    closed = [unit for unit in db.session.execute(sa.select(OrgUnit).where(OrgUnit.active.is_(False))
                                                  .order_by(OrgUnit.code)).scalars()
              if allowed is None or unit.id in allowed]
    shown = [(unit, depth) for unit, depth in units.tree() if allowed is None or unit.id in allowed]
    return render_template("roster/units.html", tree=shown, counts=counts, closed=closed)


def _parent_choices(exclude: set[int] | None = None) -> list[tuple[int, str]]:
    """Units to place a unit under: in the account's scope (no top level for a scoped role)."""
    allowed = queries.visible_units(current_user)
    top = [(0, "—")] if allowed is None else []
    return top + [(unit.id, "— " * depth + f"{unit.name} ({unit.code})")
                  for unit, depth in units.tree()
                  if (not exclude or unit.id not in exclude) and (allowed is None or unit.id in allowed)]


def _unit_in_scope(unit_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or not scope.in_scope(current_user, unit.id):
        abort(404)  # as for people: nothing is said about units outside the scope
    return unit


@bp.route("/units/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ROSTER)
def unit_new():
    form = UnitForm()
    form.parent.choices = _parent_choices()
    if form.validate_on_submit():
        code = form.code.data.strip()
        if db.session.execute(sa.select(OrgUnit.id).where(OrgUnit.code == code)).first():
            form.code.errors.append(_("A unit with this code exists already."))
        else:
            parent = db.session.get(OrgUnit, form.parent.data) if form.parent.data else None
            try:
                unit = units.create_unit(code=code, name=form.name.data, parent=parent,
                                         kind=form.kind.data or "", actor=current_user._get_current_object())
            except scope.ScopeError as error:
                refuse()
                form.parent.errors.append(error.message)
            else:
                flash(_("Unit created."), "success")
                return redirect(url_for("roster.unit_edit", unit_id=unit.id))
    return render_template("roster/unit_form.html", form=form, unit=None, merge_form=None)


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ROSTER)
def unit_edit(unit_id: int):
    unit = _unit_in_scope(unit_id)
    form = UnitForm(obj=unit, parent=unit.parent_id or 0)
    inside = units.subtree_ids(unit.id)
    form.parent.choices = _parent_choices(exclude=inside)
    if scope.is_scope_root(current_user, unit.id):
        # Their own unit stays where it is (its parent is outside their scope).
        form.parent.choices = [(unit.parent_id or 0, unit.parent.name if unit.parent else "—")]
    merge_form = MergeForm(prefix="merge")
    merge_form.target.choices = [choice for choice in _parent_choices(exclude=inside) if choice[0]]
    if unit.active and form.validate_on_submit():
        parent = db.session.get(OrgUnit, form.parent.data) if form.parent.data else None
        try:
            units.update_unit(unit, name=form.name.data, parent=parent, kind=form.kind.data or "",
                              actor=current_user._get_current_object())
        except units.UnitError as error:
            refuse()
            form.parent.errors.append(error.message)
        except scope.ScopeError as error:
            refuse()
            form.parent.errors.append(error.message)
        else:
            flash(_("Unit saved."), "success")
            return redirect(url_for("roster.unit_edit", unit_id=unit.id))
    return render_template("roster/unit_form.html", form=form, unit=unit, merge_form=merge_form)


@bp.post("/units/<int:unit_id>/merge")
@permission_required(Permission.MANAGE_ROSTER)
def unit_merge(unit_id: int):
    """Two steps: the unit's page chooses where to merge; this page shows what moves (people,
    sub-units, managers' and officers' scopes) and the rules that name the unit; ticked, it
    merges."""
    unit = _unit_in_scope(unit_id)
    form = MergeForm(prefix="merge")
    form.target.choices = _parent_choices()
    target = db.session.get(OrgUnit, form.target.data) if form.target.data else None
    if not unit.active or not form.validate_on_submit() or target is None:
        flash(_("Choose the unit to merge into."), "error")
        return redirect(url_for("roster.unit_edit", unit_id=unit.id))
    if not form.confirm.data:
        return _merge_preview(unit, target, form)
    try:
        moved = units.merge_unit(unit, target, actor=current_user._get_current_object())
    except (units.UnitError, scope.ScopeError) as error:
        refuse()
        flash(error.message, "error")
        return redirect(url_for("roster.unit_edit", unit_id=unit.id))
    flash(_("%(unit)s is merged into %(target)s; %(n)s people moved.", unit=unit.name, target=target.name,
            n=format_number(moved)), "success")
    return redirect(url_for("roster.unit_list"))


def _merge_preview(unit: OrgUnit, target: OrgUnit, form: MergeForm):
    try:
        plan = units.plan_merge(unit, target, actor=current_user._get_current_object())
    except (units.UnitError, scope.ScopeError) as error:
        refuse()
        flash(error.message, "error")
        return redirect(url_for("roster.unit_edit", unit_id=unit.id))
    return render_template("roster/merge_preview.html", plan=plan, form=form, role_labels=ROLE_LABELS)


# --- the units file, on the web (as `mooc roster units`) ---------------------------------------


def _require_unscoped() -> None:
    """A units file reshapes the whole tree: administrators load it; a training officer edits
    the units of their scope one by one."""
    if not scope.unscoped(current_user):
        abort(403)


@bp.route("/units/import", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ROSTER)
def units_upload():
    _require_unscoped()
    form = UnitsUploadForm()
    moved, error = dry_run.receive(form, lambda data: importer.open_sheet(data, UNIT_FIELDS),
                                   "roster.units_preview")
    return moved or render_template("roster/units_upload.html", form=form, error=error,
                                    fields=UNIT_FIELDS)


@bp.route("/units/import/<checksum>", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ROSTER)
def units_preview(checksum: str):
    """The dry run of a units file; applied all or nothing, only without errors and only the
    plan that was shown (its fingerprint)."""
    _require_unscoped()
    run = dry_run.open_plan(checksum, lambda path, filename: units.plan_units(
        importer.open_sheet(path, UNIT_FIELDS), filename=filename, checksum=checksum), "roster.units_upload")
    if not isinstance(run, dry_run.DryRun):
        return run
    plan = run.plan
    fingerprint = uploads.fingerprint(plan.summary() | {"rows": plan.renamed + plan.moved + plan.merged})
    errors: list[str] = []
    if request.method == "POST":
        refusal = dry_run.apply_refusal(fingerprint, bool(plan.issues), _(
            "The units changed since this preview. Check the new plan below and apply again."))
        if refusal:
            errors.append(refusal)
        else:
            record = units.apply_units(plan, current_user._get_current_object(), source="web")
            run.applied()
            flash(_("Units file applied: %(added)s added, %(renamed)s renamed, %(moved)s moved, "
                    "%(changed)s changed, %(merged)s merged.", **_numbers(plan.counts)), "success")
            return redirect(url_for("roster.import_detail", import_id=record.id))
    return render_template("roster/units_preview.html", plan=plan, errors=errors, checksum=checksum,
                           name=run.name, fingerprint=fingerprint, kind_labels=UNIT_KIND_LABELS,
                           issue_lines=grouped(plan.issues), form=ApplyForm())
