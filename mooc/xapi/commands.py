"""`mooc xapi send [--dry-run]` (cron) and `mooc xapi export FILE`."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from mooc.auth import audit
from mooc.config import Settings, settings
from mooc.extensions import db
from mooc.xapi import outbox
from mooc.xapi.statements import Where


@click.group()
def xapi() -> None:
    """Training events as xAPI statements for a learning-records store."""


def where_of(config: Settings) -> Where:
    return Where(config.base_url, config.xapi_account_homepage or config.base_url)


@xapi.command("send")
@click.option("--dry-run", is_flag=True, help="Say what would be collected and sent; change nothing.")
@with_appcontext
def send_command(dry_run: bool) -> None:
    """Collect new statements into the outbox and send the pending ones (for cron).

    Exit status 0 when everything due was sent; 1 when the store refused or could not be
    reached (the statements stay queued and a later run sends them) or MOOC_XAPI_URL is not
    set. Every run is recorded in the audit trail (`xapi.sent`): `mooc doctor` reads it."""
    config = settings()
    if not config.xapi_url:
        click.echo("MOOC_XAPI_URL is not set: no statements are collected or sent. Set it to the "
                   "learning-records store's xAPI address (docs/operations.md, xAPI).", err=True)
        sys.exit(1)
    if dry_run:
        pending, waiting = outbox.pending_count()
        click.echo(f"Dry run: {pending} statements queued ({waiting} waiting for a later try); "
                   f"new facts would be collected first. Nothing was changed.")
        return
    collected = outbox.collect(where_of(config))
    click.echo("Collected: " + ", ".join(f"{kind} {n}" for kind, n in collected.items()))
    report = outbox.send(outbox.Store(config.xapi_url, config.xapi_user, config.xapi_password),
                         batch=config.xapi_batch)
    pending, waiting = outbox.pending_count()
    audit.record("xapi.sent", collected=sum(collected.values()), sent=report.sent,
                 failed=report.failed, queued=pending)
    db.session.commit()
    click.echo(f"Sent {report.sent}, failed {report.failed}; {pending} still queued.")
    for error in report.errors[:5]:
        click.echo(f"  {error}", err=True)
    if report.failed:
        sys.exit(1)


@xapi.command("export")
@click.argument("target", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--pending", "pending_only", is_flag=True, help="Only the statements not sent yet.")
@with_appcontext
def export_command(target: str, pending_only: bool) -> None:
    """Write every statement as JSON lines to TARGET ('-' for standard output), collecting
    the new facts first (works without a store configured)."""
    outbox.collect(where_of(settings()))
    if target == "-":
        count = outbox.export(sys.stdout, pending_only=pending_only)
    else:
        with open(target, "w", encoding="utf-8") as handle:
            count = outbox.export(handle, pending_only=pending_only)
    click.echo(f"{count} statements written.", err=True)
