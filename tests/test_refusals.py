"""A refused action commits nothing.

Every ``except`` branch of a view that catches a refusal (a ``DomainError``, or mail that
could not be sent) must call ``refuse()``, which dooms the request's transaction. This
module finds those branches in the source, and for each one drives the real request that
reaches it and checks the database is unchanged afterwards: the row count and a checksum
of every table. A new branch without a case here fails ``test_every_refusal_a_view_catches_has_a_case``.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import io
import pkgutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import mooc
from mooc import clock
from mooc.api.models import ApiToken
from mooc.auth import tokens
from mooc.auth.models import Role, User
from mooc.auth.tokens import AccountToken, TokenPurpose
from mooc.courses.models import Quiz
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.mail import MailError
from mooc.privacy.models import CorrectionRequest, CorrectionStatus
from mooc.quizzes import attempts
from mooc.quizzes.models import AttemptStatus
from mooc.reports.models import Frequency, ReportKind, ReportSubscription
from mooc.roster import uploads
from mooc.roster.models import Staff
from mooc.training import assign, certificates
from mooc.training.models import AssignmentRule, Certificate, Enrolment, EnrolmentSource, EnrolmentState
from tests.conftest import CSRF_RE, csrf_token, login
from tests.training.conftest import make_course, org, person  # noqa: F401  (fixtures)
from tests.training.test_assign import make_rule

REFUSALS = (DomainError, MailError)


# --- where views catch refusals ----------------------------------------------------------------


# Modules of view helpers that catch refusals for several views (the flow every file import
# shares); their cases are each view that uses them.
VIEW_HELPERS = ("mooc.roster.dry_run",)


def _view_modules() -> list:
    found = []
    for info in pkgutil.walk_packages(mooc.__path__, "mooc."):
        if info.name.rsplit(".", 1)[-1].endswith("views") or info.name in VIEW_HELPERS:
            found.append(importlib.import_module(info.name))
    return found


@dataclass(frozen=True)
class Branch:
    view: str  # module:function
    error: str  # the class caught
    calls_refuse: bool
    line: int


def _caught(module, handler: ast.ExceptHandler) -> list[type]:
    if handler.type is None:
        return [Exception]
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    classes = []
    for node in nodes:
        value = eval(compile(ast.Expression(node), "<except>", "eval"), vars(module))  # noqa: S307 (our source)
        classes.append(value)
    return classes


def _refusal_branches() -> list[Branch]:
    branches = []
    for module in _view_modules():
        tree = ast.parse(inspect.getsource(module))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if not isinstance(node, ast.ExceptHandler):
                    continue
                for error in _caught(module, node):
                    if issubclass(error, REFUSALS) or issubclass(REFUSALS[0], error):
                        calls = any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "refuse"
                                    for stmt in node.body for n in ast.walk(stmt))
                        branches.append(Branch(f"{module.__name__}:{function.name}", error.__name__,
                                               calls, node.lineno))
    return branches


def test_every_branch_that_catches_a_refusal_dooms_the_transaction():
    branches = _refusal_branches()
    assert len(branches) >= 8
    missing = [f"{b.view} (line {b.line}) catches {b.error}" for b in branches if not b.calls_refuse]
    assert missing == [], "call mooc.errors.refuse() in these branches"


def test_every_refusal_a_view_catches_has_a_case():
    found = {(b.view, b.error) for b in _refusal_branches()}
    assert found == set(CASES), "add a case to CASES for each new branch (and drop the gone ones)"


# --- the database, byte for byte -------------------------------------------------------------


def snapshot() -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every table's rows, in primary-key order."""
    state = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
        state[table.name] = (len(rows), digest)
    return state


# --- one case per branch: set up, then the request that is refused -----------------------------


