"""The one place a person becomes signed in, whichever way they proved who they are.

A password (views.login), a directory (LDAP) or an OpenID provider each check the person and
then call complete(). A second factor, where one is required or was chosen, steps in here
(mooc/auth/second_factor.py), so no way in can forget it."""

from __future__ import annotations

from flask import redirect, request, session, url_for
from flask_login import login_user
from werkzeug.wrappers import Response

from mooc.auth import audit, sessions
from mooc.auth import second_factor as two_factor  # (complete()'s keyword has the module's name)
from mooc.auth.access import safe_next
from mooc.auth.models import User


def complete(user: User, *, method: str, next_url: str | None,
             second_factor: bool = False, factor: str = "", login: str = "") -> Response:
    """Start a fresh session for `user` (no fixation), record it and go on to `next_url` (when
    it is a path of this site) or the trainee's home. `method` says how the person proved who
    they are ("password", "ldap", "oidc"...), for the audit trail; `second_factor` is True when
    that way in already proved a second factor (an OpenID provider asserting MFA in `amr`, or
    the code page: then `factor` says which, "totp" or "recovery"). `login`: the directory user
    name the person typed, kept in the audit event (unless it is the account's e-mail) so that
    the retention purge knows it was theirs.

    Without a second factor proved, a person with an active authenticator is sent to the code
    page (unless this browser is remembered for them) and is not signed in yet; a person whose
    role requires one and who has none is signed in to the enrolment pages only."""
    proved = (factor or "provider") if second_factor else ""
    typed = {"login": login} if login and login != user.email else {}
    if not proved and two_factor.active(user):
        if two_factor.remembered(user, request.cookies.get(two_factor.DEVICE_COOKIE)):
            proved = "remembered"
        else:
            two_factor.begin_pending(user, method=method, next_url=safe_next(next_url))
            audit.record("login.second_factor_asked", actor=user, target=user.email, method=method, **typed)
            return redirect(url_for("second_factor.code"))
    session.clear()  # a new session at every sign-in (no fixation)
    auth_session = sessions.start_session(user, ip=request.remote_addr or "",
                                          user_agent=request.user_agent.string)
    auth_session.second_factor = proved
    login_user(user)
    session.permanent = True
    audit.record("login.succeeded", actor=user, target=user.email, method=method,
                 second_factor=proved or "none", **typed)
    if not proved and two_factor.required(user):
        # Signed in to the enrolment pages only (see mooc/__init__.py, the login guard).
        return redirect(url_for("second_factor.account", next=safe_next(next_url)))
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
