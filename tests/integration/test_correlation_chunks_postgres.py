"""Two workers correlating overlapping chunks of alerts for the same entities at the same
instant, on real PostgreSQL: one group and one case per entity, and no deadlock (new groups
are inserted in key order; the worker that loses the race on a key takes its chunk again)."""

import threading

import pytest
from django.db import connections

from alerts import correlation, correlation_chunks, services
from alerts.models import Alert, AlertGroup, CorrelationRule
from cases.models import Case

pytestmark = pytest.mark.django_db(transaction=True)
ENTITIES = 40


def test_two_workers_on_overlapping_chunks_open_one_group_and_one_case_per_entity(make_source, monkeypatch,
                                                                                   settings):
    settings.SOAR_CORRELATION_CHUNK = 50
    settings.SOAR_ENRICHMENT_AUTO = False  # no enrichment tasks for a worker-less run
    CorrelationRule.objects.all().delete()
    CorrelationRule.objects.create(name="entity", key="entity", min_severity="high", min_confidence=50)
    source, _ = make_source()
    monkeypatch.setattr(services, "dispatch_processing", lambda ids, **kwargs: None)
    ids = [s.id for s in services.ingest(source, [
        {"title": f"alert {n}", "severity": "high" if n % 3 else "low", "confidence": 90,
         "entity": {"type": "ip", "value": f"198.51.100.{n % ENTITIES}"},
         "observables": [{"type": "user", "value": f"user{n % 7}"}]} for n in range(240)], batch=True)]

    failures: list[str] = []
    real_chunk = correlation.process_chunk

    def recording_chunk(alert_ids, rules):
        try:
            return real_chunk(alert_ids, rules)
        except Exception as exc:
            failures.append(f"{exc.__class__.__name__}: {exc}")
            raise

    monkeypatch.setattr(correlation, "process_chunk", recording_chunk)
    start = threading.Barrier(2, timeout=60)
    errors: list[BaseException] = []

    def work(alert_ids: list[int]):
        try:
            start.wait()
            correlation.process_alerts(alert_ids)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(ids[:160],)),
               threading.Thread(target=work, args=(list(reversed(ids[80:])),))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert not any(worker.is_alive() for worker in workers)
    assert not errors, errors
    assert not [f for f in failures if "deadlock" in f.lower()], failures
    assert set(Alert.objects.filter(pk__in=ids).values_list("processing", flat=True)) == {"done"}
    assert AlertGroup.objects.count() == ENTITIES
    assert Case.objects.count() == ENTITIES
    for group in AlertGroup.objects.all():
        assert group.alert_count == 240 // ENTITIES
        assert set(Alert.objects.filter(group=group).values_list("case_id", flat=True)) == {group.case_id}
        assert group.case.events.filter(kind="alert_attached").count() == 240 // ENTITIES


def test_a_chunk_commits_asynchronously_and_the_rest_does_not(make_source, monkeypatch, settings):
    """A chunk's transaction does not wait for its WAL flush (its result is derived from committed
    rows: a crash leaves its alerts PENDING for the sweep); the setting is the transaction's
    own, so the connection's next transaction commits synchronously again."""
    settings.SOAR_ENRICHMENT_AUTO = False
    source, _ = make_source()
    monkeypatch.setattr(services, "dispatch_processing", lambda ids, **kwargs: None)
    ids = [s.id for s in services.ingest(source, [
        {"title": "a", "severity": "high", "confidence": 90, "entity": {"type": "ip", "value": "198.51.100.9"}}],
        batch=True)]
    seen = []
    correlate = correlation_chunks._correlate_chunk

    def spy(alerts, rules):
        with connections["default"].cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        return correlate(alerts, rules)

    monkeypatch.setattr(correlation_chunks, "_correlate_chunk", spy)
    correlation.process_alerts(ids)
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        after = cursor.fetchone()[0]
    assert seen == ["off"] and after == "on"
    assert Alert.objects.get(pk=ids[0]).processing == "done"


def test_cases_table_leaves_room_for_hot_updates():
    """cases/0021: correlation rewrites a case's updated_at for every alert joining it; with room
    in the page PostgreSQL writes it as a heap-only tuple, skipping the table's indexes."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'cases_case'")
        assert "fillfactor=70" in (cursor.fetchone()[0] or [])
