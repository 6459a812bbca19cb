"""The read replica (MOOC_DATABASE_REPLICA_URL, mooc/replica.py) against a real PostgreSQL
streaming replica that this module builds on loopback: a primary made with initdb and a
standby made from it with ``pg_basebackup -R``, each on a free port of 127.0.0.1, in a
temporary folder removed at the end. The shared server (the suite's database) is not used.

What is proved, through the real app and its test client:
- report pages and their exports read from the replica: with replay paused, a report is a
  moment behind while the trainee's own progress (the primary) is current;
- a person who just wrote reads the primary (read-your-writes), another person the replica;
- a replica further behind than MOOC_REPLICA_MAX_LAG_SECONDS is not read;
- a replica lost in the middle of a page: the page is made again on the primary;
- when the replica goes away, report pages and search still answer 200 with the primary's
  data, the failure is logged once, and the replica is used again once it is back.

Skipped only where PostgreSQL's server programs are missing; in CI (CI set) that fails.
"""

from __future__ import annotations

import csv
import glob
import io
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from mooc import clock, create_app, doctor, replica
from mooc.auth.models import Role, User
from mooc.auth.passwords import set_password
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff
from mooc.training import assign
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentState
from tests.conftest import FAST_HASH, csrf_token, login
from tests.training.conftest import make_course

PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
DATABASE = "mooc"


