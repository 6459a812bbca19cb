"""The training platform for inspection staff: create_app() builds the Flask application.

The factory only binds extensions and registers blueprints: it does not migrate, seed or
write anything (the `mooc` command does that).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, abort, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from mooc import clock, formatting, params, replica
from mooc.api.problems import is_api_path, problem
from mooc.auth.access import safe_next
from mooc.config import ROOT_DIR, Settings, build_settings, flask_config, settings
from mooc.config import install as install_settings
from mooc.courses.render import scope_ids
from mooc.database import (
    configure_engine,
    has_changes,
    readers_end_with_commit,
    wants_write,
    watch_request_writes,
)
from mooc.extensions import babel, csrf, db, login_manager, migrate
from mooc.i18n import LOCALES, install_template_gettext, request_locale, select_locale
from mooc.i18n import gettext as _
from mooc.roster.units import unit_label
from mooc.site.urls import kept_url_for

STATIC_DIR = ROOT_DIR / "static"
MIGRATIONS_DIR = ROOT_DIR / "migrations"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

log = logging.getLogger(__name__)


def content_security_policy(oidc_issuer: str | None) -> str:
    """The site's policy; with an OpenID provider, forms may also lead there: the sign-in
    button's POST and the sign-out POST are answered with a redirect to the provider, and
    browsers check form-action along the redirects too."""
    if not oidc_issuer:
        return CONTENT_SECURITY_POLICY
    parts = urlsplit(oidc_issuer)
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")


def site_headers(policy: str, *, hsts: bool) -> tuple[tuple[str, str, str], ...]:
    """The headers every answer carries unless its view set its own: (lower-cased name, name,
    value), built once per app."""
    headers = [("Content-Security-Policy", policy),
               ("X-Content-Type-Options", "nosniff"),
               ("X-Frame-Options", "DENY"),
               ("Referrer-Policy", "same-origin"),
               ("Cross-Origin-Opener-Policy", "same-origin"),
               ("Permissions-Policy", "camera=(), microphone=(), geolocation=()")]
    if hsts:
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    return tuple((name.lower(), name, value) for name, value in headers)


def add_missing_headers(headers: Headers, defaults: tuple[tuple[str, str, str], ...]) -> None:
    """``headers.setdefault`` for each of ``defaults``, in one pass over the answer's headers:
    werkzeug's setdefault looks a missing name up by raising and catching an HTTP exception,
    which cost every request about 6 % of a signed-in request's instructions (seven of them)."""
    present = {name.lower() for name, _value in headers}
    headers.extend([(name, value) for lowered, name, value in defaults if lowered not in present])


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    settings = build_settings(config)
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static",
                instance_path=str(settings.instance_dir), instance_relative_config=False)
    app.config.from_mapping(flask_config(settings, config))
    install_settings(app, settings)
    clock.set_local_timezone(settings.timezone)
    if settings.proxy_count:
        count = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]

    _ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])
    from mooc import models  # noqa: F401  (every table known to the metadata)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine, guard_writes=settings.testing)
    if settings.testing:
        app.before_request(watch_request_writes)  # first: whatever a request writes is watched
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True,
                     compare_type=True)
    _init_login(app)
    _init_directory(app, settings)
    _connect_events()
    _init_guards(app)  # before CSRF: anonymous visitors are sent to sign in first
    replica.install(app, settings)  # the optional read replica (none on SQLite)
    csrf.init_app(app)
    _drop_csrf_context_processor(app)
    babel.init_app(app, locale_selector=select_locale, default_locale=settings.default_locale)
    install_template_gettext(app)
    params.install(app)  # before the blueprints: their <int:> rules use its converter
    _register_blueprints(app)
    _init_templates(app)
    _init_errors(app)
    _register_commands(app)
    return app


def _register_commands(app: Flask) -> None:
    from mooc.auth.commands import users
    from mooc.courses.commands import courses
    from mooc.privacy.commands import privacy
    from mooc.reminders.commands import reminders
    from mooc.reports.commands import reports
    from mooc.roster.commands import roster
    from mooc.search.commands import search
    from mooc.training.commands import training
    from mooc.xapi.commands import xapi

    app.cli.add_command(users)
    app.cli.add_command(roster)
    app.cli.add_command(courses)
    app.cli.add_command(search)
    app.cli.add_command(training)
    app.cli.add_command(reminders)
    app.cli.add_command(reports)
    app.cli.add_command(xapi)
    app.cli.add_command(privacy)


def _connect_events() -> None:
    """Higher domains listen to the lower ones' events (mooc/events.py)."""
    from mooc.privacy import corrections
    from mooc.reports import summary
    from mooc.training import completion, hooks, program_sync, programs

    completion.connect()
    hooks.connect()
    programs.connect()
    program_sync.connect()
    summary.connect()
    corrections.connect()


