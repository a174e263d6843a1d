"""SMTP outages for the scheduled report e-mail (reporting.tasks): a refused connection
or a temporary SMTP error is retried (max_retries=3); a server that comes back gets the mail
exactly once; an outage that outlasts the retries fails the task with the SMTP error in the
log. Embedded mode runs the retries at once; a worker waits retry_backoff between them."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from reporting import tasks
from tests.support.net import free_port
from tests.support.smtp_server import LocalSMTPServer, _Collector

pytestmark = pytest.mark.django_db

KWARGS = {"recipients": ["soc@example.org"], "range_days": 1, "frequency": "daily"}


class FlakyCollector(_Collector):
    """Answers 451 (temporary failure) to the first ``failures`` messages, then accepts."""

    def __init__(self, server, failures: int):
        super().__init__(server)
        self.failures, self.attempts = failures, 0

    async def handle_DATA(self, smtp_server, session, envelope):
        self.attempts += 1
        if self.attempts <= self.failures:
            return "451 4.3.0 Mail server temporarily unavailable"
        return await super().handle_DATA(smtp_server, session, envelope)


def smtp_settings(port: int):
    return override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                             EMAIL_PORT=port, EMAIL_USE_TLS=False, EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="",
                             EMAIL_TIMEOUT=3)


@pytest.fixture
def flaky_smtp(request):
    server = LocalSMTPServer()
    server.controller.handler = FlakyCollector(server, failures=request.param)
    server.start()
    with smtp_settings(server.port):
        yield server
    server.stop()


@pytest.mark.parametrize("flaky_smtp", [2], indirect=True)
def test_temporary_smtp_errors_are_retried_and_the_mail_is_sent_once(flaky_smtp, caplog):
    with caplog.at_level(logging.INFO):
        result = tasks.send_scheduled_report.apply(kwargs=KWARGS)
    assert result.successful() and result.get()["sent"] is True
    assert flaky_smtp.controller.handler.attempts == 3
    assert len(flaky_smtp.messages) == 1
    assert caplog.text.count("451") >= 2  # each failed attempt is in the log, with the server's answer


@pytest.mark.parametrize("flaky_smtp", [10], indirect=True)
def test_an_outage_longer_than_the_retries_fails_the_task_visibly(flaky_smtp, caplog):
    with caplog.at_level(logging.INFO):
        result = tasks.send_scheduled_report.apply(kwargs=KWARGS)
    assert result.failed()
    assert flaky_smtp.controller.handler.attempts == 1 + tasks.send_scheduled_report.max_retries
    assert flaky_smtp.messages == []
    assert "SMTPDataError" in result.traceback and "451" in result.traceback


def test_smtp_server_down_is_retried_then_fails_with_the_connection_error(caplog):
    with smtp_settings(free_port()), caplog.at_level(logging.INFO):  # nothing listens there
        result = tasks.send_scheduled_report.apply(kwargs=KWARGS)
    assert result.failed()
    assert "ConnectionRefusedError" in result.traceback
    assert "ConnectionRefusedError" in caplog.text or "Connection refused" in caplog.text
