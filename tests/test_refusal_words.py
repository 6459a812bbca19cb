"""A refused action says why in words: every code a domain refuses with (``DomainError``) has the
message its view shows, in Vietnamese and English. A code without one would show as a stored code
or end the request with an error; the codes are read from the source (what each refusal is
raised with), so a new code without words fails here."""

from __future__ import annotations

import ast

from flask_babel import force_locale

from mooc.api import views as api_views
from mooc.quizzes import views as quiz_views
from mooc.reports import views as report_views
from mooc.roster import display, scope, units
from mooc.roster import views as roster_views
from mooc.training import views as training_views
from tests.conftest import ROOT

# Each refusal whose code picks the message, and where its messages are.
MESSAGES = {
    "AccountError": roster_views.ACCOUNT_ERRORS,
    "DeadlineError": training_views.DEADLINE_REFUSALS,
    "RuleError": training_views.RULE_REFUSALS,
    "EnrolError": training_views.ENROL_REFUSALS,
    "ScopeError": scope.MESSAGES,
    "UnitError": units.MESSAGES,
    "TokenRefused": api_views.REFUSALS,
    "FileRefused": display.REFUSALS,
    "SubscriptionRefused": report_views.SUBSCRIPTION_REFUSALS,
    "AttemptRefused": quiz_views.REFUSALS,
    "GrantRefused": quiz_views.GRANT_REFUSALS,
}
# Refusals whose view says one thing whatever the code (one code, or none); the roster import's
# questions (confirm, the plan's own problems), which their pages ask in their own words; and the
# password's, whose code comes from passwords.password_problem (auth/forms.py PASSWORD_PROBLEMS).
ONE_MESSAGE = {"CertificateError", "ExemptionError", "TokenInvalid", "LocalPasswordNotAllowed",
               "CorrectionError", "ConfirmationNeeded", "AdminConfirmationNeeded", "PlanHasErrors",
               "PasswordRefused"}


def _refusals() -> tuple[set[str], dict[str, dict[str, str]]]:
    """The DomainError subclasses, and the codes each is raised with (file:line each)."""
    classes, raised = set(), {}
    trees = {str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8"))
             for p in sorted((ROOT / "mooc").rglob("*.py"))}
    for tree in trees.values():
        classes |= {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                    and any(ast.unparse(base).endswith("DomainError") for base in node.bases)}
    for name, tree in trees.items():
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.args]:
            callee = ast.unparse(call.func).rsplit(".", 1)[-1]
            first = call.args[0]
            if callee in classes and isinstance(first, ast.Constant) and isinstance(first.value, str):
                raised.setdefault(callee, {})[first.value] = f"{name}:{call.lineno}"
    return classes, raised


def test_every_refusal_code_has_its_words(app):
    classes, raised = _refusals()
    assert {"AccountError", "ScopeError", "UnitError", "TokenRefused"} <= classes
    unplaced = classes - set(MESSAGES) - ONE_MESSAGE
    assert not unplaced, f"say in MESSAGES where the messages of {unplaced} are (or in ONE_MESSAGE)"
    missing = {code: where for name, codes in raised.items() if name in MESSAGES
               for code, where in codes.items() if code not in MESSAGES[name]}
    assert not missing, f"these refusals have no message: {missing}"
    with app.test_request_context():
        for name, messages in MESSAGES.items():
            for code, message in messages.items():
                if callable(message) and not hasattr(message, "_args"):  # a function of the person or error
                    continue
                with force_locale("en"):
                    english = str(message)
                with force_locale("vi"):
                    assert str(message) != english, f"{name} {code}: no Vietnamese"