def _ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the database file but not its folder (instance/ on a fresh checkout)."""
    database = sa.engine.make_url(url).database if url.startswith("sqlite") else None
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _init_login(app: Flask) -> None:
    from mooc.auth import sessions

    login_manager.init_app(app)
    login_manager.user_loader(sessions.load_user)
    login_manager.session_protection = None  # server-side sessions do this job (auth/sessions.py)
    # Flask-Login's hook for the identifier (named with an underscore, kept for this use:
    # maxcountryman/flask-login#316).
    login_manager._session_identifier_generator = sessions.no_identifier
    app.session_interface = sessions.CookieSessions()
    login_manager.login_view = "auth.login"
    login_manager.login_message = None


def _init_directory(app: Flask, settings: Settings) -> None:
    """Directory sign-in (MOOC_LDAP_URL): the login page asks it through auth.backends, since
    auth may not import mooc.directory. With an OpenID provider and no directory, the password
    form stays for the roles that keep a local password (MOOC_LOCAL_PASSWORD_ROLES) only. With
    neither, local passwords are the only way in: every role keeps one. The setting is checked
    in every case, so a mistyped MOOC_LOCAL_PASSWORD_ROLES fails at start."""
    from mooc.auth import backends

    local_roles = backends.local_password_roles(settings.local_password_roles)
    if settings.ldap is not None:
        from mooc.directory import ldap  # ldap3 is loaded only where a directory is set

        backends.install(app, ldap.directory(settings.ldap, local_roles))
    elif settings.oidc is not None:
        backends.limit_local_passwords(app, local_roles)


def _drop_csrf_context_processor(app: Flask) -> None:
    """Flask-WTF gives templates ``csrf_token`` twice: as a global and by a context processor run
    before every template. The global is enough, and mooc/site replaces it with the one that
    leaves a hole in a kept page (mooc/kept.py), which the context processor would shadow."""
    processors = app.template_context_processors[None]
    processors[:] = [p for p in processors if getattr(p, "__module__", "") != "flask_wtf.csrf"]


def _register_blueprints(app: Flask) -> None:
    from mooc.api.views import bp as api_bp
    from mooc.api.views import pages as api_tokens_bp
    from mooc.auth.recovery_views import bp as account_bp
    from mooc.auth.second_factor_views import bp as second_factor_bp
    from mooc.auth.views import bp as auth_bp
    from mooc.courses.views import bp as courses_bp
    from mooc.directory.views import bp as directory_bp
    from mooc.privacy.views import bp as privacy_bp
    from mooc.quizzes.views import bp as quizzes_bp
    from mooc.reminders.views import bp as reminders_bp
    from mooc.reports.views import bp as reports_bp
    from mooc.roster.views import bp as roster_bp
    from mooc.search.views import bp as search_bp
    from mooc.site.views import bp as site_bp
    from mooc.training.views import bp as training_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(second_factor_bp)
    app.register_blueprint(roster_bp)
    app.register_blueprint(courses_bp)
    app.register_blueprint(quizzes_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(training_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)


# What a person who must set up a second factor may reach before they have (and public pages).
ENROLMENT_ENDPOINTS = frozenset({"second_factor.account", "second_factor.setup", "second_factor.confirm",
                                 "auth.logout"})


def _init_guards(app: Flask) -> None:
    oidc = settings(app).oidc
    security_headers = site_headers(content_security_policy(oidc.issuer if oidc else None),
                                    hsts=app.config["SESSION_COOKIE_SECURE"])
    from mooc.auth import second_factor

    @app.before_request
    def require_login():
        """Every endpoint needs a session unless its view is marked @public; a person who must
        use a second factor and has not set one up reaches only its pages (mooc/auth/signin.py)."""
        if request.endpoint is None:
            return None  # 404 / 405: let the error handlers answer
        if request.endpoint == "static":
            return None
        view = app.view_functions.get(request.endpoint)
        if getattr(view, "is_public", False):
            return None
        if current_user.is_authenticated:
            if second_factor.must_enrol_now(current_user) and request.endpoint not in ENROLMENT_ENDPOINTS:
                if request.method in ("GET", "HEAD"):
                    return redirect(url_for("second_factor.account", next=_came_from()))
                abort(403)
            return None
        if request.method in ("GET", "HEAD"):
            return login_manager.unauthorized()
        abort(401)

    readers_commit = readers_end_with_commit(app.config["SQLALCHEMY_DATABASE_URI"])

    @app.after_request
    def finish_request(response):
        """One transaction per request: commit what a successful request did, else roll back.
        A reading request (mooc/database.py: it may not write in its transaction, and tests
        refuse one that does) has nothing to commit: on SQLite its transaction ends when the
        app context's teardown closes the session, as it would after a commit. On PostgreSQL
        it commits all the same: psycopg forgets a connection's prepared statements at every
        ROLLBACK, so each statement would be parsed and planned again on every request (the
        lesson page's own: 0.15 -> 0.8 ms; database.readers_end_with_commit)."""
        # Asked before the commit, which expires the user: afterwards it would cost a query.
        signed_in = request.endpoint != "static" and current_user.is_authenticated
        if response.status_code >= 400 or g.get("rollback_only"):
            db.session.rollback()
        elif wants_write() or has_changes(db.session) or readers_commit:
            db.session.commit()
        headers = response.headers
        add_missing_headers(headers, security_headers)
        if signed_in and not g.get("cacheable"):
            # Pages about people are not kept by shared caches or the back button after logout.
            headers["Cache-Control"] = "no-store"
        return response


def _init_templates(app: Flask) -> None:
    app.jinja_env.filters["date"] = formatting.format_date
    app.jinja_env.filters["datetime"] = formatting.format_datetime
    app.jinja_env.filters["number"] = formatting.format_number
    app.jinja_env.filters["percent"] = formatting.format_percent
    app.jinja_env.filters["breakable"] = formatting.breakable
    app.jinja_env.filters["breakable_text"] = formatting.breakable_text
    # several rendered pieces on one page: each its own ids (a question's footnotes lead to its notes)
    app.jinja_env.filters["scope_ids"] = scope_ids
    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.globals["url_for"] = kept_url_for
    app.jinja_env.globals["LOCALES"] = LOCALES
    app.jinja_env.globals["get_locale"] = request_locale
    app.jinja_env.globals["unit_label"] = unit_label
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


@lru_cache(maxsize=256)
def _static_version(filename: str) -> str:
    path = STATIC_DIR / filename
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def static_url(filename: str) -> str:
    """URL of a static file with a content hash, so browsers may cache it for a year."""
    return kept_url_for("static", filename=filename, v=_static_version(filename))


ERROR_TEXT = {
    400: lambda: (_("Bad request"), _("The request could not be understood. Go back and try again.")),
    401: lambda: (_("Please sign in"), _("You need to sign in to do this.")),
    403: lambda: (_("Not allowed"), _("Your account does not have access to this page.")),
    404: lambda: (_("Page not found"), _("The page you asked for does not exist or has moved.")),
    405: lambda: (_("Not allowed"), _("This page cannot be used that way.")),
    413: lambda: (_("File too large"), _("The file is larger than the site accepts.")),
    429: lambda: (_("Too many requests"), _("Please wait a moment and try again.")),
    500: lambda: (_("Something went wrong"),
                  _("The error has been logged. Please try again in a few minutes.")),
}


SECRET_FIELDS = ("password", "token", "csrf", "secret")


def _came_from() -> str | None:
    """The page (on this site) the request came from: its path, for "go back" and sign-in's next."""
    if request.method in ("GET", "HEAD"):
        return safe_next(request.full_path if request.query_string else request.path)
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return None
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))


