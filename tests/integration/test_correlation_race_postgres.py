"""Two workers correlating alerts for one entity at the same instant, on real PostgreSQL:
they must converge on one group and one open case (the README's promise)."""

import threading
import time

import pytest
from django.db import connection, connections

from alerts import correlation, services
from alerts.models import Alert, AlertGroup, CorrelationRule
from cases import services as case_services
from cases.models import Case

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_on_a_lock() -> int:
    """Sessions of this test database blocked on a row lock (the second worker, once it queues)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("run", range(3))
def test_two_workers_on_one_key_open_one_case(make_source, monkeypatch, run):
    """The group already exists without a case (its first alert was below the threshold). Worker A
    locks it and opens a case; worker B's SELECT ... FOR UPDATE started before A committed, waits
    on the lock, then gets the re-read row (A's case id). Its decision must not rest on the
    statement's older snapshot, where that case does not exist yet."""
    CorrelationRule.objects.all().delete()
    CorrelationRule.objects.create(name="entity", key="entity", min_severity="high", min_confidence=50)
    source, _ = make_source()
    entity = {"type": "ip", "value": f"198.51.100.{run + 40}"}
    # No broker round trip: the test drives processing itself, one alert per thread.
    monkeypatch.setattr(services, "dispatch_processing", lambda ids, **kwargs: None)
    quiet = type("Quiet", (), {"send": staticmethod(lambda **kw: None)})
    monkeypatch.setattr(correlation, "case_alerts_added", quiet)  # no enrichment tasks for a worker-less run

    first = services.ingest(source, [{"title": "below threshold", "severity": "low", "confidence": 10,
                                      "entity": entity}])[0].id
    assert correlation.process_alert(first) is True
    assert AlertGroup.objects.filter(case__isnull=True, is_open=True).count() == 1
    ids = [services.ingest(source, [{"title": f"worker {n}", "severity": "high", "confidence": 90,
                                     "source_ref": f"race-{run}-{n}", "entity": entity}])[0].id
           for n in range(2)]

    a_holds_the_group = threading.Event()
    b_is_waiting = threading.Event()
    real_open_case = case_services.open_case

    def open_case_slowly(**kwargs):
        # Only the first caller holds the group lock here; keep it until B queues behind it.
        case = real_open_case(**kwargs)
        if not a_holds_the_group.is_set():
            a_holds_the_group.set()
            b_is_waiting.wait(timeout=60)
            time.sleep(0.2)
        return case

    monkeypatch.setattr(case_services, "open_case", open_case_slowly)
    errors: list[BaseException] = []

    def work(alert_id: int, wait_for: threading.Event | None):
        try:
            if wait_for is not None:
                wait_for.wait(timeout=60)
            assert correlation.process_alert(alert_id) is True
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    worker_a = threading.Thread(target=work, args=(ids[0], None))
    worker_b = threading.Thread(target=work, args=(ids[1], a_holds_the_group))
    worker_a.start()
    worker_b.start()
    deadline = time.monotonic() + 60  # generous: a loaded machine may be slow to get B there
    while not _waiting_on_a_lock() and time.monotonic() < deadline:
        time.sleep(0.02)
    b_is_waiting.set()
    worker_a.join(timeout=120)
    worker_b.join(timeout=120)
    assert not worker_a.is_alive() and not worker_b.is_alive()
    assert errors == []

    assert Alert.objects.filter(pk__in=ids, processing="done").count() == 2
    assert AlertGroup.objects.count() == 1, "the second worker closed the group and opened another"
    assert Case.objects.filter(status__in=Case.OPEN_STATUSES).count() == 1
    case_ids = set(Alert.objects.filter(pk__in=[first, *ids]).values_list("case_id", flat=True))
    assert len(case_ids) == 1 and None not in case_ids
