"""Settings: read once from MOOC_* environment variables, checked before the app starts,
kept in one frozen, typed object (``Settings``) that the code reads by attribute:
``settings().base_url`` (never a string key in ``app.config``).

Every setting has a default that works on a laptop (SQLite in ``instance/``), except
that production refuses to start without a real secret key.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from flask import Flask, current_app, has_request_context, request

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


ROLE_NAMES = ("trainee", "manager", "officer", "reporter", "admin")  # mooc.auth.models.Role (a test checks)


def _roles(name: str, raw: str) -> tuple[str, ...]:
    """Role names such as ``manager,admin``; ``none`` for none."""
    if raw.strip().lower() in {"none", "off", "no"}:
        return ()
    roles = tuple(part.strip().lower() for part in raw.replace(";", ",").split(",") if part.strip())
    unknown = [role for role in roles if role not in ROLE_NAMES]
    if unknown:
        raise ConfigError(f"MOOC_{name} names unknown roles {', '.join(unknown)}: use "
                          f"{', '.join(ROLE_NAMES)} (comma-separated) or none")
    return roles


def _keys(name: str, raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


# name -> (default, converter, description). The README's configuration table is this list.
SETTINGS: dict[str, tuple[Any, Any, str]] = {
    "ENV": ("development", _str,
            "development or production; production requires a secret key and sends Secure cookies"),
    "SECRET_KEY": (None, _str, "signs sessions and tokens; required in production (32+ random characters)"),
    "DATABASE_URL": (None, _str, "SQLAlchemy URL; default SQLite in instance/mooc.sqlite3; "
                                 "PostgreSQL: postgresql+psycopg://user@host/db"),
    "DATABASE_REPLICA_URL": (None, _str, "optional PostgreSQL streaming replica (SQLAlchemy URL) that report "
                                         "pages, their exports and search read from; everything else, and "
                                         "a person's reads just after they wrote, use DATABASE_URL "
                                         "(docs/operations.md, \"More than one machine\")"),
    "REPLICA_STICKY_SECONDS": (15, _int, "after a person writes, their reports read the primary this long "
                                         "(read-your-writes; longer than the replica's usual lag)"),
    "REPLICA_RETRY_SECONDS": (30, _int, "a replica that refused a connection or did not answer is left "
                                        "alone this long (reads go to the primary), then tried again"),
    "REPLICA_MAX_LAG_SECONDS": (30, _int, "a replica further behind the primary than this is not read (the "
                                          "primary answers) until it catches up; checked every few seconds"),
    "INSTANCE_DIR": (None, _str, "folder for the SQLite database, the development secret key and "
                                 "the mail outbox; default ./instance"),
    "COURSES_DIR": (None, _str, "where the Markdown courses live; default ./courses"),
    "COURSES_AUTOSYNC": (None, _bool, "re-sync courses/ when its files change, on the next page view; "
                                      "default on in development, off in production"),
    "BASE_URL": ("http://127.0.0.1:5000", _str, "public address of the site, for links in e-mails and on "
                                               "certificates; when unset, outside production, the address "
                                               "a page was asked at (the CLI then uses the default)"),
    "ISSUER": ("Ngành Thanh tra", _str, "the body named on certificates as issuing them, e.g. "
                                        "\"Thanh tra tỉnh Ninh Bình\""),
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
    # Deployment behind nginx (deploy/, docs/operations.md "Install on a Debian server")
    "ACCEL_REDIRECT": (False, _bool, "behind the nginx site of deploy/: course files and report exports are "
                                     "handed to nginx with X-Accel-Redirect after the app checked access "
                                     "(nginx sends the bytes); off: the app sends them itself"),
    "SPOOL_DIR": (None, _str, "with ACCEL_REDIRECT, where finished exports wait for nginx to send them "
                              "(nginx must read it); default INSTANCE_DIR/spool"),
    "BACKUP_DIR": ("", _str, "where deploy/backup.sh (mooc-backup.timer) writes the nightly backups; set "
                             "on the machine that runs it, `mooc doctor` reports the newest one's age"),
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
    # xAPI: training events sent to a learning-records store by `mooc xapi send` (cron)
    "XAPI_URL": ("", _str, "the learning-records store's xAPI endpoint, e.g. "
                          "https://lrs.example.gov.vn/xAPI/ (empty: no statements are sent)"),
    "XAPI_USER": ("", _str, "basic-auth user name at the store"),
    "XAPI_PASSWORD": ("", _str, "basic-auth password at the store"),
    "XAPI_ACCOUNT_HOMEPAGE": ("", _str, "homePage of the people's xAPI accounts (their staff code is the "
                                        "account name); default MOOC_BASE_URL"),
    "XAPI_BATCH": (100, _int, "statements per request to the store"),
    # The read API (/api/v1/, mooc/api): requests per minute and token; tokens' longest life
    "API_RATE_PER_MINUTE": (120, _int, "read API requests per minute for one token (beyond: HTTP 429)"),
    # --- OpenID Connect sign-in (mooc/directory/oidc.py; docs/operations.md "OpenID Connect") ---
    "OIDC_ISSUER": ("", _str, "the OpenID provider's issuer URL (its /.well-known/openid-configuration is "
                              "read from it); empty = no OpenID Connect sign-in"),
    "OIDC_CLIENT_ID": ("", _str, "this platform's client id at the provider"),
    "OIDC_CLIENT_SECRET": ("", _str, "its client secret (or OIDC_CLIENT_SECRET_FILE)"),
    "OIDC_CLIENT_SECRET_FILE": ("", _str, "a file holding the client secret (first line)"),
    "OIDC_SCOPES": ("openid email profile", _str, "the scopes asked for, separated by spaces (openid first)"),
    "OIDC_MATCH_BY": ("email", _str, "how a person is found on the roster: staff_code or email"),
    "OIDC_STAFF_CODE_CLAIM": ("staff_code", _str, "the ID token claim carrying the staff code"),
    "OIDC_EMAIL_CLAIM": ("email", _str, "the ID token claim carrying the e-mail address"),
    "OIDC_LABEL": ("OpenID Connect", _str, "the provider's name on the sign-in button "
                                           "(\"Sign in with ...\")"),
    "OIDC_MFA_AMR": ("mfa,otp,hwk", _str, "values of the ID token's amr claim that count as a second factor "
                                         "(comma-separated; empty = never)"),
    "OIDC_REDIRECT_URI": ("", _str, "the callback address registered at the provider; default: "
                                    "<this site>/oidc/callback as the request reached it"),
    # --- Directory sign-in: LDAP / Active Directory (issue 22; docs/operations.md, "Directory
    # sign-in (LDAP / Active Directory)"; LdapSettings below) ---
    "LDAP_URL": ("", _str, "the directory server, ldaps://host[:636] or ldap://host[:389] (StartTLS); "
                           "empty: no directory sign-in"),
    "LDAP_TLS": ("", _str, "ldaps, starttls or none; default from the URL (ldaps:// = ldaps, ldap:// = "
                           "starttls); none sends passwords in clear and needs LDAP_ALLOW_PLAIN outside "
                           "production (never in production)"),
    "LDAP_ALLOW_PLAIN": (False, _bool, "allow LDAP_TLS=none (a test or development directory only)"),
    "LDAP_CA_FILE": ("", _str, "PEM file of the CA(s) that signed the directory's certificate; default "
                               "the system's trusted CAs"),
    "LDAP_BIND_DN": ("", _str, "the service account that searches the directory, e.g. "
                               "CN=svc-daotao,OU=Service,DC=thanhtra,DC=gov,DC=vn"),
    "LDAP_BIND_PASSWORD": ("", _str, "the service account's password (or LDAP_BIND_PASSWORD_FILE)"),
    "LDAP_BIND_PASSWORD_FILE": ("", _str, "a file holding the service account's password (read at start)"),
    "LDAP_BASE_DN": ("", _str, "where people are searched (the whole subtree), e.g. OU=Staff,DC=thanhtra,"
                               "DC=gov,DC=vn"),
    "LDAP_USER_ATTRIBUTE": ("uid", _str, "the attribute people type as their user name (Active "
                                         "Directory: sAMAccountName); an e-mail address also works"),
    "LDAP_EMAIL_ATTRIBUTE": ("mail", _str, "the attribute holding the e-mail address"),
    "LDAP_STAFF_CODE_ATTRIBUTE": ("employeeNumber", _str, "the attribute holding the roster's staff code "
                                                          "(Active Directory: often employeeID)"),
    "LDAP_MATCH_BY": ("staff_code", _str, "staff_code or email: how a directory account is matched to "
                                          "the roster (never created from it)"),
    "LDAP_USER_FILTER": ("(objectClass=person)", _str, "an LDAP filter every person must also match "
                                                      "(Active Directory: leave out disabled accounts)"),
    "LDAP_TIMEOUT_SECONDS": (5, _int, "how long a connection to the directory, and each answer, may take"),
    "LOCAL_PASSWORD_ROLES": ("all", _str, "with directory sign-in on, the roles that may still sign in "
                                          "with a password kept here (comma-separated, e.g. admin; "
                                          "must include admin); all: everybody"),
    # --- two-factor sign-in (issue 22; mooc/auth/second_factor.py, docs/operations.md) ---
    "TWO_FACTOR_REQUIRED_ROLES": (("manager", "officer", "reporter", "admin"), _roles,
                                  "roles that must use a second factor (an authenticator app's code) "
                                  "at sign-in: by default every role that can read other people's "
                                  "records; others may turn it on from their account page (none = "
                                  "nobody must)"),
    "TWO_FACTOR_REMEMBER_DAYS": (30, _int, "a browser may be remembered this many days after a right code, "
                                           "so the code is not asked there again (at most 30; 0 = never)"),
    "TWO_FACTOR_MAX_FAILURES": (5, _int, "wrong codes for one account before its code step is locked for "
                                         "LOGIN_LOCK_MINUTES"),
    "TWO_FACTOR_PREVIOUS_SECRET_KEYS": ((), _keys, "earlier SECRET_KEYs, comma-separated, still accepted "
                                                   "to read stored authenticator secrets after a key "
                                                   "rotation (until `mooc users rotate-two-factor` "
                                                   "re-encrypted them)"),
    # --- personal-data rights and retention (mooc/privacy; docs/security.md "Personal data") ---
    "PRIVACY_RETENTION_DAYS": (1825, _int, "days after their leaving date after which `mooc privacy purge` "
                                           "pseudonymises a person who left (name, e-mail, staff code); "
                                           "0 = never"),
    "OUTBOX_RETENTION_DAYS": (30, _int, "days an e-mail written to instance/outbox/ (the file mail backend) "
                                        "is kept before `mooc privacy purge` deletes it"),
    "PRIVACY_NOTICE_FILE": ("", _str, "the privacy notice page's Markdown file; default the shipped "
                                      "mooc/privacy/notice.vi.md"),
}

LOCALES = ("vi", "en")
PASSWORD_METHOD = "scrypt"  # noqa: S105 (a hash method, not a password)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The app's settings, typed and checked: built once per app by ``build_settings()`` (in
    ``create_app``) and read by attribute, ``settings().base_url``. Frozen: nothing changes
    them while the app runs. Flask's own keys and its extensions' (``SECRET_KEY``,
    ``SQLALCHEMY_*``, ``BABEL_*``, cookies) are derived from them into ``app.config``
    (``flask_config()``); no ``MOOC_*`` key is kept there."""

    env: str  # development, production or testing (the test suite's)
    secret_key: str = field(repr=False)
    database_url: str = field(repr=False)  # may hold a password
    database_replica_url: str = field(repr=False, default="")  # "" = no replica
    replica_sticky_seconds: int = 15
    replica_retry_seconds: int = 30
    replica_max_lag_seconds: int = 30
    instance_dir: Path
    courses_dir: Path
    courses_autosync: bool
    base_url: str  # without a trailing slash; links are built by public_url()
    base_url_set: bool = False  # MOOC_BASE_URL was given (else base_url is the default)
    default_locale: str
    issuer: str
    timezone: str
    session_idle_minutes: int
    session_max_hours: int
    login_max_failures: int
    login_lock_minutes: int
    login_address_max_failures: int
    max_upload_mb: int
    media_max_mb: int
    db_pool_size: int
    db_statement_timeout_ms: int
    sqlite_busy_timeout_ms: int
    proxy_count: int
    accel_redirect: bool = False  # deploy/: nginx sends course files and exports (X-Accel-Redirect)
    spool_dir: Path = Path("spool")  # exports waiting for nginx (with accel_redirect)
    backup_dir: Path | None = None  # deploy/backup.sh's folder, on the machine that runs it (doctor)
    mail_backend: str  # file or smtp
    allow_file_mail: bool
    mail_host: str
    mail_port: int
    mail_tls: str  # none, starttls or ssl
    mail_user: str
    mail_password: str = field(repr=False)
    mail_sender: str
    roster_confirm_percent: int
    reminder_days_before: tuple[int, ...]  # largest first
    reminder_overdue_every_days: int
    reminder_expiry_days: tuple[int, ...]  # largest first
    reminder_digest_weekday: int
    reminder_pending_minutes: int
    privacy_retention_days: int = 1825
    outbox_retention_days: int = 30
    privacy_notice_file: Path | None = None  # None: the shipped notice
    password_method: str = PASSWORD_METHOD  # tests use a fast hash
    xapi_url: str = ""  # "" = off
    xapi_user: str = ""
    xapi_password: str = field(repr=False, default="")
    xapi_account_homepage: str = ""  # "" = base_url
    xapi_batch: int = 100
    api_rate_per_minute: int = 120
    oidc: OidcSettings | None = None  # None: no OpenID Connect sign-in
    # Directory sign-in (LDAP): None when MOOC_LDAP_URL is empty; the roles that keep a local
    # password when a directory is on (None: every role; checked against the roles by create_app).
    ldap: LdapSettings | None = None
    local_password_roles: tuple[str, ...] | None = None
    # two-factor sign-in (mooc/auth/second_factor.py)
    two_factor_required_roles: tuple[str, ...] = ("manager", "officer", "reporter", "admin")
    two_factor_remember_days: int = 30
    two_factor_max_failures: int = 5
    two_factor_previous_secret_keys: tuple[str, ...] = field(repr=False, default=())

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def testing(self) -> bool:
        return self.env == "testing"

    @property
    def reminder_due_soon_days(self) -> int:
        """The home page's "due soon" warnings and the digest start with the first reminder."""
        return self.reminder_days_before[0] if self.reminder_days_before else 14


