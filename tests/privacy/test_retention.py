"""Retention: a person who left long enough ago is pseudonymised by `mooc privacy purge`: their
name, e-mail addresses (now and before), staff code and directory user name are nowhere in the
database afterwards (every text and JSON column of every table is read), the dashboard counts
the same, their course and programme certificates still verify under the pseudonym, and a
second run changes nothing. Another person whose name or code begins like theirs keeps every
word. The period is the setting's. Old outbox mails and uploads are deleted."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from mooc import clock
from mooc.auth import audit
from mooc.auth.models import AuditEvent, LoginThrottle, Role, User
from mooc.extensions import db
from mooc.privacy import traces
from mooc.reports.queries import Filters, rollup
from mooc.roster.models import Staff, StaffStatus
from mooc.text import fold
from mooc.xapi import outbox
from mooc.xapi.models import XapiOutbox
from mooc.xapi.statements import Where
from tests.conftest import login
from tests.privacy.conftest import NAME, OTHER_NAME
from tests.privacy.scan import texts, traces_of


def _leave(world, left_on: date) -> None:
    with world.app.app_context():
        staff = db.session.get(Staff, world.staff_id)
        staff.status, staff.left_on = StaffStatus.LEFT, left_on
        db.session.commit()


def _snapshot() -> dict[str, list]:
    return {table.name: sorted(map(repr, db.session.execute(sa.select(table)).all()))
            for table in db.metadata.sorted_tables}


def _dashboard(admin_id: int):
    admin = db.session.get(User, admin_id)
    result = rollup(admin, None, Filters(), clock.today())
    return [(row.label, row.headcount, row.people_required, dict(row.counts), row.cannot_sign_in)
            for row in [*result.rows, result.total]]


def _needles(world) -> set[str]:
    """What names the person: name (as written and folded), given name, addresses (now and
    before), staff code, directory user name."""
    return {NAME, fold(NAME), "Ngọc", world.email, world.former_email, world.code, world.login}


# Tables holding a copy of the person's identity in the test data (the scan's proof it reads them).
COPIES = {"staff", "users", "certificates", "program_certificates", "audit_events", "login_throttle",
          "xapi_outbox", "report_deliveries", "report_subscriptions", "roster_imports", "enrolments",
          "assignment_rules", "privacy_corrections", "api_tokens", "reminder_log", "directory_names"}


def test_a_purge_leaves_no_trace_of_the_name_and_changes_no_count(world, make_user):
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    _leave(world, date(2019, 6, 30))
    with world.app.app_context():
        before = _dashboard(admin.id)
        # The xAPI outbox holds statements naming the person's staff code as their account,
        # and a store's refusal naming it.
        assert outbox.collect(Where("https://daotao.example.vn", "https://nhansu.example.vn"))["lesson"] >= 1
        db.session.execute(sa.update(XapiOutbox).values(last_error=f"400: actor {world.code} is unknown"))
        db.session.commit()
        assert {table for table, _c, _n in traces_of(_needles(world))} >= COPIES
    runner = world.app.test_cli_runner()

    dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would pseudonymise: {world.code} {NAME} (left 30/06/2019)" in dry.output
    assert OTHER_NAME not in dry.output
    with world.app.app_context():
        assert db.session.get(Staff, world.staff_id).full_name == NAME  # a dry run changes nothing

    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "Pseudonymised 1 people" in result.output
    with world.app.app_context():
        assert traces_of(_needles(world)) == []
        assert any(OTHER_NAME in text for _t, _c, text in texts())  # nobody else was touched
        staff = db.session.get(Staff, world.staff_id)
        assert staff.full_name.startswith("Ẩn danh AD-") and staff.staff_code.startswith("AD-")
        assert _dashboard(admin.id) == before
        after_first = _snapshot()
        # A reason keeps its words; the person in it is the pseudonym. What was typed as their
        # user name names the pseudonym code; its count of failures is gone.
        revoked = db.session.scalar(sa.select(AuditEvent.details).where(
            AuditEvent.action == "training.certificate_revoked"))
        assert revoked["reason"] == f"Cấp nhầm: kết quả này là của {staff.full_name} ({staff.staff_code})"
        typed = db.session.scalars(sa.select(AuditEvent.target).where(AuditEvent.action == "login.failed"))
        assert list(typed) == [staff.staff_code]
        assert db.session.get(LoginThrottle, world.login) is None

    for code in (world.certificate, world.program_certificate):  # a course's, a programme's
        page = world.app.test_client().get(f"/verify/{code}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "verify-valid" in text and staff.full_name in text and NAME not in text

    again = runner.invoke(args=["privacy", "purge"])
    assert again.exit_code == 0 and "Pseudonymised 0 people; deleted 0 files." in again.output
    with world.app.app_context():
        now = _snapshot()
        recorded = set(now.pop("audit_events")) - set(after_first.pop("audit_events"))
        assert now == after_first  # a second run changes nothing but adds its own run record
        assert len(recorded) == 1 and "privacy.purged" in recorded.pop()


def test_another_person_whose_name_code_or_address_begins_alike_keeps_every_word(world, make_staff):
    """Whole words and whole addresses only: "Trịnh Thị Bảo Ngọc Anh" (0090011) is someone else."""
    namesake = make_staff(f"{NAME} Anh", staff_code=f"{world.code}1", email=f"bao.{world.email}")
    theirs = {"note": f"Gia hạn cho {NAME} Anh", "email": f"bao.{world.email}"}
    with world.app.app_context():
        audit.record("training.due_extended", target=namesake.staff_code, **theirs)
        audit.record("training.due_extended", target=world.code, note=f"Gia hạn cho {NAME}.",
                     email=world.email.upper())
        db.session.commit()
    _leave(world, date(2019, 6, 30))
    assert world.app.test_cli_runner().invoke(args=["privacy", "purge"]).exit_code == 0
    with world.app.app_context():
        pseudonym = db.session.get(Staff, world.staff_id)
        rows = {target: details for target, details in db.session.execute(
            sa.select(AuditEvent.target, AuditEvent.details)
            .where(AuditEvent.action == "training.due_extended")) if "note" in details}
        assert rows[namesake.staff_code] == theirs
        assert rows[pseudonym.staff_code]["note"] == f"Gia hạn cho {pseudonym.full_name}."
        assert rows[pseudonym.staff_code]["email"].endswith("@an-danh.invalid")
        kept = db.session.get(Staff, namesake.id)
        assert (kept.full_name, kept.staff_code) == (f"{NAME} Anh", "0090011")
        assert kept.email == f"bao.{world.email}"


def test_every_text_column_is_rewritten_by_the_purge_or_names_nobody(app):
    """A new text or JSON column must say whether it can hold a copy of a person's identity."""
    listed = {f"{model.__tablename__}.{name}" for model, names in traces.FREE_TEXT.items() for name in names}
    with app.app_context():
        columns = {f"{table.name}.{column.name}" for table in db.metadata.sorted_tables
                   for column in table.columns
                   if isinstance(column.type, (sa.String, sa.Text, sa.JSON))
                   and not isinstance(column.type, sa.Enum)}
    unsorted = columns - listed - traces.OWN_IDENTITY - traces.NAMES_NOBODY - set(traces.DERIVED)
    assert not unsorted, f"list these in mooc/privacy/traces.py: {sorted(unsorted)}"
    for derived, source in traces.DERIVED.items():  # computed by the database from a rewritten column
        table, name = derived.split(".")
        column = db.metadata.tables[table].c[name]
        assert source in listed and isinstance(column.computed, sa.Computed), derived
    assert not (listed | traces.OWN_IDENTITY | traces.NAMES_NOBODY) - columns, "a listed column is gone"
    assert not listed & traces.NAMES_NOBODY and not traces.OWN_IDENTITY & traces.NAMES_NOBODY


