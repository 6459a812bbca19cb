"""The site's header and footer, rendered once per (locale, role, page) and process, then
filled in per request with what is the person's or the request's own: the name, the CSRF
token, the address to come back to after a language change. In a page rendered to be kept
(mooc/kept.py) those three are left as holes, which ``FILLERS`` fill per request.

Nothing is cached that the database owns: the role is read with the session on every request
(mooc/auth/sessions.py) and is part of the key; the rest (templates, translations, routes)
changes only with the code, that is with a new process.
"""

from __future__ import annotations

import secrets

from flask import current_app, g, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from mooc import kept
from mooc.caching import KeptCache, app_cache
from mooc.i18n import request_locale

_NONCE = secrets.token_hex(8)  # random per process: no text of a person's can forge a marker
NAME, CSRF, NEXT = (f"<!--{_NONCE}:{what}-->" for what in ("name", "csrf", "next"))


def _cached(key: tuple, template: str) -> str:
    def render() -> str:
        markers = {"name": Markup(NAME), "csrf": Markup(CSRF), "next": Markup(NEXT)}  # noqa: S704
        return render_template(template, **markers)

    return app_cache("mooc.chrome_cache", lambda: KeptCache(2048)).get(key, render)


def site_header() -> Markup:
    signed_in = current_user.is_authenticated
    key = ("header", str(request_locale()), current_user.role if signed_in else None,
           request.endpoint, request.blueprint, request.script_root)
    html = _cached(key, "_site_header.html")
    if signed_in:
        html = html.replace(NAME, _name()).replace(CSRF, csrf_token())
    return Markup(html)  # noqa: S704 (rendered by an autoescaping template; the name escaped)


def site_footer() -> Markup:
    html = _cached(("footer", str(request_locale()), request.script_root), "_site_footer.html")
    return Markup(html.replace(CSRF, csrf_token()).replace(NEXT, _back()))  # noqa: S704


def csrf_token() -> str:
    """The templates' ``csrf_token()``: the request's token, or its hole in a kept page."""
    return kept.hole("csrf") if kept.rendering() else request_csrf()


def request_csrf() -> str:
    """The request's CSRF token, as Flask-WTF's ``generate_csrf`` makes it, but signed once per
    session and secret rather than once per request. With no time limit on tokens
    (``WTF_CSRF_TIME_LIMIT`` None, mooc/config.py) every token signed for a session's secret is
    as good as any other, and signing one (an HMAC, JSON, zlib) cost 4 % of a kept lesson
    page. A new session's secret, or a new SECRET_KEY, is a new key; any other setting of
    Flask-WTF's is left to it."""
    if (token := g.get("csrf_token")) is not None:
        return token
    config = current_app.config
    if (config.get("WTF_CSRF_TIME_LIMIT") is not None or config.get("WTF_CSRF_SECRET_KEY")
            or config.get("WTF_CSRF_FIELD_NAME", "csrf_token") != "csrf_token"):
        return generate_csrf()
    signed = app_cache("mooc.csrf_signed", lambda: KeptCache(4096))
    raw = session.get("csrf_token")
    if isinstance(raw, str) and isinstance(kept_token := signed.peek((current_app.secret_key, raw)), str):
        g.csrf_token = kept_token
        return kept_token
    token = generate_csrf()  # (it makes the session's secret when there is none yet)
    if isinstance(raw := session.get("csrf_token"), str):
        signed.put((current_app.secret_key, raw), token)
    return token


def _person_name() -> str:
    return str(escape(current_user.display_name))


def _back_address() -> str:
    return str(escape(request.full_path if request.query_string else request.path))


def _name() -> str:
    return kept.hole("name") if kept.rendering() else _person_name()


def _back() -> str:
    return kept.hole("next") if kept.rendering() else _back_address()


FILLERS: dict[str, kept.Filler] = {"name": _person_name, "csrf": request_csrf, "next": _back_address}
"""What every kept page's header and footer leave to the request."""
