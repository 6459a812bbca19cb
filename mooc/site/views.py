from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, redirect, request, url_for

from mooc import kept
from mooc.auth.access import public, safe_next
from mooc.extensions import db
from mooc.i18n import LANG_COOKIE, LOCALES
from mooc.site import chrome

bp = Blueprint("site", __name__, template_folder="templates")


@bp.record_once
def _template_globals(state: Any) -> None:
    state.app.jinja_env.globals["site_header"] = chrome.site_header
    state.app.jinja_env.globals["site_footer"] = chrome.site_footer
    state.app.jinja_env.globals["csrf_token"] = chrome.csrf_token  # Flask-WTF's, or a kept page's hole
    kept.add_fillers(state.app, chrome.FILLERS)
    state.app.jinja_env.globals.update(kept_rendering=kept.rendering, kept_hole=kept.hole)


@bp.get("/healthz")
@public
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.post("/language")
@public
def set_language():
    lang = request.form.get("lang")
    target = safe_next(request.form.get("next")) or url_for("training.home")
    response = redirect(target)
    if lang in LOCALES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response
