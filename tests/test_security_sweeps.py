"""Sweeps over every route: nothing is reachable without a session unless it is on the
public list, no state-changing request is accepted without a CSRF token, and no query
parameter, id or path segment, however hostile, gets a 500."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import ClassVar

import pytest
import sqlalchemy as sa
from flask import Flask, Request, url_for
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from mooc import clock
from mooc.auth.models import Role
from mooc.courses.models import Course, LegalDocument, Lesson, Quiz
from mooc.extensions import db
from mooc.quizzes.attempts import start_attempt
from mooc.reports.models import Frequency, ReportKind, ReportSubscription
from mooc.roster.models import OrgUnit, Staff
from mooc.training import assign
from mooc.training.completion import complete
from mooc.training.models import AssignmentRule, Certificate, Enrolment, Program
from tests.conftest import csrf_token, login
from tests.roster.helpers import csv_bytes

# The whole public surface. A new public route fails this suite until it is added here.
PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "site.healthz",
    "site.set_language",
    "account.forgot",
    "account.invite",
    "account.reset",
    "training.verify",       # anyone may check a certificate: name, course, dates, validity
    "directory.oidc_start",    # "Sign in with <provider>" (a POST with the sign-in page's CSRF token)
    "directory.oidc_callback", # the OpenID provider sends the browser back here (404 without a provider)
    "second_factor.code",    # the code step of sign-in: it answers only a browser whose password was
                             # right minutes ago (a signed pending state), else back to sign in
    "privacy.notice_page",   # the privacy notice: read before signing in
    "api.units", "api.people", "api.enrolments", "api.completions", "api.certificates", "api.dashboard",
                             # the read API: no session, a bearer token (401 problem without one)
    "api.openapi_document",  # the read API's description: public, names no data
    "quizzes.submit",        # a submit that arrives signed-out is kept (its owner's lapsed session
                             # proves it) and sent to sign in; it grades nothing without a session
}

SAMPLE_ARGS = {"int": "1", "string": "x", "path": "x/y", "default": "x"}


def _url_for_rule(rule) -> str:
    url = rule.rule
    for argument in rule.arguments:
        converter = rule._converters[argument].__class__.__name__.lower().replace("converter", "")
        url = url.replace(f"<{argument}>", SAMPLE_ARGS.get(converter, "1"))
        for prefix in ("int", "string", "path", "float", "any"):
            url = url.replace(f"<{prefix}:{argument}>", SAMPLE_ARGS.get(prefix, "1"))
    return url


def _routes(app: Flask, method: str):
    for rule in app.url_map.iter_rules():
        if method in (rule.methods or set()):
            yield rule, _url_for_rule(rule)


def test_public_endpoints_are_exactly_the_allow_list(app):
    public = {endpoint for endpoint, view in app.view_functions.items()
              if getattr(view, "is_public", False)} | {"static"}
    assert public == PUBLIC_ENDPOINTS


def test_anonymous_get_of_every_private_route_goes_to_sign_in(app):
    client = app.test_client()
    checked = 0
    for rule, url in _routes(app, "GET"):
        response = client.get(url)
        if rule.endpoint == "second_factor.code":  # nothing pending in this browser: to sign in
            assert (response.status_code, response.headers["Location"]) == (302, "/login"), url
            continue
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi_document":
            # the read API: no session asked, a bearer token; without one a 401 problem
            assert response.status_code == 401 and response.mimetype == "application/problem+json", url
            continue
        if rule.endpoint in PUBLIC_ENDPOINTS:
            assert response.status_code in (200, 404), (url, response.status_code)
            continue
        assert response.status_code == 302, (url, response.status_code)
        assert response.headers["Location"].startswith("/login?next="), url
        checked += 1
    assert checked >= 2  # the sweep really walked the map


def test_anonymous_post_to_every_private_route_is_refused(app):
    client = app.test_client()
    for rule, url in _routes(app, "POST"):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        response = client.post(url, data={"role": "admin"})
        assert response.status_code == 401, (url, response.status_code)


def test_every_post_route_refuses_a_request_without_csrf_token(app, make_user):
    client = app.test_client()
    admin = make_user(role=Role.ADMIN)
    assert login(client, admin.email).status_code == 302
    posted = 0
    for _rule, url in _routes(app, "POST"):
        response = client.post(url, data={"email": admin.email, "password": "x", "lang": "en"})
        assert response.status_code == 400, (url, response.status_code)
        assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
        posted += 1
    assert posted >= 4
    assert client.get("/").status_code == 200  # still signed in: nothing was done


# --- hostile parameters ---------------------------------------------------------------------------
# Every GET route, every query parameter its view reads (found by watching request.args, so a new
# route or parameter is swept without being listed here), with values people and attackers type.

HOSTILE_VALUES = [
    "²", "٣", "１", "", " ", "-1", "0", "1e9", "99999999999999999999", str(2**31), str(2**63),
    "9999-12-31", "0001-01-01", "2026-02-30", "31/12/2026",
    "Lê x;=1+2", ";", "\x00", "' OR 1=1 --", "\u202e", "x" * 10_240,
]
# Values that open deeper paths of a view (an export, a table, a unit): found paths are swept too.
FRIENDLY_VALUES = ["1", "csv", "xlsx", "lessons", "2026-01-15"]


class _RecordingArgs(ImmutableMultiDict):
    read: ClassVar[set[str]] = set()

    def get(self, key, default=None, type=None):
        _RecordingArgs.read.add(key)
        return super().get(key, default, type)

    def __getitem__(self, key):
        _RecordingArgs.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        _RecordingArgs.read.add(key)
        return super().__contains__(key)

    def getlist(self, key, type=None):
        _RecordingArgs.read.add(key)
        return super().getlist(key, type)


class _RecordingRequest(Request):
    parameter_storage_class = _RecordingArgs


@pytest.fixture
def world_for_sweeps(org, person, make_user):
    """Everything a page can show: units, a person (with a hostile name and a non-ASCII staff
    code) enrolled by a rule, a completed course with its certificate, a quiz attempt; and an
    administrator, who sees every page. Returns the app, the signed-in client and one sample
    value for every URL argument."""
    app, o = org
    staff, user = person(o.section_a, name="Lê x;=1+2")
    with app.app_context():
        db.session.get(Staff, staff.id).staff_code = "CB-Đ01"
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == staff.id))
        course = db.session.get(Course, o.course_id)
        complete(enrolment, course, None, clock.now())
        quiz = db.session.scalar(sa.select(Quiz).where(Quiz.course_id == o.course_id))
        lesson = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == o.course_id))
        attempt = start_attempt(user.id, quiz)
        subscription = ReportSubscription(email="vanphong@example.vn", kind=ReportKind.DASHBOARD,
                                          frequency=Frequency.MONTHLY)
        db.session.add(subscription)
        document = LegalDocument(key="11/2022/QH15", number="11/2022/QH15", kind="Luật",
                                 title="Luật Thanh tra", superseded_from=date(2025, 7, 1),
                                 superseded_by=["84/2025/QH15"])
        db.session.add(document)
        program = Program(key="luat", code="CT", title="Chương trình thử")
        db.session.add(program)
        db.session.flush()
        samples = {
            "program_id": program.id,
            "unit_id": o.section_a.id, "staff_id": staff.id, "course_id": o.course_id,
            "enrolment_id": enrolment.id, "rule_id": rule.id, "attempt_id": attempt.id,
            "import_id": 1, "key": "luat", "lesson_key": lesson.key, "quiz_key": quiz.key, "quiz_id": quiz.id,
            "code": db.session.scalar(sa.select(Certificate.code)), "filename": "x.svg",
            "token": "x", "action": "unlock", "subscription_id": subscription.id, "token_id": 1,
            "request_id": 1, "document_id": document.id,
        }
        db.session.commit()
    client = app.test_client()
    login(client, make_user(role=Role.ADMIN).email)
    roster = csv_bytes([["000123", "Nguyễn Văn Đức", "duc@example.vn", "NB-1", "Thanh tra viên"]])
    uploaded = client.post("/roster/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/roster/import"), "file": (io.BytesIO(roster), "ds.csv")})
    samples["checksum"] = re.search(r"/roster/import/([0-9a-f]{64})", uploaded.headers["Location"])[1]
    return app, client, samples


def _sample_url(app: Flask, rule, samples: dict) -> str:
    missing = set(rule.arguments) - set(samples)
    assert not missing, f"{rule.rule}: give world_for_sweeps a sample value for {missing}"
    with app.test_request_context():
        return url_for(rule.endpoint, **{name: samples[name] for name in rule.arguments})


def test_no_query_parameter_value_gets_a_500(world_for_sweeps):
    app, client, samples = world_for_sweeps
    app.request_class = _RecordingRequest

    def get(url: str, args: dict) -> tuple[set[str], int, str]:
        _RecordingArgs.read = set()
        response = client.get(url, query_string=args)
        assert response.status_code < 500, (url, args, response.status_code)
        if "Content-Disposition" in response.headers:  # every download names itself safely
            assert "filename*=UTF-8''" in response.headers["Content-Disposition"], url
        return set(_RecordingArgs.read), response.status_code, response.mimetype

    swept: dict[str, set[str]] = {}
    requests = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        url = _sample_url(app, rule, samples)
        # Find the contexts (sets of friendly values) that lead a view to read more parameters
        # or answer in another format (an export), then sweep every parameter in each of them.
        contexts: list[dict[str, str]] = [{}]
        found: dict[int, tuple[set[str], str]] = {}
        index = 0
        while index < len(contexts):
            context = contexts[index]
            read, _status, mimetype = get(url, context)
            found[index] = (read, mimetype)
            for name in sorted(read - set(context)):
                for value in FRIENDLY_VALUES:
                    deeper = {**context, name: value}
                    more, _status, kind = get(url, deeper)
                    requests += 1
                    if (more - {name} - read or kind != mimetype) and deeper not in contexts \
                            and len(deeper) <= 3:
                        contexts.append(deeper)
            index += 1
        for index, context in enumerate(contexts):
            read, _mimetype = found[index]
            for name in read - set(context):
                swept.setdefault(rule.endpoint, set()).add(name)
                for value in HOSTILE_VALUES:
                    get(url, {**context, name: value})
                    requests += 1
    # The sweep really walked the views that read parameters (a floor, not the full list).
    assert {"unit", "course", "date", "due_from", "months", "page", "export", "table", "q"} <= set().union(
        *swept.values()), swept
    assert {"reports.dashboard", "reports.people", "reports.compliance", "reports.course",
            "roster.index", "roster.preview", "reminders.log", "search.results"} <= set(swept), swept
    assert requests > 500


def test_ids_too_large_for_the_database_are_not_found(world_for_sweeps):
    """Every <int:> in every route: huge, Unicode and signed numbers are a 404, never a 500."""
    app, client, samples = world_for_sweeps
    checked = 0
    for rule in app.url_map.iter_rules():
        ids = [name for name, converter in rule._converters.items()
               if isinstance(converter, IntegerConverter)]
        if not ids or "GET" not in (rule.methods or set()):
            continue
        url = _sample_url(app, rule, samples)
        assert client.get(url).status_code < 500, url
        for name in ids:
            for value in (str(2**31), str(2**63), "9" * 30, "9" * 5000, "٣", "-1"):
                hostile = url.replace(f"/{samples[name]}", f"/{value}", 1)
                assert client.get(hostile).status_code == 404, (hostile[:80], rule.rule)
                checked += 1
    assert checked >= 50


def test_a_nul_byte_anywhere_in_a_url_is_not_found(world_for_sweeps):
    """PostgreSQL refuses text with a NUL byte: no path segment carries one to a query."""
    app, client, samples = world_for_sweeps
    checked = 0
    for rule in app.url_map.iter_rules():
        texts = [name for name, converter in rule._converters.items()
                 if not isinstance(converter, IntegerConverter)]
        if not texts or "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        url = _sample_url(app, rule, samples)
        for name in texts:
            hostile = url.replace(str(samples[name]), "x%00y", 1)
            assert client.get(hostile).status_code == 404, (hostile, rule.rule)
            checked += 1
    assert checked >= 6


def test_a_nul_byte_in_any_posted_field_is_a_bad_request(world_for_sweeps):
    """PostgreSQL refuses text with a NUL byte (a 500 wherever a form field reaches a query):
    every POST route answers 400 to a form that carries one, with a valid CSRF token, before
    its view runs. Before: sign-in, units, roles, rules... each met it its own way."""
    app, client, samples = world_for_sweeps
    token = csrf_token(client, "/roster/units/new")
    posted = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()):
            continue
        url = _sample_url(app, rule, samples)
        for field in ("name", "email", "note", "q"):
            response = client.post(url, data={"csrf_token": token, field: "Phòng\x00Giả"})
            assert response.status_code == 400, (url, field, response.status_code)
        posted += 1
    assert posted >= 20
    assert client.get("/").status_code == 200  # still signed in: nothing was done


_GET_FORM = re.compile(r'<form(?P<attrs>[^>]*)>(?P<body>.*?)</form>', re.S)
_SELECT = re.compile(r'<select[^>]*\bname="(?P<name>[^"]+)"[^>]*>(?P<body>.*?)</select>', re.S)
_OPTION = re.compile(r'<option[^>]*\bvalue="(?P<value>[^"]*)"')
_CHOICE = re.compile(r'<input[^>]*\btype="(?:checkbox|radio)"[^>]*>')


def _offered(html: str, page: str) -> set[tuple[str, str, str]]:
    """(where the form goes, parameter, value) for every choice a page's GET forms offer: each
    option of a select box, each checkbox and radio button."""
    offered = set()
    for form in _GET_FORM.finditer(html):
        attrs = form["attrs"]
        if re.search(r'method="post"', attrs, re.I):
            continue
        action = re.search(r'action="([^"]*)"', attrs)
        target = action[1].replace("&amp;", "&") if action and action[1] else page
        for select in _SELECT.finditer(form["body"]):
            offered |= {(target, select["name"], o["value"]) for o in _OPTION.finditer(select["body"])
                        if o["value"]}
        for choice in _CHOICE.finditer(form["body"]):
            name, value = re.search(r'name="([^"]+)"', choice[0]), re.search(r'value="([^"]*)"', choice[0])
            if name:
                offered.add((target, name[1], value[1] if value else "on"))
    return offered


def test_every_choice_a_filter_form_offers_works_on_its_page_and_its_exports(world_for_sweeps):
    """The hostile sweep above tries values nobody is offered; this one tries each value a page
    does offer, on the page and on each export it links to (the lists' "still to finish"
    status failed every export of the list with a 500, since only the page knew it)."""
    app, client, samples = world_for_sweeps
    tried: set[tuple[str, str, str]] = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint == "static" or rule.arguments - set(samples):
            continue
        page = _sample_url(app, rule, samples)
        response = client.get(page)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        exports = sorted(set(re.findall(r'[?&](?:amp;)?export=(\w+)', html)))
        for target, name, value in sorted(_offered(html, page) - tried):
            tried.add((target, name, value))
            for export in [None, *exports] if target == page else [None]:
                args = {name: value, **({"export": export} if export else {})}
                answer = client.get(target, query_string=args)
                assert answer.status_code < 500, (target, args, answer.status_code)
    names = {name for _target, name, _value in tried}
    assert {"status", "course", "position", "unit"} <= names, names  # the sweep reached the filters
    assert ("/reports/people", "status", "to_do") in {(t.split("?")[0], n, v) for t, n, v in tried}
