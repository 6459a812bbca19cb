"""Reminders: a real SMTP server on loopback, an app that sends to it, enrolments at given
dates and a clock the tests set."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass
from datetime import date, datetime, time
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from mooc import clock
from mooc.roster.models import Staff
from mooc.training.models import Enrolment, EnrolmentSource, EnrolmentState
from tests.conftest import save
from tests.training.conftest import org, person  # noqa: F401 (shared fixtures)

BASE_URL = "https://daotao.example.vn"
SENDER = "Đào tạo Thanh tra <daotao@example.vn>"
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps what it accepts; it can refuse some recipients."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    @property
    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.original_content, policy=email.policy.default)
                for e in self.envelopes]

    def recipients(self) -> list[str]:
        return [address for e in self.envelopes for address in e.rcpt_tos]


@dataclass
class Smtp:
    port: int
    inbox: Inbox
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    """A real SMTP server on a free loopback port, started."""
    server = Smtp(free_port(), Inbox())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_app(org, make_app, smtp):  # noqa: F811
    """(app, org): an app that sends through the loopback SMTP server, links to BASE_URL."""
    _app, o = org

    def factory(**overrides):
        config = {"COURSES_DIR": str(o.root), "MAIL_BACKEND": "smtp", "MAIL_HOST": "127.0.0.1",
                  "MAIL_PORT": smtp.port, "MAIL_SENDER": SENDER, "BASE_URL": BASE_URL}
        return make_app(**(config | overrides))

    return factory(), o, factory


def at(day: date, hour: int = 7) -> None:
    """Set the clock to ``hour`` o'clock in Vietnam on ``day`` (cron runs early in the morning)."""
    clock.set_now(datetime.combine(day, time(hour), tzinfo=VN))


def enrol(app, staff: Staff, course_id: int, assigned_on: date, due_on: date | None, **fields) -> Enrolment:
    values = {"cycle": 1, "source": EnrolmentSource.RULE, "required": True,
              "state": EnrolmentState.NOT_STARTED}
    values.update(fields)
    return save(app, Enrolment(staff_id=staff.id, course_id=course_id, assigned_on=assigned_on, due_on=due_on,
                               **values))


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["reminders", "send", *args])


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()
