"""Completions done elsewhere, on the web as `mooc training import-history`: upload, a dry-run
preview, then import, all or nothing; a bad row is reported with its row number and nothing
is recorded."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from mooc.auth.models import AuditEvent, Role
from mooc.extensions import db
from mooc.training.models import Enrolment, EnrolmentState
from tests.conftest import csrf_token, login

FINGERPRINT = re.compile(r'name="fingerprint" value="([^"]+)"')


def _client(app, make_user, role=Role.ADMIN):
    client = app.test_client()
    user = make_user(email="qt@example.vn", role=role)
    login(client, user.email)
    return client


def _upload(client, text: str):
    token = csrf_token(client, "/admin/history/import")
    return client.post("/admin/history/import", data={
        "csrf_token": token, "file": (io.BytesIO(text.encode()), "lich-su.csv")},
        content_type="multipart/form-data")


def _apply(client, preview: str, fingerprint: str | None = None):
    found = FINGERPRINT.search(client.get(preview).get_data(as_text=True))
    token = csrf_token(client, preview)
    return client.post(preview.split("?")[0], data={
        "csrf_token": token, "fingerprint": fingerprint or (found.group(1) if found else "")})


def _enrolments(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment))


def test_completions_are_previewed_then_imported(org, person, make_user):
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    b, _ = person(o.section_b, o.inspector, "Lê Văn B")
    client = _client(app, make_user)
    uploaded = _upload(client, "Mã cán bộ;Khóa học;Ngày hoàn thành;Nguồn\n"
                               f"{a.staff_code};LTT;15/01/2025;Trường Cán bộ\n"
                               f"{b.staff_code};KNM;20/02/2025;\n")
    assert uploaded.status_code == 302
    preview = uploaded.headers["Location"]
    text = client.get(preview).get_data(as_text=True)
    assert "Số lần hoàn thành sẽ thêm: <strong>2</strong>" in text
    assert "Lê Thị A" in text and "15/01/2025" in text
    assert _enrolments(app) == 0
    done = _apply(client, preview)
    assert done.status_code == 302
    with app.app_context():
        rows = db.session.scalars(sa.select(Enrolment)).all()
        assert {(e.staff_id, e.state) for e in rows} == {(a.id, EnrolmentState.COMPLETED),
                                                        (b.id, EnrolmentState.COMPLETED)}
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "training.history_imported"))
        assert event.details == {"added": 2, "source": "web"}


def test_a_bad_row_is_reported_with_its_row_and_nothing_is_recorded(org, person, make_user):
    app, o = org
    a, _ = person(o.section_a, o.inspector, "Lê Thị A")
    client = _client(app, make_user)
    uploaded = _upload(client, "Mã cán bộ;Khóa học;Ngày hoàn thành\n"
                               f"{a.staff_code};LTT;15/01/2025\n"
                               "999999;LTT;15/01/2025\n")
    preview = uploaded.headers["Location"]
    text = client.get(preview).get_data(as_text=True)
    assert "<td>3</td>" in text and "Không có mã cán bộ “999999”." in text
    assert "Nhập các lần hoàn thành" not in text  # no import button
    forced = _apply(client, preview, fingerprint="x")
    assert forced.status_code == 200
    assert _enrolments(app) == 0  # the good row was not recorded either


def test_a_file_that_is_not_a_table_is_refused_at_upload(org, make_user):
    app, _o = org
    client = _client(app, make_user)
    page = _upload(client, "")
    assert page.status_code == 200 and "Tệp trống" in page.get_data(as_text=True)


def test_managers_cannot_import_completions(org, make_user):
    app, o = org
    client = app.test_client()
    manager = make_user(email="ql@example.vn", role=Role.MANAGER, scope_unit=o.section_a)
    login(client, manager.email)
    assert client.get("/admin/history/import").status_code == 403
