"""What the accounts' stored codes are called, wherever a person reads them (pages, the sign-in
page's demo list, a person's data export): roles and the purposes of the links sent to people."""

from __future__ import annotations

from mooc.auth.models import Role
from mooc.auth.tokens import TokenPurpose
from mooc.i18n import lazy_gettext as _l

ROLE_LABELS = {Role.TRAINEE: _l("Trainee"), Role.MANAGER: _l("Unit manager"),
               Role.OFFICER: _l("Training officer"),
               Role.REPORTER: _l("Reporter (reads every report)"), Role.ADMIN: _l("Administrator")}
PURPOSE_LABELS = {TokenPurpose.INVITE: _l("Invitation"), TokenPurpose.RESET: _l("Password reset")}
