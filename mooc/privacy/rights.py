"""The right of access as files: a person's data (``export.gather``) as JSON or PDF, and the
audit event every export leaves (whoever asked, on whose behalf, on which written request)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from mooc import clock
from mooc.auth import audit
from mooc.auth.models import User
from mooc.downloads import slug
from mooc.formatting import format_datetime
from mooc.i18n import gettext as _
from mooc.privacy import export
from mooc.privacy.export_pdf import render_export

FORMATS = ("json", "pdf")


@dataclass
class ExportFile:
    name: str
    mimetype: str
    body: bytes


def target_of(subject: export.Subject) -> str:
    """How audit events name the person (their staff code, else their sign-in address)."""
    if subject.staff is not None:
        return subject.staff.staff_code
    return subject.users[0].email if subject.users else ""


def export_file(subject: export.Subject, fmt: str, *, actor: User, reference: str = "",
                reason: str = "") -> ExportFile:
    """The file, and its audit event: ``privacy.exported`` (the person's own) or
    ``privacy.exported_on_request`` (an administrator, with the request's reference and reason)."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    data = export.gather(subject)
    stem = slug("du-lieu-ca-nhan", target_of(subject))
    own = actor.id in subject.user_ids
    if own:
        audit.record("privacy.exported", actor=actor, target=target_of(subject), format=fmt)
    else:
        audit.record("privacy.exported_on_request", actor=actor, target=target_of(subject), format=fmt,
                     reference=reference, reason=reason)
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        return ExportFile(f"{stem}.json", "application/json", body)
    sections = {key: str(title) for key, title in export.SECTIONS.items()}
    stamp = _("Printed by %(name)s on %(when)s", name=actor.display_name, when=format_datetime(clock.now()))
    if not own:
        stamp += " · " + _("Written request %(reference)s", reference=reference)
    pdf = render_export(data, sections, _("Your personal data"), subject.label, stamp)
    return ExportFile(f"{stem}.pdf", "application/pdf", pdf)