@dataclass
class World:
    app: object
    org: object
    person: Callable
    client: object
    make_user: Callable

    def admin(self, **kwargs) -> User:
        staff, user = self.person(self.org.province, self.org.chief, "Quản Trị Viên", email="qt@example.vn")
        with self.app.app_context():
            account = db.session.get(User, user.id)
            account.role = Role.ADMIN
            db.session.commit()
        login(self.client, "qt@example.vn")
        return staff

    def officer(self, unit) -> Staff:
        """A training officer of ``unit`` (and everything under it), signed in."""
        staff, user = self.person(unit, self.org.chief, "Cán Bộ Đào Tạo", email="daotao@example.vn")
        with self.app.app_context():
            account = db.session.get(User, user.id)
            account.role, account.scope_unit_id = Role.OFFICER, unit.id
            db.session.commit()
        login(self.client, "daotao@example.vn")
        return staff

    def post(self, path: str, page: str, **data: str):
        token = csrf_token(self.client, page)
        return self.client.post(path, data={"csrf_token": token, **data})

    def upload(self, data: bytes):
        token = csrf_token(self.client, "/roster/import")
        return self.client.post("/roster/import", data={"csrf_token": token,
                                                        "file": (io.BytesIO(data), "danh-sach.csv")},
                                content_type="multipart/form-data")


def _invite_disabled_account(w: World):
    """The case seen: the person's e-mail belongs to a disabled account with no staff link."""
    w.admin()
    staff, _ = w.person(w.org.section_a, w.org.inspector, "Đỗ Thị Khóa", email="khoa@example.vn")
    with w.app.app_context():
        db.session.execute(sa.update(User).where(User.staff_id == staff.id)
                           .values(staff_id=None, active=False))
        db.session.commit()
    return lambda: w.post(f"/roster/staff/{staff.id}/invite", f"/roster/staff/{staff.id}")


def _invite_mail_fails(w: World):
    w.admin()
    staff = w.make_staff_without_account()
    return lambda: w.post(f"/roster/staff/{staff.id}/invite", f"/roster/staff/{staff.id}")


def _grant_role_refused(w: World):
    w.admin()
    _staff, user = w.person(w.org.section_a, w.org.inspector, "Phan Văn Quyền")
    return lambda: w.post(f"/roster/staff/{_staff.id}/role", f"/roster/staff/{_staff.id}",
                          role=Role.MANAGER.value, scope="0")


def _unit_under_itself(w: World):
    w.admin()
    province, section = w.org.province, w.org.section_a
    return lambda: w.post(f"/roster/units/{province.id}", f"/roster/units/{province.id}",
                          code=province.code, name="Thanh tra tỉnh (đổi tên)", parent=str(section.id),
                          kind="")


def _merge_into_own_section(w: World):
    w.admin()
    province, section = w.org.province, w.org.section_a
    return lambda: w.post(f"/roster/units/{province.id}/merge", f"/roster/units/{province.id}",
                          **{"merge-target": str(section.id), "merge-confirm": "y"})


def _officer_invites_an_administrator(w: World):
    """The person is in the officer's units, but their account is an administrator's."""
    w.officer(w.org.province)
    staff, user = w.person(w.org.section_a, w.org.inspector, "Quản Trị Hai", email="qt2@example.vn")
    with w.app.app_context():
        db.session.get(User, user.id).role = Role.ADMIN
        db.session.commit()
    return lambda: w.post(f"/roster/staff/{staff.id}/invite", f"/roster/staff/{staff.id}")


def _officer_creates_a_top_level_unit(w: World):
    w.officer(w.org.province)
    return lambda: w.post("/roster/units/new", "/roster/units/new", code="MOI", name="Đơn vị mới",
                          parent="0", kind="")


def _officer_moves_a_unit_out_of_scope(w: World):
    w.officer(w.org.province)
    section = w.org.section_a
    return lambda: w.post(f"/roster/units/{section.id}", f"/roster/units/{section.id}", code=section.code,
                          name=section.name, parent=str(w.org.other.id), kind="")


def _officer_merges_into_another_province(w: World):
    w.officer(w.org.province)
    section = w.org.section_a
    return lambda: w.post(f"/roster/units/{section.id}/merge", f"/roster/units/{section.id}",
                          **{"merge-target": str(w.org.other.id), "merge-confirm": "y"})


