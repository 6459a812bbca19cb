"""The `mooc` command: run the demo and serve. Migrations (`mooc db`) come from
Flask-Migrate; each domain's own groups (`mooc users`, later courses, roster...) live in
that domain's commands.py and are registered on the app in create_app().
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import FlaskGroup
from flask_migrate import upgrade as migrate_upgrade

from mooc import create_app, doctor
from mooc import demo as demo_data
from mooc.backup import BackupError, backup, restore
from mooc.config import ROOT_DIR, SECRET_FILE, ConfigError, development_warnings, read_variables, settings
from mooc.extensions import db
from mooc.serving import default_workers, serve, write_error_pages


def _factory():
    try:
        return create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@click.group(cls=FlaskGroup, create_app=_factory, add_default_commands=False,
             add_version_option=False, load_dotenv=False,
             help="Training platform for inspection staff. Run `mooc COMMAND --help` for each command.")
def main() -> None:
    pass


# Flask's own options (--app, --env-file, --debug) would only confuse: the app is always ours.
main.params = [param for param in main.params if param.name not in {"app", "env_file", "debug"}]


def ensure_secret_file(instance_dir: Path) -> None:
    """Give development servers a stable secret key, so sessions survive restarts and workers."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    secret_file = instance_dir / SECRET_FILE
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
        secret_file.chmod(0o600)


def _warn_if_development(app) -> None:
    """Say loudly, before serving, what a server without MOOC_ENV=production does differently."""
    for line in development_warnings(settings(app)):
        click.secho(f"WARNING: {line}", err=True, fg="yellow", bold=True)


def _serve_options(function):
    function = click.option("--access-log/--no-access-log", default=False,
                            help="Print one line per request.")(function)
    function = click.option("--threads", default=4, show_default=True,
                            help="Threads per worker process.")(function)
    function = click.option("--workers", default=default_workers(), show_default=True,
                            help="Worker processes.")(function)
    function = click.option("--port", default=5000, show_default=True,
                            help="Port to listen on.")(function)
    function = click.option("--host", default="127.0.0.1", show_default=True,
                            help="Address to listen on (0.0.0.0 for every interface).")(function)
    return function


@main.command()
@_serve_options
@click.option("--staff", "staff", default=0, show_default=True, metavar="N",
              help="Also generate about N people (a ministry-sized roster: 10000) in sections of "
                   "the demo provinces, with their training, so that reports show a real picture.")
def demo(host: str, port: int, workers: int, threads: int, access_log: bool, staff: int) -> None:
    """Set up the demo and serve it: migrate the database (SQLite in instance/ unless
    MOOC_DATABASE_URL says otherwise), load the demo roster, accounts and the courses,
    print the demo logins, and serve on http://HOST:PORT until Ctrl+C."""
    variables = read_variables()
    instance_dir = Path(variables["INSTANCE_DIR"] or ROOT_DIR / "instance")
    if variables["ENV"] != "production":
        ensure_secret_file(instance_dir)
    app = _factory()
    with app.app_context():
        migrate_upgrade()
        report = demo_data.load_demo()
        if staff > 0:
            demo_data.load_staff(staff, report)
        db.session.commit()
    click.echo(demo_data.describe(report, f"http://{host}:{port}"))
    _warn_if_development(app)
    serve(app, host, port, workers, threads, access_log)


@main.command("serve")
@_serve_options
def serve_command(host: str, port: int, workers: int, threads: int, access_log: bool) -> None:
    """Serve the app with gunicorn on the configured database (run `mooc db upgrade` first).
    In production put a reverse proxy (nginx, Caddy) in front and set MOOC_PROXY_COUNT=1."""
    variables = read_variables()
    if variables["ENV"] != "production":
        ensure_secret_file(Path(variables["INSTANCE_DIR"] or ROOT_DIR / "instance"))
    app = _factory()
    with app.app_context():
        _check_schema_current()
    _warn_if_development(app)
    click.echo(f"Serving on http://{host}:{port} with {workers} workers x {threads} threads.")
    serve(app, host, port, workers, threads, access_log)


def _check_schema_current() -> None:
    inspector = sa.inspect(db.engine)
    if not inspector.has_table("alembic_version"):
        raise click.ClickException("The database has no tables yet: run `mooc db upgrade` first.")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


@main.command("doctor", with_appcontext=False)  # it reports a setting that stops the app
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for monitoring.")
def doctor_command(output: str) -> None:
    """Check the installation and say what to do: settings, the database and its migrations,
    the courses (clean, synced), the mail server (connects, sends nothing), the last run of
    each cron command, the instance folder, PostgreSQL's timeout and pool. One line per check:
    ok, warning or error. Exit status 1 if any check is an error (for monitoring)."""
    try:
        app = create_app()
    except ConfigError as error:
        findings = [doctor.Finding("settings", doctor.ERROR, str(error), "fix the setting it names")]
    else:
        findings = doctor.run_all(app)
    errors = sum(f.status == doctor.ERROR for f in findings)
    warnings = sum(f.status == doctor.WARNING for f in findings)
    if output == "json":
        click.echo(json.dumps({"ok": not errors, "errors": errors, "warnings": warnings,
                               "checks": [f.as_dict() for f in findings]}, ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            color = {doctor.OK: "green", doctor.WARNING: "yellow", doctor.ERROR: "red"}[finding.status]
            click.secho(finding.line(), fg=color if sys.stdout.isatty() else None)
        click.echo(f"{len(findings)} checks: {errors} error(s), {warnings} warning(s).")
    if errors:
        sys.exit(1)


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path: str) -> None:
    """Copy the SQLite database to PATH while the app keeps running (SQLite's online backup,
    never a file copy of a live database), then check the copy. PostgreSQL: use pg_dump."""
    app = _factory()
    try:
        report = backup(app.config["SQLALCHEMY_DATABASE_URI"], Path(path))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    rows = sum(report.tables.values())
    click.echo(f"Backed up to {report.path}: {len(report.tables)} tables, {rows} rows, "
               f"integrity {report.integrity}.")


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: str, yes: bool) -> None:
    """Replace the SQLite database with the backup at PATH. Stop the app servers first."""
    app = _factory()
    if not yes:
        click.confirm("This replaces everything in the database with the backup. Continue?", abort=True)
    try:
        report = restore(app.config["SQLALCHEMY_DATABASE_URI"], Path(path))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {report.path} from {path}: {sum(report.tables.values())} rows, "
               f"integrity {report.integrity}.")


@main.command("error-pages")
@click.argument("folder", type=click.Path(file_okay=False))
def error_pages_command(folder: str) -> None:
    """Write the app's error pages that nginx answers with itself (413: an upload too large)
    into FOLDER, the nginx site's MOOC_ERROR_PAGES_DIR (deploy/). Run again after an upgrade."""
    app = _factory()
    for path in write_error_pages(app, Path(folder)):
        click.echo(f"Wrote {path}")
