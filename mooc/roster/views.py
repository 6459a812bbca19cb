"""Roster pages: browse people (scoped for managers), a person's page with their account,
the import (upload -> preview with column mapping -> apply), import history, and units."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from mooc.auth.access import grantable_roles, permission_required
from mooc.auth.models import Permission, Role, User
from mooc.config import settings
from mooc.errors import refuse
from mooc.extensions import db
from mooc.mail import MailError
from mooc.params import choice_arg, int_arg, parse_int, text_arg
from mooc.roster import accounts, display, importer, queries, units
from mooc.roster.display import (
    FIELD_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    grouped,
    refusal_message,
    show_value,
)
from mooc.roster.forms import ApplyForm, MergeForm, RoleForm, UnitForm, UploadForm
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory, StaffStatus
from mooc.roster.reader import STAFF_FIELDS, FileRefused

bp = Blueprint("roster", __name__, template_folder="templates", url_prefix="/roster")

CHECKSUM_RE = re.compile(r"^[0-9a-f]{64}$")
SHOWN_PER_KIND = 300
UPLOAD_KEPT_SECONDS = 24 * 3600  # an uploaded HR file not applied within a day is deleted

ROLE_LABELS = {Role.TRAINEE: _l("Trainee"), Role.MANAGER: _l("Unit manager"),
               Role.OFFICER: _l("Training officer"),
               Role.REPORTER: _l("Reporter (reads every report)"), Role.ADMIN: _l("Administrator")}
ACCOUNT_ERRORS = {
    "not_allowed": _l("You cannot do that."),
    "staff_left": _l("This person has left: they cannot be invited."),
    "no_email": _l("This person has no e-mail address on the roster."),
    "email_in_use": _l("Another person's account already uses this e-mail address."),
    "account_disabled": _l("This account is disabled."),
    "self_demotion": _l("You cannot change your own role."),
    "manager_needs_unit": _l("A unit manager needs a unit."),
}


@bp.app_context_processor
def template_helpers() -> dict:
    return {"Role": Role, "Permission": Permission, "STATUS_LABELS": STATUS_LABELS,
            "ROLE_LABELS": ROLE_LABELS, "unit_kind": units.kind_label}


# --- browsing ------------------------------------------------------------------------------


@bp.get("/")
@permission_required(Permission.READ_REPORTS)
def index():
    user = current_user._get_current_object()
    status_arg = choice_arg("status", [status.value for status in StaffStatus])
    filters = queries.RosterFilter(
        unit_id=int_arg("unit"), position_id=int_arg("position"),
        status=StaffStatus(status_arg) if status_arg else None,
        query=text_arg("q"))
    page = queries.roster_page(user, filters, page=int_arg("page") or 1,
                               per_page=queries.PER_PAGE)
    positions = db.session.execute(
        sa.select(Position).order_by(Position.rank, Position.title)).scalars().all()
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("roster/index.html", page=page, filters=filters, args=args,
                           units=queries.unit_choices(user), positions=positions)


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
    unit_names = dict(db.session.execute(sa.select(OrgUnit.id, OrgUnit.name)).all())
    position_titles = dict(db.session.execute(sa.select(Position.id, Position.title)).all())
    account = accounts.account_of(staff)
    role_form = None
    if current_user.can(Permission.MANAGE_ACCOUNTS) and account is not None:
        role_form = _role_form(account)
    return render_template("roster/person.html", staff=staff, history=history, unit_names=unit_names,
                           position_titles=position_titles, account=account, role_form=role_form,
                           apply_form=ApplyForm())


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
    except MailError:
        refuse()  # no invitation went out: no account, no link
        flash(_("The e-mail could not be sent. Try again later, or tell the operator."), "error")
        return redirect(url_for("roster.person", staff_id=staff_id))
    else:
        flash(_("Invitation sent to %(email)s. The link works for 7 days.", email=user.email), "success")
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
    scope = db.session.get(OrgUnit, form.scope.data) if form.scope.data else None
    try:
        accounts.grant_role(current_user._get_current_object(), account, role, scope)
    except accounts.AccountError as error:
        refuse()
        flash(str(ACCOUNT_ERRORS[error.code]), "error")
    else:
        flash(_("Role saved."), "success")
    return redirect(url_for("roster.person", staff_id=staff_id))


# --- import --------------------------------------------------------------------------------


def _upload_dir() -> Path:
    return settings().instance_dir / "imports"


def _expire_uploads(folder: Path) -> None:
    """Uploaded HR files hold personal data: one not applied within a day is deleted."""
    limit = time.time() - UPLOAD_KEPT_SECONDS
    for path in folder.glob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            continue  # another request removed it first


def _store_upload(data: bytes, checksum: str, suffix: str) -> None:
    """Write the file readable by the platform's user only (0600), in a folder only it can list."""
    folder = _upload_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    _expire_uploads(folder)
    path = folder / f"{checksum}{suffix}"
    if path.exists():
        os.utime(path)  # uploaded again: kept a day from now
        return
    partial = folder / f".{checksum}.{os.getpid()}.part"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)


