"""An SMTP server on 127.0.0.1 that keeps every message it receives (aiosmtpd), for the R20 tests."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.support.postgres import free_port


class SmtpSink:
    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def take(self) -> list[EmailMessage]:
        """The messages received since the last take."""
        taken, self.messages = self.messages, []
        return taken


@pytest.fixture
def sink():
    """A sink on a free port, for a test module that imports this fixture and `settings` below."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def settings(sink):
    """The server mails through the sink (overrides conftest's `settings` where imported)."""
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": sink.port, "MAIL_FROM": "RentDesk <credit@rentdesk.example>"}


def text_of(message) -> str:
    """The plain-text part of a received mail."""
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    """The HTML part of a received mail."""
    return message.get_body(preferencelist=("html",)).get_content()
