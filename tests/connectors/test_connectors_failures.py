"""Failures: auth refused (401), rate limited (429 + Retry-After), the SSRF guard, overlapping
runs, an untrusted TLS certificate (options.ca_file); the status, the back-off and the secret's
absence from every message and log line."""

import logging
import ssl
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert
from connectors import services
from connectors.models import PullConnector
from tests.connectors.connector_fakes import API_KEY, FakeSearch, detection_alert
from tests.support.net import self_signed_certificate

pytestmark = pytest.mark.django_db


def test_auth_failure_records_the_status_and_backs_off_exponentially(elastic, make_connector, caplog):
    elastic.index_docs([detection_alert(1)])
    connector = make_connector(elastic, secret="wrong-key-value-1234", interval_seconds=60)
    caplog.set_level(logging.INFO)

    result = services.run_connector(connector.pk)
    assert result.status == "failed"
    connector.refresh_from_db()
    assert "authentication refused (HTTP 401)" in connector.last_error
    assert connector.consecutive_failures == 1 and connector.last_success_at is None
    assert connector.cursor == {} and Alert.objects.count() == 0
    first_delay = (connector.next_run_at - connector.last_run_at).total_seconds()
    assert 119 <= first_delay <= 121  # interval * 2
    # The fake echoes the Authorization header it refused: the stored error and the log hide it.
    assert "wrong-key-value-1234" not in connector.last_error and "***" in connector.last_error
    assert "wrong-key-value-1234" not in caplog.text

    # Not due while backing off: neither the sweep nor a scheduled run touches it.
    assert connector.pk not in services.due_connector_ids()
    assert services.run_connector(connector.pk).status == "skipped"
    services.run_connector(connector.pk, ignore_schedule=True)
    connector.refresh_from_db()
    assert connector.consecutive_failures == 2
    assert 239 <= (connector.next_run_at - connector.last_run_at).total_seconds() <= 241

    # Fixed credentials: the next run succeeds and clears the failure state.
    PullConnector.objects.filter(pk=connector.pk).update(secret=API_KEY)
    assert services.run_connector(connector.pk, ignore_schedule=True).status == "ok"
    connector.refresh_from_db()
    assert connector.consecutive_failures == 0 and connector.last_error == "" and Alert.objects.count() == 1


def test_backoff_is_capped():
    connector = PullConnector(interval_seconds=60)
    assert services.backoff_seconds(connector, 1) == 120
    assert services.backoff_seconds(connector, 30) == services.BACKOFF_CAP_SECONDS
    assert services.backoff_seconds(connector, 1, retry_after=900) == 900


def test_429_with_retry_after_is_honoured(elastic, make_connector):
    elastic.add("POST", "/.alerts-security.alerts-default/_pit", status=429, headers={"Retry-After": "600"},
                json={"error": {"type": "es_rejected_execution_exception"}, "status": 429}, times=1)
    elastic.index_docs([detection_alert(1)])
    connector = make_connector(elastic, interval_seconds=60)
    before = timezone.now()
    assert services.run_connector(connector.pk).status == "failed"
    connector.refresh_from_db()
    assert "HTTP 429" in connector.last_error
    assert connector.next_run_at >= before + timedelta(seconds=600)
    assert connector.pk not in services.due_connector_ids(before + timedelta(seconds=599))
    assert connector.pk in services.due_connector_ids(before + timedelta(seconds=602))


def test_the_ssrf_guard_refuses_a_private_endpoint_unless_allowed(elastic, make_connector, settings):
    connector = make_connector(elastic)
    settings.SOAR_SSRF_ALLOWLIST = []
    result = services.run_connector(connector.pk)
    assert result.status == "failed" and "not a public address" in result.error
    assert elastic.count() == 0  # refused before any traffic
    connector.refresh_from_db()
    assert "SOAR_SSRF_ALLOWLIST" in connector.last_error


