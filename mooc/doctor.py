"""`mooc doctor`: the checks an operator runs after installing or upgrading, and monitoring runs
every few minutes. Each check is a plain function that returns findings (ok, warning or
error, with what to do); nothing here writes to the database or sends mail.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app

from mooc import clock, mail, replica
from mooc.auth import backends
from mooc.auth.models import AuditEvent
from mooc.config import SECRET_FILE, Settings, is_loopback_url, settings
from mooc.courses.check import check_tree
from mooc.courses.models import CourseSync
from mooc.courses.sync import SyncRefused, git_commit, sync_tree
from mooc.extensions import db
from mooc.formatting import format_datetime
from mooc.reports.models import ReportSubscription
from mooc.serving import default_workers

OK, WARNING, ERROR = "ok", "warning", "error"


@dataclass(frozen=True)
class Scheduled:
    """A command a timer runs (deploy/systemd/mooc-*.timer; docs/operations.md, "Scheduled
    work"), and how its last good run is seen: the audit action every run records, or, for
    the backup (``action`` empty), the newest file in MOOC_BACKUP_DIR."""

    check: str
    command: str  # the timer's ExecStart, without /opt/mooc/venv/bin/, /opt/mooc/app/ and options
    action: str
    every: timedelta  # how often it runs; overdue after SCHEDULE_SLACK more
    wanted: Callable[[Settings], bool]  # whether these settings schedule it


def _always(config: Settings) -> bool:
    return True


# tests/test_deploy.py checks this list against the timers, the guide and the README.
SCHEDULED: tuple[Scheduled, ...] = (
    Scheduled("schedule.training_assign", "mooc training assign", "training.assigned", timedelta(days=1),
              _always),
    Scheduled("schedule.reminders_send", "mooc reminders send", "reminders.sent", timedelta(days=1), _always),
    Scheduled("schedule.xapi_send", "mooc xapi send", "xapi.sent", timedelta(hours=1),
              lambda config: bool(config.xapi_url)),
    Scheduled("schedule.reports_send", "mooc reports send", "reports.sent", timedelta(days=1),
              lambda config: _has_subscriptions()),
    Scheduled("schedule.privacy_purge", "mooc privacy purge", "privacy.purged", timedelta(days=1), _always),
    Scheduled("schedule.backup", "deploy/backup.sh", "", timedelta(days=1),
              lambda config: config.backup_dir is not None),
)


def _has_subscriptions() -> bool:
    return db.session.scalar(sa.select(ReportSubscription.id).where(
        ReportSubscription.active.is_(True)).limit(1)) is not None


SCHEDULE_SLACK = 0.5  # of its period: a nightly job is overdue after 36 hours, an hourly one after 90 minutes
MIN_FREE_BYTES = 1 << 30  # below 1 GB free: a warning
CRITICAL_FREE_BYTES = 100 << 20  # below 100 MB: an error (SQLite, the outbox, backups stop)
DEFAULT_THREADS = 4  # `mooc serve --threads`


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # ok, warning or error
    message: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def line(self) -> str:
        fix = f" → {self.fix}" if self.fix else ""
        return f"{self.status:<7} {self.check}: {self.message}{fix}"


# --- settings --------------------------------------------------------------------------------


def check_settings(config: Settings, flask_config: Mapping[str, Any],
                   environ: Mapping[str, str] | None = None) -> list[Finding]:
    """Production mode, the secret key, Secure cookies, the base URL, the proxies trusted."""
    environ = os.environ if environ is None else environ
    found = [_mode(config), _secret(config, environ)]
    found += _cookies_and_base_url(config, flask_config)
    found.append(_proxies(config))
    return found


def _mode(config: Settings) -> Finding:
    if config.production:
        return Finding("settings.env", OK, "MOOC_ENV is production")
    return Finding("settings.env", WARNING, f"MOOC_ENV is {config.env}: development defaults are on",
                   "set MOOC_ENV=production on a server people use")


def _secret(config: Settings, environ: Mapping[str, str]) -> Finding:
    if environ.get("MOOC_SECRET_KEY", "").strip():
        return Finding("settings.secret_key", OK, "MOOC_SECRET_KEY is set")
    if (config.instance_dir / SECRET_FILE).is_file():
        return Finding("settings.secret_key", OK, f"development key from {config.instance_dir / SECRET_FILE}")
    return Finding("settings.secret_key", WARNING,
                   "no secret key: each process makes up its own, sessions end when it restarts",
                   "set MOOC_SECRET_KEY (32+ random characters), the same on every app server")


def _cookies_and_base_url(config: Settings, flask_config: Mapping[str, Any]) -> list[Finding]:
    found = []
    url = urlsplit(config.base_url)
    secure = bool(flask_config.get("SESSION_COOKIE_SECURE"))
    if secure:
        found.append(Finding("settings.cookies", OK, "session cookies are Secure (HTTPS only)"))
    else:
        found.append(Finding("settings.cookies", WARNING, "session cookies are not marked Secure",
                             "MOOC_ENV=production marks them Secure"))
    if url.scheme not in {"http", "https"} or not url.hostname:
        found.append(Finding("settings.base_url", ERROR,
                             f"MOOC_BASE_URL {config.base_url!r} is not a web address",
                             "set it to the site's public address, e.g. https://daotao.thanhtra.gov.vn"))
    elif config.production and is_loopback_url(config.base_url):
        found.append(Finding("settings.base_url", ERROR,
                             f"MOOC_BASE_URL is {config.base_url}: links in e-mails point to the "
                             "server itself",
                             "set MOOC_BASE_URL to the site's public https:// address"))
    elif secure and url.scheme == "http" and not is_loopback_url(config.base_url):
        found.append(Finding("settings.base_url", ERROR,
                             f"MOOC_BASE_URL is {config.base_url}: Secure cookies never travel over "
                             "plain HTTP, so nobody can sign in there",
                             "serve the site over HTTPS and set MOOC_BASE_URL=https://..."))
    else:
        found.append(Finding("settings.base_url", OK, f"MOOC_BASE_URL is {config.base_url}"))
    return found


def _proxies(config: Settings) -> Finding:
    if config.proxy_count == 0 and config.production:
        return Finding("settings.proxy_count", WARNING,
                       "MOOC_PROXY_COUNT is 0: behind a reverse proxy every client has the proxy's "
                       "address (one password sprayer locks everybody out)",
                       "behind one nginx or Caddy, set MOOC_PROXY_COUNT=1")
    if config.proxy_count > 2:
        return Finding("settings.proxy_count", WARNING,
                       f"MOOC_PROXY_COUNT is {config.proxy_count}: clients can choose their own address "
                       "unless that many proxies really are in front",
                       "count the proxies between the internet and the app")
    return Finding("settings.proxy_count", OK, f"MOOC_PROXY_COUNT is {config.proxy_count}")


# --- database ------------------------------------------------------------------------------


def check_database() -> list[Finding]:
    """The database answers, and its schema is at the migrations' head."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]
        return [Finding("database", ERROR, f"the database cannot be reached: {reason}",
                        "check MOOC_DATABASE_URL and that the database server runs")]
    found = [Finding("database", OK, f"{db.engine.dialect.name} answers")]
    scripts = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    heads = set(scripts.get_heads())
    if current == heads:
        found.append(Finding("database.migrations", OK, f"at the head ({', '.join(sorted(heads))})"))
    elif not current:
        found.append(Finding("database.migrations", ERROR, "the database has no tables yet",
                             "run `mooc db upgrade`"))
    elif current - {script.revision for script in scripts.walk_revisions()}:
        found.append(Finding("database.migrations", ERROR,
                             f"the database is at {', '.join(sorted(current))}, which this version of "
                             "the app does not know (a newer release migrated it)",
                             "install the release that matches the database"))
    else:
        found.append(Finding("database.migrations", ERROR,
                             f"the database is at {', '.join(sorted(current))}, behind the head "
                             f"{', '.join(sorted(heads))}",
                             "stop the app, take a backup, run `mooc db upgrade`"))
    return found


# --- courses -------------------------------------------------------------------------------


def check_courses(config: Settings) -> list[Finding]:
    """The courses folder checks clean, and the database holds what it holds now: a sync
    is run and rolled back; anything it would change means the last sync is behind."""
    root = config.courses_dir
    if not root.is_dir():
        return [Finding("courses", ERROR, f"the courses folder {root} does not exist",
                        "set MOOC_COURSES_DIR")]
    result = check_tree(root)
    if result.errors:
        return [Finding("courses", ERROR, f"{len(result.errors)} error(s) in {root}",
                        "run `mooc courses check` and fix them; the last good sync stays live")]
    found = [Finding("courses", OK, f"{len(result.courses)} course(s) in {root} check clean"
                     + (f" ({len(result.warnings)} warning(s))" if result.warnings else ""))]
    found.append(_sync_state(root, result))
    return found


def _sync_state(root: Path, result: Any) -> Finding:
    last = db.session.scalar(sa.select(CourseSync).order_by(CourseSync.id.desc()).limit(1))
    if last is None:
        return Finding("courses.sync", ERROR, "the courses were never synced", "run `mooc courses sync`")
    try:
        report = sync_tree(root, result)
    except SyncRefused:  # pragma: no cover (the check above found no error)
        report = None
    finally:
        db.session.rollback()
    commit = git_commit(root)
    if report is not None and report.has_changes:
        changes = ", ".join(f"{n} {kind}" for kind, n in report.counts().items()
                            if kind in {"added", "renamed", "changed", "archived", "restored"} and n)
        return Finding("courses.sync", WARNING,
                       f"the folder changed since the last sync ({_when(last.at)}): a sync would "
                       f"make {changes}", "run `mooc courses sync`")
    if commit and last.source_commit and commit != last.source_commit:
        if report is not None:  # the files read as synced: commits that touched no course
            return Finding("courses.sync", OK,
                           f"synced at commit {last.source_commit[:12]}, {_when(last.at)}; the folder is "
                           f"at {commit[:12]}, and a sync would change nothing")
        return Finding("courses.sync", WARNING,
                       f"synced at commit {last.source_commit[:12]}, the folder is at {commit[:12]}",
                       "run `mooc courses sync`")
    at = f" at commit {commit[:12]}" if commit else ""
    return Finding("courses.sync", OK, f"synced{at}, {_when(last.at)}")


# --- mail ----------------------------------------------------------------------------------


def check_mail(config: Settings, timeout: float = 10) -> list[Finding]:
    """The SMTP server accepts a connection (TLS and sign-in as configured); nothing is sent."""
    if config.mail_backend == "file":
        status = WARNING if config.production else OK
        fix = "set MOOC_MAIL_BACKEND=smtp and the MOOC_MAIL_* settings" if status == WARNING else ""
        return [Finding("mail", status, f"e-mails are written to {config.instance_dir / 'outbox'}, not sent",
                        fix)]
    try:
        mail.probe_smtp(config, timeout)
    except mail.MailError as error:
        return [Finding("mail", ERROR, str(error),
                        "check MOOC_MAIL_HOST, MOOC_MAIL_PORT, MOOC_MAIL_TLS, MOOC_MAIL_USER and the "
                        "firewall")]
    user = f" as {config.mail_user}" if config.mail_user else ""
    return [Finding("mail", OK, f"{config.mail_host}:{config.mail_port} ({config.mail_tls}) "
                                f"accepts a connection{user}")]


# --- directory sign-in ---------------------------------------------------------------------


def check_directory(app: Flask) -> list[Finding]:
    """MOOC_LDAP_URL, when set: the directory answers over TLS, the service account binds and
    finds people under the base DN. Nobody's password is tried."""
    ldap, directory = settings(app).ldap, backends.directory(app)
    if ldap is None or directory is None:
        return []
    try:
        people = directory.probe()
    except backends.DirectoryUnavailable as error:
        return [Finding("directory.ldap", ERROR, f"directory sign-in does not work: {error}",
                        "check MOOC_LDAP_URL, MOOC_LDAP_CA_FILE, the service account (MOOC_LDAP_BIND_DN "
                        "and its password) and the firewall; the roles in MOOC_LOCAL_PASSWORD_ROLES "
                        "can still sign in with their local password")]
    if people == 0:
        return [Finding("directory.ldap", WARNING,
                        f"{ldap.url} answers, but the service account finds nobody under {ldap.base_dn}",
                        "check MOOC_LDAP_BASE_DN, MOOC_LDAP_USER_FILTER and what the service account "
                        "may read")]
    more = "+" if people >= 1000 else ""
    return [Finding("directory.ldap", OK, f"{ldap.url} ({ldap.tls}) answers; the service account finds "
                                          f"{people}{more} people under {ldap.base_dn}")]


# --- scheduled commands --------------------------------------------------------------------


def check_schedule(now: datetime | None = None) -> list[Finding]:
    """The last successful run of each scheduled command (from the audit trail; the backup from
    its folder), and whether it is overdue."""
    now = now or clock.now()
    config = settings()
    found = []
    for job in SCHEDULED:
        if not job.wanted(config):
            continue
        if job.action:
            found.append(_audit_state(job, now))
        elif config.backup_dir is not None:
            found.append(_backup_state(job, config.backup_dir, now))
    return found


def _audit_state(job: Scheduled, now: datetime) -> Finding:
    runs = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == job.action)
                              .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(50)).all()
    good = next((run for run in runs if not run.details.get("failed") and not run.details.get("stopped")),
                None)
    if good is None:
        return Finding(job.check, WARNING, f"`{job.command}` has never run" if not runs
                       else f"`{job.command}` has not finished a run without failures",
                       "schedule it (docs/operations.md, Scheduled work) and read its log")
    if now - good.at > job.every * (1 + SCHEDULE_SLACK):
        return Finding(job.check, ERROR, f"`{job.command}` last succeeded {_when(good.at)}: overdue",
                       "check its timer (systemctl list-timers 'mooc-*') and the command's log")
    if runs[0] is not good:
        return Finding(job.check, WARNING, f"`{job.command}` last succeeded {_when(good.at)}; the run of "
                       f"{_when(runs[0].at)} had failures", "read the command's log")
    return Finding(job.check, OK, f"`{job.command}` last succeeded {_when(good.at)}")


