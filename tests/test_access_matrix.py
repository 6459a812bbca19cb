"""The access matrix: every route x every role, with the expected outcome, in one table.

A route that is not in the table fails the suite until someone decides who may use it.
Object-level rules are in the URLs: the trainee's own attempt, record and certificate; a
manager of unit A asking for unit A's and unit B's things by id.

Outcome letters, in the order anonymous, trainee, manager of A, manager of B, training officer
of A, training officer of B, reporter, admin:
  P  public: answered without a session
  L  anonymous: sent to sign in (GET) or refused with 401 (POST)
  O  allowed (any answer but 401/403/404)
  D  denied: 403 or 404 (404 where even the existence of the object is private)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.api.models import ApiToken
from mooc.auth.models import AuthSession, Role
from mooc.courses.models import Course, LegalDocument, Quiz
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.privacy.models import CorrectionRequest
from mooc.quizzes.models import QuizAttempt
from mooc.reports.models import Frequency, ReportKind, ReportSubscription
from mooc.roster.models import OrgUnit, RosterImport
from mooc.training import assign, programs
from mooc.training.completion import complete
from mooc.training.models import (
    AssignmentRule,
    Certificate,
    Enrolment,
    EnrolmentSource,
    Program,
    ProgramEnrolment,
)
from tests.conftest import TEST_PASSWORD, csrf_token, login, save
from tests.training.conftest import make_course

ROLES = ("anonymous", "trainee", "manager_a", "manager_b", "officer_a", "officer_b", "reporter", "admin")

# endpoint -> (method, url template, outcomes). Templates use the world's ids.
MATRIX: dict[str, tuple[str, str, str]] = {
    "static": ("GET", "/static/css/site.css", "PPPPPPPP"),
    "site.healthz": ("GET", "/healthz", "PPPPPPPP"),
    "site.set_language": ("POST", "/language", "PPPPPPPP"),
    "auth.login": ("GET", "/login", "PPPPPPPP"),
    "account.forgot": ("GET", "/forgot", "PPPPPPPP"),
    "directory.oidc_start": ("POST", "/oidc/start", "PPPPPPPP"),        # 404 without a provider
    "directory.oidc_callback": ("GET", "/oidc/callback", "PPPPPPPP"),
    "account.invite": ("GET", "/invite/not-a-token", "PPPPPPPP"),
    "account.reset": ("GET", "/reset/not-a-token", "PPPPPPPP"),
    "training.verify": ("GET", "/verify/{certificate}", "PPPPPPPP"),
    "training.home": ("GET", "/", "LOOOOOOO"),
    "auth.change_password": ("GET", "/account/password", "LOOOOOOO"),
    "courses.catalog": ("GET", "/courses/", "LOOOOOOO"),
    "courses.course": ("GET", "/courses/luat", "LOOOOOOO"),
    "courses.lesson": ("GET", "/courses/luat/lessons/co-ban/mot", "LOOOOOOO"),
    "courses.file": ("GET", "/courses/luat/files/01-co-ban/images/hinh.svg", "LOOOOOOO"),
    "courses.mark_done": ("POST", "/courses/luat/lessons/co-ban/mot/done", "LOOOOOOO"),
    "quizzes.quiz": ("GET", "/courses/luat/quizzes/co-ban/kiem-tra", "LOOOOOOO"),
    "quizzes.start": ("POST", "/courses/luat/quizzes/co-ban/kiem-tra/start", "LOOOOOOO"),
    "quizzes.attempt": ("GET", "/attempts/{attempt}", "LODDDDDD"),          # only its owner
    "quizzes.save": ("POST", "/attempts/{attempt}/save", "LODDDDDD"),
    "quizzes.submit": ("POST", "/attempts/{attempt}/submit", "LODDDDDD"),
    "quizzes.confirm": ("GET", "/attempts/{attempt}/confirm", "LODDDDDD"),
    "quizzes.grant": ("POST", "/quizzes/{quiz}/people/{trainee_staff}/grant", "LDODODDO"),  # scope
    "search.results": ("GET", "/search/?q=thanh+tra", "LOOOOOOO"),
    "training.join": ("POST", "/courses/tuy-chon/join", "LOOOOOOO"),
    "training.my_record": ("GET", "/training/record", "LODDDDDD"),         # people on the roster only
    "training.record": ("GET", "/training/people/{trainee_staff}", "LOODODOO"),
    "training.record_csv": ("GET", "/training/people/{trainee_staff}/record.csv", "LOODODOO"),
    "training.record_pdf": ("GET", "/training/people/{trainee_staff}/record.pdf", "LOODODOO"),
    "training.revoke_certificate": ("POST", "/certificates/{certificate}/revoke", "LDDDODDO"),
    "training.certificate_pdf": ("GET", "/certificates/{certificate}.pdf", "LOODODOO"),
    "training.program": ("GET", "/programs/{program}", "LOOOOOOO"),  # anyone signed in reads a path
    "training.program_certificate_pdf": ("GET", "/programs/certificates/{program_certificate}.pdf",
                                         "LOODODOO"),
    "training.enrol": ("POST", "/training/people/{trainee_staff}/enrol", "LDODODDO"),
    "training.exempt": ("POST", "/training/enrolments/{enrolment}/exempt", "LDDDODDO"),
    "training.extend_due": ("POST", "/training/enrolments/{enrolment}/extend", "LDODODDO"),
    "reminders.remind_person": ("POST", "/training/people/{trainee_staff}/remind", "LDODODDO"),
    # an empty selection (nothing to check against the scope): back to the list; scope: test_manual.py
    "reminders.remind_selected": ("POST", "/reports/people/remind", "LDOOOODO"),
    "training.rules": ("GET", "/admin/rules", "LDDDOODO"),
    "training.new_rule": ("GET", "/admin/rules/new", "LDDDOODO"),
    "training.deactivate_rule": ("POST", "/admin/rules/{rule}/deactivate", "LDDDODDO"),
    "training.edit_rule": ("GET", "/admin/rules/{rule}/edit", "LDDDODDO"),
    # before roster.units_preview, which deletes the (roster) file it cannot read as units
    "training.history_upload": ("GET", "/admin/history/import", "LDDDOODO"),
    "training.history_preview": ("GET", "/admin/history/import/{checksum}", "LDDDOODO"),
    "training.legal_refreshers": ("GET", "/admin/legal/{legal_document}/refreshers", "LDDDOODO"),
    "reports.dashboard": ("GET", "/reports/", "LDOOOOOO"),
    "reports.unit": ("GET", "/reports/units/{unit_a}", "LDODODOO"),
    "reports.people": ("GET", "/reports/people?unit={unit_a}", "LDODODOO"),
    "reports.compliance": ("GET", "/reports/compliance?unit={unit_a}", "LDODODOO"),
    "reports.trend": ("GET", "/reports/trend", "LDOOOOOO"),
    "reports.program": ("GET", "/reports/programs/{program_id}?unit={unit_a}", "LDODODOO"),
    "reports.legal": ("GET", "/reports/legal", "LDOOOOOO"),  # counts in scope: test_legal_impact.py
    "reports.course": ("GET", "/reports/courses/{course}", "LDOOOOOO"),
    "reports.subscriptions_page": ("GET", "/reports/subscriptions", "LDOOOOOO"),
    "reports.subscribe": ("POST", "/reports/subscriptions", "LDOOOOOO"),
    "reports.subscribe_address": ("POST", "/reports/subscriptions/address", "LDDDDDDO"),
    "reports.unsubscribe": ("POST", "/reports/subscriptions/{subscription}/end", "LDODDDDD"),  # manager A's
    # the read API answers a bearer token, never a session: without one, 401 for everyone
    "api.units": ("GET", "/api/v1/units", "LLLLLLLL"),
    "api.people": ("GET", "/api/v1/people", "LLLLLLLL"),
    "api.enrolments": ("GET", "/api/v1/enrolments", "LLLLLLLL"),
    "api.completions": ("GET", "/api/v1/completions", "LLLLLLLL"),
    "api.certificates": ("GET", "/api/v1/certificates", "LLLLLLLL"),
    "api.dashboard": ("GET", "/api/v1/dashboard", "LLLLLLLL"),
    "api.openapi_document": ("GET", "/api/v1/openapi.json", "PPPPPPPP"),
    "api_tokens.tokens_page": ("GET", "/account/tokens", "LOOOOOOO"),
    "api_tokens.create_token": ("POST", "/account/tokens", "LOOOOOOO"),
    "api_tokens.create_service_token": ("POST", "/account/tokens/service", "LDDDDDDO"),
    "api_tokens.revoke_token": ("POST", "/account/tokens/{api_token}/revoke", "LDODDDDD"),  # A's
    "roster.index": ("GET", "/roster/", "LDOOOOOO"),
    "roster.person": ("GET", "/roster/staff/{trainee_staff}", "LDODODOO"),
    "roster.invite": ("POST", "/roster/staff/{trainee_staff}/invite", "LDDDODDO"),
    "roster.grant_role": ("POST", "/roster/staff/{trainee_staff}/role", "LDDDDDDO"),
    "roster.upload": ("GET", "/roster/import", "LDDDOODO"),
    "roster.preview": ("GET", "/roster/import/{checksum}", "LDDDOODO"),
    "roster.imports": ("GET", "/roster/imports", "LDDDOODO"),
    "roster.import_detail": ("GET", "/roster/imports/{roster_import}", "LDDDDDDO"),
    "roster.unit_list": ("GET", "/roster/units", "LDDDOODO"),
    "roster.unit_new": ("GET", "/roster/units/new", "LDDDOODO"),
    "roster.unit_edit": ("GET", "/roster/units/{unit_a}", "LDDDODDO"),
    "roster.unit_merge": ("POST", "/roster/units/{unit_a}/merge", "LDDDODDO"),
    "roster.units_upload": ("GET", "/roster/units/import", "LDDDDDDO"),     # a units file: admins
    "roster.units_preview": ("GET", "/roster/units/import/{checksum}", "LDDDDDDO"),
    "reminders.log": ("GET", "/admin/reminders/", "LDDDDDDO"),
    "roster.invite_filtered": ("GET", "/roster/invite?unit={unit_a}", "LDDDOODO"),  # B: their own list
    "roster.invite_imported": ("POST", "/roster/imports/{roster_import}/invite", "LDDDDDDO"),
    "roster.account_action": ("POST", "/roster/staff/{trainee_staff}/account/unlock", "LDDDDDDO"),
    "roster.change_email": ("POST", "/roster/staff/{trainee_staff}/email", "LDDDDDDO"),
    # two-factor sign-in: the code step (nothing pending: back to sign in; signed in: home) and
    # the account page's section, everyone's own
    "second_factor.code": ("GET", "/login/code", "LOOOOOOO"),
    "second_factor.account": ("GET", "/account/two-factor", "LOOOOOOO"),
    "second_factor.setup": ("POST", "/account/two-factor/setup", "LOOOOOOO"),
    "second_factor.confirm": ("POST", "/account/two-factor/confirm", "LOOOOOOO"),
    "second_factor.recovery_codes": ("POST", "/account/two-factor/recovery-codes", "LOOOOOOO"),
    "second_factor.forget_browsers": ("POST", "/account/two-factor/forget-browsers", "LOOOOOOO"),
    "second_factor.turn_off": ("POST", "/account/two-factor/off", "LOOOOOOO"),
    "privacy.my_data": ("GET", "/account/data", "LOOOOOOO"),
    "privacy.my_data_json": ("GET", "/account/data.json", "LOOOOOOO"),
    "privacy.my_data_pdf": ("GET", "/account/data.pdf", "LOOOOOOO"),
    "privacy.export_person": ("GET", "/privacy/people/{trainee_staff}/export", "LDDDDDDO"),
    "privacy.audit_events": ("GET", "/admin/audit", "LDOOOODO"),          # scoped: their units' events
    "privacy.request_correction": ("POST", "/account/data/corrections", "LODDDDDD"),  # on the roster only
    "privacy.correction_list": ("GET", "/privacy/corrections", "LDDDOODO"),
    "privacy.resolve_correction": ("POST", "/privacy/corrections/{correction}/resolve", "LDDDDDDO"),
    "privacy.notice_page": ("GET", "/privacy", "PPPPPPPP"),
    "auth.logout": ("POST", "/logout", "LLLLLLLL"),                         # signed out: to the sign-in page
}


@dataclass
class World:
    ids: dict[str, object]
    users: dict[str, object]


@pytest.fixture
def world(make_app, tmp_path: Path, make_unit, make_staff, make_user):
    root = make_course(tmp_path / "courses")
    (root / "luat/01-co-ban/images").mkdir(parents=True)
    (root / "luat/01-co-ban/images/hinh.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    lesson = root / "luat/01-co-ban/01-mot.md"
    lesson.write_text(lesson.read_text() + "\n![Hình](images/hinh.svg)\n")
    app = make_app(COURSES_DIR=str(root))
    unit_a = make_unit("Thanh tra tỉnh A", code="A", kind="province")
    section_a = make_unit("Phòng A1", parent=unit_a, code="A1")
    unit_b = make_unit("Thanh tra tỉnh B", code="B", kind="province")
    trainee_staff = make_staff("Nguyễn Văn Học", unit=section_a, email="hoc@example.vn")
    users = {
        "trainee": make_user(email="hoc@example.vn", staff=trainee_staff),
        "manager_a": make_user(role=Role.MANAGER, scope_unit=unit_a),
        "manager_b": make_user(role=Role.MANAGER, scope_unit=unit_b),
        "officer_a": make_user(role=Role.OFFICER, scope_unit=unit_a),
        "officer_b": make_user(role=Role.OFFICER, scope_unit=unit_b),
        "reporter": make_user(role=Role.REPORTER),
        "admin": make_user(role=Role.ADMIN),
    }
    with app.app_context():
        sync_tree(root)
        course = db.session.scalar(sa.select(Course).where(Course.key == "luat"))
        rule = AssignmentRule(course_id=course.id, due_days=30)
        rule.units = [db.session.get(OrgUnit, unit_a.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        enrolment = db.session.scalar(sa.select(Enrolment))
        complete(enrolment, course, None, datetime(2026, 1, 5, tzinfo=UTC))
        quiz = db.session.scalar(sa.select(Quiz))
        attempt = QuizAttempt(user_id=users["trainee"].id, quiz_id=quiz.id, number=1, settings=quiz.settings,
                              questions=quiz.questions, answers={})
        db.session.add(attempt)
        program = Program(key="moi", code="CT", title="Chương trình thử")
        db.session.add(program)
        db.session.flush()
        cycle = ProgramEnrolment(staff_id=trainee_staff.id, program_id=program.id,
                                 source=EnrolmentSource.MANUAL, assigned_on=date(2026, 1, 1))
        db.session.add(cycle)
        db.session.flush()
        program_certificate = programs.complete(cycle, program)
        db.session.commit()
        ids = {"program": "moi", "program_id": program.id, "program_certificate": program_certificate.code,
               "course": course.id, "rule": rule.id, "enrolment": enrolment.id, "attempt": attempt.id,
               "quiz": quiz.id, "certificate": db.session.scalar(sa.select(Certificate.code)),
               "trainee_staff": trainee_staff.id, "unit_a": unit_a.id, "checksum": "0" * 64}
    record = save(app, RosterImport(checksum="1" * 64, filename="ds.csv"))
    ids["roster_import"] = record.id
    ids["subscription"] = save(app, ReportSubscription(
        user_id=users["manager_a"].id, kind=ReportKind.DASHBOARD, unit_id=unit_a.id,
        frequency=Frequency.MONTHLY)).id
    ids["api_token"] = save(app, ApiToken(token_hash="0" * 64, prefix="mooc_0000000", name="Bảng tính",
                                          user_id=users["manager_a"].id,
                                          expires_at=datetime(2030, 1, 1, tzinfo=UTC))).id
    ids["correction"] = save(app, CorrectionRequest(staff_id=trainee_staff.id, field="full_name")).id
    ids["legal_document"] = save(app, LegalDocument(
        key="11/2022/QH15", number="11/2022/QH15", kind="Luật", title="Luật Thanh tra",
        superseded_from=datetime(2025, 7, 1).date(), superseded_by=["84/2025/QH15"])).id
    return app, World(ids, users)


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(MATRIX) == set(), "classify the new route in MATRIX"
    assert set(MATRIX) - endpoints == set(), "the matrix names a route that no longer exists"


def _outcome(response, method: str) -> str:
    status = response.status_code
    location = response.headers.get("Location", "")
    if status == 302 and location.startswith("/login"):
        return "L"
    if status == 401:
        return "L"
    if status in (403, 404):
        return "D"
    assert status < 500, f"{method} {response.request.path}: {status}"
    return "O"


def test_the_access_matrix(world):
    app, w = world
    clients = {"anonymous": app.test_client()}
    for role, user in w.users.items():
        clients[role] = app.test_client()
        assert login(clients[role], user.email).status_code == 302
    tokens = {role: csrf_token(client, "/courses/" if role != "anonymous" else "/login")
              for role, client in clients.items()}
    with app.app_context():  # two-factor is on: the roles that read others' records proved a code
        proved = dict(db.session.execute(sa.select(AuthSession.user_id, AuthSession.second_factor)).all())
    assert {role: proved[user.id] for role, user in w.users.items()} == {
        role: "" if role == "trainee" else "totp" for role in w.users}
    # A stored upload for the import preview (found by its checksum only).
    upload = clients["admin"].post("/roster/import", data={
        "csrf_token": csrf_token(clients["admin"], "/roster/import"),
        "file": (io.BytesIO("Mã cán bộ;Họ và tên;Đơn vị\n000900;Lê Văn Mới;A1\n".encode()), "ds.csv")},
        content_type="multipart/form-data")
    assert upload.status_code == 302, upload.get_data(as_text=True)[:500]
    w.ids["checksum"] = upload.headers["Location"].rstrip("/").rsplit("/", 1)[1].split("?")[0]
    failures = []
    # GETs first, then the POSTs (state-changing ones run last, with nothing that succeeds
    # silently), logout at the very end.
    ordered = sorted(MATRIX.items(), key=lambda item: (item[1][0] == "POST", item[0] == "auth.logout"))
    for endpoint, (method, template, expected) in ordered:
        url = template.format(**w.ids)
        for role, want in zip(ROLES, expected, strict=True):
            client = clients[role]
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": tokens[role]})
            got = _outcome(response, method)
            response.close()
            # public: answered without a session (an unknown token may well be a 404)
            allowed = {"P": {"O", "D"}, "O": {"O"}, "L": {"L"}, "D": {"D"}}[want]
            if got not in allowed:
                failures.append(f"{endpoint} {method} {url} as {role}: expected {want}, got {got} "
                                f"({response.status_code})")
    assert failures == [], "\n".join(failures)


ENROLMENT = {"second_factor.account", "second_factor.setup", "second_factor.confirm", "auth.logout"}


def test_without_a_second_factor_the_privileged_roles_reach_only_its_setup(world, make_user, make_unit):
    """Every role that reads other people's records must set up a second factor first: until
    then, every page but the public ones and the setup answers "set it up" (GET) or 403 (POST)."""
    app, w = world
    failures = []
    for role in (Role.MANAGER, Role.OFFICER, Role.REPORTER, Role.ADMIN):
        user = make_user(role=role, scope_unit=make_unit() if role.scoped else None, two_factor=False)
        client = app.test_client()
        answer = client.post("/login", data={"csrf_token": csrf_token(client, "/login"), "email": user.email,
                                             "password": TEST_PASSWORD})
        assert answer.headers["Location"].startswith("/account/two-factor"), role
        token = csrf_token(client, "/account/two-factor")
        for endpoint, (method, template, expected) in MATRIX.items():
            if expected[0] == "P" or getattr(app.view_functions[endpoint], "is_public", False) \
                    or endpoint in ENROLMENT:
                continue  # public views (the code step, a lapsed quiz's submit) check for themselves
            url = template.format(**w.ids)
            response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
            location = response.headers.get("Location", "")
            ok = (response.status_code == 302 and location.startswith("/account/two-factor")
                  if method == "GET" else response.status_code == 403)
            if not ok:
                failures.append(f"{role.value} {method} {url}: {response.status_code} {location}")
            response.close()
    assert failures == [], "\n".join(failures)


def test_extra_form_fields_are_ignored(world):
    """Posting role or unit_id where they are not asked for changes nothing."""
    app, w = world
    client = app.test_client()
    login(client, w.users["trainee"].email)
    token = csrf_token(client, "/account/password")
    client.post("/account/password", data={"csrf_token": token, "current_password": "x", "new_password": "y",
                                           "confirm": "y", "role": "admin", "scope_unit_id": w.ids["unit_a"]})
    client.post("/courses/tuy-chon/join", data={"csrf_token": token, "role": "admin", "unit_id": 1,
                                                "staff_id": 999})
    with app.app_context():
        from mooc.auth.models import User

        user = db.session.get(User, w.users["trainee"].id)
        assert user.role == Role.TRAINEE and user.scope_unit_id is None
    assert client.get("/admin/rules").status_code == 403
