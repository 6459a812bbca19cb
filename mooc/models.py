"""Every domain's models, imported in one place so the metadata (and Alembic) sees all tables."""

from mooc.auth.models import AddressThrottle, AuditEvent, AuthSession, LoginThrottle, Role, User
from mooc.auth.tokens import AccountToken
from mooc.courses.models import Course, CourseSync, Lesson, LessonProgress, Module, Quiz
from mooc.privacy.models import CorrectionRequest, CorrectionStatus, Pseudonymisation
from mooc.quizzes.models import AttemptStatus, QuizAttempt
from mooc.reminders.models import ReminderKind, ReminderLog, ReminderStatus
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory, StaffStatus
from mooc.search.models import SearchSection, is_unmapped
from mooc.training.models import AssignmentRule, Certificate, Enrolment, EnrolmentSource, EnrolmentState

__all__ = [
    "AddressThrottle", "AssignmentRule", "Certificate", "Enrolment", "EnrolmentSource", "EnrolmentState",
    "AccountToken", "AttemptStatus", "CorrectionRequest", "CorrectionStatus", "Pseudonymisation",
    "AuditEvent", "AuthSession", "Course", "CourseSync", "Lesson",
    "LessonProgress", "LoginThrottle", "Module", "OrgUnit", "Position", "Quiz", "QuizAttempt", "Role",
    "ReminderKind", "ReminderLog", "ReminderStatus",
    "RosterImport", "SearchSection", "Staff", "StaffHistory", "StaffStatus", "User",
]


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: leave out what migrations create but no model maps (the
    search's full-text index), so the migration check compares only mapped objects."""
    return not is_unmapped(name, type_)
