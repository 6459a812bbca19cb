"""Settings: read once from MOOC_* environment variables, checked before the app starts.

Every setting has a default that works on a laptop (SQLite in ``instance/``), except
that production refuses to start without a real secret key.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT_DIR = Path(__file__).resolve().parent.parent
"""The checkout: holds ``courses/``, ``migrations/``, ``static/`` and ``instance/``."""

SECRET_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"MOOC_{name} must be a whole number, not {raw!r}") from None


def _str(name: str, raw: str) -> str:
    return raw.strip()


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"MOOC_{name} must be true or false, not {raw!r}")


def _days(name: str, raw: str) -> tuple[int, ...]:
    """A list of days such as ``14,3,0``; ``off`` for none."""
    if raw.strip().lower() in {"off", "none", "no"}:
        return ()
    try:
        days = {int(part) for part in raw.replace(";", ",").split(",") if part.strip()}
    except ValueError:
        raise ConfigError(f"MOOC_{name} must be whole numbers of days separated by commas (or off), "
                          f"not {raw!r}") from None
    if any(day < 0 for day in days):
        raise ConfigError(f"MOOC_{name} cannot hold negative days: {raw!r}")
    return tuple(sorted(days, reverse=True))


# name -> (default, converter, description). The README's configuration table is this list.
SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "ENV": ("development", _str,
            "development or production; production requires a secret key and sends Secure cookies"),
    "SECRET_KEY": (None, _str, "signs sessions and tokens; required in production (32+ random characters)"),
    "DATABASE_URL": (None, _str, "SQLAlchemy URL; default SQLite in instance/mooc.sqlite3; "
                                 "PostgreSQL: postgresql+psycopg://user@host/db"),
    "INSTANCE_DIR": (None, _str, "folder for the SQLite database, the development secret key and "
                                 "the mail outbox; default ./instance"),
    "COURSES_DIR": (None, _str, "where the Markdown courses live; default ./courses"),
    "COURSES_AUTOSYNC": (None, _bool, "re-sync courses/ when its files change, on the next page view; "
                                      "default on in development, off in production"),
    "BASE_URL": ("http://127.0.0.1:5000", _str, "public address of the site, for links in e-mails"),
    "DEFAULT_LOCALE": ("vi", _str, "interface language for people who have not chosen one (vi or en)"),
    "TIMEZONE": ("Asia/Ho_Chi_Minh", _str, "time zone for dates shown to people and for due dates"),
    "SESSION_IDLE_MINUTES": (120, _int, "a session unused this long ends"),
    "SESSION_MAX_HOURS": (12, _int, "a session ends this long after sign-in, however active"),
    "LOGIN_MAX_FAILURES": (5, _int, "wrong passwords for one account before it is locked for a while"),
    "LOGIN_LOCK_MINUTES": (15, _int, "how long an account (or a client address) stays locked after too "
                                     "many wrong passwords"),
    "LOGIN_ADDRESS_MAX_FAILURES": (30, _int, "wrong passwords from one client address (any accounts) within "
                                             "LOGIN_LOCK_MINUTES before that address is locked for as long "
                                             "(password spraying; 0 = no limit). Behind a proxy, set "
                                             "PROXY_COUNT so the address is the client's"),
    "MAX_UPLOAD_MB": (20, _int, "largest accepted upload (roster files), in megabytes"),
    "MEDIA_MAX_MB": (200, _int, "largest video or audio file a course may hold (`mooc courses check` "
                                "refuses bigger ones), in megabytes"),
    "DB_POOL_SIZE": (5, _int, "PostgreSQL connections kept per app process"),
    "DB_STATEMENT_TIMEOUT_MS": (30000, _int, "PostgreSQL statement timeout for requests, in milliseconds"),
    "SQLITE_BUSY_TIMEOUT_MS": (15000, _int, "how long an SQLite writer waits for another to finish"),
    "PROXY_COUNT": (0, _int, "reverse proxies in front of the app whose X-Forwarded-* headers are trusted"),
    "MAIL_BACKEND": (None, _str, "file (writes .eml files into instance/outbox/) or smtp; "
                                 "default file, smtp in production"),
    "ALLOW_FILE_MAIL": (False, _bool, "let the file mail backend run although BASE_URL is not a loopback "
                                      "address: it writes working sign-in links for a reachable site "
                                      "to disk (e.g. a staging server nobody else uses)"),
    "MAIL_HOST": ("localhost", _str, "SMTP server"),
    "MAIL_PORT": (25, _int, "SMTP port (usually 25, 587 with starttls, 465 with ssl)"),
    "MAIL_TLS": ("none", _str, "none, starttls or ssl"),
    "MAIL_USER": ("", _str, "SMTP user name, if the server asks for one"),
    "MAIL_PASSWORD": ("", _str, "SMTP password"),
    "MAIL_SENDER": ("noreply@localhost", _str, "the From address of e-mails, e.g. "
                                               "Đào tạo Thanh tra <daotao@thanhtra.gov.vn>"),
    "ROSTER_CONFIRM_PERCENT": (10, _int, "a full roster import that would mark more than this share of "
                                         "active staff as left needs explicit confirmation"),
    "REMINDER_DAYS_BEFORE": ((14, 3, 0), _days, "days before a due date on which the trainee is reminded "
                                               "(0 = on the day; off = never); the largest is also the "
                                               "\"due soon\" horizon of the home page and the digest"),
    "REMINDER_OVERDUE_EVERY_DAYS": (7, _int, "while a course is overdue, remind the trainee every this "
                                             "many days (0 = never)"),
    "REMINDER_EXPIRY_DAYS": ((30,), _days, "days before a certificate expires on which its holder is "
                                           "reminded to renew (off = never)"),
    "REMINDER_DIGEST_WEEKDAY": (1, _int, "weekday of the managers' digest, 1 = Monday ... 7 = Sunday "
                                         "(0 = no digest); a later run in the same week catches up"),
    "REMINDER_PENDING_MINUTES": (30, _int, "a reminder claimed this long ago by a run that never confirmed "
                                           "it counts as unsent and is sent again"),
}

LOCALES = ("vi", "en")


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the MOOC_* variables into a plain dict of typed settings (no defaults filled from disk)."""
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    for name, (default, convert, _doc) in SETTINGS.items():
        raw = environ.get(f"MOOC_{name}")
        settings[name] = default if raw is None or raw.strip() == "" else convert(name, raw)
    return settings