BACKUP_SUFFIXES = (".dump", ".sqlite3")  # deploy/backup.sh's files; a .partial one is not a backup


def _backup_state(job: Scheduled, folder: Path, now: datetime) -> Finding:
    """deploy/backup.sh leaves no audit row (it runs pg_dump, not the app): its newest file says."""
    if folder.exists() and not os.access(folder, os.R_OK | os.X_OK):
        return Finding(job.check, ERROR, f"{folder} (MOOC_BACKUP_DIR) cannot be read by this user",
                       "run the check as the service's user: mooc-admin doctor")
    made = [path.stat().st_mtime for path in folder.glob("mooc-*")
            if path.suffix in BACKUP_SUFFIXES and path.is_file()] if folder.is_dir() else []
    if not made:
        return Finding(job.check, WARNING, f"no backup in {folder} yet",
                       "enable mooc-backup.timer, or run it now: systemctl start mooc-backup.service")
    newest = datetime.fromtimestamp(max(made), UTC)
    if now - newest > job.every * (1 + SCHEDULE_SLACK):
        return Finding(job.check, ERROR,
                       f"the newest backup in {folder} was written {_when(newest)}: overdue",
                       "check its timer (systemctl status mooc-backup) and journalctl -u mooc-backup")
    return Finding(job.check, OK, f"the newest backup in {folder} was written {_when(newest)}")


