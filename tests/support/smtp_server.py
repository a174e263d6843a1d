"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives, for
tests of anything that sends e-mail (playbook notifications, scheduled reports).

    server = LocalSMTPServer().start()
    ... send to server.host:server.port ...
    server.wait_for(1); server.messages[0]["Subject"]
    server.stop()
"""

from __future__ import annotations

import email
import email.policy
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from tests.support.net import free_port


class _Collector:
    def __init__(self, server: LocalSMTPServer):
        self.server = server

    async def handle_DATA(self, smtp_server, session, envelope):
        if self.server.reply_code:
            return self.server.reply_code
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(message)
            self.server.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
        return "250 Message accepted"


class LocalSMTPServer:
    def __init__(self, port: int | None = None):
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[dict] = []
        self.lock = threading.Lock()
        # Set e.g. "451 Try again later" to make DATA fail (temporary/permanent errors).
        self.reply_code: str | None = None
        self.controller = Controller(_Collector(self), hostname=self.host, port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> LocalSMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")


@pytest.fixture
def smtp_server():
    server = LocalSMTPServer().start()
    yield server
    server.stop()
