"""Sending e-mail: .eml files in the outbox by default, SMTP to a real server on loopback."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from mooc import mail
from mooc.config import settings

VIETNAMESE = "Xin chào Nguyễn Văn Đức,\n\nĐây là thư thử nghiệm: ă â đ ê ô ơ ư — Hòa/Hoà."


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "554 Transaction failed"
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"mat-khau-smtp")

    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield controller, inbox, logins
    finally:
        controller.stop()


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_file_backend_writes_an_eml_in_the_outbox(app):
    assert settings(app).mail_backend == "file"
    with app.app_context():
        mail.send(mail.address("Nguyễn Văn Đức", "duc@example.vn"), "Chào mừng — đăng nhập", VIETNAMESE)
    (path,) = (settings(app).instance_dir / "outbox").glob("*.eml")
    message = _parse(path.read_bytes())
    assert message["Subject"] == "Chào mừng — đăng nhập"
    assert message["To"].addresses[0].display_name == "Nguyễn Văn Đức"
    assert message["From"] == "noreply@localhost"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().strip() == VIETNAMESE


def test_html_alternative(app):
    with app.app_context():
        sent = mail.send("a@example.vn", "Thư", "chữ", html="<p>chữ</p>")
    assert sent.get_body(("html",)).get_content().strip() == "<p>chữ</p>"


def test_smtp_backend_delivers_to_a_real_server(make_app, smtp_server):
    controller, inbox, logins = smtp_server
    app = make_app(MAIL_BACKEND="smtp", MAIL_HOST="127.0.0.1", MAIL_PORT=controller.port,
                   MAIL_SENDER="Đào tạo Thanh tra <daotao@example.vn>", MAIL_USER="mooc",
                   MAIL_PASSWORD="mat-khau-smtp")
    with app.app_context():
        mail.send("duc@example.vn", "Đặt lại mật khẩu", VIETNAMESE)
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == "daotao@example.vn" and envelope.rcpt_tos == ["duc@example.vn"]
    message = _parse(envelope.original_content)
    assert message["Subject"] == "Đặt lại mật khẩu"
    assert message["From"].addresses[0].display_name == "Đào tạo Thanh tra"
    assert message.get_content().replace("\r\n", "\n").strip() == VIETNAMESE
    assert logins == [(b"mooc", b"mat-khau-smtp")]
    assert not (settings(app).instance_dir / "outbox").exists()


def test_smtp_failures_raise_mail_error(make_app, smtp_server):
    controller, inbox, _logins = smtp_server
    inbox.refuse = True
    refused = make_app(MAIL_BACKEND="smtp", MAIL_HOST="127.0.0.1", MAIL_PORT=controller.port)
    with refused.app_context(), pytest.raises(mail.MailError):
        mail.send("a@example.vn", "x", "y")
    down = make_app(MAIL_BACKEND="smtp", MAIL_HOST="127.0.0.1", MAIL_PORT=_free_port())
    with down.app_context(), pytest.raises(mail.MailError):
        mail.send("a@example.vn", "x", "y")
    assert inbox.envelopes == []


def test_mail_settings_are_checked(tmp_path):
    from mooc.config import ConfigError, build_settings

    env = {"MOOC_INSTANCE_DIR": str(tmp_path)}
    assert build_settings(environ=env).mail_backend == "file"
    production = env | {"MOOC_ENV": "production", "MOOC_SECRET_KEY": "k" * 40}
    assert build_settings(environ=production).mail_backend == "smtp"
    with pytest.raises(ConfigError, match="MOOC_MAIL_BACKEND"):
        build_settings(environ=env | {"MOOC_MAIL_BACKEND": "pigeon"})
    with pytest.raises(ConfigError, match="MOOC_MAIL_TLS"):
        build_settings(environ=env | {"MOOC_MAIL_TLS": "maybe"})


def test_a_long_vietnamese_subject_survives_encoding():
    """Python 3.11 folds long encoded headers and can lose a space (CPython gh-92081)."""
    from email import message_from_bytes, policy

    from mooc.mail import build_message

    subject = ("Nhắc việc: 3 khóa học quá hạn, 0 sắp đến hạn, 2 chưa bắt đầu trong đơn vị "
               "Thanh tra Thành phố Hồ Chí Minh và các phòng trực thuộc")
    raw = build_message("a@example.vn", subject, "x", sender="Đào tạo <d@example.vn>").as_bytes()
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == subject
    assert max(len(line) for line in raw.split(b"\r\n") + raw.split(b"\n")) <= 998