def test_the_account_of_a_pseudonymised_person_is_closed(world):
    _leave(world, date(2019, 6, 30))
    client = world.app.test_client()
    assert login(client, world.email).status_code == 302
    assert world.app.test_cli_runner().invoke(args=["privacy", "purge"]).exit_code == 0
    assert client.get("/account/data").status_code == 302  # signed out: sessions deleted
    assert login(client, world.email).status_code == 200  # the address no longer signs in


def test_retention_counts_from_the_leaving_date(world):
    _leave(world, date.today().replace(year=date.today().year - 1))
    result = world.app.test_cli_runner().invoke(args=["privacy", "purge", "--dry-run"])
    assert "Dry run: 0 people" in result.output  # one year < the default five


def test_a_leaver_without_a_leaving_date_counts_from_the_last_change_of_their_entry(world):
    """Marked as left today, with no date: not due (on SQLite the old comparison made them due at
    once); their entry last changed six years ago: due."""
    with world.app.app_context():
        db.session.get(Staff, world.staff_id).status = StaffStatus.LEFT
        db.session.commit()
    runner = world.app.test_cli_runner()
    assert "Dry run: 0 people" in runner.invoke(args=["privacy", "purge", "--dry-run"]).output
    with world.app.app_context():
        db.session.execute(sa.update(Staff).where(Staff.id == world.staff_id)
                           .values(updated_at=datetime(2020, 1, 1, tzinfo=UTC)))
        db.session.commit()
    assert f"would pseudonymise: {world.code} {NAME} (left ?)" in runner.invoke(
        args=["privacy", "purge", "--dry-run"]).output


def test_the_retention_period_is_the_setting(world, make_app, monkeypatch):
    _leave(world, clock.today() - timedelta(days=400))

    def dry_run(app) -> str:
        return app.test_cli_runner().invoke(args=["privacy", "purge", "--dry-run"]).output

    assert "Dry run: 0 people" in dry_run(world.app)  # the default: five years
    monkeypatch.setenv("MOOC_PRIVACY_RETENTION_DAYS", "365")
    one_year = make_app()
    assert f"would pseudonymise: {world.code} {NAME}" in dry_run(one_year)
    assert "Dry run: 0 people" in dry_run(make_app(PRIVACY_RETENTION_DAYS=420))
    assert "Dry run: 0 people" in dry_run(make_app(PRIVACY_RETENTION_DAYS=0))  # 0: never
    assert "Pseudonymised 1 people" in one_year.test_cli_runner().invoke(args=["privacy", "purge"]).output


def test_old_outbox_mails_and_uploads_are_deleted(make_app, tmp_path):
    app = make_app(OUTBOX_RETENTION_DAYS=10)
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    imports = tmp_path / "imports"
    imports.mkdir()
    old_mail, new_mail = outbox / "old.eml", outbox / "new.eml"
    old_upload, new_upload = imports / ("a" * 64 + ".csv"), imports / ("b" * 64 + ".csv")
    for path in (old_mail, new_mail, old_upload, new_upload):
        path.write_text("Trịnh Thị Bảo Ngọc")
    eleven_days = time.time() - 11 * 24 * 3600
    for path in (old_mail, old_upload):
        os.utime(path, (eleven_days, eleven_days))
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert f"would delete: {old_mail}" in dry.output and f"would delete: {old_upload}" in dry.output
    assert old_mail.exists() and old_upload.exists()
    assert "deleted 2 files" in runner.invoke(args=["privacy", "purge"]).output
    assert not old_mail.exists() and not old_upload.exists()
    assert new_mail.exists() and new_upload.exists()