def _officer_makes_a_rule_for_another_province(w: World):
    w.officer(w.org.province)
    return lambda: w.post("/admin/rules/new", "/admin/rules/new", course=str(w.org.course_id),
                          units=str(w.org.other.id), due_kind="days", due_days="30", confirm="1")


def _officer_previews_a_merge_into_another_province(w: World):
    w.officer(w.org.province)
    section = w.org.section_a
    return lambda: w.post(f"/roster/units/{section.id}/merge", f"/roster/units/{section.id}",
                          **{"merge-target": str(w.org.other.id)})


def _officer_moves_a_rule_to_another_province(w: World):
    w.officer(w.org.province)
    with w.app.app_context():
        rule_id = make_rule(w.org, [w.org.section_a]).id
        db.session.commit()
    return lambda: w.post(f"/admin/rules/{rule_id}/edit", f"/admin/rules/{rule_id}/edit", scope="units",
                          units=str(w.org.other.id), due_kind="days", due_days="30", confirm="1")


def _preview_a_merge_into_own_section(w: World):
    w.admin()
    province, section = w.org.province, w.org.section_a
    return lambda: w.post(f"/roster/units/{province.id}/merge", f"/roster/units/{province.id}",
                          **{"merge-target": str(section.id)})


def _join_twice(w: World):
    staff, user = w.person(w.org.section_a, w.org.inspector, "Võ Thị Tham Gia", email="thamgia@example.vn")
    with w.app.app_context():
        assign.enrol(db.session.get(Staff, staff.id), w.org.optional_id, EnrolmentSource.SELF)
        db.session.commit()
    login(w.client, "thamgia@example.vn")
    return lambda: w.post("/courses/tuy-chon/join", "/courses/tuy-chon")


def _enrol_twice(w: World):
    w.admin()
    staff, _ = w.person(w.org.section_a, w.org.inspector, "Võ Văn Hai Lần")
    with w.app.app_context():
        assign.enrol(db.session.get(Staff, staff.id), w.org.course_id, EnrolmentSource.MANUAL)
        db.session.commit()
    return lambda: w.post(f"/training/people/{staff.id}/enrol", f"/training/people/{staff.id}",
                          course=str(w.org.course_id), due_on="2027-01-31")


def _rule_switched_off_twice(w: World):
    w.admin()
    with w.app.app_context():
        rule = make_rule(w.org, [w.org.section_a])
        rule.active = False
        db.session.commit()
        rule_id = rule.id
    return lambda: w.post(f"/admin/rules/{rule_id}/deactivate", "/admin/rules")


def _edit_a_switched_off_rule(w: World):
    w.admin()
    with w.app.app_context():
        rule = make_rule(w.org, [w.org.section_a])
        rule.active = False
        db.session.commit()
        rule_id = rule.id
    return lambda: w.post(f"/admin/rules/{rule_id}/edit", "/admin/rules", scope="units",
                          units=str(w.org.section_b.id), due_kind="days", due_days="30", confirm="1")


def _completed_enrolment(w: World, name: str) -> tuple[Staff, Enrolment]:
    staff, _ = w.person(w.org.section_a, w.org.inspector, name)
    with w.app.app_context():
        enrolment = assign.enrol(db.session.get(Staff, staff.id), w.org.course_id, EnrolmentSource.MANUAL)
        enrolment.state = EnrolmentState.COMPLETED
        enrolment.completed_at = clock.now()
        db.session.add(Certificate(enrolment=enrolment, code=f"CN-{enrolment.id:06d}", holder_name=name,
                                   course_title="Luật Thanh tra 2025"))
        db.session.commit()
        db.session.refresh(enrolment)
        db.session.expunge_all()
    return staff, enrolment


def _revoke_twice(w: World):
    w.admin()
    staff, enrolment = _completed_enrolment(w, "Trịnh Văn Thu Hồi")
    code = f"CN-{enrolment.id:06d}"
    with w.app.app_context():
        certificates.revoke(certificates.by_code(code), "Cấp nhầm")
        db.session.commit()
    return lambda: w.post(f"/certificates/{code}/revoke", f"/training/people/{staff.id}", reason="Lần nữa")


