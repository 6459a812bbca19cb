"""Every file of the hostile corpus (tests/roster/files/make_files.py) through the command
and through the web upload: never a traceback, never a 500; a refused file writes nothing
(row counts and a checksum of the roster and account tables are unchanged); the dry run
and the apply agree."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.auth.models import Role, User
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory
from tests.conftest import TEST_PASSWORD, csrf_token, login
from tests.roster.files.make_files import BASE_POSITIONS, BASE_STAFF, BASE_UNITS, make_files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("hostile")
    return folder, make_files(folder)


def _names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return sorted(make_files(Path(folder)))


NAMES = _names()
TABLES = (OrgUnit, Position, Staff, StaffHistory, RosterImport, User)


def seed(app) -> None:
    """The roster the corpus is written against, with an administrator and a trainee account."""
    from mooc.auth.passwords import set_password

    with app.app_context():
        units: dict[str, OrgUnit] = {}
        for code, name, parent in BASE_UNITS:
            units[code] = OrgUnit(code=code, name=name, parent=units.get(parent) if parent else None)
            db.session.add(units[code])
        positions = [Position(code=code, title=title) for code, title in BASE_POSITIONS]
        db.session.add_all(positions)
        for code, name, email, unit, role in BASE_STAFF:
            staff = Staff(staff_code=code, full_name=name, email=email, unit=units[unit],
                          position=positions[0])
            db.session.add(staff)
            if role:
                user = User(email=email, display_name=name, role=Role(role), staff=staff, active=True)
                set_password(user, TEST_PASSWORD)
                db.session.add(user)
        db.session.commit()


def snapshot(app) -> tuple:
    """Row counts and a checksum of every row of the roster and account tables."""
    with app.app_context():
        counts, digest = [], hashlib.sha256()
        for model in TABLES:
            table = model.__table__
            rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            counts.append(len(rows))
            for row in rows:
                digest.update(repr(tuple(row)).encode())
        db.session.rollback()
    return tuple(counts), digest.hexdigest()


@pytest.mark.parametrize("name", NAMES)
def test_every_hostile_file_through_the_command(app, corpus, name):
    folder, cases = corpus
    case = cases[name]
    seed(app)
    before = snapshot(app)
    runner = app.test_cli_runner()
    path = str(folder / name)
    dry = runner.invoke(args=["roster", "import", path, "--dry-run", "--format", "json", *case.args])
    assert dry.exception is None or isinstance(dry.exception, SystemExit), dry.output
    assert "Traceback" not in dry.output
    plan = json.loads(dry.output)
    assert snapshot(app) == before
    result = runner.invoke(args=["roster", "import", path, *case.args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for text in case.says:
        assert text in result.output, (text, result.output[-3000:])
    # The dry run and the apply agree: a plan without errors that needs no confirmation applies.
    will_apply = not plan["errors"] and not plan.get("admins_leaving") and (
        not plan.get("confirmation_needed") or "--yes" in case.args)
    if case.outcome == "refused":
        assert result.exit_code == 1 and not will_apply, result.output[-3000:]
        assert snapshot(app) == before
    else:
        assert will_apply and result.exit_code == 0, result.output[-3000:]
        assert "Đã áp dụng." in result.output
        again = json.loads(runner.invoke(args=["roster", "import", path, "--dry-run", "--format", "json",
                                               *case.args]).output)
        assert again["errors"] == [] and again["added"] == again["changed"] == again["moved"] == 0


@pytest.mark.parametrize("name", NAMES)
def test_every_hostile_file_through_the_web_upload(app, client, corpus, name):
    folder, cases = corpus
    case = cases[name]
    seed(app)
    login(client, BASE_STAFF[0][2])
    before = snapshot(app)
    full = "--full" in case.args
    token = csrf_token(client, "/roster/import")
    form = {"csrf_token": token, "file": (io.BytesIO((folder / name).read_bytes()), name)}
    if full:
        form["full"] = "y"
    uploaded = client.post("/roster/import", data=form, content_type="multipart/form-data")
    assert uploaded.status_code in (200, 302)
    if case.refused_on_upload:
        assert uploaded.status_code == 200
        html = uploaded.get_data(as_text=True)
        assert 'class="form-errors" role="alert"' in html
        for text in case.says:
            assert text in html, text
        assert snapshot(app) == before
        return
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)[:3000]
    url = uploaded.headers["Location"]
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', html)
    checksum = url.split("/roster/import/")[1].split("?")[0]
    if case.outcome == "refused":
        assert "Số lỗi" in html or 'name="confirm_admin"' in html
    if fingerprint is None:  # errors: no apply form at all
        assert case.outcome == "refused"
        assert snapshot(app) == before
        return
    data = {"csrf_token": csrf_token(client, url), "fingerprint": fingerprint.group(1),
            "name": name, **dict(re.findall(r'name="(col_\d+)" value="(\w+)"', html))}
    if full:
        data.update({"full": "1", "confirm": "y"})
    applied = client.post(f"/roster/import/{checksum}", data=data)
    assert applied.status_code in (200, 302)
    if case.outcome == "refused":
        assert applied.status_code == 200
        assert snapshot(app) == before
    else:
        assert applied.status_code == 302, applied.get_data(as_text=True)[:3000]


def test_a_50_mb_file_with_an_unclosed_quote_is_refused_by_the_command(app, tmp_path):
    cases = make_files(tmp_path, big=True)
    path = tmp_path / "unclosed_quote_50mb.csv"
    assert path.stat().st_size >= 50 * 1024 * 1024
    seed(app)
    before = snapshot(app)
    result = app.test_cli_runner().invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    for text in cases[path.name].says:
        assert text in result.output
    assert snapshot(app) == before
