"""Sending e-mail: one function, ``send()``, and two backends chosen by MOOC_MAIL_BACKEND.

``file`` (development, tests) writes each message as an ``.eml`` file into
``instance/outbox/``, where a person can open it in any mail program; ``smtp`` hands it
to a mail server. Messages are UTF-8, so Vietnamese names and text arrive intact.
Callers build the text (already translated); this module only delivers it.

``after_request()`` is for mail whose preparing and sending must not show in the answer's
timing (the "forgot password" page, which must not tell whether an address has an account):
the job runs on a thread of its own once the request's transaction is committed, so the
answer is the same work for every address and never waits for the mail server.
"""

from __future__ import annotations

import email.policy
import logging
import secrets
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from flask import Flask, g, has_request_context, request_finished

from mooc import clock
from mooc.config import Settings, settings
from mooc.extensions import db

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30


UNFOLDED = email.policy.default.clone(max_line_length=998)


class MailError(RuntimeError):
    """The message could not be handed over (server down, refused, bad settings)."""


@dataclass(frozen=True)
class Part:
    """A file sent with a message: an attachment, or (with ``cid``) an image the HTML body
    shows inline (``<img src="cid:...">``), so that no remote image is ever fetched."""

    filename: str
    mime: str  # "application/pdf", "image/png"...
    data: bytes
    cid: str = ""  # an inline image's Content-ID, without the angle brackets


def build_message(to: str, subject: str, text: str, html: str | None = None, *,
                  sender: str, parts: Sequence[Part] = ()) -> EmailMessage:
    # Python 3.11's header folding can drop a space between encoded words in a long
    # Vietnamese subject (CPython gh-92081): keep headers on one line (RFC 5322 allows 998).
    message = EmailMessage(policy=UNFOLDED)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text, charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
        html_part = message.get_body(("html",))
        for part in parts:
            if part.cid and html_part is not None:
                maintype, subtype = part.mime.split("/", 1)
                html_part.add_related(part.data, maintype, subtype, cid=f"<{part.cid}>",
                                      filename=part.filename)
    for part in parts:
        if not part.cid:
            maintype, subtype = part.mime.split("/", 1)
            message.add_attachment(part.data, maintype, subtype, filename=part.filename)
    return message


def send(to: str, subject: str, text: str, html: str | None = None, *,
         parts: Sequence[Part] = ()) -> EmailMessage:
    """Send one message to ``to`` with the app's configured backend; returns the message.
    ``parts``: attachments, and images the HTML shows inline."""
    config = settings()
    message = build_message(to, subject, text, html, sender=config.mail_sender, parts=parts)
    if config.mail_backend == "file":
        write_to_outbox(message, config.instance_dir / "outbox")
    else:
        send_smtp(message, config)
    return message


# --- after the request ---------------------------------------------------------------------------

_background: set[threading.Thread] = set()
_background_lock = threading.Lock()


def after_request(job: Callable[[], object], *, what: str) -> None:
    """Run ``job`` once this request has committed, on a thread of its own with an app
    context (and its own database session, committed by the job), so the answer neither
    waits for it nor shows by its timing what the job does. Nothing runs if the request fails
    or rolls back. An error in the job is logged (``what`` names it, without personal data).
    Outside a request, runs at once."""
    if not has_request_context():
        job()
        return
    g.setdefault("jobs_after_request", []).append((job, what))


def _start_jobs(sender: Flask, response: Any, **extra: Any) -> None:
    """Flask's request_finished: sent after the after-request handlers, i.e. after the
    request's transaction was committed (see mooc/__init__.py, finish_request)."""
    jobs = g.pop("jobs_after_request", None)
    if not jobs or response.status_code >= 400 or g.get("rollback_only"):
        return  # rolled back: what the jobs would build on was never saved
    for job, what in jobs:
        _start(sender, job, what)


request_finished.connect(_start_jobs, weak=False)


def _start(app: Flask, job: Callable[[], None], what: str) -> None:
    def run() -> None:
        try:
            with app.app_context():
                try:
                    job()
                except Exception:  # a thread of its own: nobody else would hear of it
                    db.session.rollback()
                    log.exception("%s failed", what)
        finally:
            with _background_lock:
                _background.discard(thread)

    # Not a daemon: a worker that is shutting down finishes its mail first.
    thread = threading.Thread(target=run, name="mooc-after-request", daemon=False)
    with _background_lock:
        _background.add(thread)
    thread.start()


def wait_for_background(timeout: float = 30.0) -> bool:
    """Wait until every job started after a request has finished. True if none is left."""
    deadline = time.monotonic() + timeout
    while True:
        with _background_lock:
            pending = list(_background)
        if not pending:
            return True
        for thread in pending:
            thread.join(max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            with _background_lock:
                return not _background


def write_to_outbox(message: EmailMessage, outbox: Path) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = clock.now().strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox / f"{stamp}-{secrets.token_hex(4)}.eml"
    path.write_bytes(bytes(message))
    return path


def _session(config: Settings, timeout: float) -> smtplib.SMTP:
    """A connection to the mail server, encrypted and signed in as the settings say."""
    host, port, tls = config.mail_host, config.mail_port, config.mail_tls
    if tls == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if tls == "starttls":
            client.starttls(context=ssl.create_default_context())
        if config.mail_user:
            client.login(config.mail_user, config.mail_password)
    except BaseException:
        client.close()
        raise
    return client


def send_smtp(message: EmailMessage, config: Settings) -> None:
    try:
        with _session(config, SMTP_TIMEOUT_SECONDS) as client:
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        where = f"{config.mail_host}:{config.mail_port}"
        raise MailError(f"could not send mail through {where}: {error}") from error


def probe_smtp(config: Settings, timeout: float = 10) -> None:
    """Connect, encrypt and sign in as ``send_smtp`` does, then leave without sending (`mooc doctor`)."""
    try:
        with _session(config, timeout) as client:
            client.noop()
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"could not reach the mail server {config.mail_host}:{config.mail_port}: "
                        f"{error}") from error


def address(name: str, email: str) -> str:
    """A To header with a display name: "Nguyễn Văn An <an@example.vn>"."""
    try:
        return str(Address(display_name=name, addr_spec=email))
    except (ValueError, IndexError):
        return email