def _exempt_a_completed_course(w: World):
    w.admin()
    staff, enrolment = _completed_enrolment(w, "Đinh Thị Miễn")
    return lambda: w.post(f"/training/enrolments/{enrolment.id}/exempt", f"/training/people/{staff.id}",
                          reason="Đã học ở nơi khác")


def _extend_a_completed_course(w: World):
    w.admin()
    staff, enrolment = _completed_enrolment(w, "Lý Văn Gia Hạn")
    return lambda: w.post(f"/training/enrolments/{enrolment.id}/extend", f"/training/people/{staff.id}",
                          due_on="2030-01-31", reason="Nghỉ ốm")


def _quiz_out_of_attempts(w: World):
    staff, user = w.person(w.org.section_a, w.org.inspector, "Hồ Thị Hết Lượt", email="hetluot@example.vn")
    with w.app.app_context():
        quiz = db.session.scalar(sa.select(Quiz))
        quiz.settings = {**quiz.settings, "attempts": 1}
        attempt = attempts.start_attempt(user.id, quiz)
        attempt.status = AttemptStatus.SUBMITTED
        db.session.commit()
        quiz_key = quiz.key
    login(w.client, "hetluot@example.vn")
    page = f"/courses/luat/quizzes/{quiz_key}"
    return lambda: w.post(f"{page}/start", page)


def _grant_not_needed(w: World):
    """An extra attempt for someone who has not used the ones they have: refused."""
    staff, _user = w.person(w.org.section_a, w.org.inspector, "Lê Văn Còn Lượt", email="conluot@example.vn")
    w.admin()
    with w.app.app_context():
        quiz_id = db.session.scalar(sa.select(Quiz.id))
    return lambda: w.post(f"/quizzes/{quiz_id}/people/{staff.id}/grant", f"/training/people/{staff.id}")


def _upload_not_a_roster(w: World):
    w.admin()
    return lambda: w.upload(b"")


def _preview_of_a_file_with_a_huge_cell(w: World):
    """Readable at upload (the header), refused when its rows are read for the preview."""
    w.admin()
    rows = [f"00{n},Người Số {n},,{w.org.section_a.code},Thanh tra viên" for n in range(20)]
    rows.append("0099," + "A" * 40_000 + f",,{w.org.section_a.code},")
    data = ("Mã cán bộ,Họ và tên,Email,Đơn vị,Chức vụ\n" + "\n".join(rows) + "\n").encode()
    uploaded = w.upload(data)
    assert uploaded.status_code == 302, uploaded.status_code
    preview = uploaded.headers["Location"]
    return lambda: w.post(preview, "/roster/import")


def _huge_cell_file(header: str, row: str) -> bytes:
    return (header + "\n" + row + "\n" + "A" * 40_000 + "\n").encode()


def _stored_preview(w: World, data: bytes, page: str) -> str:
    with w.app.app_context():
        checksum = uploads.store(data)
    return f"{page}/{checksum}"


def _units_upload_not_a_table(w: World):
    w.admin()
    token = csrf_token(w.client, "/roster/units/import")
    return lambda: w.client.post("/roster/units/import", data={
        "csrf_token": token, "file": (io.BytesIO(b""), "don-vi.csv")}, content_type="multipart/form-data")


def _units_preview_with_a_huge_cell(w: World):
    w.admin()
    preview = _stored_preview(w, _huge_cell_file("Mã đơn vị;Tên đơn vị", "HCM;Thanh tra"),
                              "/roster/units/import")
    return lambda: w.client.get(preview)


def _history_upload_not_a_table(w: World):
    w.admin()
    token = csrf_token(w.client, "/admin/history/import")
    return lambda: w.client.post("/admin/history/import", data={
        "csrf_token": token, "file": (io.BytesIO(b""), "lich-su.csv")}, content_type="multipart/form-data")


def _history_preview_with_a_huge_cell(w: World):
    w.admin()
    data = _huge_cell_file("Mã cán bộ;Khóa học;Ngày hoàn thành", "000001;LTT;01/01/2025")
    preview = _stored_preview(w, data, "/admin/history/import")
    return lambda: w.client.get(preview)


