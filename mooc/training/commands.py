"""`mooc training`: apply the assignment rules (for cron), import past completions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from mooc import clock
from mooc.auth import audit
from mooc.extensions import db
from mooc.progress import for_command, quiet_option
from mooc.roster.leavers import leave_when_due
from mooc.roster.reader import FileRefused
from mooc.training.assign import apply_rules
from mooc.training.history import apply_history, plan_history, said
from mooc.training.programs import apply_program_rules


@click.group()
def training() -> None:
    """Required training: rules, enrolments, completions."""


@training.command("assign")
@quiet_option
@with_appcontext
def assign_command(quiet: bool) -> None:
    """Mark as left the people whose leaving date has come, then apply every active
    assignment rule: enrol people newly covered, open renewal cycles for certificates about to
    expire. Safe to run as often as you like (cron: nightly)."""
    left = leave_when_due()
    with for_command(quiet) as progress:
        report = apply_rules(progress=progress)
        report += apply_program_rules()  # programmes: their cycles, then the courses of open steps
    audit.record("training.assigned", left=left, enrolled=report.enrolled, renewed=report.renewed,
                 closed=report.closed)
    db.session.commit()
    click.echo(
        f"{left} left on their leaving date, {report.enrolled} enrolled, "
        f"{report.renewed} renewal cycles opened, {report.closed} no longer required."
    )


@training.command("import-history")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would be imported; write nothing.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@quiet_option
@with_appcontext
def import_history(file: str, dry_run: bool, output: str, quiet: bool) -> None:
    """Import completions done elsewhere from a CSV or XLSX file with the columns
    Mã cán bộ (staff code), Khóa học (course code), Ngày hoàn thành (dd/mm/yyyy) and
    optionally Nguồn (source). All or nothing; exit status 1 if any row has an error."""
    try:
        with for_command(quiet, output) as progress:
            plan = plan_history(Path(file), clock.today(), progress=progress)
    except FileRefused as refused:
        raise click.ClickException(f"{file}: cannot be read ({refused.code})") from None
    if output == "json":
        click.echo(json.dumps(plan.as_dict(), ensure_ascii=False))
    else:
        for error in plan.issues:
            click.echo(f"row {error.row}, column {error.column}: {error.message}", err=True)
        for completion in plan.to_add:  # what each row will do
            click.echo(f"row {completion.row}: {said(completion)}")
        click.echo(
            f"{len(plan.to_add)} to add, {plan.unchanged} already recorded, {len(plan.issues)} error(s)."
        )
    if plan.issues:
        sys.exit(1)
    if dry_run:
        return
    with for_command(quiet, output) as progress:
        added = apply_history(plan, progress=progress)
    audit.record("training.history_imported", target=Path(file).name, added=added)
    db.session.commit()
    if output == "text":
        click.echo(f"Imported {added} completion(s).")
