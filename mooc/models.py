"""Every domain's models, imported in one place so the metadata (and Alembic) sees all tables."""

from mooc.auth.models import AuditEvent, AuthSession, LoginThrottle, Role, User
from mooc.roster.models import OrgUnit, Position, Staff, StaffStatus

__all__ = [
    "AuditEvent", "AuthSession", "LoginThrottle", "OrgUnit", "Position", "Role", "Staff",
    "StaffStatus", "User",
]