def _stored(checksum: str) -> Path:
    if not CHECKSUM_RE.match(checksum):
        abort(404)
    for suffix in (".xlsx", ".csv"):
        path = _upload_dir() / f"{checksum}{suffix}"
        if path.is_file():
            if path.stat().st_mtime < time.time() - UPLOAD_KEPT_SECONDS:
                path.unlink(missing_ok=True)
                break
            return path
    abort(404)


@bp.route("/import", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ROSTER)
def upload():
    form = UploadForm()
    error = None
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            importer.open_sheet(data)
        except FileRefused as refused:
            refuse()
            error = refusal_message(refused)
        else:
            checksum = hashlib.sha256(data).hexdigest()
            _store_upload(data, checksum, ".xlsx" if data.startswith(b"PK") else ".csv")
            name = Path(form.file.data.filename or "").name[:200]
            return redirect(url_for("roster.preview", checksum=checksum, name=name,
                                    full="1" if form.full.data else None))
    return render_template("roster/upload.html", form=form, error=error, fields=STAFF_FIELDS,
                           field_labels=FIELD_LABELS)


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
    path = _stored(checksum)
    values = request.form if request.method == "POST" else request.args
    full = values.get("full") == "1"
    name = values.get("name", "")[:200]
    mapping = _mapping_from(values)
    actor = current_user._get_current_object()
    try:
        sheet = importer.open_sheet(path, mapping=mapping)
        plan = importer.plan_import(sheet, full=full, filename=name or path.name,
                                    checksum=checksum, actor_id=actor.id,
                                    confirm_percent=settings().roster_confirm_percent)
    except FileRefused as refused:
        refuse()
        path.unlink(missing_ok=True)  # nothing can be done with it: not kept
        flash(refusal_message(refused), "error")
        return redirect(url_for("roster.upload"))
    form = ApplyForm()
    errors: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        named = request.form.getlist("confirm_admin")
        if request.form.get("fingerprint") != plan.fingerprint():
            errors.append(_("The roster or the column mapping changed since this preview. Check the new "
                            "plan below and apply again."))
        elif not plan.ok:
            errors.append(_("The file has errors: nothing was applied."))
        elif plan.confirmation_needed and not form.confirm.data:
            errors.append(_("Tick the confirmation to mark this many people as left."))
        elif importer.admins_unconfirmed(plan, named):
            errors.append(_("Tick each administrator account the import disables to confirm it: %(emails)s.",
                            emails=", ".join(importer.admins_unconfirmed(plan, named))))
        else:
            record = importer.apply_plan(plan, actor, source="web",
                                         confirmed=bool(form.confirm.data), confirmed_admins=named)
            path.unlink(missing_ok=True)  # applied: the file is not kept
            flash(_("Import applied: %(added)d added, %(changed)d changed, %(moved)d moved, "
                    "%(deactivated)d marked as left, %(reactivated)d back.", **plan.counts), "success")
            return redirect(url_for("roster.import_detail", import_id=record.id))
    elif request.method == "POST":
        abort(400)
    unit_names, position_titles = display.names()
    return render_template("roster/preview.html", sheet=sheet, plan=plan, form=form, errors=errors,
                           checksum=checksum, name=name, full=full, fields=STAFF_FIELDS,
                           field_labels=FIELD_LABELS, kind_labels=KIND_LABELS, unit_names=unit_names,
                           position_titles=position_titles, shown=SHOWN_PER_KIND,
                           show=show_value, issue_lines=grouped(plan.issues),
                           warning_lines=grouped(plan.warnings))


