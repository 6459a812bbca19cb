"""The unit tree (its rows, children and labels) is kept per version of the tree the database
owns (``data_versions``, mooc/roster/tree.py): whatever changes a unit, on one worker (a second
app on the same database: its own cache, as another gunicorn worker has) or on another server
process, shows on the next request of every other one. No time is asserted; each check is the
next request."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest

from mooc import versions
from mooc.auth.models import Role
from mooc.extensions import db
from mooc.roster import units
from mooc.roster.models import OrgUnit
from mooc.roster.tree import tree_cache
from tests.conftest import TEST_PASSWORD, csrf_token, login
from tests.roster.helpers import csv_bytes

ROOT = Path(__file__).resolve().parents[2]
UNITS_HEADER = ["Mã đơn vị", "Tên đơn vị", "Mã đơn vị cấp trên", "Sáp nhập vào"]
FINGERPRINT = re.compile(r'name="fingerprint" value="([^"]+)"')


@pytest.fixture
def workers(org, make_app, make_user, person):
    """Worker A (the org's app, an administrator signed in) and worker B (a second app on the same
    database, the province's manager signed in); both have read the province's report."""
    app_a, o = org
    app_b = make_app(COURSES_DIR=str(o.root))
    person(o.section_a, name="Nguyễn Văn An", email="an@example.vn")
    person(o.section_b, name="Trần Thị Bình", email="binh@example.vn")
    admin = make_user(role=Role.ADMIN, email="admin@example.vn")
    manager = make_user(role=Role.MANAGER, email="quanly@example.vn", scope_unit=o.province)
    a, b = app_a.test_client(), app_b.test_client()
    login(a, admin.email)
    login(b, manager.email)
    assert ">Phòng 1</a>" in _report(b, o.province.id)
    return app_a, app_b, o, a, b


def _report(client, unit_id: int) -> str:
    response = client.get(f"/reports/units/{unit_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _row_labels(page: str) -> list[str]:
    """The units of the report's table, as their rows read."""
    return re.findall(r'<th scope="row"><a href="/reports/units/\d+">([^<]+)</a>', page)


def _kept_versions(app) -> set:
    with app.app_context():
        return set(tree_cache().entries)


def test_a_unit_renamed_on_one_worker_shows_on_the_others_next_report(workers):
    app_a, app_b, o, a, b = workers
    kept = _kept_versions(app_b)
    _report(b, o.province.id)
    assert _kept_versions(app_b) == kept  # nothing changed: B's tree came from its cache
    page = f"/roster/units/{o.section_a.id}"
    response = a.post(page, data={"csrf_token": csrf_token(a, page), "code": "NB-1", "name": "Phòng Tổng hợp",
                                  "kind": "", "parent": o.province.id})
    assert response.status_code == 302
    assert _row_labels(_report(b, o.province.id)) == ["Phòng 2", "Phòng Tổng hợp"]
    assert len(_kept_versions(app_b)) == len(kept) + 1  # the new version read and kept


def test_a_merge_on_one_worker_shows_on_the_others_next_report(workers, make_unit):
    app_a, app_b, o, a, b = workers
    team = make_unit("Tổ Giám sát", parent=o.section_b, code="NB-2-T")
    assert ">Tổ Giám sát</a>" in _report(b, o.section_b.id)
    with app_a.app_context():  # as the merge page does (its sub-unit moves in a bulk UPDATE)
        units.merge_unit(db.session.get(OrgUnit, o.section_b.id), db.session.get(OrgUnit, o.section_a.id))
        db.session.commit()
    assert _row_labels(_report(b, o.province.id)) == ["Phòng 1"]
    assert _row_labels(_report(b, o.section_a.id)) == ["Tổ Giám sát"]
    assert f'href="/reports/units/{team.id}"' in _report(b, o.section_a.id)


def test_a_units_file_imported_on_one_worker_shows_on_the_others_next_report(workers):
    app_a, app_b, o, a, b = workers
    rows = [["NB-1", "Phòng Nghiệp vụ 1", "NB", ""], ["NB-3", "Phòng Nghiệp vụ 3", "NB", ""]]
    token = csrf_token(a, "/roster/units/import")
    uploaded = a.post("/roster/units/import", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(csv_bytes(rows, header=UNITS_HEADER)), "don-vi.csv")})
    preview = uploaded.headers["Location"]
    assert ">Phòng 1</a>" in _report(b, o.province.id)  # the preview changed nothing
    fingerprint = FINGERPRINT.search(a.get(preview).get_data(as_text=True)).group(1)
    applied = a.post(preview, data={"csrf_token": csrf_token(a, preview), "fingerprint": fingerprint})
    assert applied.status_code == 302
    assert _row_labels(_report(b, o.province.id)) == ["Phòng 2", "Phòng Nghiệp vụ 1", "Phòng Nghiệp vụ 3"]


