"""The read API: tokens made on the web (shown once, stored hashed, revocable, audited), the
web's scope (a manager's token cannot read another province; a trainee's reads only their own
records), keyset pages, updated_since, the rate limit across workers, problems as RFC 9457 JSON,
and every answer valid against the OpenAPI document the API serves."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.api.models import ApiToken
from mooc.auth.models import AuditEvent, Role, User
from mooc.extensions import db
from mooc.training import assign
from mooc.training.models import AssignmentRule, Enrolment
from tests.conftest import csrf_token, login
from tests.training.test_completion import read_and_pass

T0 = datetime(2026, 3, 2, 3, tzinfo=UTC)


@pytest.fixture
def world(org, person, make_user):
    """Ninh Bình (sections 1 and 2) and Hà Nội, two people in each province, a rule requiring
    the course everywhere; a manager of Ninh Bình, an administrator."""
    app, o = org
    clock.set_now(T0)
    people = {
        "an": person(o.section_a, o.inspector, name="Nguyễn Văn An", email="an@example.vn"),
        "binh": person(o.section_b, o.inspector, name="Trần Thị Bình", email="binh@example.vn"),
        "cuong": person(o.other, o.inspector, name="Lê Văn Cường", email="cuong@example.vn"),
    }
    with app.app_context():
        from mooc.roster.models import OrgUnit
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.province.id), db.session.get(OrgUnit, o.other.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
    manager = make_user(role=Role.MANAGER, scope_unit=o.province, email="ql@example.vn")
    admin = make_user(role=Role.ADMIN, email="admin@example.vn")
    return app, o, people, manager, admin


def make_token(app, user, name: str = "Bảng tính nhân sự", days: int = 90) -> str:
    """Through the account page, as a person does: the secret is on the page once."""
    client = app.test_client()
    login(client, user.email)
    page = client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account/tokens"),
                                                 "name": name, "days": str(days)})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    secret = re.search(r'<code class="secret-key" id="new-token">(mooc_[\w-]+)</code>', text)
    assert secret, text[:500]
    assert secret.group(1) not in client.get("/account/tokens").get_data(as_text=True)  # once
    return secret.group(1)


def get(app, path: str, secret: str | None) -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return app.test_client().get(path, headers=headers)


def names(answer) -> set[str]:
    return {row["full_name"] for row in answer.get_json()["data"]}


def test_a_token_is_shown_once_stored_hashed_and_audited(world):
    app, o, people, manager, _admin = world
    secret = make_token(app, manager)
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken))
        assert token.token_hash != secret and secret not in token.token_hash and token.prefix == secret[:12]
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "api.token_created"))
        assert event.target == manager.email and secret not in str(event.details)
    assert get(app, "/api/v1/people", secret).status_code == 200


def test_scope_mirrors_the_web(world):
    app, o, people, manager, admin = world
    mine = make_token(app, manager)
    assert names(get(app, "/api/v1/people", mine)) == {"Nguyễn Văn An", "Trần Thị Bình"}
    enrolled = {row["staff_code"] for row in get(app, "/api/v1/enrolments", mine).get_json()["data"]}
    assert enrolled == {people["an"][0].staff_code, people["binh"][0].staff_code}
    units = {row["id"] for row in get(app, "/api/v1/units", mine).get_json()["data"]}
    assert units == {o.province.id, o.section_a.id, o.section_b.id}
    other = get(app, f"/api/v1/dashboard?unit={o.other.id}", mine)  # another province
    assert other.status_code == 404 and other.mimetype == "application/problem+json"
    assert other.get_json()["status"] == 404
    everything = make_token(app, admin)
    assert names(get(app, "/api/v1/people", everything)) >= {"Nguyễn Văn An", "Lê Văn Cường"}

    trainee_staff, trainee = people["an"]
    own = make_token(app, trainee)
    assert names(get(app, "/api/v1/people", own)) == {"Nguyễn Văn An"}
    own_rows = get(app, "/api/v1/enrolments", own).get_json()["data"]
    assert {r["staff_id"] for r in own_rows} == {trainee_staff.id}
    assert [u["id"] for u in get(app, "/api/v1/units", own).get_json()["data"]] == [o.section_a.id]
    refused = get(app, "/api/v1/dashboard", own)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"


def test_a_token_stops_working_when_revoked_expired_or_its_account_changes(world):
    app, o, people, manager, admin = world
    secret = make_token(app, manager, days=30)
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    client = app.test_client()
    login(client, manager.email)
    revoked = client.post(f"/account/tokens/{token_id}/revoke",
                          data={"csrf_token": csrf_token(client, "/account/tokens")})
    assert revoked.status_code == 302
    answer = get(app, "/api/v1/people", secret)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.mimetype == "application/problem+json"

    expiring = make_token(app, manager, days=30)
    clock.set_now(T0 + timedelta(days=31))
    assert get(app, "/api/v1/people", expiring).status_code == 401
    clock.set_now(T0)

    lost_role = make_token(app, manager)
    with app.app_context():  # the manager is a trainee now (no roster entry): reads nobody
        db.session.get(User, manager.id).role = Role.TRAINEE
        db.session.commit()
    assert get(app, "/api/v1/people", lost_role).get_json()["data"] == []
    assert get(app, "/api/v1/dashboard", lost_role).status_code == 403
    with app.app_context():
        db.session.get(User, manager.id).active = False
        db.session.commit()
    assert get(app, "/api/v1/people", lost_role).status_code == 401
    for bad in (None, "mooc_not-a-token", "Basic abc"):
        assert get(app, "/api/v1/people", bad).status_code == 401


def test_pages_by_cursor_and_updated_since(world):
    app, o, people, _manager, admin = world
    secret = make_token(app, admin)
    seen, cursor, pages = [], None, 0
    while True:
        answer = get(app, "/api/v1/enrolments?limit=1" + (f"&cursor={cursor}" if cursor else ""), secret)
        body = answer.get_json()
        seen += [row["id"] for row in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    with app.app_context():
        assert seen == sorted(db.session.scalars(sa.select(Enrolment.id)))
    assert pages == len(seen)

    clock.set_now(T0 + timedelta(days=2))
    client = app.test_client()
    login(client, people["an"][1].email)
    read_and_pass(client, app)  # An completes the course
    since = (T0 + timedelta(days=1)).isoformat()
    changed = get(app, f"/api/v1/enrolments?updated_since={since}", secret).get_json()["data"]
    assert [(row["staff_code"], row["status"]) for row in changed] == [
        (people["an"][0].staff_code, "completed")]
    certificates = get(app, f"/api/v1/certificates?updated_since={since}", secret).get_json()["data"]
    assert len(certificates) == 1
    assert certificates[0]["verify_url"].endswith("/verify/" + certificates[0]["code"])
    # a bulk write (Core UPDATE, past the ORM) raises updated_at too
    clock.set_now(T0 + timedelta(days=5))
    with app.app_context():
        db.session.execute(sa.update(Enrolment).where(Enrolment.staff_id == people["cuong"][0].id)
                           .values(note="đổi hạn"))
        db.session.commit()
    later = (T0 + timedelta(days=4)).isoformat()
    assert [r["staff_code"] for r in get(app, f"/api/v1/enrolments?updated_since={later}", secret)
            .get_json()["data"]] == [people["cuong"][0].staff_code]


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=100000", "cursor=%%%", "cursor=aWQ6eA",
                                   "updated_since=hôm-qua", "updated_since=99999-01-01"])
def test_bad_parameters_are_problems_not_errors(world, query):
    app, _o, _people, manager, _admin = world
    answer = get(app, f"/api/v1/people?{query}", make_token(app, manager))
    assert answer.status_code == 400 and answer.mimetype == "application/problem+json"
    assert answer.get_json()["title"] == "Bad Request" and answer.get_json()["detail"]


def test_service_tokens_are_made_by_administrators_for_a_scope(world):
    app, o, _people, manager, admin = world
    client = app.test_client()
    login(client, admin.email)
    page = client.post("/account/tokens/service", data={
        "csrf_token": csrf_token(client, "/account/tokens"), "name": "Hệ thống nhân sự",
        "unit": str(o.section_b.id), "days": "365"})
    secret = re.search(r'id="new-token">(mooc_[\w-]+)<', page.get_data(as_text=True)).group(1)
    assert names(get(app, "/api/v1/people", secret)) == {"Trần Thị Bình"}
    assert get(app, f"/api/v1/dashboard?unit={o.section_b.id}", secret).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.target).where(
            AuditEvent.action == "api.service_token_created")) == "Hệ thống nhân sự"
    other = app.test_client()
    login(other, manager.email)
    refused = other.post("/account/tokens/service", data={
        "csrf_token": csrf_token(other, "/account/tokens"), "name": "x", "days": "10"})
    assert refused.status_code == 403


def test_the_rate_limit_is_per_token_and_shared_by_workers(world, make_app):
    app, o, _people, manager, admin = world
    limited = make_app(COURSES_DIR=str(o.root), API_RATE_PER_MINUTE=3)  # another worker, same database
    mine, theirs = make_token(app, manager), make_token(app, admin)
    limited_app = limited
    # two requests on one worker, the third on the other: the count is the database's
    assert [get(a, "/api/v1/units", mine).status_code for a in (app, app, limited_app)] == [200] * 3
    too_many = get(limited_app, "/api/v1/units", mine)
    assert too_many.status_code == 429 and int(too_many.headers["Retry-After"]) >= 1
    assert too_many.mimetype == "application/problem+json"
    assert get(limited_app, "/api/v1/units", theirs).status_code == 200  # per token
    clock.set_now(T0 + timedelta(minutes=1))
    assert get(limited_app, "/api/v1/units", mine).status_code == 200  # the next minute


def test_every_answer_validates_against_the_openapi_document(world):
    app, o, _people, manager, admin = world
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0" and set(document["paths"]) == {
        "/units", "/people", "/enrolments", "/certificates", "/dashboard"}
    components = document["components"]["schemas"]

    def validate(instance: Any, ref: str) -> None:
        schema = {"$ref": ref, "components": {"schemas": components}}
        schema["$ref"] = ref
        jsonschema.validate(instance, {**schema}, cls=jsonschema.Draft202012Validator)

    secret = make_token(app, admin)
    for path, operation in document["paths"].items():
        answer = get(app, f"/api/v1{path}", secret)
        assert answer.status_code == 200, path
        validate(answer.get_json(), operation["get"]["responses"]["200"]["content"]["application/json"]
                 ["schema"]["$ref"])
        problem = get(app, f"/api/v1{path}", None)
        validate(problem.get_json(), "#/components/schemas/Problem")
    with pytest.raises(jsonschema.ValidationError):  # the check can fail: a field of the wrong type
        validate({"data": [{"id": "x"}], "next_cursor": None}, "#/components/schemas/Page_Person_")
