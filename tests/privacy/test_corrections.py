"""Correction: a person flags a roster field as wrong; the request reaches the roster officers
of their units (and nobody else's); an administrator, or the next roster import that changes
that field, resolves it; every step audited."""

from __future__ import annotations

import sqlalchemy as sa

from mooc.auth.models import AuditEvent, Role, User
from mooc.extensions import db
from mooc.privacy.models import CorrectionRequest, CorrectionStatus
from mooc.roster import importer
from tests.conftest import csrf_token, login
from tests.privacy.conftest import NAME, unit_of
from tests.roster.helpers import csv_bytes


def _ask(world, field: str = "full_name", note: str = "Trịnh Thị Bảo Ngọc (họ Trịnh, không phải Trinh)"):
    client = world.app.test_client()
    login(client, world.email)
    token = csrf_token(client, "/account/data")
    response = client.post("/account/data/corrections",
                           data={"csrf_token": token, "field": field, "note": note})
    assert response.status_code == 302
    return client


def _open(world) -> list[CorrectionRequest]:
    with world.app.app_context():
        return list(db.session.scalars(sa.select(CorrectionRequest).where(
            CorrectionRequest.staff_id == world.staff_id, CorrectionRequest.field == "email")))


def _events(world, action: str) -> list[AuditEvent]:
    with world.app.app_context():
        return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_a_person_flags_a_field_once_and_sees_it(world):
    client = _ask(world, "email", "ngoc.trinh@example.vn")
    _ask(world, "email", "again")  # already open: not a second request
    requests = _open(world)
    assert len(requests) == 1 and requests[0].value_then == world.email
    assert requests[0].note == "ngoc.trinh@example.vn" and requests[0].status == CorrectionStatus.OPEN
    page = client.get("/account/data").get_data(as_text=True)
    assert "ngoc.trinh@example.vn" in page and "đang được xử lý" in page
    [event] = _events(world, "privacy.correction_requested")
    assert event.target == world.code and event.details["field"] == "email"


def test_an_unknown_field_is_refused(world):
    _ask(world, "password_hash", "x")
    with world.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CorrectionRequest).where(
            CorrectionRequest.status == CorrectionStatus.OPEN,
            CorrectionRequest.field == "password_hash")) == 0


def test_the_request_reaches_the_officers_of_the_persons_units_only(world, make_user):
    _ask(world, "email", "ngoc.trinh@example.vn")
    officer = make_user(role=Role.OFFICER, scope_unit=unit_of(world.app, world.province_id))
    other = make_user(role=Role.OFFICER, scope_unit=unit_of(world.app, world.other_unit_id))
    manager = make_user(role=Role.MANAGER, scope_unit=unit_of(world.app, world.province_id))
    for user, sees in ((officer, True), (other, False)):
        client = world.app.test_client()
        login(client, user.email)
        page = client.get("/privacy/corrections")
        assert page.status_code == 200
        assert ("ngoc.trinh@example.vn" in page.get_data(as_text=True)) is sees
        assert "/resolve" not in page.get_data(as_text=True)  # officers do not resolve
    client = world.app.test_client()
    login(client, manager.email)
    assert client.get("/privacy/corrections").status_code == 403


def test_an_administrator_resolves_it(world, make_user):
    _ask(world, "email", "ngoc.trinh@example.vn")
    [request] = _open(world)
    admin = make_user(role=Role.ADMIN, email="quantri@example.vn")
    client = world.app.test_client()
    login(client, admin.email)
    token = csrf_token(client, "/privacy/corrections")
    url = f"/privacy/corrections/{request.id}/resolve"
    assert client.post(url, data={"csrf_token": token, "note": "Đã sửa tay"}).status_code == 302
    assert client.post(url, data={"csrf_token": token}).status_code == 302  # again: nothing more
    [request] = _open(world)
    assert request.status == CorrectionStatus.RESOLVED and request.resolution == "admin"
    assert request.resolved_by_id == admin.id and request.resolution_note == "Đã sửa tay"
    [event] = _events(world, "privacy.correction_resolved")
    assert event.actor_id == admin.id and event.details["by"] == "admin"


def test_the_next_import_that_changes_the_field_resolves_it(world):
    _ask(world, "email", "ngoc.trinh@example.vn")
    _ask(world, "full_name", "Trịnh Thị Bảo Ngọc")

    def apply(email: str) -> None:
        with world.app.app_context():
            officer = db.session.get(User, world.user_id)
            rows = [[world.code, NAME, email, "NBO-3", ""]]
            plan = importer.plan_import(importer.open_sheet(csv_bytes(rows)), actor=officer,
                                        checksum="d" * 64)
            assert plan.ok, plan.issues
            importer.apply_plan(plan, officer)
            db.session.commit()

    apply(world.email)  # nothing changes: both stay open
    assert _open(world)[0].status == CorrectionStatus.OPEN
    apply("ngoc.trinh@example.vn")  # the e-mail changes: that request only is resolved
    [request] = _open(world)
    assert request.status == CorrectionStatus.RESOLVED and request.resolution == "import"
    assert request.resolved_by_id == world.user_id
    with world.app.app_context():
        name_request = db.session.scalar(sa.select(CorrectionRequest).where(
            CorrectionRequest.staff_id == world.staff_id, CorrectionRequest.field == "full_name",
            CorrectionRequest.status == CorrectionStatus.OPEN))
        assert name_request is not None
    [event] = _events(world, "privacy.correction_resolved")
    assert event.details["by"] == "import" and event.target == world.code


def test_a_status_flagged_reads_by_its_name_and_is_kept_as_its_code(world, make_user):
    """The officers' list printed what the roster says of a status raw ("active"): it names it, as
    the roster page does; what is kept (value_then) is the code, the same in every language."""
    _ask(world, "status", "Tôi đã nghỉ hưu từ tháng trước")
    with world.app.app_context():
        [request] = db.session.scalars(sa.select(CorrectionRequest)
                                       .where(CorrectionRequest.field == "status"))
        assert request.value_then == "active"
    officer = make_user(role=Role.OFFICER, scope_unit=unit_of(world.app, world.province_id))
    client = world.app.test_client()
    login(client, officer.email)
    page = client.get("/privacy/corrections").get_data(as_text=True)
    row = page.split("Tôi đã nghỉ hưu từ tháng trước")[0].rsplit("<tr>", 1)[1]
    assert "<td>Đang công tác</td>" in row and ">active<" not in row
