"""`mooc roster`: import the staff roster and the org units from HR files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from mooc.config import settings
from mooc.extensions import db
from mooc.formatting import format_number, format_percent
from mooc.i18n import gettext as _
from mooc.progress import for_command, quiet_option
from mooc.roster import importer, units
from mooc.roster.display import FIELD_LABELS, KIND_LABELS, grouped, names, refusal_message, show_value
from mooc.roster.reader import UNIT_FIELDS


@click.group()
def roster() -> None:
    """The staff registry: org units, positions and people."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show the plan and write nothing.")
@click.option("--full", is_flag=True,
              help="The file is the whole roster: people missing from it are marked as left (never deleted).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@click.option("--yes", "confirmed", is_flag=True,
              help="Confirm a full import that marks more than the set share of active staff as left.")
@click.option("--disable-admin", "confirmed_admins", multiple=True, metavar="EMAIL",
              help="Confirm that the import disables this administrator's account (repeat for each one "
                   "the plan names).")
@quiet_option
@with_appcontext
def import_command(file: Path, dry_run: bool, full: bool, output: str, confirmed: bool,
                   confirmed_admins: tuple[str, ...], quiet: bool) -> None:
    """Import staff from FILE (CSV or XLSX; headers in English or Vietnamese).

    Prints the plan (added, changed, moved, deactivated, reactivated, unchanged, errors)
    and applies it in one transaction unless --dry-run. Exit status 1 when the file has
    errors or needs a confirmation that was not given; then nothing is applied. See
    docs/roster.md for the accepted columns.
    """
    try:
        sheet = importer.open_sheet(file)
        with for_command(quiet, output) as progress:
            plan = importer.plan_import(sheet, full=full, filename=file.name,
                                        checksum=importer.file_checksum(file),
                                        confirm_percent=settings().roster_confirm_percent, progress=progress)
    except importer.FileRefused as error:
        db.session.rollback()
        _fail(output, refusal_message(error))
    confirmed = confirmed or _confirmed_at_terminal(plan, dry_run, output)
    needs_yes = plan.confirmation_needed and not confirmed
    admins_needed = importer.admins_unconfirmed(plan, confirmed_admins)
    apply = plan.ok and not dry_run and not needs_yes and not admins_needed
    if apply:
        with for_command(quiet, output) as progress:
            importer.apply_plan(plan, source="cli", confirmed=confirmed,
                                confirmed_admins=confirmed_admins, progress=progress)
            db.session.commit()
    else:
        db.session.rollback()
    if output == "json":
        click.echo(json.dumps({**plan.summary(), "applied": apply}, ensure_ascii=False))
    else:
        click.echo(_plan_text(plan, apply, dry_run, needs_yes, admins_needed))
    if not plan.ok or (not dry_run and (needs_yes or admins_needed)):
        sys.exit(1)


def _confirmed_at_terminal(plan, dry_run: bool, output: str) -> bool:
    """At a terminal, a full roster that marks many people as left may be confirmed there."""
    if not (plan.confirmation_needed and not dry_run and plan.ok and output == "text" and sys.stdin.isatty()):
        return False
    return click.confirm(_("This full roster marks %(n)s of %(total)s active people as left. Go on?",
                           n=format_number(plan.missing_left), total=format_number(plan.active_before)),
                         default=False)


def _issue_lines(issues: list) -> list[str]:
    lines = []
    for line in grouped(issues)[:500]:
        if line["count"] == 1:
            where = _("row %(row)d", row=line["row"])
        else:
            shown = ", ".join(str(row) for row in line["rows"])
            more = ", …" if line["count"] > len(line["rows"]) else ""
            where = _("%(n)s rows (%(rows)s)", n=format_number(line["count"]), rows=shown + more)
        column = f", {line['column']}" if line["column"] else ""
        example = _("for example: ") if line["count"] > 1 and not line["same"] else ""
        lines.append(f"  {where}{column}: {example}{line['message']}")
    return lines


def _plan_text(plan, applied: bool, dry_run: bool, needs_yes: bool,
               admins_needed: list[str]) -> str:
    """The plan as the web preview shows it: names, Vietnamese labels, dd/mm/yyyy."""
    counts = plan.counts
    lines = [_("%(n)s data rows read from %(file)s.", n=format_number(plan.rows), file=plan.filename)]
    kinds = (*plan.KINDS, "unchanged")
    lines.append("  " + ", ".join(f"{KIND_LABELS[kind]}: {format_number(counts[kind])}" for kind in kinds))
    if plan.new_positions:
        lines.append("  " + _("New positions:") + " " + ", ".join(plan.new_positions))
    lines += _change_lines(plan)
    if plan.account_emails:
        lines.append(_("Sign-in addresses that follow the new roster e-mail: %(n)s.",
                       n=format_number(len(plan.account_emails))))
        lines += [f"  {old} → {new}" for _id, old, new in plan.account_emails[:200]]
    if plan.warnings:
        lines.append(_("Warnings: %(n)s", n=format_number(len(plan.warnings))))
        lines += _issue_lines(plan.warnings)
    lines += _admin_lines(plan)
    lines += _outcome_lines(plan, applied, dry_run, needs_yes, admins_needed)
    return "\n".join(lines)


