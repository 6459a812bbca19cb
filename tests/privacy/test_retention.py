"""Retention: a person who left long enough ago is pseudonymised by `mooc privacy purge`: their
name, e-mail and staff code are nowhere in the database afterwards (every text and JSON column
of every table is read), the dashboard counts the same, their certificate still verifies under
the pseudonym, and a second run changes nothing. Old outbox mails and uploads are deleted."""

from __future__ import annotations

import json
import os
import time
from datetime import date

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role, User
from mooc.extensions import db
from mooc.reports.queries import Filters, rollup
from mooc.roster.models import Staff, StaffStatus
from mooc.text import fold
from mooc.xapi import outbox
from mooc.xapi.statements import Where
from tests.conftest import login
from tests.privacy.conftest import NAME, OTHER_NAME


def _leave(world, left_on: date) -> None:
    with world.app.app_context():
        staff = db.session.get(Staff, world.staff_id)
        staff.status, staff.left_on = StaffStatus.LEFT, left_on
        db.session.commit()


def _texts() -> list[tuple[str, str, str]]:
    """(table, column, text) for every text or JSON value in the database."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (sa.String, sa.Text, sa.JSON, sa.Enum))]
        if not columns:
            continue
        for row in db.session.execute(sa.select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                found.append((table.name, column.name, text))
    return found


def _snapshot() -> dict[str, list]:
    return {table.name: sorted(map(repr, db.session.execute(sa.select(table)).all()))
            for table in db.metadata.sorted_tables}


def _dashboard(admin_id: int):
    admin = db.session.get(User, admin_id)
    result = rollup(admin, None, Filters(), clock.today())
    return [(row.label, row.headcount, row.people_required, dict(row.counts), row.cannot_sign_in)
            for row in [*result.rows, result.total]]


def test_a_purge_leaves_no_trace_of_the_name_and_changes_no_count(world, make_user):
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    _leave(world, date(2019, 6, 30))
    with world.app.app_context():
        before = _dashboard(admin.id)
        assert any(NAME in text for _t, _c, text in _texts())
        # The xAPI outbox holds statements naming the person's staff code as their account.
        assert outbox.collect(Where("https://daotao.example.vn", "https://nhansu.example.vn"))["lesson"] >= 1
        assert any(world.code in text for table, _c, text in _texts() if table == "xapi_outbox")
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
        needles = {NAME, fold(NAME), world.email, world.code, "Ngọc"}
        traces = [(table, column) for table, column, text in _texts() if any(n in text for n in needles)]
        assert traces == []
        assert any(OTHER_NAME in text for _t, _c, text in _texts())  # nobody else was touched
        staff = db.session.get(Staff, world.staff_id)
        assert staff.full_name.startswith("Ẩn danh AD-") and staff.staff_code.startswith("AD-")
        assert _dashboard(admin.id) == before
        after_first = _snapshot()

    page = world.app.test_client().get(f"/verify/{world.certificate}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert staff.full_name in text and NAME not in text

    again = runner.invoke(args=["privacy", "purge"])
    assert again.exit_code == 0 and "Pseudonymised 0 people; deleted 0 files." in again.output
    with world.app.app_context():
        now = _snapshot()
        recorded = set(now.pop("audit_events")) - set(after_first.pop("audit_events"))
        assert now == after_first  # a second run changes nothing but adds its own run record
        assert len(recorded) == 1 and "privacy.purged" in recorded.pop()


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
