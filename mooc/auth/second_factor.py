"""Two-factor sign-in: an authenticator app's six-digit codes (TOTP, RFC 6238), ten one-time
recovery codes, and browsers remembered for a while.

It steps in at ``signin.complete()``, the one place a person becomes signed in: a person whose
role requires a second factor (MOOC_TWO_FACTOR_REQUIRED_ROLES), or who turned it on, is not
signed in after the password (or the directory) but kept in a short pending state of this
browser's session until a right code; a person who must have one and has none yet is signed
in to the enrolment pages only. The secret is stored encrypted (Fernet, with a key derived
from MOOC_SECRET_KEY) and shown only while it is being set up; recovery codes are stored as
SHA-256 hashes (docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
import sqlalchemy as sa
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import session
from itsdangerous import BadSignature, URLSafeSerializer

from mooc import clock
from mooc.auth import passwords
from mooc.auth.models import RecoveryCode, SecondFactor, User
from mooc.config import settings
from mooc.database import rowcount
from mooc.extensions import db

INTERVAL = 30  # seconds a code lives (the authenticator apps' default)
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed
RECOVERY_LENGTH = 12  # 12 letters of 31: about 59 bits, typed as xxxx-xxxx-xxxx
PENDING_KEY = "second_factor_pending"
PENDING_MINUTES = 5  # between the password and the code
DEVICE_COOKIE = "mooc_device"


class CodeError(Exception):
    """The code was not right (or was used already)."""


class CodeLocked(CodeError):
    def __init__(self, minutes: int) -> None:
        super().__init__(minutes)
        self.minutes = minutes


# --- who -------------------------------------------------------------------------------------


def required(user: User) -> bool:
    """Whether ``user``'s role must use a second factor."""
    return user.role.value in settings().two_factor_required_roles


def factor_of(user: User) -> SecondFactor | None:
    return db.session.get(SecondFactor, user.id)


def active(user: User) -> bool:
    """Whether ``user`` has a confirmed authenticator: the code is then asked at sign-in."""
    row = factor_of(user)
    return row is not None and row.confirmed_at is not None


def must_enrol_now(user: User) -> bool:
    """Whether this signed-in request belongs to a person who must use a second factor and whose
    session has not proved one (they are kept to the enrolment pages). No query: the session
    row is already loaded."""
    signed_in = user.session_facts is not None or user.current_session is not None
    return signed_in and not user.session_second_factor and required(user)


# --- the secret at rest ------------------------------------------------------------------------