# --- OpenID Connect sign-in: the checked MOOC_OIDC_* settings ---
OIDC_MATCH_BY = ("staff_code", "email")


@dataclass(frozen=True, kw_only=True)
class OidcSettings:
    """MOOC_OIDC_*: the OpenID provider the sign-in page offers (mooc/directory/oidc.py)."""

    issuer: str  # without a trailing slash
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    match_by: str  # staff_code or email
    staff_code_claim: str
    email_claim: str
    label: str
    mfa_amr: frozenset[str]
    redirect_uri: str  # "" = derived from the request


def _oidc_settings(values: Mapping[str, Any], production: bool) -> OidcSettings | None:
    """The OpenID Connect settings, checked; None when MOOC_OIDC_ISSUER is not set."""
    issuer = values["OIDC_ISSUER"].rstrip("/")
    if not issuer:
        return None
    _check_oidc_issuer(issuer, production)
    if not values["OIDC_CLIENT_ID"]:
        raise ConfigError("MOOC_OIDC_ISSUER is set but MOOC_OIDC_CLIENT_ID is not: give the client id "
                          "this platform is registered under at the provider")
    secret = _oidc_secret(values)
    scopes = tuple(values["OIDC_SCOPES"].split())
    if "openid" not in scopes:
        raise ConfigError(f"MOOC_OIDC_SCOPES must include openid, not {values['OIDC_SCOPES']!r}")
    match_by = values["OIDC_MATCH_BY"].lower()
    if match_by not in OIDC_MATCH_BY:
        raise ConfigError(f"MOOC_OIDC_MATCH_BY must be staff_code or email, not {values['OIDC_MATCH_BY']!r}")
    if not (values["OIDC_STAFF_CODE_CLAIM"] if match_by == "staff_code" else values["OIDC_EMAIL_CLAIM"]):
        raise ConfigError(f"MOOC_OIDC_MATCH_BY is {match_by}: the name of its claim must not be empty")
    redirect_uri = values["OIDC_REDIRECT_URI"]
    if redirect_uri and urlsplit(redirect_uri).scheme not in ("http", "https"):
        raise ConfigError(f"MOOC_OIDC_REDIRECT_URI must be an http(s):// URL, not {redirect_uri!r}")
    return OidcSettings(
        issuer=issuer, client_id=values["OIDC_CLIENT_ID"], client_secret=secret, scopes=scopes,
        match_by=match_by, staff_code_claim=values["OIDC_STAFF_CODE_CLAIM"],
        email_claim=values["OIDC_EMAIL_CLAIM"], label=values["OIDC_LABEL"] or "OpenID Connect",
        mfa_amr=frozenset(v.strip() for v in values["OIDC_MFA_AMR"].split(",") if v.strip()),
        redirect_uri=redirect_uri)


