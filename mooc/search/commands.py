"""`mooc search`: rebuild the search index (the sync keeps it current; this is for repairs)."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from mooc.extensions import db
from mooc.progress import for_command, quiet_option
from mooc.search.index import rebuild


@click.group()
def search() -> None:
    """The search index of the course text."""


@search.command("reindex")
@quiet_option
@with_appcontext
def reindex_command(quiet: bool) -> None:
    """Index every live lesson again, from scratch, in one transaction. Course sync keeps the
    index current by itself: run this after restoring a database or changing the indexing."""
    start = time.perf_counter()
    try:
        with for_command(quiet) as progress:
            lessons, sections = rebuild(progress)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"Indexed {lessons} lesson(s) in {sections} section(s) ({time.perf_counter() - start:.1f} s).")