def _invite_link(w: World) -> str:
    _staff, user = w.person(w.org.section_a, w.org.inspector, "Mai Thị Mời", email="moi@example.vn")
    with w.app.test_request_context():
        raw = tokens.issue(db.session.get(User, user.id), TokenPurpose.INVITE)
        db.session.commit()
    return f"/invite/{raw}"


def _weak_password_on_an_invitation(w: World):
    link = _invite_link(w)
    return lambda: w.post(link, link, new_password="ngan", confirm="ngan")


def _spent_invitation(w: World):
    link = _invite_link(w)
    page = w.client.get(link)
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    with w.app.app_context():  # the link is spent by another tab between the page and its submit
        db.session.execute(sa.update(AccountToken).values(used_at=clock.now()))
        db.session.commit()
    return lambda: w.client.post(link, data={"csrf_token": token, "new_password": "mot-mat-khau-moi-dai",
                                             "confirm": "mot-mat-khau-moi-dai"})


def _bulk_invite_nobody(w: World):
    w.admin()
    return lambda: w.post("/roster/invite?q=khong-ai-ten-nay", "/roster/invite")


def _bulk_invite_mail_fails(w: World):
    w.admin()
    w.make_staff_without_account()
    return lambda: w.post("/roster/invite?q=ly+van+thu", "/roster/invite")


def _unlock_an_account_not_locked(w: World):
    w.admin()
    staff, _ = w.person(w.org.section_a, w.org.inspector, "Kiều Văn Mở", email="mo@example.vn")
    return lambda: w.post(f"/roster/staff/{staff.id}/account/unlock", f"/roster/staff/{staff.id}")


def _reset_link_mail_fails(w: World):
    w.admin()
    staff, _ = w.person(w.org.section_a, w.org.inspector, "Kiều Thị Quên", email="quen@example.vn")
    return lambda: w.post(f"/roster/staff/{staff.id}/account/reset", f"/roster/staff/{staff.id}")


def _email_of_another_account(w: World):
    w.admin()
    staff, _ = w.person(w.org.section_a, w.org.inspector, "Kiều Văn Trùng", email="trung@example.vn")
    return lambda: w.post(f"/roster/staff/{staff.id}/email", f"/roster/staff/{staff.id}",
                          email="qt@example.vn")


Case = Callable[[World], Callable]
def _correction_asked_twice(w: World):
    w.person(w.org.section_a, w.org.inspector, "Hồ Thị Sửa", email="sua@example.vn")
    login(w.client, "sua@example.vn")
    w.post("/account/data/corrections", "/account/data", field="email", note="sua.ht@example.vn")
    return lambda: w.post("/account/data/corrections", "/account/data", field="email", note="lần nữa")


def _correction_resolved_twice(w: World):
    staff = w.admin()
    with w.app.app_context():
        request = CorrectionRequest(staff_id=staff.id, field="full_name", status=CorrectionStatus.RESOLVED,
                                    resolution="admin")
        db.session.add(request)
        db.session.commit()
        request_id = request.id
    return lambda: w.post(f"/privacy/corrections/{request_id}/resolve", "/privacy/corrections", note="x")


def _subscribe_outside_the_scope(w: World):
    w.officer(w.org.section_a)
    return lambda: w.post("/reports/subscriptions", "/reports/subscriptions", kind="dashboard",
                          unit=str(w.org.other.id), frequency="monthly", xlsx="1")


def _subscribe_an_address_that_is_not_one(w: World):
    w.admin()
    return lambda: w.post("/reports/subscriptions/address", "/reports/subscriptions", email="không phải",
                          kind="dashboard", frequency="monthly", xlsx="1")