def _check_oidc_issuer(issuer: str, production: bool) -> None:
    scheme = urlsplit(issuer).scheme
    if scheme != "https" and not (scheme == "http" and is_loopback_url(issuer) and not production):
        raise ConfigError(f"MOOC_OIDC_ISSUER must be an https:// URL, not {issuer!r} (plain http only "
                          "for a provider on this machine, outside production)")


def _oidc_secret(values: Mapping[str, Any]) -> str:
    secret = values["OIDC_CLIENT_SECRET"]
    if values["OIDC_CLIENT_SECRET_FILE"]:
        if secret:
            raise ConfigError("set MOOC_OIDC_CLIENT_SECRET or MOOC_OIDC_CLIENT_SECRET_FILE, not both")
        try:
            secret = Path(values["OIDC_CLIENT_SECRET_FILE"]).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"MOOC_OIDC_CLIENT_SECRET_FILE cannot be read: {error}") from None
    if not secret:
        raise ConfigError("MOOC_OIDC_ISSUER is set but there is no client secret: set "
                          "MOOC_OIDC_CLIENT_SECRET or MOOC_OIDC_CLIENT_SECRET_FILE")
    return secret


# Overrides (tests, scripts) may also name these, which have no MOOC_* variable.
OVERRIDE_ONLY = {"PASSWORD_METHOD"}