def test_a_change_rolled_back_is_never_kept(workers):
    """A transaction reads its own change of a unit (a preview) and rolls back; the next change
    committed raises the version to the number the rolled-back one had: no worker may show the
    rolled-back tree under it."""
    app_a, app_b, o, a, b = workers
    with app_a.app_context():
        db.session.get(OrgUnit, o.section_a.id).name = "Phòng Nháp"
        db.session.flush()
        assert units.unit_labels([o.section_a.id]) == {o.section_a.id: "Phòng Nháp"}  # its own write
        db.session.rollback()
    with app_a.app_context():
        db.session.get(OrgUnit, o.section_b.id).name = "Phòng Hai"
        db.session.commit()
    for client in (a, b):
        assert _row_labels(_report(client, o.province.id)) == ["Phòng 1", "Phòng Hai"]


def test_every_change_of_a_unit_through_the_orm_raises_the_version(app, make_unit):
    def version() -> int | None:
        with app.app_context():
            return versions.read_version(db.session, versions.ORG_UNITS)

    unit = make_unit("Thanh tra tỉnh Hà Nam", code="HNA")
    seen = [version()]
    with app.app_context():
        db.session.get(OrgUnit, unit.id).kind = "province"
        db.session.commit()
    seen.append(version())
    with app.app_context():
        db.session.get(OrgUnit, unit.id).name = db.session.get(OrgUnit, unit.id).name  # no change
        db.session.commit()
    seen.append(version())
    with app.app_context():
        db.session.delete(db.session.get(OrgUnit, unit.id))
        db.session.commit()
    seen.append(version())
    assert seen[0] is not None and seen[1] == seen[0] + 1 and seen[2] == seen[1] and seen[3] == seen[2] + 1


def _writes_units_in_bulk(node: ast.AST) -> bool:
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in {"update", "insert", "delete"} and call.args
                and isinstance(call.args[0], ast.Name) and call.args[0].id == "OrgUnit"):
            return True
        if isinstance(call, ast.Constant) and isinstance(call.value, str) and re.search(
                r"\b(UPDATE|INSERT INTO|DELETE FROM)\s+org_units\b", call.value, re.IGNORECASE):
            return True
    return False


def test_every_bulk_writer_of_units_raises_the_tree_version():
    """A write of ``org_units`` that bypasses the ORM (no flush: no listener) must raise the
    tree's version itself, in the same function (``versions.raise_version``)."""
    found, silent = [], []
    for path in sorted((ROOT / "mooc").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and _writes_units_in_bulk(node):
                found.append(f"{path.relative_to(ROOT)}:{node.name}")
                if "raise_version" not in ast.unparse(node):
                    silent.append(found[-1])
    assert found  # the check sees merge_unit's bulk UPDATE
    assert silent == []


@pytest.mark.slow
def test_two_server_processes_show_a_renamed_unit_at_the_next_request(
        app, database_url, make_unit, make_user, tmp_path):
    """Two gunicorn servers (what `mooc serve` runs), each warmed; a unit renamed elsewhere."""
    from tests.courses.test_cache_freshness import two_servers

    province = make_unit("Thanh tra tỉnh Ninh Bình", code="NB", kind="province")
    section = make_unit("Phòng 1", parent=province, code="NB-1")
    make_unit("Phòng 2", parent=province, code="NB-2")
    manager = make_user(role=Role.MANAGER, email="quanly@example.vn", scope_unit=province,
                        password=TEST_PASSWORD, two_factor=False)  # the servers ask no code (bench)
    path = f"/reports/units/{province.id}"
    with two_servers(database_url, tmp_path) as (servers, client_of):
        one = client_of(servers[0]).login(manager.email, TEST_PASSWORD)
        two = client_of(servers[1], one.cookies)

        def rows(client) -> list[str]:
            status, _headers, body = client.request("GET", path)
            assert status == 200, status
            return _row_labels(body.decode())

        for client in (one, two, one, two):  # both warm
            assert rows(client) == ["Phòng 1", "Phòng 2"]
        with app.app_context():
            units.update_unit(db.session.get(OrgUnit, section.id), name="Phòng Tổng hợp",
                              parent=db.session.get(OrgUnit, province.id), kind="")
            db.session.commit()
        for client in (one, two):
            assert rows(client) == ["Phòng 2", "Phòng Tổng hợp"]