def _typed_texts() -> list[str]:
    """What a refused form held, to copy back: the texts typed, never a password or token."""
    texts = []
    for name, value in request.form.items(multi=True):
        if any(word in name.lower() for word in SECRET_FIELDS) or not value.strip() or value.isdigit():
            continue
        texts.append(value[:5000])
    return texts[:20]


def _init_errors(app: Flask) -> None:
    def render_error(code: int, title: str, message: str, **extra: Any):
        db.session.rollback()
        return render_template("errors/error.html", code=code, title=title, message=message,
                               came_from=_came_from(), **extra), code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, _("The form has expired"),
                            _("Nothing was saved. Go back to the form: what you typed is still there "
                              "in most browsers; submit it again."),
                            typed=_typed_texts(), expired_form=True)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        if is_api_path(request.path):  # the read API's clients read JSON, never an HTML page
            db.session.rollback()
            allow = {name: value for name, value in error.get_headers() if name == "Allow"}  # a 405's
            return problem(code, error.name, error.description, **allow)
        if code not in ERROR_TEXT:
            return error
        title, message = ERROR_TEXT[code]()
        return render_error(code, title, message)

    @app.errorhandler(500)
    def server_error(error: Exception):
        log.error("unhandled error on %s %s", request.method, request.path,
                  exc_info=getattr(error, "original_exception", error))
        if is_api_path(request.path):
            db.session.rollback()
            return problem(500, "Internal Server Error", "The error has been logged.")
        title, message = ERROR_TEXT[500]()
        return render_error(500, title, message)