def read_variables(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the MOOC_* variables into a plain dict of converted values, by name without the
    prefix (no defaults filled from disk, nothing cross-checked: ``build_settings`` does that)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (default, convert, _doc) in SETTINGS.items():
        raw = environ.get(f"MOOC_{name}")
        values[name] = default if raw is None or raw.strip() == "" else convert(name, raw)
    return values


def _split(overrides: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Overrides that name a setting (``BASE_URL``) and the rest (Flask keys: ``WTF_CSRF_ENABLED``)."""
    ours: dict[str, Any] = {}
    flask: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key in SETTINGS or key in OVERRIDE_ONLY:
            ours[key] = value
        elif key.startswith("MOOC_"):
            raise ConfigError(f"unknown override {key!r}: name a setting without the MOOC_ prefix "
                              f"(e.g. {key.removeprefix('MOOC_')!r}); see mooc/config.py SETTINGS")
        else:
            flask[key] = value
    return ours, flask


# Settings read as they are from their MOOC_* variable (the field's name in capitals).
_PLAIN_SETTINGS = (
    "issuer", "timezone", "session_idle_minutes", "session_max_hours", "login_max_failures",
    "login_lock_minutes", "login_address_max_failures", "max_upload_mb", "media_max_mb",
    "db_pool_size", "db_statement_timeout_ms", "sqlite_busy_timeout_ms", "proxy_count",
    "mail_host", "mail_port", "mail_user", "mail_password", "mail_sender",
    "roster_confirm_percent", "reminder_overdue_every_days", "reminder_digest_weekday",
    "reminder_pending_minutes", "xapi_user", "xapi_password", "xapi_batch",
    "api_rate_per_minute",
    "reminder_pending_minutes",
    "two_factor_required_roles", "two_factor_remember_days", "two_factor_max_failures",
    "two_factor_previous_secret_keys",
    "reminder_pending_minutes", "privacy_retention_days", "outbox_retention_days",
)


def build_settings(overrides: Mapping[str, Any] | None = None,
                   environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of this process, or ConfigError saying what is wrong and how to fix it.

    ``overrides`` (tests and scripts) take precedence over the environment; they use the
    names of the MOOC_* variables without the prefix, with values already typed. Other keys
    are Flask's (``flask_config``).
    """
    values = read_variables(environ)
    values.update(_split(overrides)[0])

    env = str(values["ENV"]).lower()
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"MOOC_ENV must be development or production, not {values['ENV']!r}")
    production = env == "production"

    instance_dir = Path(values["INSTANCE_DIR"] or ROOT_DIR / "instance").resolve()
    courses_dir = Path(values["COURSES_DIR"] or ROOT_DIR / "courses").resolve()
    secret = _secret_key(values["SECRET_KEY"], instance_dir, production)
    database_url = _database_url(values["DATABASE_URL"], instance_dir)
    replica_url = _replica_url(values, database_url)
    _check_locale_and_session(values)
    mail_backend, mail_tls = _mail_backend(values, instance_dir, production)
    _check_reminders_and_media(values)
    _check_two_factor(values)

    return Settings(
        env=env,
        secret_key=secret,
        database_url=database_url,
        database_replica_url=replica_url,
        replica_sticky_seconds=values["REPLICA_STICKY_SECONDS"],
        replica_retry_seconds=values["REPLICA_RETRY_SECONDS"],
        replica_max_lag_seconds=values["REPLICA_MAX_LAG_SECONDS"],
        instance_dir=instance_dir,
        courses_dir=courses_dir,
        courses_autosync=(env == "development" if values["COURSES_AUTOSYNC"] is None
                          else bool(values["COURSES_AUTOSYNC"])),
        base_url=values["BASE_URL"].rstrip("/"),
        base_url_set=values["BASE_URL"] != SETTINGS["BASE_URL"][0],
        default_locale=values["DEFAULT_LOCALE"],
        mail_backend=mail_backend,
        allow_file_mail=bool(values["ALLOW_FILE_MAIL"]),
        mail_tls=mail_tls,
        reminder_days_before=tuple(sorted(set(values["REMINDER_DAYS_BEFORE"]), reverse=True)),
        reminder_expiry_days=tuple(sorted(set(values["REMINDER_EXPIRY_DAYS"]), reverse=True)),
        password_method=values.get("PASSWORD_METHOD") or PASSWORD_METHOD,
        xapi_url=_xapi_url(values),
        xapi_account_homepage=values["XAPI_ACCOUNT_HOMEPAGE"].rstrip("/"),
        oidc=_oidc_settings(values, production),
        ldap=_ldap_settings(values, production),
        local_password_roles=_local_password_roles(values["LOCAL_PASSWORD_ROLES"]),
        accel_redirect=bool(values["ACCEL_REDIRECT"]),
        spool_dir=Path(values["SPOOL_DIR"] or instance_dir / "spool").resolve(),
        backup_dir=Path(values["BACKUP_DIR"]).resolve() if values["BACKUP_DIR"] else None,
        privacy_notice_file=_privacy_notice_file(values),
        **{name: values[name.upper()] for name in _PLAIN_SETTINGS},
    )


def _xapi_url(values: dict[str, Any]) -> str:
    url = values["XAPI_URL"]
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"MOOC_XAPI_URL must be an http(s) address, not {url!r}")
    if not 1 <= values["XAPI_BATCH"] <= 1000:
        raise ConfigError(f"MOOC_XAPI_BATCH must be between 1 and 1000, not {values['XAPI_BATCH']}")
    return url


