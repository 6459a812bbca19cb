"""Sign-in through an OpenID provider: thin handlers over oidc.py, ending in signin.complete()."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from mooc.auth import audit, signin
from mooc.auth.access import public, safe_next
from mooc.config import OidcSettings, settings
from mooc.database import reads_first, short_write
from mooc.directory import oidc
from mooc.directory.matching import NoMatch
from mooc.extensions import db
from mooc.text import clean, name_key

bp = Blueprint("directory", __name__, template_folder="templates")

STATE_KEY = "oidc_state"  # the state this browser was sent to the provider with


def _config() -> OidcSettings:
    config = settings().oidc
    if config is None:
        abort(404)
    return config


def _redirect_uri(config: OidcSettings) -> str:
    # ProxyFix (MOOC_PROXY_COUNT) makes the request's scheme and host the public ones.
    return config.redirect_uri or url_for("directory.oidc_callback", _external=True)


@bp.app_context_processor
def sign_in_options() -> dict[str, str | None]:
    """The sign-in page's "Sign in with ..." button, when a provider is configured."""
    config = settings().oidc
    return {"oidc_label": config.label if config else None}


def _refused(message: str, status: int):
    return render_template("directory/refused.html", message=message), status


@bp.post("/oidc/start")
@public
@reads_first
def oidc_start():
    """Off to the provider. Its discovery document is read (or kept) before the round trip is
    written, in a short write of its own: no write lock is held while the provider answers, and
    a refusal's audit event is written even though the page is an error."""
    config = _config()
    try:
        with short_write(db.session):
            url, state = oidc.begin(config, redirect_uri=_redirect_uri(config),
                                    next_url=safe_next(request.form.get("next")) or "")
    except oidc.OidcRefused as refused:
        audit.record("login.failed", reason=refused.reason, method="oidc", detail=refused.detail)
        return _refused(refused.message(), 502)
    session[STATE_KEY] = state
    return redirect(url)


@bp.get("/oidc/callback")
@public
@reads_first
def oidc_callback():
    """The provider sends the browser back here. The round trip is spent first, in a transaction
    of its own (so a refusal below cannot bring it back); the token exchange then runs with no
    write lock held; the sign-in itself is one short write."""
    config = _config()
    kept = session.pop(STATE_KEY, None)
    try:
        with short_write(db.session):
            trip = oidc.claim_login(kept, request.args.get("state"))
        verified = oidc.finish(config, trip, request.args, redirect_uri=_redirect_uri(config))
    except oidc.OidcRefused as refused:
        audit.record("login.failed", reason=refused.reason, method="oidc", detail=refused.detail)
        return _refused(refused.message(), 400 if refused.reason == "state" else 403)
    claims = verified.claims
    try:
        user = oidc.person_for(config, claims)
    except NoMatch as no_match:
        # The address it sent folded (as the sign-in form's names are), a staff code as written:
        # the audit log finds the event by either, in any case (text.name_key).
        email = claims.get(config.email_claim)
        target = name_key(str(email)) if email else clean(str(claims.get(config.staff_code_claim) or ""))
        # Whom the provider named: the address it sent is theirs even when the roster has another.
        named: dict[str, Any] = {"person": person} if (person := oidc.named_person(config, claims)) else {}
        audit.record("login.failed", target=target, reason=no_match.reason, method="oidc", **named)
        return _refused(no_match.message(), 403)
    with short_write(db.session):
        response = signin.complete(user, method="oidc", next_url=trip.next_url,
                                   second_factor=oidc.asserts_mfa(config, claims))
    signin.sign_out_elsewhere(oidc.end_session_url(
        config, id_token=verified.id_token, after=url_for("auth.login", _external=True)))
    return response
