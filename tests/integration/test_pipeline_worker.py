"""The core pipeline on real PostgreSQL, Redis, gunicorn and Celery worker processes."""

import json
import os
import threading
import urllib.request
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from alerts.models import Alert
from cases.models import Case
from soar import queue

pytestmark = pytest.mark.django_db(transaction=True)


def http_post(url, token, body, timeout=30):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def alert(i, entity):
    return {"title": f"Port scan {i}", "severity": "high", "confidence": 90,
            "entity": {"type": "ip", "value": entity}, "source_ref": f"scan-{i}"}


def test_settings_are_the_real_stack():
    assert settings.IS_POSTGRES and not settings.CELERY_TASK_ALWAYS_EAGER


def test_alert_posted_to_gunicorn_is_processed_by_worker(make_source, live_server_url, celery_worker, wait_until):
    _, token = make_source()
    status, body = http_post(f"{live_server_url}/api/v1/alerts", token, alert(1, "203.0.113.50"))
    assert status == 202
    alert_id = body["alerts"][0]["id"]
    row = wait_until(lambda: Alert.objects.filter(pk=alert_id, processing="done").first(), timeout=120,
                     message="processing")
    assert row.case is not None and row.case.severity == "high"


def test_32_concurrent_senders_make_one_case_per_entity(make_source, live_server_url, celery_worker, wait_until):
    """10,000 alerts over 100 entities from 32 threads: exactly one open case per entity."""
    _, token = make_source()
    entities = [f"198.51.100.{i}" for i in range(100)]
    alerts = [alert(i, entities[i % 100]) for i in range(10_000)]
    chunks = [alerts[i:i + 50] for i in range(0, len(alerts), 50)]
    statuses = Counter()
    lock = threading.Lock()

    def sender(worker_index):
        for chunk in chunks[worker_index::32]:
            status, _ = http_post(f"{live_server_url}/api/v1/alerts/batch", token, chunk, timeout=120)
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == Counter({202: len(chunks)})
    wait_until(lambda: not Alert.objects.filter(processing="pending").exists(), timeout=420,
               message="all 10,000 alerts processed")
    assert Alert.objects.count() == 10_000
    assert not Alert.objects.filter(processing="failed").exists()
    pairs = set(Alert.objects.order_by().values_list("entity_value", "case_id").distinct())
    per_entity = Counter(entity for entity, _ in pairs)
    assert set(per_entity) == set(entities)
    assert max(per_entity.values()) == 1, "an entity's alerts were split over several cases"
    assert None not in {case_id for _, case_id in pairs}
    assert Case.objects.count() == 100
    for case in Case.objects.all():
        assert case.alerts.count() == 100


def test_concurrent_processing_calls_converge(make_source, wait_until):
    """32 threads processing the same pending alerts directly (no broker): one group, one case."""
    from django.db import connections

    from alerts import correlation, services

    source, _ = make_source()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "dispatch_processing", lambda ids, **kwargs: True)
        stored = services.ingest(source, [alert(i, "203.0.113.99") for i in range(64)], batch=True)
    ids = [s.id for s in stored]
    errors = []

    def work(n):
        try:
            for alert_id in ids[n::4] + ids:
                correlation.process_alert(alert_id)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n % 4,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Alert.objects.filter(processing="done").count() == 64
    assert Case.objects.count() == 1 and Case.objects.get().alerts.count() == 64


def test_alerts_accepted_while_redis_is_down_are_processed_after(make_source, private_redis, service_factory,
                                                                 wait_until):
    """Transactional outbox: Redis stops mid-run, nothing is lost, the beat sweep catches up."""
    web = service_factory("web", broker_url=private_redis.url, name="web-outbox")
    service_factory("worker", broker_url=private_redis.url, name="worker-outbox")
    _, token = make_source()
    for i in range(10):
        assert http_post(f"{web.url}/api/v1/alerts", token, alert(i, "203.0.113.10"))[0] == 202
    wait_until(lambda: Alert.objects.filter(processing="done").count() == 10, timeout=120,
               message="first 10 processed")

    private_redis.stop()
    for i in range(10, 30):
        status, body = http_post(f"{web.url}/api/v1/alerts", token, alert(i, "203.0.113.11"), timeout=60)
        assert status == 202, body
    assert Alert.objects.count() == 30
    assert Alert.objects.filter(processing="pending").count() == 20

    private_redis.start()
    service_factory("beat", broker_url=private_redis.url, name="beat-outbox",
                    SOAR_SWEEP_INTERVAL_SECONDS=1, SOAR_SWEEP_AFTER_SECONDS=1)
    wait_until(lambda: Alert.objects.filter(processing="done").count() == 30, timeout=180,
               message="the sweep to re-dispatch the 20 alerts accepted during the outage")
    assert Case.objects.count() == 2


def test_the_worker_keeps_its_database_connection_across_tasks(make_source, service_factory, wait_until):
    """Celery >= 5.6 closes the database connection around every task unless CELERY_DB_REUSE_MAX
    is set: each correlation chunk then paid a new PostgreSQL backend. Twenty processing tasks,
    queued one after the other from here (no web process, no relay thread), open far fewer
    sessions than that. (The other tests' services run with CONN_MAX_AGE 0.)"""
    service_factory("worker", name="worker-reuse", SOAR_DB_CONN_MAX_AGE="60",
                    SOAR_CELERY_DB_REUSE_MAX=os.environ.get("SOAR_CELERY_DB_REUSE_MAX", "1000"))

    def sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            return cursor.fetchone()[0]

    source, _ = make_source()

    def process_one(i: int) -> None:
        # Low severity: no case, so no follow-up task of its own.
        row = Alert.objects.create(source=source, title=f"quiet {i}", severity="low", confidence=10,
                                   entity_type="ip", entity_value=f"198.51.100.{i}", fingerprint=f"quiet-{i}")
        assert queue.publish("alerts.tasks.process_alerts", [[row.pk]], what="a test alert")
        wait_until(lambda: Alert.objects.filter(pk=row.pk, processing="done").exists(), timeout=60,
                   message=f"alert {i} processed")

    process_one(0)  # the worker's processes have connected
    before = sessions()
    for i in range(1, 21):
        process_one(i)
    assert sessions() - before < 5