def _secret_key(secret: str, instance_dir: Path, production: bool) -> str:
    if not secret:
        secret_file = instance_dir / SECRET_FILE
        if production:
            raise ConfigError(
                "MOOC_SECRET_KEY is not set. In production the app refuses to start without it: "
                "set it to a long random value, e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`, the same on every app server."
            )
        if secret_file.is_file():
            return secret_file.read_text(encoding="utf-8").strip()
        # Development without `mooc demo`: sessions last as long as this process.
        return secrets.token_urlsafe(48)
    if production and len(secret) < 32:
        raise ConfigError("MOOC_SECRET_KEY is too short for production: use 32 or more random characters.")
    return secret


def _database_url(database_url: str, instance_dir: Path) -> str:
    database_url = database_url or f"sqlite:///{instance_dir / 'mooc.sqlite3'}"
    if database_url.startswith("postgres://") or database_url.startswith("postgresql://"):
        # Be forgiving about the scheme people copy from their hosting panel.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    return database_url


def _replica_url(values: Mapping[str, Any], database_url: str) -> str:
    """The read replica's URL ("" for none): PostgreSQL beside a PostgreSQL primary only."""
    raw = values["DATABASE_REPLICA_URL"]
    if not raw:
        return ""
    url = _database_url(raw, Path("."))
    if not (url.startswith("postgresql") and database_url.startswith("postgresql")):
        raise ConfigError("MOOC_DATABASE_REPLICA_URL is a PostgreSQL streaming replica of a PostgreSQL "
                          "MOOC_DATABASE_URL: both must be postgresql:// URLs (unset it on SQLite)")
    if min(values["REPLICA_STICKY_SECONDS"], values["REPLICA_MAX_LAG_SECONDS"]) < 0 \
            or values["REPLICA_RETRY_SECONDS"] <= 0:
        raise ConfigError("MOOC_REPLICA_STICKY_SECONDS and MOOC_REPLICA_MAX_LAG_SECONDS must be 0 or more, "
                          "MOOC_REPLICA_RETRY_SECONDS more than 0")
    return url