# --- the instance folder -------------------------------------------------------------------


def check_instance(config: Settings, min_free: int = MIN_FREE_BYTES,
                   critical_free: int = CRITICAL_FREE_BYTES) -> list[Finding]:
    """The instance folder exists, can be written, has room, and is not open to everybody."""
    folder = config.instance_dir
    if not folder.is_dir():
        return [Finding("instance", ERROR, f"{folder} is not a folder",
                        f"create it (mkdir -p {folder}) or set MOOC_INSTANCE_DIR")]
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as error:
        return [Finding("instance", ERROR, f"{folder} cannot be written: {error.strerror}",
                        "give the user that runs the app write access to it")]
    found = [_free_space(folder, min_free, critical_free)]
    mode = folder.stat().st_mode
    if mode & stat.S_IWOTH:
        found.append(Finding("instance.permissions", WARNING, f"{folder} can be written by every user",
                             f"chmod o-w {folder}"))
    secret = folder / SECRET_FILE
    if secret.is_file() and secret.stat().st_mode & 0o077:
        found.append(Finding("instance.permissions", WARNING, f"{secret} can be read by other users",
                             f"chmod 600 {secret}"))
    if len(found) == 1:
        found.append(Finding("instance.permissions", OK, f"{folder} is writable and not open to others"))
    return found


