"""The flow every file import shares on the web (the roster, the units file, past
completions): upload -> dry run -> apply.

1. The upload page reads the file once: a file that cannot be read is refused there, with
   why, and is not kept; a readable one is stored (`uploads.store`) and the dry run opens.
2. The dry run reads the stored file again on every request and plans from it, so what is
   applied is what was shown; a file that can no longer be read is deleted and the person
   is sent back to the upload page with why.
3. Applying posts the plan's fingerprint back: a plan that changed since it was shown, or a
   file with errors, applies nothing and says so.

The views keep what differs (what a plan is, what applying does, what the page shows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from flask import abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from mooc.errors import refuse
from mooc.i18n import gettext as _
from mooc.roster import uploads
from mooc.roster.display import refusal_message
from mooc.roster.forms import ApplyForm
from mooc.roster.reader import FileRefused

Plan = TypeVar("Plan")
NAME_LIMIT = 200


def receive(form: Any, read: Callable[[bytes], object], preview_endpoint: str,
            **params: Any) -> tuple[Response | None, str | None]:
    """The upload step. Returns (the redirect to the dry run, None) for a readable file,
    (None, why) for a refused one, (None, None) when nothing valid was posted."""
    if not form.validate_on_submit():
        return None, None
    data = form.file.data.read()
    try:
        read(data)
    except FileRefused as refused:
        refuse()
        return None, refusal_message(refused)
    name = Path(form.file.data.filename or "").name[:NAME_LIMIT]
    return redirect(url_for(preview_endpoint, checksum=uploads.store(data), name=name, **params)), None


@dataclass
class DryRun(Generic[Plan]):
    """A stored file and its plan, as the dry-run page shows it."""

    checksum: str
    path: Path
    name: str  # the file's name as uploaded (shown, and recorded when applied)
    plan: Plan

    @property
    def label(self) -> str:
        return self.name or self.path.name

    def applied(self) -> None:
        """The file is not kept once applied."""
        self.path.unlink(missing_ok=True)


def values() -> Any:
    """The page's parameters: the form when applying, the query string when showing."""
    return request.form if request.method == "POST" else request.args


def open_plan(checksum: str, make_plan: Callable[[Path, str], Plan],
              upload_endpoint: str) -> DryRun[Plan] | Response:
    """The dry-run step: the stored file (404 when unknown or expired) planned again, or
    the way back to the upload page when it can no longer be read."""
    path = uploads.stored(checksum) or abort(404)
    name = values().get("name", "")[:NAME_LIMIT]
    try:
        plan = make_plan(path, name or path.name)
    except FileRefused as refused:
        refuse()
        path.unlink(missing_ok=True)  # nothing can be done with it: not kept
        flash(refusal_message(refused), "error")
        return redirect(url_for(upload_endpoint))
    return DryRun(checksum, path, name, plan)


def apply_refusal(fingerprint: str, has_errors: bool, changed: str) -> str | None:
    """Why an apply (a POST of the dry-run page) may not go, None when it may. A POST
    without a valid form (CSRF) is a bad request."""
    if not ApplyForm().validate_on_submit():
        abort(400)
    if request.form.get("fingerprint") != fingerprint:
        return changed
    if has_errors:
        return _("The file has errors: nothing was applied.")
    return None