def _bindir() -> Path | None:
    """A folder holding PostgreSQL's server programs (Debian keeps them off PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    for folder in candidates:
        if all((Path(folder) / program).exists() for program in PROGRAMS):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Clusters:
    bindir: Path
    folder: Path
    primary_port: int
    replica_port: int
    as_postgres: list[str]

    def url(self, port: int) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DATABASE}"

    def run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_postgres, str(self.bindir / program), *args],  # noqa: S603 (our arguments)
                       check=True, capture_output=True, timeout=120)

    def sql(self, port: int, statement: str, database: str = DATABASE) -> object:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=database,
                             autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(statement)  # type: ignore[arg-type]
            row = cursor.fetchone() if cursor.description else None
            return row[0] if row else None

    def start_replica(self) -> None:
        self.run("pg_ctl", "-D", str(self.folder / "replica"), "-l", str(self.folder / "replica.log"),
                 "-w", "start")
        self.wait_streaming()

    def stop_replica(self) -> None:
        self.run("pg_ctl", "-D", str(self.folder / "replica"), "-m", "immediate", "-w", "stop")

    def wait_streaming(self) -> None:
        self._wait(lambda: self.sql(self.replica_port, "SELECT pg_is_in_recovery()", "postgres") is True
                   and self.sql(self.primary_port, "SELECT count(*) FROM pg_stat_replication "
                                "WHERE state = 'streaming'", "postgres") == 1, "the replica to stream")

    def pause_replay(self) -> None:
        """Stop applying WAL (it is still received), and wait until replay really stands still."""
        self.sql(self.replica_port, "SELECT pg_wal_replay_pause()")
        self._wait(lambda: self.sql(self.replica_port, "SELECT pg_get_wal_replay_pause_state()") == "paused",
                   "replay to pause")

    def wait_received(self) -> None:
        """Wait until the replica has received (not replayed) everything the primary wrote."""
        lsn = self.sql(self.primary_port, "SELECT pg_current_wal_insert_lsn()::text")
        self._wait(lambda: self.sql(self.replica_port,
                                    f"SELECT pg_last_wal_receive_lsn() >= '{lsn}'::pg_lsn") is True,
                   "the replica to receive the primary's writes")

    def resume_and_catch_up(self) -> None:
        """Replay again, and wait until the replica has applied everything the primary wrote."""
        self.sql(self.replica_port, "SELECT pg_wal_replay_resume()")
        lsn = self.sql(self.primary_port, "SELECT pg_current_wal_insert_lsn()::text")
        self._wait(lambda: self.sql(self.replica_port,
                                    f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") is True,
                   "the replica to catch up")

    @staticmethod
    def _wait(condition, what: str) -> None:
        deadline = time.monotonic() + 60  # a deadline for a wait, not an assertion on speed
        while True:
            try:
                if condition():
                    return
            except psycopg.OperationalError:
                pass  # starting up
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)


def _make_clusters(folder: Path, bindir: Path) -> Clusters:
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    clusters = Clusters(bindir, folder, _free_port(), _free_port(), as_postgres)
    primary, standby = folder / "primary", folder / "replica"
    clusters.run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--locale=C.UTF-8", "--no-sync")
    settings = (f"listen_addresses = '127.0.0.1'\nport = {clusters.primary_port}\n"
                f"unix_socket_directories = '{folder}'\nwal_level = replica\nmax_wal_senders = 4\n"
                "hot_standby = on\nfsync = off\nfull_page_writes = off\n")
    with open(primary / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(settings)
    with open(primary / "pg_hba.conf", "a", encoding="utf-8") as hba:
        hba.write("host replication postgres 127.0.0.1/32 trust\nhost all postgres 127.0.0.1/32 trust\n")
    clusters.run("pg_ctl", "-D", str(primary), "-l", str(folder / "primary.log"), "-w", "start")
    clusters.sql(clusters.primary_port, f"CREATE DATABASE {DATABASE}", "postgres")
    clusters.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(clusters.primary_port), "-U", "postgres",
                 "-D", str(standby), "-R", "-X", "stream", "-c", "fast", "--no-sync")
    with open(standby / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(f"port = {clusters.replica_port}\n")
    clusters.start_replica()
    return clusters


@pytest.fixture(scope="module")
def clusters() -> Iterator[Clusters]:
    bindir = _bindir()
    if bindir is None or (os.geteuid() == 0 and not shutil.which("runuser")):
        if os.environ.get("CI"):
            pytest.fail("CI has PostgreSQL's server programs: the read-replica tests must run")
        pytest.skip("needs PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup)")
    folder = Path(tempfile.mkdtemp(prefix="mooc-replica-"))
    made: Clusters | None = None
    try:
        made = _make_clusters(folder, bindir)
        yield made
    finally:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        for name in ("replica", "primary"):
            if (folder / name / "postmaster.pid").exists():
                subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(folder / name),  # noqa: S603
                                "-m", "immediate", "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Site:
    app: Flask
    clusters: Clusters
    staff_code: str
    enrolment_id: int
    unit_id: int


@pytest.fixture(scope="module")
def site(clusters: Clusters, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app on the primary with the replica configured; one unit, one trainee enrolled in a
    course, a reporter (reads every report) and an administrator (also exempts people)."""
    folder = tmp_path_factory.mktemp("replica-site")
    root = make_course(folder / "courses")
    app = create_app({"ENV": "testing", "DATABASE_URL": clusters.url(clusters.primary_port),
                      "DATABASE_REPLICA_URL": clusters.url(clusters.replica_port),
                      # These tests pause replay for as long as they need: no lag is too much here
                      # (test_a_replica_too_far_behind_is_not_read sets the bound).
                      "REPLICA_MAX_LAG_SECONDS": 86400,
                      "INSTANCE_DIR": str(folder), "SECRET_KEY": "test-secret-" + "x" * 30,
                      "PASSWORD_METHOD": FAST_HASH, "COURSES_DIR": str(root)})
    with app.app_context():
        upgrade()
        sync_tree(root)
        unit = OrgUnit(code="NB", name="Thanh tra tỉnh Ninh Bình", kind="province")
        db.session.add(unit)
        db.session.flush()
        staff = Staff(staff_code="000777", full_name="Nguyễn Văn An", family_name="Nguyễn",
                      middle_name="Văn", given_name="An", unit_id=unit.id)
        db.session.add(staff)
        db.session.flush()
        for email, role, staff_id in [("an@example.vn", Role.TRAINEE, staff.id),
                                      ("bo@example.vn", Role.REPORTER, None),
                                      ("admin@example.vn", Role.ADMIN, None)]:
            user = User(email=email, display_name=email, role=role, staff_id=staff_id, active=True)
            set_password(user, "mot-mat-khau-dai", FAST_HASH)
            db.session.add(user)
        from mooc.courses.models import Course

        course_id = db.session.scalar(sa.select(Course.id).where(Course.key == "luat"))
        rule = AssignmentRule(course_id=course_id, due_days=90)
        rule.units = [unit]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules(today=clock.today())
        enrolment_id = db.session.scalar(sa.select(Enrolment.id).where(Enrolment.staff_id == staff.id))
        db.session.commit()
        unit_id = unit.id
    clusters.resume_and_catch_up()
    try:
        yield Site(app, clusters, "000777", enrolment_id, unit_id)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
            for engine in replica.engines(app):
                engine.dispose()


