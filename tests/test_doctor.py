"""`mooc doctor`: each check reports the broken setting it claims to check, made real (a
stopped SMTP server, a database one migration behind, a course edited after its sync...)."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask_migrate import downgrade, upgrade

from mooc import clock, doctor
from mooc.auth import audit
from mooc.auth.models import Role
from mooc.cli import main
from mooc.config import SECRET_FILE, build_settings, settings
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from tests.courses.tree import make_tree
from tests.reminders.conftest import Inbox, Smtp, free_port
from tests.test_exit_codes import made_apps  # noqa: F401 (a fixture)


def statuses(findings: list[doctor.Finding]) -> dict[str, str]:
    return {finding.check: finding.status for finding in findings}


def environment(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str | None]:
    """The MOOC_* variables of a real `mooc` run (every other MOOC_* variable unset)."""
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("MOOC_")}
    env.update({"MOOC_ENV": "testing", "MOOC_DATABASE_URL": database_url, "MOOC_INSTANCE_DIR": str(tmp_path),
                "MOOC_SECRET_KEY": "k" * 40, "MOOC_COURSES_DIR": str(make_tree(tmp_path / "courses"))})
    env.update(extra)
    return env


# --- settings ------------------------------------------------------------------------------


@pytest.mark.usefixtures("made_apps")
def test_production_without_a_secret_key_is_an_error_and_exit_1(tmp_path, database_url):
    env = environment(tmp_path, database_url, MOOC_ENV="production", MOOC_SECRET_KEY=None)
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == 1
    assert result.output.startswith("error   settings: MOOC_SECRET_KEY is not set")
    as_json = json.loads(CliRunner().invoke(main, ["doctor", "--format", "json"], env=env).output)
    assert as_json["ok"] is False and as_json["checks"][0]["status"] == "error"


def test_secure_cookies_over_plain_http_and_no_proxy_count_in_production(tmp_path):
    environ = {"MOOC_ENV": "production", "MOOC_SECRET_KEY": "k" * 40, "MOOC_INSTANCE_DIR": str(tmp_path),
               "MOOC_BASE_URL": "http://daotao.example.vn"}
    config = build_settings(environ=environ)
    found = statuses(doctor.check_settings(config, {"SESSION_COOKIE_SECURE": True}, environ))
    assert found == {"settings.env": "ok", "settings.secret_key": "ok", "settings.cookies": "ok",
                     "settings.base_url": "error", "settings.proxy_count": "warning"}
    fixed = {**environ, "MOOC_BASE_URL": "https://daotao.example.vn", "MOOC_PROXY_COUNT": "1"}
    found = statuses(doctor.check_settings(build_settings(environ=fixed), {"SESSION_COOKIE_SECURE": True},
                                           fixed))
    assert set(found.values()) == {"ok"}


def test_development_without_a_secret_key_warns(tmp_path):
    environ = {"MOOC_INSTANCE_DIR": str(tmp_path)}
    found = doctor.check_settings(build_settings(environ=environ), {"SESSION_COOKIE_SECURE": False}, environ)
    assert statuses(found)["settings.secret_key"] == "warning"
    assert statuses(found)["settings.cookies"] == "warning"
    (tmp_path / SECRET_FILE).write_text("s" * 48)
    found = doctor.check_settings(build_settings(environ=environ), {}, environ)
    assert statuses(found)["settings.secret_key"] == "ok"


# --- the database --------------------------------------------------------------------------


def test_a_database_one_migration_behind_the_head(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'behind.sqlite3'}")
    with app.app_context():
        assert statuses(doctor.check_database())["database.migrations"] == "error"  # no tables at all
        upgrade()
        assert statuses(doctor.check_database()) == {"database": "ok", "database.migrations": "ok"}
        downgrade(revision="-1")
        found = doctor.check_database()
        db.engine.dispose()
    assert statuses(found) == {"database": "ok", "database.migrations": "error"}
    assert "behind the head" in found[1].message and "mooc db upgrade" in found[1].fix


def test_a_database_that_cannot_be_reached(make_app):
    app = make_app(DATABASE_URL=f"postgresql+psycopg://mooc@127.0.0.1:{free_port()}/mooc")  # nobody listens
    with app.app_context():
        found = doctor.check_database()
    assert statuses(found) == {"database": "error"}
    assert "MOOC_DATABASE_URL" in found[0].fix


@pytest.mark.skipif("postgresql" not in os.environ.get("MOOC_TEST_DATABASE_URL", ""),
                    reason="PostgreSQL only")
def test_postgres_without_a_statement_timeout_and_a_pool_too_big(make_app):
    app = make_app(DB_STATEMENT_TIMEOUT_MS=0, DB_POOL_SIZE=500)
    with app.app_context():
        found = statuses(doctor.check_postgres(settings(app), workers=4))
    assert found == {"database.statement_timeout": "warning", "database.pool": "warning"}
    app = make_app(DB_POOL_SIZE=4)
    with app.app_context():
        found = statuses(doctor.check_postgres(settings(app), workers=2))
    assert found == {"database.statement_timeout": "ok", "database.pool": "ok"}


def test_sqlite_reports_its_busy_timeout(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}", SQLITE_BUSY_TIMEOUT_MS=2000)
    with app.app_context():
        found = doctor.check_postgres(settings(app))
    assert statuses(found) == {"database.settings": "ok"} and "2000 ms" in found[0].message


# --- courses -------------------------------------------------------------------------------


def test_courses_never_synced_then_synced_then_edited_after_the_sync(make_app, tmp_path):
    root = make_tree(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(root))
    config = settings(app)
    with app.app_context():
        assert statuses(doctor.check_courses(config)) == {"courses": "ok", "courses.sync": "error"}
        sync_tree(root)
        db.session.commit()
        assert statuses(doctor.check_courses(config)) == {"courses": "ok", "courses.sync": "ok"}
        lesson = root / "luat" / "01-co-ban" / "01-khai-niem.md"
        lesson.write_text(lesson.read_text(encoding="utf-8") + "\nMột đoạn mới.\n", encoding="utf-8")
        found = doctor.check_courses(config)
        assert statuses(found) == {"courses": "ok", "courses.sync": "warning"}
        assert "1 changed" in found[1].message and found[1].fix == "run `mooc courses sync`"
        db.session.rollback()


def test_a_commit_that_changes_no_course_is_no_reason_to_sync(make_app, tmp_path):
    """The courses folder inside the app's clone: a release's commit that touches no course moves
    HEAD, but a sync would change nothing, so the doctor does not ask for one (it did, hourly
    from monitoring). A commit that does change a course is still told."""
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t",  # noqa: S603, S607
                        *args], check=True, capture_output=True)

    root = make_tree(tmp_path / "courses")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "courses")
    app = make_app(COURSES_DIR=str(root))
    config = settings(app)
    with app.app_context():
        sync_tree(root)
        db.session.commit()
        (tmp_path / "README.md").write_text("Bản phát hành mới\n", encoding="utf-8")
        git("add", "-A")
        git("commit", "-q", "-m", "release")
        found = doctor.check_courses(config)
        assert statuses(found) == {"courses": "ok", "courses.sync": "ok"}, found
        assert "would change nothing" in found[1].message, found[1].message
        lesson = root / "luat" / "01-co-ban" / "01-khai-niem.md"
        lesson.write_text(lesson.read_text(encoding="utf-8") + "\nMột đoạn mới.\n", encoding="utf-8")
        git("commit", "-q", "-am", "lesson")
        assert statuses(doctor.check_courses(config)) == {"courses": "ok", "courses.sync": "warning"}
        db.session.rollback()


def test_a_course_with_an_error(make_app, tmp_path):
    root = make_tree(tmp_path / "courses")
    (root / "luat" / "course.md").write_text("---\ntitle: Thiếu mã\n---\n", encoding="utf-8")
    app = make_app(COURSES_DIR=str(root))
    with app.app_context():
        found = doctor.check_courses(settings(app))
    assert statuses(found) == {"courses": "error"} and "mooc courses check" in found[0].fix


# --- mail ----------------------------------------------------------------------------------


def test_a_stopped_smtp_server_is_an_error(make_app):
    server = Smtp(free_port(), Inbox())
    server.start()
    app = make_app(MAIL_BACKEND="smtp", MAIL_HOST="127.0.0.1", MAIL_PORT=server.port)
    try:
        assert statuses(doctor.check_mail(settings(app), timeout=5)) == {"mail": "ok"}
    finally:
        server.stop()
    found = doctor.check_mail(settings(app), timeout=5)
    assert statuses(found) == {"mail": "error"} and f"127.0.0.1:{server.port}" in found[0].message
    assert server.inbox.envelopes == []  # the check sends nothing


# --- scheduled commands --------------------------------------------------------------------


def test_scheduled_commands_never_run_overdue_failed_and_on_time(app):
    with app.app_context():
        found = statuses(doctor.check_schedule())
        assert found == {"schedule.training_assign": "warning", "schedule.reminders_send": "warning",
                         "schedule.privacy_purge": "warning"}
        clock.set_now(clock.now() - timedelta(days=3))
        audit.record("training.assigned", left=0, enrolled=0, renewed=0, closed=0)
        audit.record("reminders.sent", sent=1, failed=0, left=0, stopped="")
        audit.record("privacy.purged", people=0, files=0)
        db.session.commit()
        clock.set_now(None)
        audit.record("reminders.sent", sent=0, failed=2, left=5, stopped="mail server unavailable")
        db.session.commit()
        found = statuses(doctor.check_schedule())
        assert found == {"schedule.training_assign": "error", "schedule.reminders_send": "error",
                         "schedule.privacy_purge": "error"}
        audit.record("training.assigned", left=0, enrolled=1, renewed=0, closed=0)
        audit.record("reminders.sent", sent=3, failed=0, left=0, stopped="")
        audit.record("privacy.purged", people=0, files=0)
        db.session.commit()
        assert set(statuses(doctor.check_schedule()).values()) == {"ok"}
        audit.record("reminders.sent", sent=0, failed=1, left=0, stopped="")
        db.session.commit()
        assert statuses(doctor.check_schedule())["schedule.reminders_send"] == "warning"


def test_the_scheduled_commands_record_their_runs(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["training", "assign"]).exit_code == 0
    assert runner.invoke(args=["reminders", "send"]).exit_code == 0  # nothing to send: still a run
    assert runner.invoke(args=["privacy", "purge"]).exit_code == 0  # nobody to purge: still a run
    with app.app_context():
        found = statuses(doctor.check_schedule())
    assert found == {"schedule.training_assign": "ok", "schedule.reminders_send": "ok",
                     "schedule.privacy_purge": "ok"}


def test_the_backup_is_watched_by_its_newest_file_where_it_is_made(make_app, tmp_path):
    """deploy/backup.sh writes no audit row: doctor reads MOOC_BACKUP_DIR, on the machine that
    sets it (the one whose timer runs the backup)."""
    folder = tmp_path / "backups"
    without, here = make_app(), make_app(BACKUP_DIR=str(folder))
    with without.app_context():
        assert "schedule.backup" not in statuses(doctor.check_schedule())
    with here.app_context():
        assert statuses(doctor.check_schedule())["schedule.backup"] == "warning"  # no folder yet
        folder.mkdir()
        (folder / "mooc-2026-12-05T023000.dump.partial").write_bytes(b"half")  # not a backup
        assert statuses(doctor.check_schedule())["schedule.backup"] == "warning"
        old = folder / "mooc-2026-12-03T023000.dump"
        old.write_bytes(b"PGDMP")
        two_days_ago = time.time() - 2 * 24 * 3600
        os.utime(old, (two_days_ago, two_days_ago))
        found = [f for f in doctor.check_schedule() if f.check == "schedule.backup"]
        assert found[0].status == "error" and "overdue" in found[0].message
        (folder / "mooc-2026-12-05T023000.sqlite3").write_bytes(b"SQLite format 3")
        assert statuses(doctor.check_schedule())["schedule.backup"] == "ok"
        if os.geteuid() != 0:  # root reads any folder
            folder.chmod(0o000)
            try:
                assert statuses(doctor.check_schedule())["schedule.backup"] == "error"
            finally:
                folder.chmod(0o700)


def test_the_xapi_run_is_watched_only_where_a_store_is_configured(make_app):
    without, with_store = make_app(), make_app(XAPI_URL="http://127.0.0.1:9/xAPI/")
    with without.app_context():
        assert "schedule.xapi_send" not in statuses(doctor.check_schedule())
    with with_store.app_context():
        assert statuses(doctor.check_schedule())["schedule.xapi_send"] == "warning"  # never ran
        clock.set_now(clock.now() - timedelta(hours=3))
        audit.record("xapi.sent", collected=0, sent=0, failed=0, queued=0)
        db.session.commit()
        clock.set_now(None)
        assert statuses(doctor.check_schedule())["schedule.xapi_send"] == "error"  # hourly: overdue
        audit.record("xapi.sent", collected=2, sent=2, failed=0, queued=0)
        db.session.commit()
        assert statuses(doctor.check_schedule())["schedule.xapi_send"] == "ok"


# --- the instance folder -------------------------------------------------------------------


def test_the_instance_folder_missing_open_to_all_and_full(tmp_path):
    folder = tmp_path / "instance"
    config = build_settings({"INSTANCE_DIR": str(folder)}, environ={})
    assert statuses(doctor.check_instance(config)) == {"instance": "error"}
    folder.mkdir()
    assert statuses(doctor.check_instance(config)) == {"instance.disk": "ok", "instance.permissions": "ok"}
    folder.chmod(0o777)
    (folder / SECRET_FILE).write_text("s" * 48)
    (folder / SECRET_FILE).chmod(0o644)
    found = doctor.check_instance(config)
    assert [f.status for f in found] == ["ok", "warning", "warning"]
    assert [f.fix for f in found][1:] == [f"chmod o-w {folder}", f"chmod 600 {folder / SECRET_FILE}"]
    free = shutil.disk_usage(folder).free
    low = doctor.check_instance(config, min_free=free * 2, critical_free=1)
    assert statuses(low)["instance.disk"] == "warning"
    assert statuses(doctor.check_instance(config, critical_free=free * 2))["instance.disk"] == "error"


def test_an_instance_folder_that_is_a_file(tmp_path):
    (tmp_path / "instance").write_text("")
    config = build_settings({"INSTANCE_DIR": str(tmp_path / "instance")}, environ={})
    assert statuses(doctor.check_instance(config)) == {"instance": "error"}


# --- the command ---------------------------------------------------------------------------


@pytest.mark.usefixtures("made_apps")
def test_the_command_prints_one_line_per_check_and_exits_0_with_warnings_only(app, tmp_path, database_url):
    env = environment(tmp_path, database_url)
    with app.app_context():
        sync_tree(Path(env["MOOC_COURSES_DIR"] or ""))
        audit.record("training.assigned", left=0, enrolled=0, renewed=0, closed=0)
        audit.record("reminders.sent", sent=0, failed=0, left=0, stopped="")
        audit.record("privacy.purged", people=0, files=0)
        db.session.commit()
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(line.split()[0] in {"ok", "warning"} for line in lines[:-1])
    assert "warning settings.env: MOOC_ENV is testing" in result.output
    assert lines[-1].endswith("0 error(s), 2 warning(s).")
    as_json = json.loads(CliRunner().invoke(main, ["doctor", "--format", "json"], env=env).output)
    assert as_json["ok"] is True and as_json["errors"] == 0
    assert {check["check"] for check in as_json["checks"]} >= {
        "settings.env", "database", "database.migrations", "courses", "courses.sync", "mail",
        "schedule.training_assign", "schedule.reminders_send", "schedule.privacy_purge", "instance.disk",
        "instance.permissions"}


def test_the_reports_run_is_watched_once_someone_subscribes(app, make_user):
    from mooc.reports.models import Frequency, ReportKind, ReportSubscription

    with app.app_context():
        assert "schedule.reports_send" not in statuses(doctor.check_schedule())
    reporter = make_user(role=Role.REPORTER)
    with app.app_context():
        db.session.add(ReportSubscription(user_id=reporter.id, kind=ReportKind.DASHBOARD,
                                          frequency=Frequency.MONTHLY))
        db.session.commit()
        assert statuses(doctor.check_schedule())["schedule.reports_send"] == "warning"  # never ran
    assert app.test_cli_runner().invoke(args=["reports", "send"]).exit_code == 0
    with app.app_context():
        assert statuses(doctor.check_schedule())["schedule.reports_send"] == "ok"