def _change_lines(plan) -> list[str]:
    """The first 200 changes, one line each: who, where in the file, what changes."""
    unit_names, position_titles = names()
    lines = []
    for change in plan.changes[:200]:
        where = _("row %(row)d", row=change.row) if change.row else _("not in the file")
        if change.kind == "added":
            detail = show_value("unit_id", change.values["unit_id"], unit_names, position_titles)
            if change.values["position_id"]:
                detail += " · " + show_value("position_id", change.values["position_id"], unit_names,
                                             position_titles)
        else:
            detail = "; ".join(f"{FIELD_LABELS[name]}: {show_value(name, old, unit_names, position_titles)}"
                               f" → {show_value(name, new, unit_names, position_titles)}"
                               for name, old, new in change.fields)
        reused = f" [{_('probably a reused code')}]" if change.reused else ""
        lines.append(f"  {KIND_LABELS[change.kind]}: {change.staff_code}{reused} {change.full_name} ({where})"
                     + (f"  {detail}" if detail else ""))
    if len(plan.changes) > 200:
        lines.append("  " + _("and %(n)d more", n=len(plan.changes) - 200))
    return lines


def _admin_lines(plan) -> list[str]:
    if not plan.admins_leaving:
        return []
    lines = [_("This import disables the accounts of these administrators; they can no longer sign in:")]
    lines += [f"  {admin['email']} ({admin['name']}, {admin['staff_code']})" for admin in plan.admins_leaving]
    if plan.last_admin:
        lines.append(_("No active administrator would be left: only the command line (mooc users "
                       "create-admin) could bring one back."))
    return lines


def _outcome_lines(plan, applied: bool, dry_run: bool, needs_yes: bool,
                   admins_needed: list[str]) -> list[str]:
    """The errors, or why nothing was applied, or that it was."""
    if plan.issues:
        return [_("%(n)s errors; nothing was applied:", n=format_number(len(plan.issues))),
                *_issue_lines(plan.issues)]
    if needs_yes and not dry_run:
        return [_("Not applied: this full roster marks %(n)s of %(total)s active people as left (more "
                  "than %(percent)s). Check the file, then run again with --yes.",
                  n=format_number(plan.missing_left), total=format_number(plan.active_before),
                  percent=format_percent(plan.confirm_percent, 0))]
    if admins_needed and not dry_run:
        return [_("Not applied: to disable these administrator accounts, run again with %(options)s.",
                  options=" ".join(f"--disable-admin {email}" for email in admins_needed))]
    if dry_run:
        return [_("Dry run: nothing was written.")]
    return [_("Applied.")] if applied else []


def _fail(output: str, message: str) -> None:
    if output == "json":
        click.echo(json.dumps({"errors": [{"row": 0, "column": "", "message": message}], "applied": False},
                              ensure_ascii=False))
        sys.exit(1)
    click.echo(message, err=True)
    sys.exit(1)


@roster.command("units")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show the plan and write nothing.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@with_appcontext
def units_command(file: Path, dry_run: bool, output: str) -> None:
    """Create, rename, move and merge org units from FILE (columns code, name, parent_code and
    optionally merged_into and kind, or their Vietnamese names). A merged unit's people and
    sub-units move to the unit it merged into."""
    try:
        sheet = importer.open_sheet(file, UNIT_FIELDS)
    except importer.FileRefused as error:
        _fail(output, refusal_message(error))
    plan = units.plan_units(sheet, filename=file.name, checksum=importer.file_checksum(file))
    apply = not plan.issues and not dry_run
    if apply:
        units.apply_units(plan, source="cli")
        db.session.commit()
    else:
        db.session.rollback()
    if output == "json":
        click.echo(json.dumps({**plan.summary(), "applied": apply}, ensure_ascii=False))
    else:
        counts = plan.counts
        lines = [f"{len(plan.rows)} rows read from {file.name}.",
                 "  " + ", ".join(f"{kind}: {number}" for kind, number in counts.items())]
        lines += [f"  renamed {code}: {old} -> {new}" for code, old, new in plan.renamed]
        lines += [f"  moved {code}: {old or '-'} -> {new or '-'}" for code, old, new in plan.moved]
        lines += [f"  merged {code} into {into}" for code, into in plan.merged]
        if plan.issues:
            lines.append(f"{len(plan.issues)} errors; nothing was applied:")
            lines += [f"  row {issue.row}, {issue.column}: {issue.message}" for issue in plan.issues]
        else:
            lines.append("Dry run: nothing was written." if dry_run else "Applied.")
        click.echo("\n".join(lines))
    if plan.issues:
        sys.exit(1)
