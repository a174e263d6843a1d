"""The IMAP mailbox connector against a real Dovecot (tests/support/dovecot.py) over TLS and
STARTTLS: messages APPENDed to a folder become alerts (a user's report unwrapped, the reporter
recorded, the attachment hashed), are flagged or moved, a rerun (or a re-read after a crash
before the flag) creates no duplicate, and a wrong password is the connector's error with a
back-off. Each test polls a folder of its own on the session's server."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert
from connectors import services
from connectors.fetchers import imap
from connectors.models import PullConnector
from tests.connectors.imap_messages import REPORTER, SENDER, invoice_sha256, phish, report
from tests.support.dovecot import Mailserver, dovecot  # noqa: F401 - the session's Dovecot

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(dovecot):  # noqa: F811
    name = f"Phish-{uuid.uuid4().hex[:8]}"
    client = dovecot.client()
    assert client.create(name)[0] == "OK"
    client.logout()
    return name


@pytest.fixture
def mailbox_connector(make_source, settings, dovecot, folder):  # noqa: F811
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1"]

    def factory(*, tls="tls", secret=dovecot.password, **options):
        source, _ = make_source(name=f"mailbox-{folder}", kind="email")
        port = dovecot.imaps_port if tls == "tls" else dovecot.imap_port
        scheme = "imaps" if tls == "tls" else "imap"
        return PullConnector.objects.create(
            name=f"phish-{folder.lower()}", kind="imap", endpoint=f"{scheme}://127.0.0.1:{port}",
            username=dovecot.user, secret=secret, source=source, page_size=2, timeout_seconds=10,
            options={"folder": folder, "ca_file": dovecot.ca_file, **options})

    return factory


def append(server: Mailserver, folder: str, *messages: bytes) -> None:
    client = server.client()
    for raw in messages:
        assert client.append(f'"{folder}"', None, None, raw)[0] == "OK"
    client.logout()


def flags_of(server: Mailserver, folder: str) -> list[bytes]:
    client = server.client()
    client.select(f'"{folder}"', readonly=True)
    _, data = client.uid("FETCH", "1:*", "(FLAGS)")
    client.logout()
    return [item for item in data if isinstance(item, bytes)]


def count_in(server: Mailserver, folder: str) -> int:
    client = server.client()
    status, data = client.status(f'"{folder}"', "(MESSAGES)")
    client.logout()
    assert status == "OK"
    return int(data[0].split(b"MESSAGES ")[1].rstrip(b")"))


def test_tls_mailbox_reports_become_alerts_flagged_once(dovecot, folder, mailbox_connector):  # noqa: F811
    append(dovecot, folder, report(phish(1), n=1), phish(2).as_bytes(), phish(3, message_id=False).as_bytes())
    connector = mailbox_connector()

    first = services.run_connector(connector.pk, ignore_schedule=True)
    assert (first.status, first.records, first.created, first.more) == ("ok", 2, 2, True)
    second = services.run_connector(connector.pk, ignore_schedule=True)
    assert (second.status, second.records, second.created, second.more) == ("ok", 1, 1, False)

    reported = Alert.objects.get(source_ref="<phish-1@payroll-update.example>")
    # The original inside the report is what was analysed; the wrapper's sender is the reporter.
    assert reported.entity_value == SENDER and reported.category == "phishing"
    assert reported.title == "Reported e-mail: Your mailbox is full (1)"
    assert reported.raw["reporter"] == REPORTER and f"Reported by: {REPORTER}" in reported.description
    # Linked to the alert by the processing worker (none runs here): still on the row.
    observables = {tuple(pair) for pair in reported.pending_observables}
    assert ("hash", invoice_sha256(1)) in observables and ("email", "collect@drop-box.example") in observables
    assert Alert.objects.get(source_ref="<phish-2@payroll-update.example>").category == "email"
    assert Alert.objects.filter(source=connector.source).count() == 3

    # Every message is flagged \Seen and the keyword on the server; a rerun reads nothing.
    flags = flags_of(dovecot, folder)
    assert len(flags) == 3 and all(b"\\Seen" in f and b"$SoarProcessed" in f for f in flags)
    rerun = services.run_connector(connector.pk, ignore_schedule=True)
    assert (rerun.status, rerun.records) == ("ok", 0)
    connector.refresh_from_db()
    assert connector.alerts_created_total == 3 and connector.records_fetched_total == 3 and connector.last_error == ""


def test_crash_before_the_flag_rereads_without_duplicates(dovecot, folder, mailbox_connector, monkeypatch):  # noqa: F811
    append(dovecot, folder, report(phish(4), n=4), phish(5, message_id=False).as_bytes())
    connector = mailbox_connector()

    def lost_connection(self, uids):
        raise imap.FetchError("phish: UID STORE failed (connection reset)")

    with monkeypatch.context() as patch:
        patch.setattr(imap.Mailbox, "acknowledge", lost_connection)
        crashed = services.run_connector(connector.pk, ignore_schedule=True)
    assert (crashed.status, crashed.created) == ("ok", 2)
    connector.refresh_from_db()
    assert "read again next run" in connector.last_warning
    assert not any(b"$SoarProcessed" in f for f in flags_of(dovecot, folder))

    again = services.run_connector(connector.pk, ignore_schedule=True)
    assert (again.status, again.records, again.created) == ("ok", 2, 0)  # re-sends: occurrences, no new alert
    assert Alert.objects.filter(source=connector.source).count() == 2
    assert Alert.objects.get(source_ref="<phish-4@payroll-update.example>").occurrence_count == 2
    assert all(b"$SoarProcessed" in f for f in flags_of(dovecot, folder))


def test_starttls_mailbox_moves_processed_messages(dovecot, folder, mailbox_connector, monkeypatch):  # noqa: F811
    append(dovecot, folder, report(phish(6), n=6))
    connector = mailbox_connector(tls="starttls", after="move", move_to="Reported")
    before = count_in(dovecot, "Reported")

    result = services.run_connector(connector.pk, ignore_schedule=True)
    assert (result.status, result.created) == ("ok", 1)
    assert count_in(dovecot, folder) == 0 and count_in(dovecot, "Reported") == before + 1
    assert Alert.objects.get(source_ref="<phish-6@payroll-update.example>").raw["reporter"] == REPORTER

    # A server without MOVE: COPY, \Deleted and UID EXPUNGE of those messages only.
    real_open = imap.Mailbox.open

    def open_without_move(self):
        real_open(self)
        self.capabilities.discard("MOVE")

    monkeypatch.setattr(imap.Mailbox, "open", open_without_move)
    append(dovecot, folder, phish(8).as_bytes())
    assert services.run_connector(connector.pk, ignore_schedule=True).created == 1
    assert count_in(dovecot, folder) == 0 and count_in(dovecot, "Reported") == before + 2


def test_wrong_password_or_untrusted_certificate_is_the_connectors_error_with_back_off(
        dovecot, folder, mailbox_connector):  # noqa: F811
    append(dovecot, folder, phish(7).as_bytes())
    connector = mailbox_connector(secret="not-the-app-password")

    result = services.run_connector(connector.pk, ignore_schedule=True)
    assert result.status == "failed" and "authentication refused" in result.error
    connector.refresh_from_db()
    assert "authentication refused" in connector.last_error and "not-the-app-password" not in connector.last_error
    assert connector.consecutive_failures == 1
    backoff = timedelta(seconds=services.backoff_seconds(connector, 1))
    assert connector.next_run_at > timezone.now() + backoff - timedelta(seconds=5)
    # Not due during the back-off: the scheduler skips it.
    assert services.run_connector(connector.pk).status == "skipped"
    assert not Alert.objects.exists() and count_in(dovecot, folder) == 1

    # The right password but no CA for the self-signed certificate: refused, never trusted blindly.
    PullConnector.objects.filter(pk=connector.pk).update(secret=dovecot.password, options={"folder": folder})
    untrusted = services.run_connector(connector.pk, ignore_schedule=True)
    assert untrusted.status == "failed" and "certificate is not trusted" in untrusted.error
    connector.refresh_from_db()
    assert connector.consecutive_failures == 2 and not Alert.objects.exists()
