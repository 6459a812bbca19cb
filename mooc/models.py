"""Every domain's models, imported in one place so the metadata (and Alembic) sees all tables."""

from mooc.auth.models import AuditEvent, AuthSession, LoginThrottle, Role, User
from mooc.auth.tokens import AccountToken
from mooc.courses.models import Course, CourseSync, Lesson, LessonProgress, Module, Quiz
from mooc.quizzes.models import AttemptStatus, QuizAttempt
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory, StaffStatus

__all__ = [
    "AccountToken", "AttemptStatus", "AuditEvent", "AuthSession", "Course", "CourseSync", "Lesson",
    "LessonProgress", "LoginThrottle", "Module", "OrgUnit", "Position", "Quiz", "QuizAttempt", "Role",
    "RosterImport", "Staff", "StaffHistory", "StaffStatus", "User",
]
