"""The one place a person becomes signed in, whichever way they proved who they are.

A password (views.login), a directory (LDAP) or an OpenID provider each check the person and
then call complete(). A second factor, where one is required, steps in here, so no way in
can forget it."""

from __future__ import annotations

from flask import redirect, request, session, url_for
from flask_login import login_user
from werkzeug.wrappers import Response

from mooc.auth import audit, sessions
from mooc.auth.access import safe_next
from mooc.auth.models import User


def complete(user: User, *, method: str, next_url: str | None,
             second_factor: bool = False) -> Response:
    """Start a fresh session for `user` (no fixation), record it and go on to `next_url` (when
    it is a path of this site) or the trainee's home. `method` says how the person proved who
    they are ("password", "ldap", "oidc"...), for the audit trail; `second_factor` is True when
    that way in already proved a second factor (an OpenID provider asserting MFA in `amr`)."""
    session.clear()  # a new session at every sign-in (no fixation)
    sessions.start_session(user, ip=request.remote_addr or "", user_agent=request.user_agent.string)
    login_user(user)
    session.permanent = True
    audit.record("login.succeeded", actor=user, target=user.email, method=method)
    return redirect(safe_next(next_url) or url_for("training.home"))


SIGN_OUT_ELSEWHERE = "sign_out_elsewhere"


def sign_out_elsewhere(url: str | None) -> None:
    """After complete(): a way in whose provider signs people out too (an OpenID provider's
    end-session page) leaves here where the browser goes after our own sign-out."""
    if url:
        session[SIGN_OUT_ELSEWHERE] = url


def signed_out_elsewhere_url() -> str | None:
    """Where logout sends the browser on (read before the session is cleared), if anywhere."""
    url = session.get(SIGN_OUT_ELSEWHERE)
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
