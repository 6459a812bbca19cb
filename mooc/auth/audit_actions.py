"""What each audit action is called, for the activity log page: every action the platform
records has a name people read (Vietnamese first), its code kept beside it for searching.
A test reads every ``audit.record(...)`` in the code and fails for an action missing here."""

from __future__ import annotations

from mooc.i18n import lazy_gettext as _l

ACTIONS = {
    "account.disabled": _l("Account disabled"),
    "account.email_changed": _l("E-mail address changed"),
    "account.enabled": _l("Account enabled again"),
    "account.unlocked": _l("Account unlocked after failed sign-ins"),
    "api.service_token_created": _l("API token made for a system"),
    "api.token_created": _l("Personal API token made"),
    "api.token_revoked": _l("API token revoked"),
    "courses.synced": _l("Courses synced from their files"),
    "invitation.accepted": _l("Invitation accepted (password set)"),
    "invitation.bulk": _l("Invitations sent to a list"),
    "invitation.sent": _l("Invitation sent"),
    "legal.refreshers_opened": _l("Refreshers opened after a legal document changed"),
    "login.failed": _l("Sign-in refused"),
    "login.second_factor_asked": _l("Password right, second factor asked"),
    "login.succeeded": _l("Signed in"),
    "logout": _l("Signed out"),
    "password.change_failed": _l("Password change refused"),
    "password.changed": _l("Password changed"),
    "password.directory_hint_sent": _l("Forgotten password: told to sign in with the ministry account"),
    "password.reset": _l("Password set again from a link"),
    "password.reset_link_sent": _l("Password link sent by an administrator"),
    "password.reset_not_sent": _l("Password link not sent"),
    "password.reset_requested": _l("Forgotten password: link asked for"),
    "password.reset_sent": _l("Password link sent"),
    "privacy.audit_exported": _l("Activity log downloaded"),
    "privacy.correction_requested": _l("Correction of personal data asked for"),
    "privacy.correction_resolved": _l("Correction request answered"),
    "privacy.exported": _l("Own personal data downloaded"),
    "privacy.exported_on_request": _l("Personal data exported on a written request"),
    "privacy.purged": _l("People who left pseudonymised"),
    "quiz.attempt_granted": _l("Extra quiz attempt granted"),
    "reminders.manual_sent": _l("Reminder sent by hand"),
    "reminders.sent": _l("Scheduled reminders sent"),
    "report.exported": _l("Report exported"),
    "reports.address_subscribed": _l("Report mailed to an address without an account"),
    "reports.sent": _l("Reports by e-mail sent"),
    "reports.subscribed": _l("Subscribed to a report by e-mail"),
    "reports.subscription_skipped": _l("Report by e-mail not sent"),
    "reports.summary_rebuilt": _l("Report summary rebuilt"),
    "reports.unsubscribed": _l("Report by e-mail ended"),
    "role.granted": _l("Role or units changed"),
    "roster.imported": _l("Staff list imported"),
    "second_factor.browsers_forgotten": _l("Remembered browsers forgotten"),
    "second_factor.disabled": _l("Two-factor sign-in turned off"),
    "second_factor.enabled": _l("Two-factor sign-in turned on"),
    "second_factor.enrol_failed": _l("Two-factor setup: wrong code"),
    "second_factor.recovery_codes_renewed": _l("New recovery codes made"),
    "second_factor.reset": _l("Second factor reset by an administrator"),
    "second_factor.secrets_rotated": _l("Two-factor secrets re-encrypted"),
    "training.assigned": _l("Assignment rules applied"),
    "training.certificate_revoked": _l("Certificate revoked"),
    "training.due_extended": _l("Due date changed"),
    "training.enrolled": _l("Enrolled by hand"),
    "training.enrolment_joined": _l("Assigned by hand a course already required"),
    "training.exempted": _l("Exempted from a course"),
    "training.history_imported": _l("Past completions imported"),
    "training.record_exported": _l("Training record exported"),
    "training.refreshers_opened": _l("Refreshers opened"),
    "training.rule_created": _l("Assignment rule created"),
    "training.rule_deactivated": _l("Assignment rule switched off"),
    "training.rule_updated": _l("Assignment rule changed"),
    "unit.created": _l("Unit created"),
    "unit.merged": _l("Units merged"),
    "unit.updated": _l("Unit changed"),
    "units.imported": _l("Units imported"),
    "user.admin_created": _l("Administrator created (command line)"),
    "user.admin_granted": _l("Administrator rights given (command line)"),
    "xapi.sent": _l("Learning records sent to the LRS"),
}


def label(action: str) -> str:
    """The action's name; an action no longer recorded (older events) keeps its code."""
    name = ACTIONS.get(action)
    return str(name) if name is not None else action
