"""Batch ingestion on PostgreSQL, where large batches take the COPY fast path."""

import json
import threading
import time

import pytest
from django.db import connections
from django.db.backends.signals import connection_created

from alerts import bulk, services
from alerts.models import Alert, AlertSource, Observable
from alerts.outbox import Relay

pytestmark = pytest.mark.django_db(transaction=True)


def batch(client, token, items):
    return client.post("/api/v1/alerts/batch", data=json.dumps(items), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


def item(i, ref=None):
    return {"title": f"Copy path {i}", "severity": "low", "confidence": 10, "source_ref": ref or f"ref-{i}",
            "entity": {"type": "ip", "value": f"203.0.113.{i % 20}"},
            "observables": [{"type": "user", "value": f"user{i % 7}"}], "data": {"n": i, "nested": {"ok": True}}}


def test_large_batch_uses_copy_and_keeps_every_field(client, make_source):
    _, token = make_source()
    items = [item(i) for i in range(120)]
    assert bulk.can_copy(len(items))
    response = batch(client, token, items)
    assert response.status_code == 202
    results = response.json()["alerts"]
    assert len(results) == 120 and not any(r["duplicate"] for r in results)
    alert = Alert.objects.get(pk=results[7]["id"])
    assert (alert.title, alert.source_ref, alert.entity_value) == ("Copy path 7", "ref-7", "203.0.113.7")
    assert alert.raw == items[7] and alert.processing == "pending" and alert.occurrence_count == 1
    # The request wrote alert rows only; the worker links the observables kept on them.
    assert alert.pending_observables == [["ip", "203.0.113.7"], ["user", "user0"]]
    assert not alert.observables.exists() and Observable.objects.count() == 0
    assert services.link_pending_observables([r["id"] for r in results]) == 120
    assert sorted(alert.observables.values_list("type", "value")) == [("ip", "203.0.113.7"), ("user", "user0")]
    assert Observable.objects.count() == 20 + 7
    alert.refresh_from_db()
    assert alert.pending_observables is None
    assert services.link_pending_observables([alert.pk]) == 0, "linking twice is a no-op"
    # the sequence stays consistent with ORM inserts after COPY
    assert batch(client, token, [item(999)]).status_code == 202


def test_resent_and_repeated_keys_in_a_copy_batch_are_upserts(client, make_source):
    _, token = make_source()
    first = batch(client, token, [item(i) for i in range(60)]).json()["alerts"]
    mixed = [item(i) for i in range(50, 110)] + [item(200, ref="ref-100")]
    second = batch(client, token, mixed).json()["alerts"]
    assert [r["duplicate"] for r in second[:10]] == [True] * 10
    assert second[0]["id"] == first[50]["id"]
    assert second[-1] == {"id": second[50]["id"], "duplicate": True, "resolved": False}
    assert Alert.objects.count() == 110
    assert Alert.objects.get(source_ref="ref-55").occurrence_count == 2
    assert Alert.objects.get(source_ref="ref-100").occurrence_count == 2


def test_single_alert_upsert_is_one_prepared_statement_and_counts_resends(client, make_source):
    """PostgreSQL path of the webhook: INSERT ... ON CONFLICT, server-side bound and prepared."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    source, token = make_source()
    services.forget_cached_sources()
    post = lambda body: client.post("/api/v1/alerts", data=json.dumps(body), content_type="application/json",  # noqa: E731
                                    HTTP_AUTHORIZATION=f"Bearer {token}")
    first = post(item(1, ref="once"))
    assert first.status_code == 202 and first.json()["alerts"][0]["duplicate"] is False
    for _ in range(2, 8):  # past psycopg's prepare threshold
        again = post(item(1, ref="once"))
        first_id = first.json()["alerts"][0]["id"]
        assert again.json()["alerts"] == [{"id": first_id, "duplicate": True, "resolved": False}]
    alert = Alert.objects.get(source=source, source_ref="once")
    assert alert.occurrence_count == 7 and alert.last_seen_at > alert.received_at
    with CaptureQueriesContext(connection) as queries:
        assert post(item(2, ref="other")).status_code == 202
    assert not [q for q in queries.captured_queries if "alerts_alertsource" in q["sql"]], "source not cached"
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(sql.startswith('INSERT INTO "alerts_alert"') and "ON CONFLICT" in sql for sql in prepared), prepared
    assert Alert.objects.filter(source=source).count() == 2


def test_concurrent_resends_of_one_alert_give_one_row(make_source):
    """16 threads send the same source_ref at once: one row, one 'created', the rest counted."""
    import threading

    from django.db import connections

    source, _ = make_source()
    outcomes, errors = [], []
    barrier = threading.Barrier(16)

    def send():
        try:
            barrier.wait()
            outcomes.extend(s.created for s in services.ingest(source, [item(5, ref="same")]))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == [False] * 15 + [True]
    assert Alert.objects.get(source=source, source_ref="same").occurrence_count == 16


def test_processing_does_not_lock_the_alerts_source(make_source):
    """Workers processing one source's alerts lock each alert row, never the shared source row:
    with the source held by another transaction, processing still goes through at once."""
    import psycopg
    from django.db import connection

    from alerts import correlation

    source, _ = make_source()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "dispatch_processing", lambda ids, **kwargs: None)
        alert_id = services.ingest(source, [item(1)])[0].id
    dsn = connection.get_connection_params()
    with psycopg.connect(host=dsn.get("host"), port=dsn.get("port"), user=dsn.get("user"),
                         dbname=connection.settings_dict["NAME"]) as other:
        other.execute("SELECT id FROM alerts_alertsource WHERE id = %s FOR UPDATE", [source.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            assert correlation.process_alert(alert_id) is True
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
        other.rollback()
    assert Alert.objects.get(pk=alert_id).processing == "done"


def test_one_signed_request_sent_many_times_at_once_stores_one_alert(make_source, monkeypatch):
    """8 copies of one signed request in flight together (a replay racing the original): the
    unique signature row makes them wait for the first; every copy answers its alert id."""
    import threading

    from django.db import connections

    monkeypatch.setattr(services, "dispatch_processing", lambda ids, **kwargs: None)  # no worker in this test
    source, _ = make_source(hmac_secret="s3cret")
    signature = services.VerifiedSignature("d" * 64, time.time() + 300)
    answers, errors = [], []
    barrier = threading.Barrier(8)

    def send():
        try:
            barrier.wait()
            # No source_ref: only the replay guard keeps a copy from being a second alert.
            answers.append([(s.id, s.created) for s in services.ingest(
                source, [{"title": "signed once", "severity": "low"}], signature=signature)])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Alert.objects.filter(source=source).count() == 1
    alert_id = Alert.objects.get(source=source).pk
    assert sorted(answers) == [[(alert_id, False)]] * 7 + [[(alert_id, True)]]


def test_relay_keeps_its_database_connection_across_publishes_within_conn_max_age(monkeypatch):
    """During a storm the relay reads the sources of the ids at every publish: closing its
    connection after each one cost a new PostgreSQL backend per publish (a third of a web
    process's CPU in bench/results.md's single-alert run with a backlog). It is kept as a
    request's is (CONN_MAX_AGE), and still closed after each publish when CONN_MAX_AGE is 0.
    (PostgreSQL: Django never closes an in-memory SQLite connection.)"""
    opened: list[str] = []

    def count(sender, connection, **kwargs):
        opened.append(threading.current_thread().name)

    def publish(ids, source_of):
        return AlertSource.objects.exists() or True

    def run_three(relay: Relay) -> int:
        opened.clear()
        for n in range(3):
            relay.submit([n])
            assert relay.wait_idle(5)
            time.sleep(0.05)  # the thread looks at its connection after the flush
        return opened.count("soar-outbox-relay")

    connection_created.connect(count)
    try:
        monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 60)
        assert run_three(Relay(publish=publish, linger_seconds=0)) == 1
        monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
        assert run_three(Relay(publish=publish, linger_seconds=0)) == 3
    finally:
        connection_created.disconnect(count)