def test_a_run_never_overlaps_another(elastic, make_connector):
    elastic.index_docs([detection_alert(1)])
    connector = make_connector(elastic)
    # Another run (another worker, the command line) holds the lease.
    PullConnector.objects.filter(pk=connector.pk).update(lease_token="other", lease_until=timezone.now()
                                                         + timedelta(seconds=60))
    assert services.run_connector(connector.pk, ignore_schedule=True).status == "skipped"
    assert elastic.count() == 0 and connector.pk not in services.due_connector_ids()
    # A run that died holding it frees the connector when its lease expires.
    PullConnector.objects.filter(pk=connector.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert services.run_connector(connector.pk).status == "ok"
    connector.refresh_from_db()
    assert connector.lease_token == "" and connector.lease_until is None


def test_a_run_that_lost_its_lease_does_not_commit(elastic, make_connector, monkeypatch):
    elastic.index_docs([detection_alert(1)])
    connector = make_connector(elastic)
    from connectors import fetchers

    real = services.fetch_page

    def slow_fetch(conn, cursor):
        page = real(conn, cursor)
        # Meanwhile the lease expired and another run took the connector over.
        PullConnector.objects.filter(pk=conn.pk).update(lease_token="newer-run")
        return page

    monkeypatch.setattr(services, "fetch_page", slow_fetch)
    assert fetchers.fetch_page is not slow_fetch
    assert services.run_connector(connector.pk).status == "skipped"
    connector.refresh_from_db()
    assert connector.cursor == {} and Alert.objects.count() == 0 and connector.lease_token == "newer-run"


def test_a_disabled_connector_does_not_run(elastic, make_connector):
    connector = make_connector(elastic, enabled=False)
    assert services.run_connector(connector.pk, ignore_schedule=True).status == "skipped"
    assert services.due_connector_ids() == [] and elastic.count() == 0


def test_a_disabled_target_source_stops_the_connector(elastic, make_connector):
    elastic.index_docs([detection_alert(1)])
    connector = make_connector(elastic)
    connector.source.enabled = False
    connector.source.save()
    result = services.run_connector(connector.pk)
    assert result.status == "failed" and "is disabled" in result.error
    assert elastic.count() == 0 and Alert.objects.count() == 0


def test_an_unexpected_error_is_logged_without_the_secret(elastic, make_connector, monkeypatch, caplog):
    connector = make_connector(elastic, secret="secret-in-a-traceback")

    def broken_fetch(conn, cursor):
        raise ValueError(f"bad header value {conn.secret!r}")

    monkeypatch.setattr(services, "fetch_page", broken_fetch)
    result = services.run_connector(connector.pk)
    assert result.status == "failed" and "unexpected ValueError" in result.error
    assert "ValueError" in caplog.text and "secret-in-a-traceback" not in caplog.text
    connector.refresh_from_db()
    assert connector.lease_token == "" and connector.consecutive_failures == 1


def test_a_private_ca_is_trusted_through_options_ca_file(make_connector, tmp_path):
    """An on-premises cluster answers HTTPS with a certificate of its own CA (Elasticsearch 8's
    http_ca.crt): refused, with the way out in the error, until options.ca_file names that CA."""
    cert, key = self_signed_certificate(tmp_path)
    server = FakeSearch(".alerts-security.alerts-default")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.start()
    try:
        server.index_docs([detection_alert(1)])
        connector = make_connector(server)
        PullConnector.objects.filter(pk=connector.pk).update(endpoint=server.url.replace("http://", "https://"))

        untrusted = services.run_connector(connector.pk)
        assert untrusted.status == "failed"
        assert "TLS refused: certificate verify failed" in untrusted.error
        assert "set options.ca_file" in untrusted.error and server.received == []

        PullConnector.objects.filter(pk=connector.pk).update(options={
            "index": ".alerts-security.alerts-default", "ca_file": str(tmp_path / "missing.pem")})
        missing = services.run_connector(connector.pk, ignore_schedule=True)
        assert missing.status == "failed" and "missing.pem' is not a file on this host" in missing.error

        PullConnector.objects.filter(pk=connector.pk).update(options={
            "index": ".alerts-security.alerts-default", "ca_file": str(cert)})
        assert services.run_connector(connector.pk, ignore_schedule=True).created == 1
        assert server.received and all(r.headers["authorization"] == f"ApiKey {API_KEY}" for r in server.received)
    finally:
        server.stop()


def test_ca_file_must_be_a_path():
    from connectors.fetchers import validate_config

    assert validate_config("elasticsearch", "", {"ca_file": 42}) == {"options": "ca_file: a path to a PEM file."}
    assert validate_config("splunk", "", {"ca_file": ["x"], "start_from": -1})["options"] == (
        "start_from must be a number of seconds >= 0. ca_file: a path to a PEM file.")
    assert validate_config("wazuh_indexer", "", {"ca_file": "/etc/wazuh-indexer/certs/root-ca.pem"}) == {}
