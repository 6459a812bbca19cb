"""`mooc reports rebuild-summary`: make the reports' summary table again from the enrolments."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from mooc.auth import audit
from mooc.extensions import db
from mooc.reports.summary import rebuild


@click.group()
def reports() -> None:
    """Completion reports."""


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
