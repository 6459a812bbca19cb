"""A person with a row in every table that holds people's data (roster, history, account,
session, links, enrolment, certificate, a completed programme and its certificate, progress,
attempt, grant, reminder, report mail, correction, audit), acting as a training officer too
(imports, rules, links issued, exemptions, grants); and a second person in another unit, whose
data must never show in the first one's export.

Copies of the first person's identity sit in free text where the retention purge must find
them: a certificate's revocation reason, notes, a rule's note, a file name, an API token's name,
a mail server's refusal, an administrator's correction note, a report mailed to their address,
audit details; an address they had before (an ``account.email_changed`` event); and their
directory user name (``ngoc.tt``) typed at sign-in, tied to them by a directory sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from mooc import clock
from mooc.api.models import ApiToken
from mooc.auth import audit
from mooc.auth.models import LoginThrottle, Role, User
from mooc.auth.sessions import start_session
from mooc.auth.tokens import TokenPurpose, issue
from mooc.courses.models import Course, Lesson, LessonProgress, Quiz
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.privacy.models import CorrectionRequest, CorrectionStatus
from mooc.quizzes.models import AttemptGrant, AttemptStatus, QuizAttempt
from mooc.reminders.models import ReminderKind, ReminderLog, ReminderStatus
from mooc.reports.models import DeliveryStatus, Frequency, ReportDelivery, ReportKind, ReportSubscription
from mooc.roster.models import OrgUnit, RosterImport, Staff, StaffHistory, StaffStatus
from mooc.training import programs
from mooc.training.completion import complete
from mooc.training.models import (
    AssignmentRule,
    Certificate,
    Enrolment,
    EnrolmentSource,
    Program,
    ProgramEnrolment,
)
from tests.training.conftest import make_course

NAME = "Trịnh Thị Bảo Ngọc"
OTHER_NAME = "Lý Văn Khác"


@dataclass
class World:
    app: Flask
    staff_id: int
    user_id: int
    other_staff_id: int
    other_user_id: int
    province_id: int
    other_unit_id: int
    certificate: str
    program_certificate: str
    email: str = "ngoc.tt@example.vn"
    code: str = "009001"
    login: str = "ngoc.tt"  # the directory user name
    former_email: str = "ngoc.cu@example.vn"


def _enrol(staff_id: int, course: Course, **extra) -> Enrolment:
    enrolment = Enrolment(staff_id=staff_id, course_id=course.id, source=EnrolmentSource.MANUAL,
                          assigned_on=date(2025, 1, 2), **extra)
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


@pytest.fixture
def world(make_app, tmp_path, make_unit, make_staff, make_user) -> World:
    root = make_course(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(root))
    province = make_unit("Thanh tra tỉnh Nam Bộ", code="NBO", kind="province")
    section = make_unit("Phòng Nghiệp vụ 3", parent=province, code="NBO-3")
    other_unit = make_unit("Thanh tra tỉnh Bắc Bộ", code="BBO", kind="province")
    staff = make_staff(NAME, unit=section, email="ngoc.tt@example.vn", staff_code="009001")
    other = make_staff(OTHER_NAME, unit=other_unit, email="khac.lv@example.vn", staff_code="009002")
    user = make_user(email="ngoc.tt@example.vn", staff=staff, name=NAME, role=Role.OFFICER,
                     scope_unit=province)
    other_user = make_user(email="khac.lv@example.vn", staff=other, name=OTHER_NAME)
    with app.app_context():
        sync_tree(root)
        course = db.session.scalar(sa.select(Course).where(Course.key == "luat"))
        quiz = db.session.scalar(sa.select(Quiz).where(Quiz.course_id == course.id))
        lesson = db.session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id))
        me = db.session.get(User, user.id)
        db.session.add(StaffHistory(staff_id=staff.id, valid_from=date(2020, 3, 1), unit_id=section.id,
                                    status=StaffStatus.ACTIVE))
        start_session(me, ip="10.0.0.7", user_agent="Firefox")
        issue(me, TokenPurpose.RESET)
        issue(db.session.get(User, other_user.id), TokenPurpose.INVITE, created_by=me)
        enrolment = _enrol(staff.id, course)
        complete(enrolment, course, None, datetime(2026, 1, 5, tzinfo=UTC))
        others = _enrol(other.id, course, exempted_by_id=user.id, exempt_reason="Đã học ở đơn vị cũ",
                        note=f"Học cùng lớp với {NAME}")
        program = Program(key="ttv-moi", code="CT-MOI", title="Bồi dưỡng thanh tra viên mới")
        db.session.add(program)
        db.session.flush()
        path = ProgramEnrolment(staff_id=staff.id, program_id=program.id, source=EnrolmentSource.MANUAL,
                                assigned_on=date(2025, 1, 2))
        db.session.add(path)
        program_certificate = programs.complete(path, program).code
        _copies(user.id, other_user.id, others, course)
        db.session.add_all([
            LessonProgress(user_id=user.id, lesson_id=lesson.id),
            QuizAttempt(user_id=user.id, quiz_id=quiz.id, number=1, status=AttemptStatus.SUBMITTED,
                        settings=quiz.settings, questions=quiz.questions, answers={"ky": ["b"]},
                        score=1, max_score=1, percent=100, passed=True, submitted_at=clock.now()),
            AttemptGrant(user_id=user.id, quiz_id=quiz.id, extra=1, granted_by_id=None),
            AttemptGrant(user_id=other_user.id, quiz_id=quiz.id, extra=1, granted_by_id=user.id),
            ReminderLog(key=f"due:{enrolment.id}:3", kind=ReminderKind.DUE, step="3",
                        enrolment_id=enrolment.id, user_id=user.id, recipient="ngoc.tt@example.vn",
                        status=ReminderStatus.SENT,
                        sent_at=clock.now()),
            RosterImport(actor_id=user.id, checksum="2" * 64, filename="ds-nam-bo.csv", rows=3),
            AssignmentRule(course_id=course.id, due_days=30, created_by_id=user.id,
                           note=f"Theo đề nghị của {NAME}"),
            ApiToken(token_hash="1" * 64, prefix="mooc_1111111", name=f"Bảng tính {NAME}", user_id=user.id,
                     created_by_id=user.id, expires_at=datetime(2030, 1, 1, tzinfo=UTC)),
            ApiToken(token_hash="2" * 64, prefix="mooc_2222222", name="Hệ thống nhân sự",
                     created_by_id=user.id, expires_at=datetime(2030, 1, 1, tzinfo=UTC)),
            ReportSubscription(email="vanphong@example.vn", kind=ReportKind.OVERDUE,
                               frequency=Frequency.WEEKLY, created_by_id=user.id),
            CorrectionRequest(staff_id=staff.id, field="full_name", value_then=NAME, note="Sai dấu",
                              requested_by_id=user.id),
            CorrectionRequest(staff_id=other.id, field="email", value_then="khac.lv@example.vn", note="Đổi",
                              requested_by_id=other_user.id, status=CorrectionStatus.RESOLVED,
                              resolved_by_id=user.id, resolved_at=clock.now(), resolution="admin",
                              resolution_note=f"Đã đối chiếu với {NAME} (009001)"),
        ])
        audit.record("login.succeeded", actor=me, target=me.email, method="password")
        audit.record("training.due_extended", actor=None, target=staff.staff_code, days=7)
        audit.record("login.succeeded", actor=db.session.get(User, other_user.id),
                     target="khac.lv@example.vn")
        db.session.commit()
        certificate = enrolment_certificate(enrolment.id)
    return World(app, staff.id, user.id, other.id, other_user.id, province.id, other_unit.id, certificate,
                 program_certificate)


def _copies(user_id: int, other_user_id: int, others: Enrolment, course: Course) -> None:
    """Copies of the person's identity outside their own rows (see the module's docstring)."""
    me = db.session.get(User, user_id)
    reason = f"Cấp nhầm: kết quả này là của {NAME} (009001)"
    db.session.add(Certificate(enrolment_id=others.id, code="CN-KHAC-0001", holder_name=OTHER_NAME,
                               course_title=course.title, revoked_at=clock.now(), revoked_reason=reason))
    audit.record("training.certificate_revoked", actor=None, target="CN-KHAC-0001", reason=reason)
    mine = ReportSubscription(user_id=user_id, kind=ReportKind.DASHBOARD, frequency=Frequency.MONTHLY)
    db.session.add_all([
        mine,
        ReportSubscription(email="ngoc.tt@example.vn", kind=ReportKind.OVERDUE, frequency=Frequency.WEEKLY,
                           created_by_id=other_user_id),
        RosterImport(actor_id=other_user_id, checksum="3" * 64, filename=f"Bổ sung {NAME}.xlsx", rows=1),
        LoginThrottle(email="ngoc.tt", failures=2, last_failure_at=clock.now()),
    ])
    db.session.flush()
    db.session.add(ReportDelivery(subscription_id=mine.id, period="2026-01", status=DeliveryStatus.FAILED,
                                  detail="550 5.1.1 <ngoc.tt@example.vn>: Recipient address rejected"))
    # The directory's sign-in names the user name typed; a wrong password was typed before it.
    audit.record("login.failed", target="ngoc.tt", reason="directory_wrong_password")
    audit.record("login.succeeded", actor=me, target=me.email, method="ldap", second_factor="totp",
                 login="ngoc.tt")
    # The address the account had before the roster import changed it.
    audit.record("password.reset_requested", target="ngoc.cu@example.vn")
    audit.record("account.email_changed", actor=None, target=me.email, previous="ngoc.cu@example.vn",
                 user_id=user_id, reason="roster import")


def enrolment_certificate(enrolment_id: int) -> str:
    return db.session.scalar(sa.select(Certificate.code).where(Certificate.enrolment_id == enrolment_id))


def unit_of(app: Flask, unit_id: int) -> OrgUnit:
    with app.app_context():
        return db.session.get(OrgUnit, unit_id)


def staff_of(app: Flask, staff_id: int) -> Staff:
    with app.app_context():
        staff = db.session.get(Staff, staff_id)
        db.session.expunge(staff)
        return staff


@dataclass
class SignIns:
    """Directory and OpenID sign-ins as the sign-in pages record them (see ``sign_ins``)."""

    hong_staff_id: int
    ours: frozenset[str]  # the targets of the sign-ins of the province Nam Bộ's people
    theirs: frozenset[str]  # Bắc Bộ's (Khác's)
    nobodys: frozenset[str]  # typed wrong only: tied to nobody


@pytest.fixture
def sign_ins(world, make_staff) -> SignIns:
    """Beside Ngọc's (``ngoc.tt``, tied by her directory sign-in): Hồng of Ngọc's section, who has
    no account, typed her directory user name ``hong.dt`` with the right password (the roster
    refused her: the directory named her by staff code) and was refused by the OpenID provider's
    address, written as the provider sent it (capitals); Khác of the other province signed in as
    ``khac.lv`` after a wrong password, and ``lv.khac``, a directory account whose address is his
    (in capitals), was refused; ``ai.do`` was only ever typed wrong."""
    with world.app.app_context():
        section = db.session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "NBO-3"))
        db.session.expunge(section)
    hong = make_staff("Đỗ Thị Hồng", unit=section, email="hong.dt@example.vn", staff_code="009020")
    at = datetime(2026, 3, 2, 1, tzinfo=UTC)
    events = [
        ("login.failed", None, "hong.dt", {"reason": "roster_no_account", "person": "009020"}),
        ("login.failed", None, "Hong.DT@Example.vn", {"reason": "no_account", "method": "oidc"}),
        ("login.failed", None, "khac.lv", {"reason": "directory_wrong_password"}),
        ("login.succeeded", world.other_user_id, "khac.lv@example.vn",
         {"method": "ldap", "second_factor": "none", "login": "khac.lv"}),
        ("login.failed", None, "lv.khac", {"reason": "roster_inactive", "person": "KHAC.LV@example.vn"}),
        ("login.failed", None, "ai.do", {"reason": "directory_wrong_password"}),
    ]
    with world.app.app_context():  # recorded as the sign-in pages record them, at that time
        clock.set_now(at)
        for action, actor, target, details in events:
            audit.record(action, actor=db.session.get(User, actor) if actor else None, target=target,
                         **details)
        db.session.commit()
        clock.set_now(None)
    return SignIns(hong.id, ours=frozenset({"ngoc.tt", "hong.dt", "Hong.DT@Example.vn"}),
                   theirs=frozenset({"khac.lv", "lv.khac"}), nobodys=frozenset({"ai.do"}))
