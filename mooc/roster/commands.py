"""`mooc roster`: import the staff roster and the org units from HR files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from mooc.extensions import db


@click.group()
def roster() -> None:
    """The staff registry: org units, positions and people."""


def _describe_refusal(error: Exception) -> str:
    from mooc.roster.views import refusal_message

    return refusal_message(error)


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show the plan and write nothing.")
@click.option("--full", is_flag=True,
              help="The file is the whole roster: people missing from it are marked as left (never deleted).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts.")
@click.option("--yes", "confirmed", is_flag=True,
              help="Confirm a full import that marks more than the set share of active staff as left.")
@with_appcontext
def import_command(file: Path, dry_run: bool, full: bool, output: str, confirmed: bool) -> None:
    """Import staff from FILE (CSV or XLSX; headers in English or Vietnamese).

    Prints the plan (added, changed, moved, deactivated, reactivated, unchanged, errors)
    and applies it in one transaction unless --dry-run. Exit status 1 when the file has
    errors; then nothing is applied. See docs/roster.md for the accepted columns.
    """
    from mooc.roster import importer

    try:
        sheet = importer.open_sheet(file)
    except importer.FileRefused as error:
        _fail(output, _describe_refusal(error))
    plan = importer.plan_import(sheet, db.session, full=full, filename=file.name,
                                checksum=importer.file_checksum(file),
                                confirm_percent=current_app.config["MOOC_ROSTER_CONFIRM_PERCENT"])
    needs_yes = plan.confirmation_needed and not confirmed
    if needs_yes and not dry_run and plan.ok and output == "text" and sys.stdin.isatty():
        confirmed = click.confirm(
            f"This full roster marks {plan.missing_left} of {plan.active_before} active people as left. "
            "Go on?", default=False)
        needs_yes = not confirmed
    apply = plan.ok and not dry_run and not needs_yes
    if apply:
        importer.apply_plan(plan, db.session, source="cli", confirmed=confirmed)
        db.session.commit()
    else:
        db.session.rollback()
    if output == "json":
        click.echo(json.dumps({**plan.summary(), "applied": apply}, ensure_ascii=False))
    else:
        click.echo(_plan_text(plan, apply, dry_run, needs_yes))
    if not plan.ok or (needs_yes and not dry_run):
        sys.exit(1)


def _plan_text(plan, applied: bool, dry_run: bool, needs_yes: bool) -> str:  # noqa: ANN001
    counts = plan.counts
    lines = [f"{plan.rows} rows read from {plan.filename}."]
    lines.append("  " + ", ".join(f"{kind}: {counts[kind]}" for kind in (*plan.KINDS, "unchanged")))
    if plan.new_positions:
        lines.append("  new positions: " + ", ".join(plan.new_positions))
    for change in plan.changes[:200]:
        where = f"row {change.row}" if change.row else "not in file"
        detail = "; ".join(f"{name}: {old!s} -> {new!s}" for name, old, new in change.fields)
        lines.append(f"  {change.kind:<11} {change.staff_code:<12} {change.full_name} ({where})"
                     + (f"  {detail}" if detail else ""))
    if len(plan.changes) > 200:
        lines.append(f"  ... and {len(plan.changes) - 200} more")
    if plan.issues:
        lines.append(f"{len(plan.issues)} errors; nothing was applied:")
        lines += [f"  row {issue.row}, {issue.column}: {issue.message}" for issue in plan.issues[:500]]
        if len(plan.issues) > 500:
            lines.append(f"  ... and {len(plan.issues) - 500} more")
    elif needs_yes and not dry_run:
        lines.append(f"Not applied: this full roster marks {plan.missing_left} of {plan.active_before} "
                     f"active people as left (more than {plan.confirm_percent}%). "
                     "Check the file, then run again with --yes.")
    elif dry_run:
        lines.append("Dry run: nothing was written.")
    elif applied:
        lines.append("Applied.")
    return "\n".join(lines)


def _fail(output: str, message: str) -> None:
    if output == "json":
        click.echo(json.dumps({"errors": [{"row": 0, "column": "", "message": message}], "applied": False},
                              ensure_ascii=False))
        sys.exit(1)
    raise click.ClickException(message)


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
    from mooc.roster import importer, units
    from mooc.roster.reader import UNIT_FIELDS

    try:
        sheet = importer.open_sheet(file, UNIT_FIELDS)
    except importer.FileRefused as error:
        _fail(output, _describe_refusal(error))
    plan = units.plan_units(sheet, db.session, filename=file.name, checksum=importer.file_checksum(file))
    apply = not plan.issues and not dry_run
    if apply:
        units.apply_units(plan, db.session, source="cli")
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
