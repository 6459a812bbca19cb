"""Everything the platform holds about one person, as plain data (JSON-ready): the right of
access (Law 91/2025/QH15). Never a password hash, a session or link token hash, or a quiz's
answer key.

``COVERAGE`` names, for every foreign key to ``staff`` or ``users`` (and to the rows they own),
the section of the export that holds those rows: ``tests/privacy/test_export.py`` walks the
metadata, so a new table about people fails until its rows are exported here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from mooc import clock
from mooc.api.models import ApiToken
from mooc.auth.models import AuditEvent, AuthSession, RecoveryCode, SecondFactor, User
from mooc.auth.tokens import AccountToken
from mooc.courses.models import Course, Lesson, LessonProgress, Quiz
from mooc.database import alias
from mooc.extensions import db
from mooc.i18n import lazy_gettext as _l
from mooc.privacy import names
from mooc.privacy.models import CorrectionRequest, Pseudonymisation
from mooc.quizzes.models import AttemptGrant, QuizAttempt
from mooc.reminders.models import ReminderLog
from mooc.reports.models import ReportDelivery, ReportSubscription
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory
from mooc.training.models import (
    AssignmentRule,
    Certificate,
    Enrolment,
    Program,
    ProgramCertificate,
    ProgramEnrolment,
)

# "table.column" (a foreign key to a person or to a row a person owns) -> the export's section.
COVERAGE: dict[str, str] = {
    "users.staff_id": "accounts",
    "staff_history.staff_id": "roster_history",
    "enrolments.staff_id": "enrolments",
    "certificates.enrolment_id": "certificates",
    "program_enrolments.staff_id": "programs",
    "program_certificates.program_enrolment_id": "certificates",
    "auth_sessions.user_id": "sessions",
    "account_tokens.user_id": "account_links",
    "lesson_progress.user_id": "lesson_progress",
    "quiz_attempts.user_id": "quiz_attempts",
    "quiz_attempt_grants.user_id": "attempt_grants",
    "reminder_log.user_id": "reminders",
    "reminder_log.enrolment_id": "reminders",
    "privacy_corrections.staff_id": "corrections",
    "privacy_pseudonyms.staff_id": "person",
    "audit_events.actor_id": "audit_events",
    "directory_names.user_id": "directory_names",
    # What the person did to others' records, as an officer or administrator (ids and dates).
    "account_tokens.created_by_id": "acts",
    "assignment_rules.created_by_id": "acts",
    "enrolments.exempted_by_id": "acts",
    "quiz_attempt_grants.granted_by_id": "acts",
    "roster_imports.actor_id": "acts",
    "privacy_corrections.requested_by_id": "corrections",
    "privacy_corrections.resolved_by_id": "acts",
    "second_factors.user_id": "second_factor",
    "recovery_codes.user_id": "second_factor",
    "report_subscriptions.user_id": "report_mail",
    "report_deliveries.subscription_id": "report_mail",
    "report_subscriptions.created_by_id": "acts",
    "api_tokens.user_id": "api_tokens",
    "api_tokens.created_by_id": "acts",
    # Derived from the enrolments (exported above): the dashboard's counts of the person.
    "report_people.staff_id": "enrolments",
}

SECTIONS: dict[str, Any] = {
    "person": _l("Roster entry"),
    "roster_history": _l("Roster history"),
    "accounts": _l("Accounts"),
    "sessions": _l("Sign-in sessions"),
    "account_links": _l("Invitation and password reset links"),
    "enrolments": _l("Enrolments"),
    "programs": _l("Programmes"),
    "certificates": _l("Certificates"),
    "lesson_progress": _l("Lessons done"),
    "quiz_attempts": _l("Quiz attempts"),
    "attempt_grants": _l("Extra quiz attempts granted"),
    "reminders": _l("Reminders sent"),
    "second_factor": _l("Two-factor sign-in"),
    "report_mail": _l("Reports mailed to you"),
    "api_tokens": _l("API tokens"),
    "corrections": _l("Correction requests"),
    "directory_names": _l("Directory user names tied to you"),
    "audit_events": _l("Audit events about you"),
    "acts": _l("What you did to others' records"),
}


@dataclass
class Subject:
    """The person: their roster entry (if any) and every account of theirs."""

    staff: Staff | None
    users: list[User] = field(default_factory=list)

    @property
    def user_ids(self) -> list[int]:
        return [user.id for user in self.users]

    @property
    def people(self) -> names.People:
        """The person as ``mooc.privacy.names`` reads the audit trail (the purge and the audit
        log read it so too)."""
        return names.People.of(self.staff.id if self.staff is not None else None, self.user_ids)

    @property
    def label(self) -> str:
        if self.staff is not None:
            return f"{self.staff.full_name} ({self.staff.staff_code})"
        return self.users[0].display_name if self.users else ""


def subject_of_user(user: User) -> Subject:
    if user.staff_id is not None:
        staff = db.session.get(Staff, user.staff_id)
        if staff is not None:
            return subject_of_staff(staff)
    return Subject(None, [user])


def subject_of_staff(staff: Staff) -> Subject:
    users = list(db.session.scalars(sa.select(User).where(User.staff_id == staff.id).order_by(User.id)))
    return Subject(staff, users)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value  # an enum
    return value


def _rows(statement: sa.Select | sa.CompoundSelect) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in row._mapping.items()}
            for row in db.session.execute(statement)]


def gather(subject: Subject) -> dict[str, Any]:
    """The whole export: one key per section (see ``SECTIONS``)."""
    staff_id = subject.staff.id if subject.staff is not None else -1
    enrolment_ids = sa.select(Enrolment.id).where(Enrolment.staff_id == staff_id).scalar_subquery()
    return {
        "generated_at": clock.now().isoformat(),
        "person": _person(subject.staff),
        **_roster_and_accounts(staff_id, subject.user_ids),
        **_training(staff_id, subject.user_ids, enrolment_ids),
        "directory_names": _rows(names.tied_names(subject.people)),
        "audit_events": audit_events(subject),
        "acts": _acts(subject.user_ids),
    }


def _roster_and_accounts(staff_id: int, user_ids: list[int]) -> dict[str, Any]:
    return {
        "roster_history": _rows(
            sa.select(StaffHistory.valid_from, StaffHistory.valid_to, OrgUnit.code.label("unit_code"),
                      OrgUnit.name.label("unit"), Position.title.label("position"), StaffHistory.status,
                      StaffHistory.import_id)
            .join(OrgUnit, OrgUnit.id == StaffHistory.unit_id)
            .outerjoin(Position, Position.id == StaffHistory.position_id)
            .where(StaffHistory.staff_id == staff_id).order_by(StaffHistory.valid_from, StaffHistory.id)),
        "accounts": _rows(
            sa.select(User.id, User.email, User.display_name, User.role, User.active, User.created_at,
                      User.last_login_at, User.password_changed_at,
                      User.password_hash.is_not(None).label("has_password"),
                      OrgUnit.name.label("scope_unit"))
            .outerjoin(OrgUnit, OrgUnit.id == User.scope_unit_id)
            .where(User.id.in_(user_ids)).order_by(User.id)),
        "sessions": _rows(
            sa.select(AuthSession.user_id, AuthSession.created_at, AuthSession.last_seen_at,
                      AuthSession.expires_at, AuthSession.revoked_at, AuthSession.ip, AuthSession.user_agent)
            .where(AuthSession.user_id.in_(user_ids)).order_by(AuthSession.id)),
        "account_links": _rows(
            sa.select(AccountToken.user_id, AccountToken.purpose, AccountToken.created_at,
                      AccountToken.expires_at, AccountToken.used_at)
            .where(AccountToken.user_id.in_(user_ids)).order_by(AccountToken.id)),
        "second_factor": _second_factor(user_ids),
        "api_tokens": _rows(  # never the token's hash: a credential, not data about the person
            sa.select(ApiToken.name, ApiToken.prefix, ApiToken.created_at, ApiToken.expires_at,
                      ApiToken.revoked_at, ApiToken.last_used_at)
            .where(ApiToken.user_id.in_(user_ids)).order_by(ApiToken.id)),
        "corrections": _rows(
            sa.select(CorrectionRequest.created_at, CorrectionRequest.field, CorrectionRequest.value_then,
                      CorrectionRequest.note, CorrectionRequest.status, CorrectionRequest.resolved_at,
                      CorrectionRequest.resolution, CorrectionRequest.resolution_note)
            .where(sa.or_(CorrectionRequest.staff_id == staff_id,
                          CorrectionRequest.requested_by_id.in_(user_ids)))
            .order_by(CorrectionRequest.id)),
    }


def _training(staff_id: int, user_ids: list[int], enrolment_ids: Any) -> dict[str, Any]:
    return {
        "enrolments": _rows(
            sa.select(Enrolment.id, Course.key.label("course_key"), Course.title.label("course"),
                      Enrolment.cycle, Enrolment.required, Enrolment.source, Enrolment.state,
                      Enrolment.assigned_on, Enrolment.due_on, Enrolment.started_at, Enrolment.completed_at,
                      Enrolment.expires_on, Enrolment.score, Enrolment.exempt_reason, Enrolment.closed_at,
                      Enrolment.note)
            .join(Course, Course.id == Enrolment.course_id)
            .where(Enrolment.staff_id == staff_id).order_by(Enrolment.assigned_on, Enrolment.id)),
        "programs": _rows(
            sa.select(ProgramEnrolment.id, Program.key.label("program_key"), Program.title.label("program"),
                      ProgramEnrolment.cycle, ProgramEnrolment.source, ProgramEnrolment.assigned_on,
                      ProgramEnrolment.due_on, ProgramEnrolment.steps_done, ProgramEnrolment.steps_required,
                      ProgramEnrolment.completed_at, ProgramEnrolment.expires_on, ProgramEnrolment.closed_at)
            .join(Program, Program.id == ProgramEnrolment.program_id)
            .where(ProgramEnrolment.staff_id == staff_id)
            .order_by(ProgramEnrolment.assigned_on, ProgramEnrolment.id)),
        "certificates": _rows(
            sa.union_all(
                sa.select(Certificate.code, Certificate.holder_name, Certificate.course_title,
                          Certificate.issued_at, Certificate.expires_on, Certificate.revoked_at)
                .where(Certificate.enrolment_id.in_(enrolment_ids)),
                sa.select(ProgramCertificate.code, ProgramCertificate.holder_name,
                          ProgramCertificate.program_title, ProgramCertificate.issued_at,
                          ProgramCertificate.expires_on, ProgramCertificate.revoked_at)
                .join(ProgramEnrolment, ProgramEnrolment.id == ProgramCertificate.program_enrolment_id)
                .where(ProgramEnrolment.staff_id == staff_id)).order_by(sa.text("issued_at"))),
        "lesson_progress": _rows(
            sa.select(Course.title.label("course"), Lesson.title.label("lesson"), LessonProgress.completed_at)
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .join(Course, Course.id == Lesson.course_id)
            .where(LessonProgress.user_id.in_(user_ids)).order_by(LessonProgress.completed_at)),
        "quiz_attempts": _attempts(user_ids),
        "attempt_grants": _rows(
            sa.select(Quiz.title.label("quiz"), AttemptGrant.extra, AttemptGrant.granted_at)
            .join(Quiz, Quiz.id == AttemptGrant.quiz_id)
            .where(AttemptGrant.user_id.in_(user_ids)).order_by(AttemptGrant.granted_at)),
        "reminders": _rows(
            sa.select(ReminderLog.kind, ReminderLog.step, ReminderLog.recipient, ReminderLog.status,
                      ReminderLog.claimed_at, ReminderLog.sent_at)
            .where(sa.or_(ReminderLog.user_id.in_(user_ids), ReminderLog.enrolment_id.in_(enrolment_ids)))
            .order_by(ReminderLog.id)),
        "report_mail": _rows(
            sa.select(ReportSubscription.kind, OrgUnit.name.label("unit"), ReportSubscription.frequency,
                      ReportSubscription.active, ReportSubscription.created_at,
                      sa.select(sa.func.max(ReportDelivery.sent_at))
                      .where(ReportDelivery.subscription_id == ReportSubscription.id)
                      .scalar_subquery().label("last_sent_at"))
            .outerjoin(OrgUnit, OrgUnit.id == ReportSubscription.unit_id)
            .where(ReportSubscription.user_id.in_(user_ids)).order_by(ReportSubscription.id)),
    }


def _second_factor(user_ids: list[int]) -> list[dict[str, Any]]:
    """Whether two-factor sign-in is on, since when, and how many recovery codes are left:
    never the secret or the codes (they are credentials, not data about the person)."""
    unused = (sa.select(sa.func.count()).where(RecoveryCode.user_id == SecondFactor.user_id,
                                               RecoveryCode.used_at.is_(None)).scalar_subquery())
    return _rows(sa.select(SecondFactor.user_id, SecondFactor.created_at, SecondFactor.confirmed_at,
                           unused.label("recovery_codes_left"))
                 .where(SecondFactor.user_id.in_(user_ids)).order_by(SecondFactor.user_id))


def _person(staff: Staff | None) -> dict[str, Any]:
    if staff is None:
        return {}
    pseudonymised = db.session.get(Pseudonymisation, staff.id)
    return {
        "staff_code": staff.staff_code, "full_name": staff.full_name, "family_name": staff.family_name,
        "middle_name": staff.middle_name, "given_name": staff.given_name, "email": staff.email,
        "unit_code": staff.unit.code, "unit": staff.unit.name,
        "position": staff.position.title if staff.position is not None else None,
        "status": _plain(staff.status), "joined_on": _plain(staff.joined_on),
        "left_on": _plain(staff.left_on),
        "created_at": _plain(staff.created_at), "updated_at": _plain(staff.updated_at),
        "last_training_at": _plain(staff.last_training_at),
        "pseudonymised_at": _plain(pseudonymised.at) if pseudonymised else None,
    }


def _attempts(user_ids: list[int]) -> list[dict[str, Any]]:
    """Each attempt with the questions shown (their keys and wording) and the answers given;
    never the correct choices (an answer key is not the person's data, and would leak)."""
    found = []
    for attempt, quiz_title in db.session.execute(
            sa.select(QuizAttempt, Quiz.title).join(Quiz, Quiz.id == QuizAttempt.quiz_id)
            .where(QuizAttempt.user_id.in_(user_ids)).order_by(QuizAttempt.started_at, QuizAttempt.id)):
        found.append({
            "quiz": quiz_title, "number": attempt.number, "status": _plain(attempt.status),
            "started_at": _plain(attempt.started_at), "submitted_at": _plain(attempt.submitted_at),
            "score": attempt.score, "max_score": attempt.max_score, "percent": attempt.percent,
            "passed": attempt.passed,
            "questions": [{"key": q.get("key"), "title": q.get("title") or "", "text": q.get("body_md") or ""}
                          for q in attempt.questions or []],
            "answers": attempt.answers or {},
            "results": attempt.results or {},
        })
    return found


def about_condition(subject: Subject) -> sa.ColumnElement[bool]:
    """Audit events about the person: theirs (as actor) or naming them (as target): by staff
    code, an address of theirs (now or before) or a directory user name tied to them, in any
    case (``names``: sign-ins are recorded with what was typed, refusals with what a directory
    said)."""
    return names.about(subject.people)


def audit_events(subject: Subject) -> list[dict[str, Any]]:
    actor = alias(User, "actor")
    return _rows(
        sa.select(AuditEvent.at, AuditEvent.action, AuditEvent.target, AuditEvent.ip, AuditEvent.details,
                  actor.display_name.label("by"))
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .where(about_condition(subject)).order_by(AuditEvent.at, AuditEvent.id))


def _acts(user_ids: list[int]) -> dict[str, Any]:
    """What the person's accounts did to other records: which, and when (not the others' data)."""
    return {
        "roster_imports": _rows(sa.select(RosterImport.id, RosterImport.at, RosterImport.kind,
                                          RosterImport.filename, RosterImport.rows)
                                .where(RosterImport.actor_id.in_(user_ids)).order_by(RosterImport.id)),
        "rules_created": _rows(sa.select(AssignmentRule.id, AssignmentRule.created_at)
                               .where(AssignmentRule.created_by_id.in_(user_ids)).order_by(AssignmentRule.id)),
        "links_issued": _rows(sa.select(AccountToken.purpose, AccountToken.created_at)
                              .where(AccountToken.created_by_id.in_(user_ids)).order_by(AccountToken.id)),
        "exemptions_granted": _rows(sa.select(Enrolment.id).where(Enrolment.exempted_by_id.in_(user_ids))
                                    .order_by(Enrolment.id)),
        "attempts_granted": _rows(sa.select(AttemptGrant.id, AttemptGrant.granted_at)
                                  .where(AttemptGrant.granted_by_id.in_(user_ids)).order_by(AttemptGrant.id)),
        "corrections_resolved": _rows(sa.select(CorrectionRequest.id, CorrectionRequest.resolved_at)
                                      .where(CorrectionRequest.resolved_by_id.in_(user_ids))
                                      .order_by(CorrectionRequest.id)),
        "service_tokens_made": _rows(sa.select(ApiToken.id, ApiToken.name, ApiToken.created_at)
                                     .where(ApiToken.created_by_id.in_(user_ids), ApiToken.user_id.is_(None))
                                     .order_by(ApiToken.id)),
        "report_mail_set_up": _rows(sa.select(ReportSubscription.id, ReportSubscription.email,
                                              ReportSubscription.created_at)
                                    .where(ReportSubscription.created_by_id.in_(user_ids),
                                           ReportSubscription.user_id.is_(None))
                                    .order_by(ReportSubscription.id)),
    }
