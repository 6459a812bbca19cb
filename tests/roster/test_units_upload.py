"""The units file on the web, as `mooc roster units`: upload, a dry-run preview, then apply,
all or nothing; a bad row is reported with its row number and leaves the units unchanged."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from mooc.auth.models import AuditEvent, Role
from mooc.extensions import db
from mooc.roster.models import OrgUnit, RosterImport
from tests.conftest import csrf_token
from tests.roster.helpers import csv_bytes

HEADER = ["Mã đơn vị", "Tên đơn vị", "Mã đơn vị cấp trên", "Sáp nhập vào"]
FINGERPRINT = re.compile(r'name="fingerprint" value="([^"]+)"')


def _units(app) -> dict[str, tuple[str, int | None, bool]]:
    with app.app_context():
        return {u.code: (u.name, u.parent_id, u.active) for u in db.session.scalars(sa.select(OrgUnit))}


def _upload(client, rows: list[list[str]]):
    token = csrf_token(client, "/roster/units/import")
    return client.post("/roster/units/import", data={
        "csrf_token": token, "file": (io.BytesIO(csv_bytes(rows, header=HEADER)), "don-vi.csv")},
        content_type="multipart/form-data")


def _apply(client, preview_url: str, fingerprint: str | None = None):
    page = client.get(preview_url).get_data(as_text=True)
    found = FINGERPRINT.search(page)
    token = csrf_token(client, preview_url)
    return client.post(preview_url.split("?")[0], data={
        "csrf_token": token, "fingerprint": fingerprint or (found.group(1) if found else "")})


def test_a_units_file_is_previewed_then_applied(app, client, auth, make_unit):
    make_unit("Thanh tra tỉnh Bình Dương", code="BD")
    auth.login(role=Role.ADMIN)
    uploaded = _upload(client, [["HCM-P1", "Phòng Nghiệp vụ 1", "HCM", ""],
                                ["HCM", "Thanh tra TP Hồ Chí Minh", "", ""],
                                ["BD", "Thanh tra tỉnh Bình Dương", "", "HCM"]])
    assert uploaded.status_code == 302
    preview = uploaded.headers["Location"]
    text = client.get(preview).get_data(as_text=True)
    assert "Đơn vị được thêm: <strong>2</strong>" in text
    assert "BD vào HCM" in text
    assert set(_units(app)) == {"BD"}  # the preview changed nothing
    applied = _apply(client, preview)
    assert applied.status_code == 302 and "/roster/imports/" in applied.headers["Location"]
    units = _units(app)
    assert set(units) == {"BD", "HCM", "HCM-P1"} and units["BD"][2] is False
    with app.app_context():
        record = db.session.scalar(sa.select(RosterImport))
        assert (record.kind, record.source, record.counts["added"]) == ("units", "web", 2)
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "units.imported"))
    detail = client.get(applied.headers["Location"]).get_data(as_text=True)
    assert "Đơn vị được thêm" in detail


def test_a_bad_row_is_reported_with_its_row_and_nothing_is_applied(app, client, auth, make_unit):
    make_unit("Thanh tra tỉnh Bình Dương", code="BD")
    auth.login(role=Role.ADMIN)
    before = _units(app)
    uploaded = _upload(client, [["HCM", "Thanh tra TP Hồ Chí Minh", "", ""],
                                ["BD", "Thanh tra tỉnh Bình Dương (mới)", "", ""],
                                ["HN-P1", "Phòng 1", "KHONG-CO", ""]])
    preview = uploaded.headers["Location"]
    text = client.get(preview).get_data(as_text=True)
    assert "<td>4</td>" in text and "Không có đơn vị cấp trên “KHONG-CO”" in text
    assert "Áp dụng tệp đơn vị" not in text  # no apply button
    forced = _apply(client, preview, fingerprint="x")
    assert forced.status_code == 200
    assert _units(app) == before  # the good rows were not applied either
    token = csrf_token(client, preview)
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(RosterImport))
    client.post(preview.split("?")[0], data={"csrf_token": token})
    assert _units(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RosterImport)) == count == 0


def test_a_preview_gone_stale_is_not_applied(app, client, auth, make_unit):
    auth.login(role=Role.ADMIN)
    preview = _upload(client, [["HCM", "Thanh tra TP Hồ Chí Minh", "", ""]]).headers["Location"]
    fingerprint = FINGERPRINT.search(client.get(preview).get_data(as_text=True)).group(1)
    make_unit("Thanh tra TP HCM (tạo bằng tay)", code="HCM")  # someone else, meanwhile
    page = _apply(client, preview, fingerprint=fingerprint)
    assert page.status_code == 200
    assert _units(app)["HCM"][0] == "Thanh tra TP HCM (tạo bằng tay)"


def test_managers_cannot_upload_units(client, auth, make_unit):
    unit = make_unit(code="HN")
    auth.login(role=Role.MANAGER, scope_unit=unit)
    assert client.get("/roster/units/import").status_code == 403