@bp.get("/imports")
@permission_required(Permission.MANAGE_ROSTER)
def imports():
    records = db.session.execute(sa.select(RosterImport).order_by(RosterImport.at.desc()).limit(200)
                                 ).scalars().all()
    return render_template("roster/imports.html", records=records, kind_labels=KIND_LABELS)


@bp.get("/imports/<int:import_id>")
@permission_required(Permission.MANAGE_ROSTER)
def import_detail(import_id: int):
    record = db.session.get(RosterImport, import_id) or abort(404)
    return render_template("roster/import_detail.html", record=record, kind_labels=KIND_LABELS)


# --- units ---------------------------------------------------------------------------------


@bp.get("/units")
@permission_required(Permission.MANAGE_ROSTER)
def unit_list():
    counts = dict(db.session.execute(
        sa.select(Staff.unit_id, sa.func.count()).where(Staff.status != StaffStatus.LEFT)
        .group_by(Staff.unit_id)).all())
    closed = db.session.execute(sa.select(OrgUnit).where(OrgUnit.active.is_(False))
                                .order_by(OrgUnit.code)).scalars().all()
    return render_template("roster/units.html", tree=units.tree(), counts=counts, closed=closed)


def _parent_choices(exclude: set[int] | None = None) -> list[tuple[int, str]]:
    return [(0, "—")] + [(unit.id, "— " * depth + f"{unit.name} ({unit.code})")
                         for unit, depth in units.tree() if not exclude or unit.id not in exclude]


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
            unit = units.create_unit(code=code, name=form.name.data, parent=parent,
                                     kind=form.kind.data or "", actor=current_user._get_current_object())
            flash(_("Unit created."), "success")
            return redirect(url_for("roster.unit_edit", unit_id=unit.id))
    return render_template("roster/unit_form.html", form=form, unit=None, merge_form=None)


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ROSTER)
def unit_edit(unit_id: int):
    unit = db.session.get(OrgUnit, unit_id) or abort(404)
    form = UnitForm(obj=unit, parent=unit.parent_id or 0)
    inside = units.subtree_ids(unit.id)
    form.parent.choices = _parent_choices(exclude=inside)
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
        else:
            flash(_("Unit saved."), "success")
            return redirect(url_for("roster.unit_edit", unit_id=unit.id))
    return render_template("roster/unit_form.html", form=form, unit=unit, merge_form=merge_form)


@bp.post("/units/<int:unit_id>/merge")
@permission_required(Permission.MANAGE_ROSTER)
def unit_merge(unit_id: int):
    unit = db.session.get(OrgUnit, unit_id) or abort(404)
    form = MergeForm(prefix="merge")
    form.target.choices = _parent_choices()
    if not unit.active or not form.validate_on_submit():
        flash(_("Choose the unit to merge into and tick the confirmation."), "error")
        return redirect(url_for("roster.unit_edit", unit_id=unit.id))
    target = db.session.get(OrgUnit, form.target.data) or abort(400)
    try:
        moved = units.merge_unit(unit, target, actor=current_user._get_current_object())
    except units.UnitError as error:
        refuse()
        flash(error.message, "error")
        return redirect(url_for("roster.unit_edit", unit_id=unit.id))
    flash(_("%(unit)s is merged into %(target)s; %(n)d people moved.", unit=unit.name, target=target.name,
            n=moved), "success")
    return redirect(url_for("roster.unit_list"))