def _end_someone_elses_subscription(w: World):
    other = w.make_user(role=Role.REPORTER, email="baocao@example.vn")
    with w.app.app_context():
        subscription = ReportSubscription(user_id=other.id, kind=ReportKind.DASHBOARD,
                                          frequency=Frequency.MONTHLY)
        db.session.add(subscription)
        db.session.commit()
        subscription_id = subscription.id
    w.officer(w.org.section_a)
    return lambda: w.post(f"/reports/subscriptions/{subscription_id}/end", "/reports/subscriptions")


def _a_token_without_a_name(w: World):
    w.officer(w.org.section_a)
    return lambda: w.post("/account/tokens", "/account/tokens", name="  ", days="30")


def _a_service_token_for_too_long(w: World):
    w.admin()
    return lambda: w.post("/account/tokens/service", "/account/tokens", name="Hệ thống nhân sự", days="9999")


def _revoke_someone_elses_token(w: World):
    other = w.make_user(role=Role.REPORTER, email="baocao@example.vn")
    with w.app.app_context():
        token = ApiToken(token_hash="9" * 64, prefix="mooc_9999999", name="Bảng tính", user_id=other.id,
                         expires_at=clock.now() + timedelta(days=30))
        db.session.add(token)
        db.session.commit()
        token_id = token.id
    w.officer(w.org.section_a)
    return lambda: w.post(f"/account/tokens/{token_id}/revoke", "/account/tokens")


CASES: dict[tuple[str, str], Case | tuple[Case, ...]] = {
    ("mooc.api.views:create_token", "TokenRefused"): _a_token_without_a_name,
    ("mooc.api.views:create_service_token", "TokenRefused"): _a_service_token_for_too_long,
    ("mooc.api.views:revoke_token", "TokenRefused"): _revoke_someone_elses_token,
    ("mooc.reports.views:subscribe", "SubscriptionRefused"): _subscribe_outside_the_scope,
    ("mooc.reports.views:subscribe_address", "SubscriptionRefused"): _subscribe_an_address_that_is_not_one,
    ("mooc.reports.views:unsubscribe", "SubscriptionRefused"): _end_someone_elses_subscription,
    ("mooc.roster.views:invite", "AccountError"): _invite_disabled_account,
    ("mooc.roster.views:invite", "MailError"): _invite_mail_fails,
    ("mooc.roster.views:grant_role", "AccountError"): _grant_role_refused,
    ("mooc.roster.views:_send_invitations", "AccountError"): _bulk_invite_nobody,
    ("mooc.roster.views:_send_invitations", "MailError"): _bulk_invite_mail_fails,
    ("mooc.roster.views:account_action", "AccountError"): _unlock_an_account_not_locked,
    ("mooc.roster.views:account_action", "MailError"): _reset_link_mail_fails,
    ("mooc.roster.views:change_email", "AccountError"): _email_of_another_account,
    ("mooc.roster.views:unit_edit", "UnitError"): _unit_under_itself,
    ("mooc.roster.views:unit_merge", "UnitError"): _merge_into_own_section,
    ("mooc.roster.views:invite", "ScopeError"): _officer_invites_an_administrator,
    ("mooc.roster.views:unit_new", "ScopeError"): _officer_creates_a_top_level_unit,
    ("mooc.roster.views:unit_edit", "ScopeError"): _officer_moves_a_unit_out_of_scope,
    ("mooc.roster.views:unit_merge", "ScopeError"): _officer_merges_into_another_province,
    ("mooc.training.views:new_rule", "ScopeError"): _officer_makes_a_rule_for_another_province,
    ("mooc.roster.views:_merge_preview", "UnitError"): _preview_a_merge_into_own_section,
    ("mooc.roster.views:_merge_preview", "ScopeError"): _officer_previews_a_merge_into_another_province,
    ("mooc.training.views:edit_rule", "ScopeError"): _officer_moves_a_rule_to_another_province,
    ("mooc.training.views:join", "EnrolError"): _join_twice,
    ("mooc.training.views:enrol", "EnrolError"): _enrol_twice,
    ("mooc.training.views:deactivate_rule", "RuleError"): _rule_switched_off_twice,
    ("mooc.training.views:edit_rule", "RuleError"): _edit_a_switched_off_rule,
    ("mooc.training.views:revoke_certificate", "CertificateError"): _revoke_twice,
    ("mooc.training.views:exempt", "ExemptionError"): _exempt_a_completed_course,
    ("mooc.training.views:extend_due", "DeadlineError"): _extend_a_completed_course,
    ("mooc.quizzes.views:start", "AttemptRefused"): _quiz_out_of_attempts,
    ("mooc.quizzes.views:grant", "GrantRefused"): _grant_not_needed,
    ("mooc.roster.dry_run:receive", "FileRefused"): (
        _upload_not_a_roster, _units_upload_not_a_table, _history_upload_not_a_table),
    ("mooc.roster.dry_run:open_plan", "FileRefused"): (
        _preview_of_a_file_with_a_huge_cell, _units_preview_with_a_huge_cell,
        _history_preview_with_a_huge_cell),
    ("mooc.auth.recovery_views:_set_password", "PasswordRefused"): _weak_password_on_an_invitation,
    ("mooc.auth.recovery_views:_set_password", "TokenInvalid"): _spent_invitation,
    ("mooc.privacy.views:request_correction", "CorrectionError"): _correction_asked_twice,
    ("mooc.privacy.views:resolve_correction", "CorrectionError"): _correction_resolved_twice,
}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def world(org, person, make_app, make_user, make_staff, tmp_path):  # noqa: F811
    app, o = org
    # Mail goes to a port nobody listens on: an invitation's mail fails, as when the server is down.
    app = make_app(COURSES_DIR=str(o.root), MAIL_BACKEND="smtp", MAIL_HOST="127.0.0.1",
                   MAIL_PORT=_closed_port())
    w = World(app, o, person, app.test_client(), make_user)
    w.make_staff_without_account = lambda: make_staff(full_name="Lý Văn Thư", unit=o.section_a,
                                                      email="thu@example.vn")
    return w


