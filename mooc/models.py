"""Every domain's models, imported in one place so the metadata (and Alembic) sees all tables."""

from mooc.api.models import ApiToken
from mooc.auth.models import (
    AddressThrottle,
    AuditEvent,
    AuthSession,
    LoginThrottle,
    RecoveryCode,
    Role,
    SecondFactor,
    User,
)
from mooc.auth.tokens import AccountToken
from mooc.courses.models import Course, CourseSync, Lesson, LessonProgress, Module, Quiz
from mooc.directory.models import OidcLogin
from mooc.privacy.models import CorrectionRequest, CorrectionStatus, Pseudonymisation
from mooc.quizzes.models import AttemptStatus, QuizAttempt
from mooc.reminders.models import ReminderKind, ReminderLog, ReminderStatus
from mooc.reports.models import ReportDelivery, ReportPerson, ReportSubscription
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory, StaffStatus
from mooc.search.models import SearchSection, is_unmapped
from mooc.training.models import (
    AssignmentRule,
    Certificate,
    Enrolment,
    EnrolmentSource,
    EnrolmentState,
    Program,
    ProgramCertificate,
    ProgramEnrolment,
    ProgramStep,
)
from mooc.versions import DataVersion
from mooc.xapi.models import XapiOutbox

__all__ = [
    "AddressThrottle", "AssignmentRule", "Certificate", "Enrolment", "EnrolmentSource", "EnrolmentState",
    "AccountToken", "ApiToken", "AttemptStatus", "AuditEvent", "AuthSession", "CorrectionRequest",
    "CorrectionStatus", "DataVersion",
    "Course", "CourseSync", "Lesson", "LessonProgress", "LoginThrottle", "Module", "OidcLogin", "OrgUnit",
    "Position", "Program", "ProgramCertificate", "ProgramEnrolment", "ProgramStep", "Pseudonymisation",
    "Quiz", "QuizAttempt", "RecoveryCode", "ReminderKind", "ReminderLog",
    "ReminderStatus", "ReportDelivery", "ReportPerson", "ReportSubscription", "Role", "RosterImport",
    "SearchSection", "SecondFactor", "Staff", "StaffHistory", "StaffStatus", "User", "XapiOutbox",
]


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: leave out what migrations create but no model maps (the
    search's full-text index), so the migration check compares only mapped objects."""
    return not is_unmapped(name, type_)