def _free_space(folder: Path, min_free: int, critical_free: int) -> Finding:
    free = shutil.disk_usage(folder).free
    text = f"{free / (1 << 30):.1f} GB free on the disk of {folder}"
    if free < critical_free:
        return Finding("instance.disk", ERROR, text, "free some space now: writes will fail")
    if free < min_free:
        return Finding("instance.disk", WARNING, text, "free some space (backups, logs)")
    return Finding("instance.disk", OK, text)


# --- PostgreSQL ----------------------------------------------------------------------------


def check_postgres(config: Settings, workers: int | None = None,
                   threads: int = DEFAULT_THREADS) -> list[Finding]:
    """The statement timeout the app's connections really get, and whether the pools of every
    worker fit in the server's connections."""
    if db.engine.dialect.name != "postgresql":
        return [Finding("database.settings", OK,
                        f"SQLite: writers wait up to {config.sqlite_busy_timeout_ms} ms for each other")]
    workers = workers or default_workers()
    timeout = db.session.execute(sa.text("SHOW statement_timeout")).scalar_one()
    limit = int(db.session.execute(sa.text("SHOW max_connections")).scalar_one())
    reserved = int(db.session.execute(sa.text("SHOW superuser_reserved_connections")).scalar_one())
    db.session.rollback()
    found = []
    if str(timeout) in {"0", "0ms"}:
        found.append(Finding("database.statement_timeout", WARNING,
                             "no statement timeout: a runaway query holds a connection for ever",
                             "set MOOC_DB_STATEMENT_TIMEOUT_MS (default 30000)"))
    else:
        found.append(Finding("database.statement_timeout", OK, f"statement_timeout is {timeout}"))
    most = 2 * config.db_pool_size * workers  # pool_size plus as many overflow, per worker
    if most > limit - reserved:
        found.append(Finding("database.pool", WARNING,
                             f"{workers} workers x {2 * config.db_pool_size} connections ({most}) exceed the "
                             f"server's {limit - reserved} connections",
                             "lower MOOC_DB_POOL_SIZE or --workers, or raise max_connections"))
    elif config.db_pool_size < threads:
        found.append(Finding("database.pool", WARNING,
                             f"MOOC_DB_POOL_SIZE {config.db_pool_size} is below the {threads} threads "
                             "per worker: requests wait for overflow connections",
                             f"set MOOC_DB_POOL_SIZE={threads}"))
    else:
        found.append(Finding("database.pool", OK, f"pool of {config.db_pool_size} (+{config.db_pool_size}) "
                             f"per worker, {most} at most of the server's {limit - reserved}"))
    return found


