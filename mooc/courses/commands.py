"""`mooc courses`: check and sync the Markdown courses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from mooc.auth import audit
from mooc.courses.check import check_tree
from mooc.courses.sync import SyncRefused, sync_tree
from mooc.extensions import db


@click.group()
def courses() -> None:
    """Check and load the Markdown courses."""


def _root(path: str | None) -> Path:
    return Path(path) if path else Path(current_app.config["MOOC_COURSES_DIR"])


def _print_problems(problems, stream=None) -> None:  # noqa: ANN001
    for problem in problems:
        click.echo(problem.format(), file=stream)


@courses.command("check")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one object, for CI.",
)
@with_appcontext
def check_command(path: str | None, output: str) -> None:
    """Check every course file under PATH (default: the courses folder) and print each
    problem as path:line: message. Exit status 1 if there is any error; warnings alone pass."""
    result = check_tree(_root(path))
    summary = result.summary()
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "ok": not result.errors,
                    "summary": summary,
                    "problems": [p.as_dict() for p in result.problems],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_problems(result.problems)
        click.echo(
            f"{summary['courses']} course(s), {summary['modules']} module(s), "
            f"{summary['lessons']} lesson(s), {summary['quizzes']} quiz(zes): "
            f"{summary['errors']} error(s), {summary['warnings']} warning(s)."
        )
    if result.errors:
        sys.exit(1)


@courses.command("sync")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@with_appcontext
def sync_command(path: str | None) -> None:
    """Load the courses under PATH (default: the courses folder) into the database, in one
    transaction. Refuses a tree with errors (the last good version stays live). Files that
    disappeared are archived, never deleted: progress on them is kept."""
    root = _root(path)
    try:
        report = sync_tree(root)
        audit.record("courses.synced", target=str(root), commit=report.commit, **report.counts())
        db.session.commit()
    except SyncRefused as refused:
        db.session.rollback()
        _print_problems(refused.problems, sys.stderr)
        click.echo(
            f"Not synced: {len(refused.problems)} error(s). Fix them and run again "
            "(`mooc courses check` lists them).",
            err=True,
        )
        sys.exit(1)
    except Exception:
        db.session.rollback()
        raise
    for line in report.lines():
        click.echo(line)


@courses.command("import-gift")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "dest", required=True, type=click.Path(dir_okay=False),
              help="The quiz file to write, e.g. courses/x/01-y/09-kiem-tra.quiz.md")
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
def import_gift(source: str, dest: str, overwrite: bool) -> None:
    """Convert a Moodle GIFT question bank (SOURCE) into a quiz file in our Markdown syntax.
    Says which questions could not be converted and why (matching, essay, missing word...).
    Check the result with `mooc courses check` before committing it."""
    from mooc.quizzes.gift import convert_gift_file

    if not dest.endswith(".quiz.md"):
        raise click.ClickException("--out must name a .quiz.md file")
    try:
        result = convert_gift_file(Path(source), Path(dest), overwrite=overwrite)
    except FileExistsError:
        raise click.ClickException(f"{dest} exists: use --overwrite to replace it") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{source} is not UTF-8 text: export it from Moodle as UTF-8") from None
    for note in result.notes:
        click.echo(f"{source}:{note.line}: note: {note.title or ''} {note.message}".replace("  ", " "))
    for skipped in result.skipped:
        click.echo(f"{source}:{skipped.line}: not converted: {skipped.title or ''} {skipped.reason}"
                   .replace("  ", " "), err=True)
    if not result.converted:
        click.echo("Nothing converted: no file written.", err=True)
        sys.exit(1)
    click.echo(f"Wrote {dest}: {result.converted} question(s) converted, "
               f"{len(result.skipped)} not converted.")