def _each_case() -> list:
    return [pytest.param(make, id=f"{view.split(':')[1]}-{error}-{make.__name__.lstrip('_')}")
            for (view, error), makers in sorted(CASES.items())
            for make in (makers if isinstance(makers, tuple) else (makers,))]


@pytest.mark.parametrize("make", _each_case())
def test_a_refused_action_leaves_the_database_as_it_was(world, make):
    request = make(world)
    with world.app.app_context():
        before = snapshot()
    response = request()
    assert response.status_code in (200, 302, 303, 404), response.status_code
    with world.app.app_context():
        after = snapshot()
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert changed == {}
    # The refusal was said, not swallowed: a message, or a page that says it (a spent link).
    page = world.client.get(response.headers["Location"]) if response.status_code in (302, 303) else response
    text = page.get_data(as_text=True)
    assert 'class="flash' in text or "error" in text or response.status_code == 404


def test_the_disabled_account_is_not_linked_by_a_refused_invitation(world):
    """The example of the issue, said in its own words: the link was committed before."""
    request = _invite_disabled_account(world)
    request()
    with world.app.app_context():
        account = db.session.scalar(sa.select(User).where(User.email == "khoa@example.vn"))
        assert account.staff_id is None and not account.active


def test_refuse_dooms_even_a_successful_response(app):
    """refuse() sets the request's rollback flag: a later flush in the same request is not
    committed either, whatever the status of the response."""
    from mooc.errors import refuse
    from mooc.roster.models import OrgUnit

    @app.post("/_test/refuse-then-write")
    def refuse_then_write():
        refuse()
        db.session.add(OrgUnit(code="X-REFUSED", name="Không được ghi"))
        db.session.flush()
        return "ok"

    refuse_then_write.is_public = True
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/_test/refuse-then-write")
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "X-REFUSED")) is None


def test_the_branches_are_found_in_the_source():
    """The finder itself: it sees a known branch and the class it catches."""
    branches = {(b.view, b.error) for b in _refusal_branches()}
    assert ("mooc.roster.views:invite", "MailError") in branches
    assert Path(inspect.getsourcefile(mooc)).parent.name == "mooc"
    assert AssignmentRule.__tablename__ in {t.name for t in db.metadata.sorted_tables}