# --- the read replica ----------------------------------------------------------------------


def check_replica(app: Flask) -> list[Finding]:
    """MOOC_DATABASE_REPLICA_URL, when set: it answers, it is a standby (in recovery) of this
    primary (the same system identifier), and how far behind it is."""
    standby = replica.replica_of(app)
    if standby is None:
        return []
    try:
        with standby.engine.connect() as connection:
            in_recovery = connection.scalar(sa.text("SELECT pg_is_in_recovery()"))
            lag = float(connection.scalar(replica.LAG_SQL) or 0)
            system = _system_identifier(connection)
    except sa.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]
        return [Finding("database.replica", WARNING,
                        f"the read replica cannot be reached (reports read the primary): {reason}",
                        "check MOOC_DATABASE_REPLICA_URL and that the standby runs")]
    finally:
        standby.engine.dispose()
    with db.engine.connect() as connection:
        primary_system = _system_identifier(connection)
    if not in_recovery or (system and primary_system and system != primary_system):
        what = "is not a standby" if not in_recovery else "is a standby of another primary"
        return [Finding("database.replica", ERROR,
                        f"MOOC_DATABASE_REPLICA_URL {what}: reports would read a database this primary's "
                        "writes never reach",
                        "point it at a streaming standby of MOOC_DATABASE_URL (pg_basebackup -R), "
                        "or unset it")]
    if lag > standby.max_lag_seconds:
        return [Finding("database.replica", WARNING,
                        f"the read replica is {lag:.0f} s behind (more than MOOC_REPLICA_MAX_LAG_SECONDS, "
                        f"{standby.max_lag_seconds} s): reports read the primary until it catches up",
                        "look at replay_lag in pg_stat_replication on the primary")]
    return [Finding("database.replica", OK, f"a standby of the primary, {lag:.1f} s behind")]