def _client(site: Site, email: str) -> FlaskClient:
    client = site.app.test_client()
    assert login(client, email, "mot-mat-khau-dai").status_code == 302
    # Signing in wrote (a session): this browser reads the primary for a while. Tests that
    # want a reader of the replica forget that, as the browser does once the time has passed.
    client.delete_cookie(replica.STICKY_COOKIE)
    return client


def _status_in_report(site: Site, client: FlaskClient) -> str:
    """The trainee's status in the people report, read from its CSV export."""
    response = client.get(f"/reports/people?unit={site.unit_id}&export=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    return next(row[5] for row in rows if row and row[0] == site.staff_code)


def test_a_report_may_be_a_moment_behind_but_a_trainees_own_progress_never_is(site: Site):
    trainee, reporter = _client(site, "an@example.vn"), _client(site, "bo@example.vn")
    assert _status_in_report(site, reporter) == "Chưa bắt đầu"
    assert "Đã xong 0/" in trainee.get("/courses/").get_data(as_text=True)

    site.clusters.pause_replay()
    try:
        token = csrf_token(trainee, "/courses/luat/lessons/co-ban/mot")
        done = trainee.post("/courses/luat/lessons/co-ban/mot/done", data={"csrf_token": token})
        assert done.status_code == 302
        # The trainee's own pages read the primary: the lesson is done at once...
        assert "Đã xong 1/" in trainee.get("/courses/").get_data(as_text=True)
        trainee.delete_cookie(replica.STICKY_COOKIE)  # ...even once their read-your-writes time is over
        assert "Đã xong 1/" in trainee.get("/courses/").get_data(as_text=True)
        # ...while the report, read from the replica whose replay is paused, is behind.
        assert _status_in_report(site, reporter) == "Chưa bắt đầu"
        assert reporter.get(f"/reports/units/{site.unit_id}").status_code == 200
    finally:
        site.clusters.resume_and_catch_up()
    assert _status_in_report(site, reporter) == "Đang học"


def test_a_person_who_just_wrote_reads_the_primary(site: Site):
    admin, reporter = _client(site, "admin@example.vn"), _client(site, "bo@example.vn")
    before = _status_in_report(site, reporter)
    site.clusters.pause_replay()
    try:
        token = csrf_token(admin, "/reports/")
        exempted = admin.post(f"/training/enrolments/{site.enrolment_id}/exempt",
                              data={"csrf_token": token, "reason": "Đã học tại Trường Cán bộ"})
        assert exempted.status_code == 302
        assert admin.get_cookie(replica.STICKY_COOKIE) is not None
        assert _status_in_report(site, admin) == "Miễn"  # their own write, from the primary
        assert _status_in_report(site, reporter) == before  # another person: the replica, behind
    finally:
        site.clusters.resume_and_catch_up()
    assert _status_in_report(site, reporter) == "Miễn"


def test_when_the_replica_goes_away_reports_read_the_primary(site: Site, caplog: pytest.LogCaptureFixture):
    reporter = _client(site, "bo@example.vn")
    state = replica.replica_of(site.app)
    assert state is not None
    with site.app.app_context():
        enrolment = db.session.get(Enrolment, site.enrolment_id)
        assert enrolment is not None
        due_on = enrolment.due_on
    site.clusters.pause_replay()
    with site.app.app_context():  # a change the replica has not applied: only the primary has it
        db.session.execute(sa.update(Enrolment).where(Enrolment.id == site.enrolment_id)
                           .values(state=EnrolmentState.NOT_STARTED))
        db.session.commit()
    assert _status_in_report(site, reporter) == "Miễn"  # the replica, behind
    site.clusters.stop_replica()
    try:
        with caplog.at_level(logging.WARNING, logger="mooc.replica"):
            assert _status_in_report(site, reporter) == "Chưa bắt đầu"  # the primary answers
            for path in ["/reports/", f"/reports/units/{site.unit_id}", "/reports/trend",
                         f"/reports/people?unit={site.unit_id}", "/search/?q=thanh+tra"]:
                assert reporter.get(path).status_code == 200, path
        warnings = [r.getMessage() for r in caplog.records if r.name == "mooc.replica"]
        assert len(warnings) == 1 and "read replica unavailable" in warnings[0]  # then left alone
        assert not state.available
    finally:
        site.clusters.start_replica()
        site.clusters.resume_and_catch_up()
    # Once its retry time has passed (set here rather than waited for), the replica is used again.
    state.down_until = time.monotonic() - 1
    site.clusters.pause_replay()
    try:
        with site.app.app_context():
            db.session.execute(sa.update(Enrolment).where(Enrolment.id == site.enrolment_id)
                               .values(due_on=date(2030, 1, 1)))
            db.session.commit()
        with caplog.at_level(logging.WARNING, logger="mooc.replica"):
            response = reporter.get(f"/reports/people?unit={site.unit_id}&export=csv")
        assert response.status_code == 200
        assert "2030" not in response.get_data(as_text=True)  # the replica, behind again
        assert any("answers again" in r.getMessage() for r in caplog.records if r.name == "mooc.replica")
    finally:
        site.clusters.resume_and_catch_up()
        with site.app.app_context():
            db.session.execute(sa.update(Enrolment).where(Enrolment.id == site.enrolment_id)
                               .values(due_on=due_on))
            db.session.commit()


def test_a_replica_that_does_not_answer_is_skipped(site: Site, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture):
    """A replica address where nothing answers (a port that takes the connection and never
    speaks, as a host that went dark behind a firewall): the short connect timeout ends the
    wait, the primary answers, and the replica is not tried again for a while."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes the handshake; nobody ever answers
        port = silent.getsockname()[1]
        clusters = site.clusters
        app = create_app({"ENV": "testing", "DATABASE_URL": clusters.url(clusters.primary_port),
                          "DATABASE_REPLICA_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DATABASE}",
                          "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "test-secret-" + "x" * 30,
                          "PASSWORD_METHOD": FAST_HASH})
        client = app.test_client()
        assert login(client, "bo@example.vn", "mot-mat-khau-dai").status_code == 302
        client.delete_cookie(replica.STICKY_COOKIE)
        with caplog.at_level(logging.WARNING, logger="mooc.replica"):
            assert client.get(f"/reports/people?unit={site.unit_id}").status_code == 200
            assert client.get("/reports/").status_code == 200
        warnings = [r.getMessage() for r in caplog.records if r.name == "mooc.replica"]
        assert len(warnings) == 1 and "timeout" in warnings[0].lower(), warnings
        state = replica.replica_of(app)
        assert state is not None and not state.available
        with app.app_context():
            [finding] = doctor.check_replica(app)
        assert finding.status == doctor.WARNING and "cannot be reached" in finding.message
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_replica_too_far_behind_is_not_read(site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """With MOOC_REPLICA_MAX_LAG_SECONDS=0 a replica that has received a write it has not
    replayed is behind: the report reads the primary and is current."""
    clusters = site.clusters
    app = create_app({"ENV": "testing", "DATABASE_URL": clusters.url(clusters.primary_port),
                      "DATABASE_REPLICA_URL": clusters.url(clusters.replica_port),
                      "REPLICA_MAX_LAG_SECONDS": 0, "INSTANCE_DIR": str(tmp_path),
                      "SECRET_KEY": "test-secret-" + "x" * 30, "PASSWORD_METHOD": FAST_HASH})
    client = app.test_client()
    assert login(client, "bo@example.vn", "mot-mat-khau-dai").status_code == 302
    client.delete_cookie(replica.STICKY_COOKIE)
    state = replica.replica_of(app)
    assert state is not None
    with app.app_context():
        due_on = db.session.scalar(sa.select(Enrolment.due_on).where(Enrolment.id == site.enrolment_id))
    clusters.pause_replay()
    try:
        with app.app_context():
            db.session.execute(sa.update(Enrolment).where(Enrolment.id == site.enrolment_id)
                               .values(due_on=date(2031, 1, 1)))
            db.session.commit()
        clusters.wait_received()
        with caplog.at_level(logging.WARNING, logger="mooc.replica"):
            response = client.get(f"/reports/people?unit={site.unit_id}&export=csv")
        assert response.status_code == 200
        assert "2031" in response.get_data(as_text=True)  # from the primary
        warnings = [r.getMessage() for r in caplog.records if r.name == "mooc.replica"]
        assert len(warnings) == 1 and "behind the primary" in warnings[0], warnings
        assert not state.available
    finally:
        clusters.resume_and_catch_up()
        with app.app_context():
            db.session.execute(sa.update(Enrolment).where(Enrolment.id == site.enrolment_id)
                               .values(due_on=due_on))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        state.engine.dispose()


def test_doctor_says_whether_the_replica_is_a_standby_of_the_primary(site: Site, tmp_path: Path):
    with site.app.app_context():
        [finding] = doctor.check_replica(site.app)
    assert finding.status == doctor.OK and "standby of the primary" in finding.message, finding
    clusters = site.clusters
    wrong = create_app({"ENV": "testing", "DATABASE_URL": clusters.url(clusters.primary_port),
                        "DATABASE_REPLICA_URL": clusters.url(clusters.primary_port),  # the primary itself
                        "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "test-secret-" + "x" * 30})
    with wrong.app_context():
        [finding] = doctor.check_replica(wrong)
        db.engine.dispose()
    assert finding.status == doctor.ERROR and "is not a standby" in finding.message, finding
    plain = create_app({"ENV": "testing", "DATABASE_URL": clusters.url(clusters.primary_port),
                        "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "test-secret-" + "x" * 30})
    assert doctor.check_replica(plain) == []  # no replica: no line


def test_a_replica_lost_in_the_middle_of_a_page_is_not_a_500(site: Site, caplog: pytest.LogCaptureFixture):
    """The replica stops after the page's first statement ran on it: the page is made again on
    the primary and answers 200, with the primary's data."""
    reporter = _client(site, "bo@example.vn")
    state = replica.replica_of(site.app)
    assert state is not None
    clusters = site.clusters
    statements: list[str] = []

    def stop_after_the_first(conn, cursor, statement, *args) -> None:
        statements.append(statement)
        if len(statements) == 2:
            clusters.stop_replica()  # the next statement finds the connection gone

    with site.app.app_context():
        due_on = db.session.scalar(sa.select(Enrolment.due_on).where(Enrolment.id == site.enrolment_id))
    clusters.pause_replay()
    with site.app.app_context():  # only the primary has this
        db.session.execute(sa.update(Enrolment).where(Enrolment.id == site.enrolment_id)
                           .values(due_on=date(2032, 1, 1)))
        db.session.commit()
    sa.event.listen(state.engine, "before_cursor_execute", stop_after_the_first)
    try:
        with caplog.at_level(logging.WARNING, logger="mooc.replica"):
            response = reporter.get(f"/reports/people?unit={site.unit_id}&export=csv")
        assert len(statements) >= 2  # the page did begin on the replica
        assert response.status_code == 200
        assert "2032" in response.get_data(as_text=True)  # made again on the primary
        assert [r for r in caplog.records if "read replica unavailable" in r.getMessage()]
        assert not state.available
    finally:
        sa.event.remove(state.engine, "before_cursor_execute", stop_after_the_first)
        clusters.start_replica()
        clusters.resume_and_catch_up()
        state.down_until = 0.0
        with site.app.app_context():
            db.session.execute(sa.update(Enrolment).where(Enrolment.id == site.enrolment_id)
                               .values(due_on=due_on))
            db.session.commit()


def test_which_pages_read_the_replica(site: Site):
    """Report pages, their exports and search send their reads to the replica; a trainee's
    own pages, sign-in and the session check never touch it."""
    state = replica.replica_of(site.app)
    assert state is not None
    with site.app.app_context():
        primary = db.engine
    sent = {"primary": [], "replica": []}

    def counter(which: str):
        return lambda conn, cursor, statement, *args: sent[which].append(statement)

    on_primary, on_replica = counter("primary"), counter("replica")
    sa.event.listen(primary, "before_cursor_execute", on_primary)
    sa.event.listen(state.engine, "before_cursor_execute", on_replica)
    try:
        reporter, trainee = _client(site, "bo@example.vn"), _client(site, "an@example.vn")
        assert sent["replica"] == []  # signing in: the primary only
        for client, path, reads_replica in [
            (reporter, "/reports/", True), (reporter, f"/reports/units/{site.unit_id}", True),
            (reporter, f"/reports/people?unit={site.unit_id}&export=xlsx", True),
            (reporter, "/reports/compliance?unit=all", True), (reporter, "/reports/trend", True),
            (reporter, "/search/?q=thanh+tra", True),
            (trainee, "/", False), (trainee, "/courses/", False), (trainee, "/courses/luat", False),
            (trainee, "/courses/luat/lessons/co-ban/mot", False), (trainee, "/training/record", False),
        ]:
            sent["primary"].clear()
            sent["replica"].clear()
            assert client.get(path).status_code in (200, 302), path
            assert bool(sent["replica"]) is reads_replica, (path, sent)
            if reads_replica:  # the session check (and an export's audit event) only
                assert all("auth_sessions" in s or "users" in s or "audit_events" in s
                           for s in sent["primary"]), (path, sent["primary"])
    finally:
        sa.event.remove(primary, "before_cursor_execute", on_primary)
        sa.event.remove(state.engine, "before_cursor_execute", on_replica)