def _fernet_key(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"mooc second factor secret v1").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _fernet() -> MultiFernet:
    """The current key first (it encrypts), then earlier ones (they still decrypt)."""
    config = settings()
    return MultiFernet([_fernet_key(config.secret_key)]
                       + [_fernet_key(key) for key in config.two_factor_previous_secret_keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """The stored secret in clear; InvalidToken when no configured key opens it (the secret key
    changed without MOOC_TWO_FACTOR_PREVIOUS_SECRET_KEYS: docs/operations.md)."""
    return _fernet().decrypt(token.encode()).decode()


def rotate_secrets() -> int:
    """Re-encrypt every stored secret with the current key (after a MOOC_SECRET_KEY rotation,
    with the old key in MOOC_TWO_FACTOR_PREVIOUS_SECRET_KEYS). Returns how many."""
    fernet = _fernet()
    rows = db.session.execute(sa.select(SecondFactor)).scalars().all()
    for row in rows:
        row.secret_encrypted = fernet.rotate(row.secret_encrypted.encode()).decode()
    db.session.flush()
    return len(rows)


# --- enrolment -------------------------------------------------------------------------------


def begin_enrolment(user: User) -> None:
    """A new secret for ``user``, not yet active (an unconfirmed one is replaced). Refused with
    ValueError when one is active: turn it off, or have it reset, first."""
    row = factor_of(user)
    if row is not None and row.confirmed_at is not None:
        raise ValueError("a second factor is already active")
    secret = pyotp.random_base32()
    if row is None:
        row = SecondFactor(user_id=user.id, secret_encrypted=encrypt(secret))
        db.session.add(row)
    else:
        row.secret_encrypted = encrypt(secret)
        row.last_step = None
    db.session.flush()


def enrolment_secret(user: User) -> str | None:
    """The secret being set up, to show with its QR code; None once confirmed (never again)."""
    row = factor_of(user)
    if row is None or row.confirmed_at is not None:
        return None
    return decrypt(row.secret_encrypted)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, interval=INTERVAL).provisioning_uri(name=user.email,
                                                                  issuer_name=settings().issuer)


def qr_svg(uri: str, title: str) -> str:
    """The QR code as an inline SVG element (no image request, nothing remote)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=2, title=title)


def grouped(secret: str) -> str:
    """The secret as people type it into an app by hand: groups of four."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(user: User, code: str, *, address: str = "") -> list[str]:
    """Activate the secret being set up with its first right code; returns the ten recovery
    codes (shown once, stored hashed). CodeError / CodeLocked otherwise."""
    row = factor_of(user)
    if row is None or row.confirmed_at is not None:
        raise CodeError()
    _throttled(user, address, lambda: _accept_totp(row, code))
    row.confirmed_at = clock.now()
    row.devices_epoch = 0
    return new_recovery_codes(user)


def turn_off(user: User) -> None:
    """Forget the person's authenticator, recovery codes and code failures (they turned it off,
    or an administrator reset it)."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(sa.delete(SecondFactor).where(SecondFactor.user_id == user.id))
    passwords.forget_failures(code_lock_key(user))
    db.session.expire_all()


# --- codes -----------------------------------------------------------------------------------


def verify(user: User, code: str, *, address: str = "") -> str:
    """Check a code at sign-in: "totp" for the app's code, "recovery" for a recovery code (now
    spent). Wrong codes count against the account (and the client address) as wrong passwords
    do: after MOOC_TWO_FACTOR_MAX_FAILURES the code step is locked (CodeLocked)."""
    row = factor_of(user)
    if row is None or row.confirmed_at is None:
        raise CodeError()
    kind = ""

    def check() -> bool:
        nonlocal kind
        if _accept_totp(row, code):
            kind = "totp"
        elif _use_recovery_code(user, code):
            kind = "recovery"
        return bool(kind)

    _throttled(user, address, check)
    return kind


CODE_LOCK_PREFIX = "SECOND-FACTOR:"


def code_lock_key(user: User) -> str:
    """The key of the code step's lock in the sign-in throttle: a row of its own, under a key no
    name typed on the sign-in form can be: what is typed is counted lower-case
    (passwords.normalise_email), so this key has capitals. (Typed as "second-factor:<id>", a name
    nobody has would otherwise lock that account's code step.) The roster reads it in SQL too
    (roster/account_status.py, ``CODE_LOCK_PREFIX`` and the account's id)."""
    return f"{CODE_LOCK_PREFIX}{user.id}"


def code_lock_ends(user: User, now: datetime | None = None) -> datetime | None:
    """When the lock of ``user``'s code step ends, if it holds and the code step is asked (an
    active authenticator): until then no code lets them finish signing in."""
    if user.id is None or not active(user):
        return None
    return passwords.lock_ends(code_lock_key(user), now or clock.now())


def unlock_code_step(user: User) -> None:
    """Forget the code step's failures, so its lock ends now (an administrator's unlock)."""
    passwords.forget_failures(code_lock_key(user))


def _policy() -> passwords.ThrottlePolicy:
    config = settings()
    return passwords.ThrottlePolicy(config.two_factor_max_failures, config.login_lock_minutes,
                                    config.login_address_max_failures)


def _throttled(user: User, address: str, check: Callable[[], bool]) -> None:
    now = clock.now()
    key = code_lock_key(user)
    if (minutes := passwords.locked_minutes(key, address, now)) is not None:
        raise CodeLocked(minutes)
    if not check():
        if passwords.record_failure(key, address, now, _policy()):
            raise CodeLocked(_policy().lock_minutes)
        raise CodeError()
    passwords.forget_failures(key)


def _digits(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


def _accept_totp(row: SecondFactor, code: str) -> bool:
    """A code of the current time step or its neighbours (clocks drift), newer than the last
    accepted one. The step is claimed by one conditional UPDATE, so the same code sent twice
    at once is accepted once."""
    code = _digits(code)
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    totp = pyotp.TOTP(decrypt(row.secret_encrypted), interval=INTERVAL)
    now_step = totp.timecode(clock.now())
    for step in (now_step - 1, now_step, now_step + 1):
        if not hmac.compare_digest(totp.generate_otp(step), code):
            continue
        claimed = db.session.execute(
            sa.update(SecondFactor)
            .where(SecondFactor.user_id == row.user_id,
                   sa.or_(SecondFactor.last_step.is_(None), SecondFactor.last_step < step))
            .values(last_step=step), execution_options={"synchronize_session": False})
        db.session.expire(row)
        return rowcount(claimed) == 1
    return False


def code_at(secret: str, when: datetime) -> str:
    """The app's code for ``when`` (tests and the enrolment help)."""
    return pyotp.TOTP(secret, interval=INTERVAL).at(when)


# --- recovery codes --------------------------------------------------------------------------


def _recovery_hash(code: str) -> str:
    letters = "".join(ch for ch in (code or "").lower() if ch.isalnum())
    return hashlib.sha256(f"mooc-recovery:{letters}".encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Ten new recovery codes (the old ones stop working); only their hashes are kept."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        letters = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append("-".join(letters[i:i + 4] for i in range(0, RECOVERY_LENGTH, 4)))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code)) for code in codes)
    db.session.flush()
    return codes


def _use_recovery_code(user: User, code: str) -> bool:
    """Spend a recovery code: one conditional UPDATE, so a code works once, even twice at once."""
    letters = "".join(ch for ch in (code or "") if ch.isalnum())
    if len(letters) != RECOVERY_LENGTH:
        return False
    spent = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now()), execution_options={"synchronize_session": False})
    return rowcount(spent) == 1


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


# --- remembered browsers ---------------------------------------------------------------------


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(settings().secret_key, salt="mooc.second-factor.device")


def _device_fingerprint(user: User, row: SecondFactor) -> str:
    """What a remembered browser is tied to: the person, their authenticator's secret (a reset
    and a new setup make a new one), their password (a change or a reset link) and the "forget
    my browsers" counter. Hashed: the cookie is signed, not encrypted."""
    parts = [str(user.id), decrypt(row.secret_encrypted), str(row.devices_epoch), user.password_hash or "",
             user.password_changed_at.isoformat() if user.password_changed_at else ""]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def remember_days() -> int:
    return min(settings().two_factor_remember_days, 30)


def remember_cookie(user: User) -> tuple[str, int]:
    """The value and lifetime (seconds) of the cookie that remembers this browser for ``user``."""
    row = factor_of(user)
    if row is None or row.confirmed_at is None or remember_days() <= 0:
        raise ValueError("nothing to remember")
    until = clock.now() + timedelta(days=remember_days())
    value = _device_serializer().dumps({"u": user.id, "f": _device_fingerprint(user, row),
                                        "t": int(until.timestamp())})
    return value, remember_days() * 86400


def remembered(user: User, cookie: str | None) -> bool:
    """Whether this browser's cookie remembers ``user`` (signed, not expired, and nothing since
    changed the password or the authenticator, nor forgot the browsers)."""
    row = factor_of(user)
    if not cookie or len(cookie) > 500 or row is None or row.confirmed_at is None or remember_days() <= 0:
        return False
    try:
        data = _device_serializer().loads(cookie)
    except BadSignature:
        return False
    if not isinstance(data, dict) or data.get("u") != user.id:
        return False
    until = data.get("t")
    if not isinstance(until, int) or clock.now().timestamp() >= until:
        return False
    return hmac.compare_digest(str(data.get("f", "")), _device_fingerprint(user, row))


def forget_devices(user: User) -> None:
    row = factor_of(user)
    if row is not None:
        row.devices_epoch += 1
        db.session.flush()


# --- the pending sign-in ---------------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    user: User
    method: str
    next_url: str | None


def begin_pending(user: User, *, method: str, next_url: str | None) -> None:
    """Between the password (or directory) and the code: a fresh session (no fixation) holding
    only who is signing in, how, and until when. Signed (Flask's session cookie), bound to this
    browser, good for PENDING_MINUTES and for the code page only."""
    session.clear()
    until = clock.now() + timedelta(minutes=PENDING_MINUTES)
    session[PENDING_KEY] = {"user": user.id, "method": method[:20], "next": next_url or "",
                            "until": int(until.timestamp()), "nonce": secrets.token_urlsafe(8),
                            "password": _password_mark(user)}


def _password_mark(user: User) -> str:
    """A change of password while the code is awaited ends the pending sign-in."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def pending() -> Pending | None:
    """This browser's pending sign-in, or None (none, expired, or the account changed)."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    until = data.get("until")
    if not isinstance(until, int) or clock.now().timestamp() >= until:
        return None
    user_id = data.get("user")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or data.get("password") != _password_mark(user):
        return None
    return Pending(user, str(data.get("method") or ""), str(data.get("next") or "") or None)


def end_pending() -> None:
    session.pop(PENDING_KEY, None)