def _check_locale_and_session(values: Mapping[str, Any]) -> None:
    locale = values["DEFAULT_LOCALE"]
    if locale not in LOCALES:
        raise ConfigError(f"MOOC_DEFAULT_LOCALE must be one of {', '.join(LOCALES)}, not {locale!r}")
    if values["SESSION_IDLE_MINUTES"] <= 0 or values["SESSION_MAX_HOURS"] <= 0:
        raise ConfigError("MOOC_SESSION_IDLE_MINUTES and MOOC_SESSION_MAX_HOURS must be positive")


def _mail_backend(values: Mapping[str, Any], instance_dir: Path, production: bool) -> tuple[str, str]:
    """The mail backend and its TLS mode, checked."""
    mail_backend = (values["MAIL_BACKEND"] or ("smtp" if production else "file")).lower()
    if mail_backend not in {"file", "smtp"}:
        raise ConfigError(f"MOOC_MAIL_BACKEND must be file or smtp, not {values['MAIL_BACKEND']!r}")
    public_site = not is_loopback_url(values["BASE_URL"])
    if mail_backend == "file" and public_site and not values["ALLOW_FILE_MAIL"]:
        raise ConfigError(
            f"MOOC_MAIL_BACKEND is file (the default outside production) but MOOC_BASE_URL "
            f"({values['BASE_URL']}) is not a loopback address: every invitation and password "
            f"reset would be written, with a working link to that site, into {instance_dir / 'outbox'} "
            f"instead of being sent. Set MOOC_MAIL_BACKEND=smtp and the MOOC_MAIL_* settings "
            f"(and MOOC_ENV=production on a real server), or MOOC_ALLOW_FILE_MAIL=true if writing "
            f"them to disk is really what you want.")
    mail_tls = values["MAIL_TLS"].lower()
    if mail_tls not in {"none", "starttls", "ssl"}:
        raise ConfigError(f"MOOC_MAIL_TLS must be none, starttls or ssl, not {values['MAIL_TLS']!r}")
    return mail_backend, mail_tls


def _check_reminders_and_media(values: Mapping[str, Any]) -> None:
    if not 0 <= values["REMINDER_DIGEST_WEEKDAY"] <= 7:
        raise ConfigError("MOOC_REMINDER_DIGEST_WEEKDAY must be 1 (Monday) to 7 (Sunday), or 0 for no digest")
    if values["REMINDER_OVERDUE_EVERY_DAYS"] < 0 or values["REMINDER_PENDING_MINUTES"] <= 0:
        raise ConfigError("MOOC_REMINDER_OVERDUE_EVERY_DAYS must be 0 or more and "
                          "MOOC_REMINDER_PENDING_MINUTES more than 0")
    if values["MEDIA_MAX_MB"] <= 0:
        raise ConfigError("MOOC_MEDIA_MAX_MB must be a positive number of megabytes")


# --- Directory sign-in: LDAP / Active Directory (issue 22) ----------------------------------

LDAP_TLS_MODES = ("ldaps", "starttls", "none")
LDAP_MATCH_BY = ("staff_code", "email")
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")


@dataclass(frozen=True, kw_only=True)
class LdapSettings:
    """Where the directory is and how to ask it (mooc/directory/ldap.py)."""

    url: str
    host: str
    port: int
    tls: str  # ldaps, starttls or none
    ca_file: Path | None  # None: the system's trusted CAs
    bind_dn: str
    bind_password: str = field(repr=False)
    base_dn: str
    user_attribute: str
    email_attribute: str
    staff_code_attribute: str
    match_by: str  # staff_code or email
    user_filter: str
    timeout_seconds: int


def _ldap_settings(values: Mapping[str, Any], production: bool) -> LdapSettings | None:
    """The directory's settings, checked together; None when MOOC_LDAP_URL is empty."""
    url = values["LDAP_URL"]
    if not url:
        return None
    host, port, tls = _ldap_address(values, production)
    ca_file = Path(values["LDAP_CA_FILE"]).expanduser() if values["LDAP_CA_FILE"] else None
    if ca_file is not None and not ca_file.is_file():
        raise ConfigError(f"MOOC_LDAP_CA_FILE {ca_file} is not a file")
    base_dn, bind_dn = values["LDAP_BASE_DN"], values["LDAP_BIND_DN"]
    if not base_dn or not bind_dn:
        raise ConfigError("MOOC_LDAP_URL is set: set MOOC_LDAP_BASE_DN (where people are) and "
                          "MOOC_LDAP_BIND_DN (the service account that searches) too")
    _check_ldap_search(values)
    return LdapSettings(
        url=url, host=host, port=port, tls=tls, ca_file=ca_file, bind_dn=bind_dn,
        bind_password=_ldap_bind_password(values), base_dn=base_dn,
        user_attribute=values["LDAP_USER_ATTRIBUTE"], email_attribute=values["LDAP_EMAIL_ATTRIBUTE"],
        staff_code_attribute=values["LDAP_STAFF_CODE_ATTRIBUTE"], match_by=values["LDAP_MATCH_BY"].lower(),
        user_filter=values["LDAP_USER_FILTER"], timeout_seconds=values["LDAP_TIMEOUT_SECONDS"])


