"""`mooc reminders send [--dry-run]`: the reminders due today, for cron or a systemd timer."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask.cli import with_appcontext

from mooc import clock
from mooc.auth import audit
from mooc.config import settings
from mooc.cron import links_line, stop_on_signals
from mooc.extensions import db
from mooc.progress import for_command, quiet_option
from mooc.reminders.schedule import Schedule, plan
from mooc.reminders.sender import describe, send_plan


@click.group()
def reminders() -> None:
    """E-mail reminders to trainees and weekly digests to unit managers."""


@reminders.command("send")
@click.option("--dry-run", is_flag=True, help="List what would be sent to whom; send and write nothing.")
@quiet_option
@with_appcontext
def send_command(dry_run: bool, quiet: bool) -> None:
    """Send the reminders due today: to trainees before and after their deadlines and
    before their certificates expire, and the managers' weekly digests. Running it twice
    sends nothing twice; an interrupted run or a mail server that is down leaves the rest
    for the next run. Exit status 1 if some could not be sent."""
    config = settings()
    today = clock.today()
    stale_before = clock.now() - timedelta(minutes=config.reminder_pending_minutes)
    the_plan = plan(today, Schedule.of(config), stale_before)
    skipped = (f"; {the_plan.without_account} reminder(s) skipped: no active account"
               if the_plan.without_account else "")
    if the_plan.messages:
        click.echo(links_line(config))
    if dry_run:
        for line in describe(the_plan):
            click.echo(line)
        click.echo(f"{today:%d/%m/%Y}: {the_plan.messages} message(s) would be sent "
                   f"({len(the_plan.trainees)} to trainees, {len(the_plan.digests)} digest(s)){skipped}. "
                   "Dry run: nothing was sent or written.")
        db.session.rollback()
        return
    with stop_on_signals() as stop, for_command(quiet) as progress:
        report = send_plan(the_plan, should_stop=stop.is_set, progress=progress)
    # Every run is recorded, those that had nothing to send too: `mooc doctor` reads the last one.
    audit.record("reminders.sent", sent=report.sent, failed=report.failed, left=report.left,
                 stopped=report.stopped or "")
    db.session.commit()
    for error in report.errors[:20]:
        click.echo(f"not sent: {error}", err=True)
    stopped = f"; stopped ({report.stopped}), {report.left} left for the next run" if report.stopped else ""
    click.echo(f"{today:%d/%m/%Y}: {report.sent} sent, {report.failed} failed, "
               f"{report.skipped} already being sent by another run{stopped}{skipped}.")
    if report.failed or report.stopped:
        sys.exit(1)
