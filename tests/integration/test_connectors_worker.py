"""Pull connectors on the real stack: PostgreSQL row locks between concurrent runs, and
django-celery-beat's schedule driving a real worker that pulls an Elasticsearch backlog."""

import threading

import pytest
from django.db import connection, connections, transaction

from alerts.models import Alert
from connectors import services
from connectors.models import PullConnector
from tests.connectors.connector_fakes import API_KEY, FakeSearch, detection_alert

pytestmark = pytest.mark.django_db(transaction=True)
INDEX = ".alerts-security.alerts-default"


@pytest.fixture
def search():
    server = FakeSearch(INDEX).start()
    yield server
    server.stop()


def make_connector(server, make_source, **fields):
    source, _ = make_source(name="es-pull-source", kind="elastic")
    return PullConnector.objects.create(name="es-pull", kind="elasticsearch", endpoint=server.url, secret=API_KEY,
                                        source=source, options={"index": INDEX}, timeout_seconds=10, **fields)


def test_two_concurrent_runs_on_postgresql_one_runs(search, make_source, settings):
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1"]
    search.index_docs([detection_alert(n) for n in range(4)])
    search.search_delay = 1.0  # both runs are in flight at the same time
    connector = make_connector(search, make_source, page_size=10)
    results, start = [], threading.Barrier(2)

    def run():
        try:
            start.wait(10)
            results.append(services.run_connector(connector.pk, ignore_schedule=True).status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["ok", "skipped"]
    assert search.pits_opened == 1 and len(search.searches) == 1
    assert Alert.objects.count() == 4


def test_a_claim_skips_a_row_another_session_has_locked(search, make_source, settings):
    """SELECT ... FOR UPDATE SKIP LOCKED: a run never waits behind another session's lock on the
    connector's row (an admin saving it, another run committing its page); it skips this turn."""
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1"]
    connector = make_connector(search, make_source)
    holding, release, outcome = threading.Event(), threading.Event(), []

    def hold_the_row():
        try:
            with transaction.atomic():
                PullConnector.objects.select_for_update().get(pk=connector.pk)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert holding.wait(10)
        outcome.append(services.run_connector(connector.pk, ignore_schedule=True).status)
    finally:
        release.set()
        holder.join(30)
    assert outcome == ["skipped"] and search.count() == 0
    assert services.run_connector(connector.pk, ignore_schedule=True).status == "ok"


def test_beat_and_a_worker_pull_the_backlog(search, make_source, service_factory, wait_until):
    search.index_docs([detection_alert(n) for n in range(5)])
    connector = make_connector(search, make_source, page_size=5)
    service_factory("worker", name="worker-connectors", concurrency=2)
    service_factory("beat", name="beat-connectors")
    # Beat's sweep (every 10 s) queues the due connector; a worker runs it and processes its alerts.
    wait_until(lambda: Alert.objects.count() == 5, timeout=120, message="the five alerts pulled by the worker")
    wait_until(lambda: Alert.objects.filter(processing="done").count() == 5, timeout=60,
               message="the pulled alerts processed by the worker")
    connector.refresh_from_db()
    assert connector.records_fetched_total == 5 and connector.alerts_created_total == 5
    assert connector.consecutive_failures == 0 and connector.last_success_at is not None
    assert sorted(Alert.objects.values_list("source_ref", flat=True)) == [f"uuid-{n:04d}" for n in range(5)]
    assert search.pits_opened == 1
