"""`mooc reports send [--dry-run]`: the scheduled reports due today, for cron (daily);
`mooc reports rebuild-summary`: make the reports' summary table again from the enrolments."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from mooc import clock
from mooc.auth import audit
from mooc.config import settings
from mooc.cron import links_line, stop_on_signals
from mooc.extensions import db
from mooc.reports import scheduled
from mooc.reports.summary import rebuild


@click.group()
def reports() -> None:
    """Reports mailed to their subscribers, weekly or monthly."""


@reports.command("send")
@click.option("--dry-run", is_flag=True, help="List what would be sent; send and change nothing.")
@with_appcontext
def send_command(dry_run: bool) -> None:
    """Mail each subscription's report once per period (idempotent: a second run in the same
    week or month sends nothing; a failed mail is retried by the next run). Exit status 1
    when a mail could not be sent."""
    today = clock.today()
    click.echo(links_line(settings()))
    if dry_run:
        due = scheduled.due(today)
        for subscription, period in due:
            reader, why_not = scheduled.reader_of(subscription)
            what = f"skip ({why_not})" if reader is None else "send"
            click.echo(f"{period} {subscription.kind} -> {scheduled.address_of(subscription)}: {what}")
        click.echo(f"Dry run: {len(due)} subscriptions due; nothing was sent or changed.")
        return
    with stop_on_signals() as stop:
        report = scheduled.send_due(today, should_stop=stop.is_set)
    audit.record("reports.sent", sent=report.sent, failed=report.failed, skipped=report.skipped,
                 waiting=report.waiting)
    db.session.commit()
    for line in report.lines:
        click.echo(line)
    click.echo(f"Sent {report.sent}, failed {report.failed}, skipped {report.skipped}, "
               f"held by another run {report.waiting}.")
    if report.failed:
        sys.exit(1)


@reports.command("rebuild-summary")
@with_appcontext
def rebuild_summary() -> None:
    """Recompute the dashboard's summary table (one row per person who owes training) from
    the enrolments and the roster, in one transaction. Safe to run at any time, as often as
    you like: the rows it writes are those the writes themselves keep. Prints how many rows
    there are and how many were missing, extra or wrong (all 0 when the table was right)."""
    result = rebuild()
    audit.record("reports.summary_rebuilt", people=result.people, added=result.added,
                 removed=result.removed, changed=result.changed)
    db.session.commit()
    click.echo(f"{result.people} people owe training; the summary had {result.added} missing, "
               f"{result.removed} extra and {result.changed} wrong row(s), now rebuilt.")
