"""The read API: tokens made on the web (shown once, stored hashed, revocable, audited), the
web's scope for every role and every endpoint (a manager's token cannot read another province;
a trainee's reads only their own records), keyset pages, updated_since, completions, the rate
limit across workers, problems as RFC 9457 JSON for every error under /api/ (the app's own
404, 405 and 500 too), and every answer valid against the OpenAPI document the API serves."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.api import data, openapi, schemas
from mooc.api.models import ApiToken
from mooc.auth.models import AuditEvent, Role, User
from mooc.courses.models import Course
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff
from mooc.training import assign
from mooc.training.completion import complete
from mooc.training.models import AssignmentRule, Certificate, Enrolment, EnrolmentState
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


def service_token(app, admin, unit_id: int | None, name: str = "Hệ thống nhân sự") -> str:
    client = app.test_client()
    login(client, admin.email)
    page = client.post("/account/tokens/service", data={
        "csrf_token": csrf_token(client, "/account/tokens"), "name": name,
        "unit": str(unit_id or ""), "days": "365"})
    return re.search(r'id="new-token">(mooc_[\w-]+)<', page.get_data(as_text=True)).group(1)


@pytest.fixture
def readers(world, make_user):
    """The world with An's and Cường's course completed (a certificate each), and a token for
    each kind of reader: a trainee (An), the managers of Ninh Bình and of Hà Nội, a training
    officer of section 2, a reporter, an administrator, a service account for Hà Nội."""
    app, o, people, manager, admin = world
    with app.app_context():
        course = db.session.get(Course, o.course_id)
        for key in ("an", "cuong"):
            complete(db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == people[key][0].id)),
                     course, None, T0)
        db.session.commit()
    users = {
        "trainee": people["an"][1],
        "manager_a": manager,
        "manager_b": make_user(role=Role.MANAGER, scope_unit=o.other, email="qlb@example.vn"),
        "officer": make_user(role=Role.OFFICER, scope_unit=o.section_b, email="canbo@example.vn"),
        "reporter": make_user(role=Role.REPORTER, email="baocao@example.vn"),
        "admin": admin,
    }
    secrets = {role: make_token(app, user) for role, user in users.items()}
    secrets["service"] = service_token(app, admin, o.other.id)
    return app, o, people, users, secrets


def _ids(answer, field: str) -> set[int]:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {row[field] for row in answer.get_json()["data"]}


def test_every_reader_reads_on_every_endpoint_what_the_web_lets_them(readers):
    app, o, people, users, secrets = readers
    an, binh, cuong = (people[key][0].id for key in ("an", "binh", "cuong"))
    with app.app_context():
        everyone = set(db.session.scalars(sa.select(Staff.id)))
        every_unit = set(db.session.scalars(sa.select(OrgUnit.id)))
    assert everyone == {an, binh, cuong}
    ninh_binh = {o.province.id, o.section_a.id, o.section_b.id}
    sees = {  # reader -> (people, units) they may read; the dashboard: the same units
        "trainee": ({an}, {o.section_a.id}),  # their own records, their own unit, no dashboard
        "manager_a": ({an, binh}, ninh_binh),
        "manager_b": ({cuong}, {o.other.id}),
        "officer": ({binh}, {o.section_b.id}),
        "reporter": (everyone, every_unit),
        "admin": (everyone, every_unit),
        "service": ({cuong}, {o.other.id}),
    }
    completed = {an, cuong}
    checked = set()
    for reader, secret in secrets.items():
        staff, units = sees[reader]
        assert _ids(get(app, "/api/v1/units", secret), "id") == units, reader
        assert _ids(get(app, "/api/v1/people", secret), "id") == staff, reader
        assert _ids(get(app, "/api/v1/enrolments", secret), "staff_id") == staff, reader
        assert _ids(get(app, "/api/v1/completions", secret), "staff_id") == staff & completed, reader
        assert _ids(get(app, "/api/v1/certificates", secret), "staff_id") == staff & completed, reader
        top = get(app, "/api/v1/dashboard", secret)
        if reader == "trainee":
            assert top.status_code == 403 and top.mimetype == "application/problem+json"
        else:
            assert top.status_code == 200 and {r["unit_id"] for r in top.get_json()["rows"]} <= units, reader
        for unit_id in every_unit:  # a unit's dashboard: in scope or a 404 problem (trainee: 403)
            answer = get(app, f"/api/v1/dashboard?unit={unit_id}", secret)
            want = 403 if reader == "trainee" else (200 if unit_id in units else 404)
            assert answer.status_code == want, (reader, unit_id, answer.get_json())
        checked |= {"/units", "/people", "/enrolments", "/completions", "/certificates", "/dashboard"}
    assert checked == {route.path for route in openapi.ROUTES}  # a new endpoint is added here too

    # the web says the same of each person's unit reports (the access matrix's rule, by unit)
    for reader, user in users.items():
        client = app.test_client()
        login(client, user.email)
        for unit_id in every_unit:
            web = client.get(f"/reports/units/{unit_id}").status_code
            api = get(app, f"/api/v1/dashboard?unit={unit_id}", secrets[reader]).status_code
            assert (web == 200) == (api == 200), (reader, unit_id, web, api)


def test_errors_under_the_api_are_problems_not_pages(world):
    app, _o, _people, manager, _admin = world
    secret = make_token(app, manager)
    client = app.test_client()
    unknown = client.get("/api/v1/nothing-here", headers={"Authorization": f"Bearer {secret}"})
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert unknown.get_json()["status"] == 404 and unknown.get_json()["title"] == "Not Found"
    assert client.get("/api/v2/people").mimetype == "application/problem+json"
    wrong = client.post("/api/v1/people", headers={"Authorization": f"Bearer {secret}"})
    assert wrong.status_code == 405 and wrong.mimetype == "application/problem+json"
    assert "GET" in wrong.headers["Allow"] and wrong.get_json()["status"] == 405
    # the site's own pages keep their HTML error page
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_an_unhandled_error_in_the_api_is_a_problem(world, monkeypatch):
    app, _o, _people, manager, _admin = world
    secret = make_token(app, manager)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 handler answers

    def broken(reader):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(data, "units", broken)
    answer = get(app, "/api/v1/units", secret)
    assert answer.status_code == 500 and answer.mimetype == "application/problem+json"
    assert answer.get_json()["status"] == 500 and "database" not in answer.get_data(as_text=True)


def test_an_answer_that_is_not_its_documented_model_is_not_sent(world, monkeypatch):
    """A page built as Page[Any] would let any row through unchecked: the view refuses it."""
    app, _o, _people, manager, _admin = world
    secret = make_token(app, manager)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setattr(data, "people", lambda *args: schemas.Page[Any](data=[{"id": "x"}], next_cursor=None))
    answer = get(app, "/api/v1/people", secret)
    assert answer.status_code == 500 and answer.mimetype == "application/problem+json"
    assert '"id"' not in answer.get_data(as_text=True)


def test_the_api_only_reads(app):
    """Tokens have no scope field to say "read": every endpoint is a GET (docs/operations.md).
    A write endpoint would fail here until tokens say what they may write."""
    methods = {rule.endpoint: rule.methods - {"HEAD", "OPTIONS"} for rule in app.url_map.iter_rules()
               if rule.rule.startswith("/api/")}
    assert methods and all(allowed == {"GET"} for allowed in methods.values()), methods


def test_updated_since_on_people_and_not_on_units(world, make_staff):
    app, o, people, _manager, admin = world
    secret = make_token(app, admin)
    clock.set_now(T0 + timedelta(days=2))
    with app.app_context():  # Bình's row changes (a new surname: HR's correction)
        db.session.get(Staff, people["binh"][0].id).full_name = "Trần Thị Bình Minh"
        db.session.commit()
    newcomer = make_staff("Hồ Văn Mới", unit=o.section_a)  # created after
    since = (T0 + timedelta(days=1)).isoformat()
    changed = get(app, f"/api/v1/people?updated_since={since}", secret).get_json()["data"]
    assert sorted(row["id"] for row in changed) == sorted([people["binh"][0].id, newcomer.id])
    assert all(datetime.fromisoformat(row["updated_at"].replace("Z", "+00:00")) >= T0 + timedelta(days=1)
               for row in changed)
    later = (T0 + timedelta(days=3)).isoformat()
    assert get(app, f"/api/v1/people?updated_since={later}", secret).get_json()["data"] == []
    everyone = get(app, "/api/v1/people", secret).get_json()["data"]
    assert len(everyone) == 4  # without the filter, everyone
    units = get(app, f"/api/v1/units?updated_since={since}", secret)  # the whole tree, always
    assert units.status_code == 400 and units.mimetype == "application/problem+json"
    assert "whole tree" in units.get_json()["detail"]


def test_completions_with_their_certificates_and_updated_since(world):
    app, o, people, _manager, admin = world
    secret = make_token(app, admin)
    clock.set_now(T0 + timedelta(days=2))
    client = app.test_client()
    login(client, people["an"][1].email)
    read_and_pass(client, app)  # An completes the course on the site: a certificate
    with app.app_context():  # Bình: exempt (not a completion); Cường: a completion from elsewhere
        for key, fields in (("binh", {"state": EnrolmentState.EXEMPT}),
                            ("cuong", {"state": EnrolmentState.COMPLETED, "completed_at": T0})):
            enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == people[key][0].id))
            for name, value in fields.items():
                setattr(enrolment, name, value)
        db.session.commit()
        code = db.session.scalar(sa.select(Certificate.code))
    rows = get(app, "/api/v1/completions", secret).get_json()["data"]
    by_person = {row["staff_code"]: row for row in rows}
    assert set(by_person) == {people["an"][0].staff_code, people["cuong"][0].staff_code}
    assert by_person[people["an"][0].staff_code]["certificate_code"] == code
    assert by_person[people["cuong"][0].staff_code]["certificate_code"] is None
    assert by_person[people["an"][0].staff_code]["edition"]  # the edition completed
    clock.set_now(T0 + timedelta(days=5))
    with app.app_context():  # a later change to Cường's completion (a corrected date)
        enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == people["cuong"][0].id))
        enrolment.completed_at = T0 + timedelta(hours=1)
        db.session.commit()
    since = (T0 + timedelta(days=4)).isoformat()
    assert [row["staff_code"] for row in get(app, f"/api/v1/completions?updated_since={since}", secret)
            .get_json()["data"]] == [people["cuong"][0].staff_code]


def _validator(document: dict) -> Any:
    components = document["components"]["schemas"]

    def validate(instance: Any, schema: dict) -> None:
        jsonschema.validate(instance, {**schema, "components": {"schemas": components}},
                            cls=jsonschema.Draft202012Validator)
    return validate


def test_every_answer_validates_against_the_openapi_document(readers, make_app):
    app, o, _people, _users, secrets = readers
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0" and set(document["paths"]) == {
        "/units", "/people", "/enrolments", "/completions", "/certificates", "/dashboard"}
    validate = _validator(document)

    def check(answer, path: str) -> None:
        """The answer against what the document says of ``path`` for its status."""
        responses = document["paths"][path]["get"]["responses"]
        documented = responses[str(answer.status_code)]  # every status met is documented
        [(mimetype, content)] = documented["content"].items()
        assert answer.mimetype == mimetype, (path, answer.status_code)
        validate(answer.get_json(), content["schema"])

    admin = secrets["admin"]
    for path, operation in document["paths"].items():
        check(get(app, f"/api/v1{path}", admin), path)
        paged = any(p["name"] == "cursor" for p in operation["get"]["parameters"])
        if paged:  # a first page with a next_cursor, then the page it leads to
            first = get(app, f"/api/v1{path}?limit=1", admin)
            assert first.get_json()["next_cursor"], path
            check(first, path)
            check(get(app, f"/api/v1{path}?limit=1&cursor={first.get_json()['next_cursor']}", admin), path)
            check(get(app, f"/api/v1{path}?limit=0", admin), path)  # 400
        check(get(app, f"/api/v1{path}", None), path)  # 401
        wrong_method = app.test_client().post(f"/api/v1{path}", headers={"Authorization": f"Bearer {admin}"})
        check(wrong_method, path)  # 405
    check(get(app, "/api/v1/dashboard", secrets["trainee"]), "/dashboard")  # 403
    check(get(app, f"/api/v1/dashboard?unit={o.other.id}", secrets["manager_a"]), "/dashboard")  # 404
    limited = make_app(COURSES_DIR=str(o.root), API_RATE_PER_MINUTE=1)
    get(limited, "/api/v1/units", secrets["officer"])
    too_many = get(limited, "/api/v1/units", secrets["officer"])
    assert too_many.status_code == 429
    check(too_many, "/units")
    # the pages are the documented models, named as the document names them
    for route in openapi.ROUTES:
        name = document["paths"][route.path]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"]["$ref"].rsplit("/", 1)[1]
        assert name == openapi._ref(route.model.__name__) and name in document["components"]["schemas"]
    assert openapi.route("/people").model is schemas.Page[schemas.Person]
    with pytest.raises(jsonschema.ValidationError):  # the check can fail: a field of the wrong type
        validate({"data": [{"id": "x"}], "next_cursor": None}, {"$ref": "#/components/schemas/Page_Person_"})