def _system_identifier(connection: sa.Connection) -> int | None:
    """The cluster's identity, the same on a primary and its standbys (None if not allowed)."""
    try:
        with connection.begin_nested():
            return connection.scalar(sa.text("SELECT system_identifier FROM pg_control_system()"))
    except sa.exc.DBAPIError:
        return None


# --- all of them ---------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return format_datetime(moment)


def run_all(app: Flask) -> list[Finding]:
    """Every check, in order; the ones that need the database are left out when it cannot be
    reached (its finding says so). A check that fails unexpectedly is an error finding."""
    config = settings(app)
    found: list[Finding] = []
    with app.app_context():
        found += _guarded("settings", lambda: check_settings(config, app.config))
        database = _guarded("database", check_database)
        found += database
        reachable = all(f.status != ERROR for f in database if f.check == "database")
        if reachable:
            found += _guarded("database.settings", lambda: check_postgres(config))
            found += _guarded("database.replica", lambda: check_replica(app))
            found += _guarded("courses", lambda: check_courses(config))
        found += _guarded("mail", lambda: check_mail(config))
        found += _guarded("directory", lambda: check_directory(app))
        if reachable:
            found += _guarded("schedule", check_schedule)
        found += _guarded("instance", lambda: check_instance(config))
        db.session.remove()
        db.engine.dispose()
    return found


def _guarded(name: str, check: Callable[[], list[Finding]]) -> list[Finding]:
    try:
        return check()
    except Exception as error:  # one broken check must not hide the others' findings
        db.session.rollback()
        return [Finding(name, ERROR, f"the check itself failed: {type(error).__name__}: {error}"[:300],
                        "report this with the output of `mooc doctor`")]
