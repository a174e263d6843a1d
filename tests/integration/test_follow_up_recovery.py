"""Durable enrichment on the real stack (PostgreSQL + Redis + worker + beat): a case opened
while the broker refuses the publish still gets its evidence, through the beat sweep on the
sweep queue, once the broker is back (issue 14, item 4: cases opened during a Redis outage
got no evidence)."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db.models import F

from alerts import correlation, outbox
from alerts.models import Alert
from alerts.services import ingest
from enrichment import services as enrichment_services
from enrichment.models import EnrichmentRequest, EnrichmentResult
from soar import queue as broker
from tests.integration.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@contextmanager
def broker_unreachable():
    """Point this process's Celery publisher at a closed port (the pools are rebuilt both ways)."""
    from soar.celery import app

    def point_at(url):
        app.conf.broker_write_url = url
        app._pool = None
        app.amqp._producer_pool = None

    point_at(f"redis://127.0.0.1:{free_port()}/0")
    try:
        yield
    finally:
        point_at(None)
        broker.forget_failure()


def test_case_opened_while_the_broker_is_down_gets_its_evidence_after_the_sweep(
        make_source, service_factory, wait_until):
    # The worker runs the sweep; its grace period is long, so the one re-queue this test expects
    # cannot be followed by a second one however long a loaded machine takes to run the task.
    worker = service_factory("worker", name="worker-follow-up", concurrency=4,
                             SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS=300)
    enrichment_services.add_to_blocklist("firewall", "ip", "203.0.113.99", reason="scanner", actor_label="t")
    source, _ = make_source(name="follow-up")
    alert = {"title": "Scan from a listed address", "severity": "high", "confidence": 90,
             "entity": {"type": "ip", "value": "203.0.113.99"}, "source_ref": "follow-up-1"}
    with broker_unreachable():
        [stored] = ingest(source, [alert])
        assert outbox.relay.wait_idle(60)
        # This process is the worker now: it opens the case, and the enrichment publish fails.
        correlation.process_alerts([stored.id])
        case_id = Alert.objects.get(pk=stored.id).case_id
        assert case_id is not None
        [request] = EnrichmentRequest.objects.filter(case_id=case_id)
        assert request.done_at is None and request.attempts == 1
    assert not EnrichmentResult.objects.filter(case_id=case_id).exists()
    # Queued longer ago than the grace period, as far as the sweep can tell: due at its first run.
    EnrichmentRequest.objects.filter(pk=request.pk).update(queued_at=F("queued_at") - timedelta(hours=1))

    # The broker is back: beat's sweep (on the sweep queue, which the worker consumes) re-queues it.
    beat = service_factory("beat", name="beat-follow-up", SOAR_FOLLOW_UP_SWEEP_INTERVAL_SECONDS=1)
    try:
        result = wait_until(lambda: EnrichmentResult.objects.filter(case_id=case_id, provider="blocklist").first(),
                            timeout=120, message="the sweep to enrich the case opened during the outage")
        assert result.verdict == "malicious"
        request = wait_until(lambda: EnrichmentRequest.objects.filter(pk=request.pk, done_at__isnull=False).first(),
                             timeout=120, message="the request marked done")
    finally:
        beat.stop()
    assert request.attempts == 2 and request.lease_until is None
    assert "sweep_enrichment_requests" in worker.log_text()
    # No second copy of the evidence however often the sweep runs afterwards.
    assert EnrichmentResult.objects.filter(case_id=case_id, provider="blocklist").count() == 1
