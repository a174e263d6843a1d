"""Fairness with a real worker (issue 16): a storm on one source does not hold back another
source's alert. The storm's alerts go to the bulk queue once its backlog is over the threshold;
the quiet source's alert goes to the main queue, which the worker reads in turn with the bulk
one, so it is processed while most of the storm is still waiting. Order, not timing: the
assertion is how much of the storm is still pending when the quiet alert is done."""

import pytest
import redis

from alerts import outbox, services
from alerts.models import Alert

pytestmark = pytest.mark.django_db(transaction=True)

STORM = 20_000


def storm_alert(i: int) -> dict:
    return {"title": f"Noisy rule {i}", "severity": "low", "confidence": 10,
            "entity": {"type": "hostname", "value": f"host-{i % 1000}"}, "source_ref": f"storm-{i}"}


def test_a_quiet_source_is_not_held_back_by_a_storm(make_source, service_factory, celery_queues, settings,
                                                    wait_until):
    settings.SOAR_BULK_BACKLOG_THRESHOLD = 500
    storm_source, _ = make_source(name="noisy-siem")
    quiet_source, _ = make_source(name="edr")
    outbox.backlog.forget()
    for start in range(0, STORM, 1000):  # no worker yet: the backlog builds up
        services.ingest(storm_source, [storm_alert(i) for i in range(start, start + 1000)], batch=True)
    assert outbox.relay.wait_idle(60)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    on_bulk, on_main = broker.llen(celery_queues.bulk), broker.llen(celery_queues.main)
    # The storm took the bulk queue, a correlation chunk to a message.
    assert on_bulk >= (STORM - 1000) // outbox.message_size(bulk=True) and on_main <= 10, (on_bulk, on_main)

    outbox.backlog.forget()
    [quiet] = services.ingest(quiet_source, [{"title": "Credential dumping", "severity": "critical",
                                              "confidence": 95, "entity": {"type": "hostname", "value": "dc-1"}}])
    assert outbox.relay.wait_idle(60)
    service_factory("worker", name="worker-fair", concurrency=1)
    wait_until(lambda: Alert.objects.filter(pk=quiet.id, processing="done").exists(), timeout=180,
               message="the quiet source's alert processed")
    still_pending = Alert.objects.filter(source=storm_source, processing="pending").count()
    # Without the bulk queue it would wait behind every storm message (nothing pending left).
    assert still_pending > STORM // 2, still_pending
    assert Alert.objects.get(pk=quiet.id).case is not None