def build_config(overrides: Mapping[str, Any] | None = None,
                 environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the Flask config for this process, or raise ConfigError saying what is wrong.

    ``overrides`` (used by tests and scripts) take precedence over the environment and use
    the same names as the MOOC_* variables without the prefix, or any Flask config key.
    """
    settings = load_settings(environ)
    overrides = dict(overrides or {})
    for key in list(overrides):
        if key in SETTINGS:
            settings[key] = overrides.pop(key)

    env = str(settings["ENV"]).lower()
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"MOOC_ENV must be development or production, not {settings['ENV']!r}")
    production = env == "production"

    instance_dir = Path(settings["INSTANCE_DIR"] or ROOT_DIR / "instance").resolve()
    courses_dir = Path(settings["COURSES_DIR"] or ROOT_DIR / "courses").resolve()

    secret = settings["SECRET_KEY"]
    if not secret:
        secret_file = instance_dir / SECRET_FILE
        if production:
            raise ConfigError(
                "MOOC_SECRET_KEY is not set. In production the app refuses to start without it: "
                "set it to a long random value, e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`, the same on every app server."
            )
        if secret_file.is_file():
            secret = secret_file.read_text(encoding="utf-8").strip()
        else:
            # Development without `mooc demo`: sessions last as long as this process.
            secret = secrets.token_urlsafe(48)
    elif production and len(secret) < 32:
        raise ConfigError("MOOC_SECRET_KEY is too short for production: use 32 or more random characters.")

    database_url = settings["DATABASE_URL"] or f"sqlite:///{instance_dir / 'mooc.sqlite3'}"
    if database_url.startswith("postgres://") or database_url.startswith("postgresql://"):
        # Be forgiving about the scheme people copy from their hosting panel.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

    locale = settings["DEFAULT_LOCALE"]
    if locale not in LOCALES:
        raise ConfigError(f"MOOC_DEFAULT_LOCALE must be one of {', '.join(LOCALES)}, not {locale!r}")

    idle = settings["SESSION_IDLE_MINUTES"]
    max_hours = settings["SESSION_MAX_HOURS"]
    if idle <= 0 or max_hours <= 0:
        raise ConfigError("MOOC_SESSION_IDLE_MINUTES and MOOC_SESSION_MAX_HOURS must be positive")

    mail_backend = (settings["MAIL_BACKEND"] or ("smtp" if production else "file")).lower()
    if mail_backend not in {"file", "smtp"}:
        raise ConfigError(f"MOOC_MAIL_BACKEND must be file or smtp, not {settings['MAIL_BACKEND']!r}")
    public_site = not is_loopback_url(settings["BASE_URL"])
    if mail_backend == "file" and public_site and not settings["ALLOW_FILE_MAIL"]:
        raise ConfigError(
            f"MOOC_MAIL_BACKEND is file (the default outside production) but MOOC_BASE_URL "
            f"({settings['BASE_URL']}) is not a loopback address: every invitation and password "
            f"reset would be written, with a working link to that site, into {instance_dir / 'outbox'} "
            f"instead of being sent. Set MOOC_MAIL_BACKEND=smtp and the MOOC_MAIL_* settings "
            f"(and MOOC_ENV=production on a real server), or MOOC_ALLOW_FILE_MAIL=true if writing "
            f"them to disk is really what you want.")
    mail_tls = settings["MAIL_TLS"].lower()
    if mail_tls not in {"none", "starttls", "ssl"}:
        raise ConfigError(f"MOOC_MAIL_TLS must be none, starttls or ssl, not {settings['MAIL_TLS']!r}")

    if not 0 <= settings["REMINDER_DIGEST_WEEKDAY"] <= 7:
        raise ConfigError("MOOC_REMINDER_DIGEST_WEEKDAY must be 1 (Monday) to 7 (Sunday), or 0 for no digest")
    if settings["REMINDER_OVERDUE_EVERY_DAYS"] < 0 or settings["REMINDER_PENDING_MINUTES"] <= 0:
        raise ConfigError("MOOC_REMINDER_OVERDUE_EVERY_DAYS must be 0 or more and "
                          "MOOC_REMINDER_PENDING_MINUTES more than 0")
    if settings["MEDIA_MAX_MB"] <= 0:
        raise ConfigError("MOOC_MEDIA_MAX_MB must be a positive number of megabytes")
    days_before = tuple(sorted(set(settings["REMINDER_DAYS_BEFORE"]), reverse=True))

    config: dict[str, Any] = {
        "MOOC_ENV": env,
        "TESTING": env == "testing",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url, settings),
        "MOOC_INSTANCE_DIR": instance_dir,
        "MOOC_COURSES_DIR": courses_dir,
        "MOOC_COURSES_AUTOSYNC": (env == "development" if settings["COURSES_AUTOSYNC"] is None
                                  else settings["COURSES_AUTOSYNC"]),
        "MOOC_BASE_URL": settings["BASE_URL"].rstrip("/"),
        "MOOC_TIMEZONE": settings["TIMEZONE"],
        "MOOC_SESSION_IDLE_MINUTES": idle,
        "MOOC_SESSION_MAX_HOURS": max_hours,
        "MOOC_LOGIN_MAX_FAILURES": settings["LOGIN_MAX_FAILURES"],
        "MOOC_LOGIN_LOCK_MINUTES": settings["LOGIN_LOCK_MINUTES"],
        "MOOC_LOGIN_ADDRESS_MAX_FAILURES": settings["LOGIN_ADDRESS_MAX_FAILURES"],
        "MOOC_PROXY_COUNT": settings["PROXY_COUNT"],
        "MOOC_MAIL_BACKEND": mail_backend,
        "MOOC_MAIL_HOST": settings["MAIL_HOST"],
        "MOOC_MAIL_PORT": settings["MAIL_PORT"],
        "MOOC_MAIL_TLS": mail_tls,
        "MOOC_MAIL_USER": settings["MAIL_USER"],
        "MOOC_MAIL_PASSWORD": settings["MAIL_PASSWORD"],
        "MOOC_MAIL_SENDER": settings["MAIL_SENDER"],
        "MOOC_ROSTER_CONFIRM_PERCENT": settings["ROSTER_CONFIRM_PERCENT"],
        "MOOC_MEDIA_MAX_MB": settings["MEDIA_MAX_MB"],
        "MOOC_REMINDER_DAYS_BEFORE": days_before,
        # The home page's "due soon" warnings and the digest start with the first reminder.
        "MOOC_REMINDER_DUE_SOON_DAYS": days_before[0] if days_before else 14,
        "MOOC_REMINDER_OVERDUE_EVERY_DAYS": settings["REMINDER_OVERDUE_EVERY_DAYS"],
        "MOOC_REMINDER_EXPIRY_DAYS": tuple(sorted(set(settings["REMINDER_EXPIRY_DAYS"]), reverse=True)),
        "MOOC_REMINDER_DIGEST_WEEKDAY": settings["REMINDER_DIGEST_WEEKDAY"],
        "MOOC_REMINDER_PENDING_MINUTES": settings["REMINDER_PENDING_MINUTES"],
        "MOOC_PASSWORD_METHOD": "scrypt",
        "BABEL_DEFAULT_LOCALE": locale,
        "BABEL_DEFAULT_TIMEZONE": settings["TIMEZONE"],
        "MAX_CONTENT_LENGTH": settings["MAX_UPLOAD_MB"] * 1024 * 1024,
        # The signed cookie only carries an opaque session token; the server decides if it
        # is still valid (see auth/sessions.py).
        "SESSION_COOKIE_NAME": "mooc_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": max_hours * 3600,
        "REMEMBER_COOKIE_DURATION": 0,
        # CSRF tokens live as long as the session: a long quiz must not fail on submit.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": production,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "SEND_FILE_MAX_AGE_DEFAULT": 0,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
    }
    config.update(overrides)
    return config


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine only (localhost, 127.0.0.0/8, ::1)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def development_warnings(config: Mapping[str, Any]) -> list[str]:
    """What a server started without MOOC_ENV=production does differently (printed by
    `mooc serve` and `mooc demo`; empty in production)."""
    if config["MOOC_ENV"] == "production":
        return []
    warnings = [f"MOOC_ENV is {config['MOOC_ENV']}, not production: development defaults are on. "
                "Do not serve real people like this (see docs/operations.md)."]
    if not config["SESSION_COOKIE_SECURE"]:
        warnings.append("Session cookies are not marked Secure (they would also travel over plain HTTP).")
    if config["MOOC_MAIL_BACKEND"] == "file":
        warnings.append(f"E-mails are not sent: they are written, with working sign-in and reset links, "
                        f"into {Path(config['MOOC_INSTANCE_DIR']) / 'outbox'}.")
    if config["MOOC_COURSES_AUTOSYNC"]:
        warnings.append("Courses are re-synced from their folder on page views (authors' preview).")
    return warnings


def engine_options(url: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Engine options per database: SQLite waits for writers; PostgreSQL checks pooled connections."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": settings["SQLITE_BUSY_TIMEOUT_MS"] / 1000,
                                 "check_same_thread": False}}
    if url.startswith("postgresql"):
        return {
            "pool_pre_ping": True,
            "pool_size": settings["DB_POOL_SIZE"],
            "max_overflow": settings["DB_POOL_SIZE"],
            "pool_recycle": 1800,
            "connect_args": {
                # JIT compiling costs more than it saves on this app's statements (compliance
                # on a date for the ministry: 1.7 s of JIT for 1.2 s of work; docs/performance.md).
                "options": f"-c statement_timeout={settings['DB_STATEMENT_TIMEOUT_MS']} -c jit=off",
                "application_name": "mooc",
                "connect_timeout": 10,  # a server that does not answer fails the request, not the worker
            },
        }
    return {}
