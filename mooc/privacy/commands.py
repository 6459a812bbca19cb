"""`mooc privacy purge [--dry-run] [-q]`: retention, for cron (idempotent: a second run does nothing;
a progress bar at a terminal)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from mooc.config import settings
from mooc.extensions import db
from mooc.formatting import format_date
from mooc.privacy import retention
from mooc.progress import for_command, quiet_option


@click.group()
def privacy() -> None:
    """Personal data: retention."""


@privacy.command()
@click.option("--dry-run", is_flag=True, help="List who would be pseudonymised and which files deleted; "
                                               "change nothing.")
@quiet_option
@with_appcontext
def purge(dry_run: bool, quiet: bool) -> None:
    """Pseudonymise the people who left more than MOOC_PRIVACY_RETENTION_DAYS ago, and delete mail
    outbox files older than MOOC_OUTBOX_RETENTION_DAYS and roster uploads older than a day
    (all or nothing: a run that fails changes nothing)."""
    config = settings()
    with for_command(quiet) as progress:
        report = retention.purge(config, dry_run=dry_run, progress=progress)
    if dry_run:
        db.session.rollback()
        for leaver in report.people:
            click.echo(f"would pseudonymise: {leaver.staff_code} {leaver.full_name} "
                       f"(left {format_date(leaver.left_on) or '?'})")
        for path in report.files:
            click.echo(f"would delete: {path}")
        click.echo(f"Dry run: {len(report.people)} people, {len(report.files)} files; nothing changed.")
        return
    db.session.commit()
    click.echo(f"Pseudonymised {len(report.people)} people; deleted {len(report.files)} files.")