def _ldap_address(values: Mapping[str, Any], production: bool) -> tuple[str, int, str]:
    """Host, port and TLS mode from MOOC_LDAP_URL and MOOC_LDAP_TLS: never plain in production."""
    parts, port = _ldap_url(values["LDAP_URL"])
    tls = (values["LDAP_TLS"] or ("ldaps" if parts.scheme == "ldaps" else "starttls")).lower()
    if tls not in LDAP_TLS_MODES:
        raise ConfigError(f"MOOC_LDAP_TLS must be ldaps, starttls or none, not {values['LDAP_TLS']!r}")
    if (tls == "ldaps") != (parts.scheme == "ldaps"):
        raise ConfigError(f"MOOC_LDAP_TLS={tls} does not go with {parts.scheme}:// in MOOC_LDAP_URL: "
                          "use ldaps:// for ldaps, ldap:// for starttls")
    if tls == "none" and (production or not values["LDAP_ALLOW_PLAIN"]):
        raise ConfigError("MOOC_LDAP_TLS=none would send every password to the directory in clear: use "
                          "ldaps or starttls" + ("" if production else " (a test directory may set "
                                                 "MOOC_LDAP_ALLOW_PLAIN=true)"))
    return parts.hostname or "", port or (636 if tls == "ldaps" else 389), tls


def _ldap_url(url: str) -> tuple[SplitResult, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname or port == -1 \
            or parts.path not in ("", "/") or parts.query:
        raise ConfigError(f"MOOC_LDAP_URL must look like ldaps://dc1.thanhtra.gov.vn or "
                          f"ldap://dc1.thanhtra.gov.vn:389, not {url!r}")
    return parts, port


def _check_ldap_search(values: Mapping[str, Any]) -> None:
    """The attribute names, the filter, the match and the timeout: what the search is built from."""
    for name in ("LDAP_USER_ATTRIBUTE", "LDAP_EMAIL_ATTRIBUTE", "LDAP_STAFF_CODE_ATTRIBUTE"):
        if not _ATTRIBUTE.match(values[name]):
            raise ConfigError(f"MOOC_{name} must be an attribute name such as uid or sAMAccountName, "
                              f"not {values[name]!r}")
    if values["LDAP_MATCH_BY"].lower() not in LDAP_MATCH_BY:
        raise ConfigError(f"MOOC_LDAP_MATCH_BY must be staff_code or email, not {values['LDAP_MATCH_BY']!r}")
    if not _balanced_filter(values["LDAP_USER_FILTER"]):
        raise ConfigError(f"MOOC_LDAP_USER_FILTER must be one LDAP filter in parentheses, such as "
                          f"(objectClass=person), not {values['LDAP_USER_FILTER']!r}")
    if not 1 <= values["LDAP_TIMEOUT_SECONDS"] <= 60:
        raise ConfigError("MOOC_LDAP_TIMEOUT_SECONDS must be between 1 and 60")


def _ldap_bind_password(values: Mapping[str, Any]) -> str:
    password, password_file = values["LDAP_BIND_PASSWORD"], values["LDAP_BIND_PASSWORD_FILE"]
    if password and password_file:
        raise ConfigError("set MOOC_LDAP_BIND_PASSWORD or MOOC_LDAP_BIND_PASSWORD_FILE, not both")
    if password_file:
        try:
            password = Path(password_file).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise ConfigError(f"MOOC_LDAP_BIND_PASSWORD_FILE {password_file} cannot be read: "
                              f"{error.strerror}") from None
    if not password:
        raise ConfigError("MOOC_LDAP_BIND_DN needs its password: set MOOC_LDAP_BIND_PASSWORD_FILE "
                          "(or MOOC_LDAP_BIND_PASSWORD)")
    return password


def _balanced_filter(text: str) -> bool:
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0 or (depth == 0 and position < len(text) - 1):
            return False
    return text.startswith("(") and depth == 0


def _local_password_roles(raw: str) -> tuple[str, ...] | None:
    """MOOC_LOCAL_PASSWORD_ROLES as role names (None: all); create_app checks them against the roles."""
    names = tuple(sorted({part.strip().lower() for part in raw.split(",") if part.strip()}))
    if names in ((), ("all",)):
        return None
    return names
def _check_two_factor(values: Mapping[str, Any]) -> None:
    if not 0 <= values["TWO_FACTOR_REMEMBER_DAYS"] <= 30:
        raise ConfigError("MOOC_TWO_FACTOR_REMEMBER_DAYS must be 0 (never remember a browser) to 30 days")
    if values["TWO_FACTOR_MAX_FAILURES"] <= 0:
        raise ConfigError("MOOC_TWO_FACTOR_MAX_FAILURES must be 1 or more")
    if isinstance(values["TWO_FACTOR_REQUIRED_ROLES"], str):  # an override given as text, not a tuple
        raise ConfigError("TWO_FACTOR_REQUIRED_ROLES: give a tuple of role names")
def _privacy_notice_file(values: Mapping[str, Any]) -> Path | None:
    if min(values["PRIVACY_RETENTION_DAYS"], values["OUTBOX_RETENTION_DAYS"]) < 0:
        raise ConfigError("MOOC_PRIVACY_RETENTION_DAYS and MOOC_OUTBOX_RETENTION_DAYS must be 0 or more days")
    if not values["PRIVACY_NOTICE_FILE"]:
        return None
    path = Path(values["PRIVACY_NOTICE_FILE"]).resolve()
    if not path.is_file():
        raise ConfigError(f"MOOC_PRIVACY_NOTICE_FILE: {path} is not a file (a Markdown text of the privacy "
                          f"notice; unset it to use the shipped one)")
    return path


def flask_config(settings: Settings, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Flask's keys and its extensions', from the settings; ``overrides`` that are not settings
    (e.g. ``WTF_CSRF_ENABLED``) are applied last."""
    production = settings.production
    config: dict[str, Any] = {
        "TESTING": settings.testing,
        "SECRET_KEY": settings.secret_key,
        "SQLALCHEMY_DATABASE_URI": settings.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(settings),
        "BABEL_DEFAULT_LOCALE": settings.default_locale,
        "BABEL_DEFAULT_TIMEZONE": settings.timezone,
        "MAX_CONTENT_LENGTH": settings.max_upload_mb * 1024 * 1024,
        # The signed cookie only carries an opaque session token; the server decides if it
        # is still valid (see auth/sessions.py).
        "SESSION_COOKIE_NAME": "mooc_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": settings.session_max_hours * 3600,
        # Signed and sent again only when it changes: it lives as long as the server's session
        # may (SESSION_MAX_HOURS from sign-in), which alone decides idleness and expiry.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "REMEMBER_COOKIE_DURATION": 0,
        # CSRF tokens live as long as the session: a long quiz must not fail on submit.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": production,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "SEND_FILE_MAX_AGE_DEFAULT": 0,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
    }
    config.update(_split(overrides)[1])
    return config


def build_config(overrides: Mapping[str, Any] | None = None,
                 environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Flask config of this process (``flask_config(build_settings(...))``), or ConfigError."""
    return flask_config(build_settings(overrides, environ), overrides)


SETTINGS_EXTENSION = "mooc_settings"


def install(app: Flask, settings: Settings) -> None:
    """Attach the app's settings (``create_app``); ``settings()`` reads them back."""
    app.extensions[SETTINGS_EXTENSION] = settings


def settings(app: Flask | None = None) -> Settings:
    """The settings of ``app``, or of the current app."""
    return (app or current_app).extensions[SETTINGS_EXTENSION]


def public_url() -> str:
    """The address links in e-mails and on certificates start with (no trailing slash).

    MOOC_BASE_URL when it is set. Otherwise, during a request and outside production, the
    address that request came to (``request.host_url``: the demo served on another port links
    to that port). Otherwise the default, http://127.0.0.1:5000: the CLI (``mooc reminders
    send``) has no request to ask, and in production the Host header a visitor sends is not
    trusted to build sign-in links (set MOOC_BASE_URL there)."""
    config = settings()
    if not config.base_url_set and not config.production and has_request_context():
        return request.host_url.rstrip("/")
    return config.base_url


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


def development_warnings(settings: Settings) -> list[str]:
    """What a server started without MOOC_ENV=production does differently (printed by
    `mooc serve` and `mooc demo`; empty in production)."""
    if settings.production:
        return []
    warnings = [f"MOOC_ENV is {settings.env}, not production: development defaults are on. "
                "Do not serve real people like this (see docs/operations.md)."]
    # Secure cookies follow production (flask_config).
    warnings.append("Session cookies are not marked Secure (they would also travel over plain HTTP).")
    if settings.mail_backend == "file":
        warnings.append(f"E-mails are not sent: they are written, with working sign-in and reset links, "
                        f"into {settings.instance_dir / 'outbox'}.")
    if settings.courses_autosync:
        warnings.append("Courses are re-synced from their folder on page views (authors' preview).")
    return warnings


def engine_options(settings: Settings) -> dict[str, Any]:
    """Engine options per database: SQLite waits for writers; PostgreSQL checks pooled connections."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": settings.sqlite_busy_timeout_ms / 1000,
                                 "check_same_thread": False}}
    if url.startswith("postgresql"):
        return {
            "pool_pre_ping": True,
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_pool_size,
            "pool_recycle": 1800,
            "connect_args": {
                # JIT compiling costs more than it saves on this app's statements (compliance
                # on a date for the ministry: 1.7 s of JIT for 1.2 s of work; docs/performance.md).
                "options": f"-c statement_timeout={settings.db_statement_timeout_ms} -c jit=off",
                "application_name": "mooc",
                "connect_timeout": 10,  # a server that does not answer fails the request, not the worker
            },
        }
    return {}


REPLICA_CONNECT_TIMEOUT_S = 2  # libpq's shortest: a replica that does not answer is skipped soon


def replica_engine_options(settings: Settings) -> dict[str, Any]:
    """The read replica's engine: the primary's PostgreSQL options with a short connect
    timeout (a replica that does not answer costs one request 2 s, then is skipped) and its
    own application name."""
    options = engine_options(settings)  # the primary's URL is PostgreSQL (checked at start)
    connect_args = dict(options["connect_args"], connect_timeout=REPLICA_CONNECT_TIMEOUT_S,
                        application_name="mooc-replica-reader")
    return options | {"connect_args": connect_args}
