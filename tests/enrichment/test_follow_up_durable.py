"""Durable follow-up work of alerts put in cases (issue 14, item 4): enrichment requests and
playbook trigger records commit with the case, and the beat sweeps finish what the broker or
a crash lost, once."""

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.utils import timezone

from alerts import services as alert_services
from alerts.models import Alert
from enrichment import follow_up
from enrichment import services as enrichment_services
from enrichment import tasks as enrichment_tasks
from enrichment.models import EnrichmentRequest, EnrichmentResult
from playbooks.models import PendingTrigger, PlaybookRun
from playbooks.services import pending, triggers
from soar import queue as broker
from tests.support.playbooks_helpers import action, make_playbook

pytestmark = pytest.mark.django_db(transaction=True)
ALERT = {"title": "Brute force", "severity": "high", "confidence": 90,
         "entity": {"type": "ip", "value": "203.0.113.7"}, "observables": [{"type": "user", "value": "alice"}]}


@pytest.fixture(autouse=True)
def broker_up(monkeypatch):
    broker.forget_failure()


@pytest.fixture
def source(make_source):
    enrichment_services.add_to_blocklist("firewall", "ip", "203.0.113.7", reason="scanner", actor_label="t")
    return make_source()[0]


def ingest(source, **fields):
    alert = alert_services.ingest(source, [{**ALERT, **fields}])[0]
    return Alert.objects.get(pk=alert.id)


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(enrichment_tasks.run_enrichment_request, "apply_async", refuse)


def test_case_opened_while_the_publish_fails_is_enriched_by_the_sweep(source, monkeypatch):
    with monkeypatch.context() as patch:
        broker_down(patch)
        alert = ingest(source)
        assert alert.case_id is not None
        [request] = EnrichmentRequest.objects.filter(case_id=alert.case_id)
        assert request.done_at is None and request.reason == "case_opened"
        assert not EnrichmentResult.objects.filter(case_id=alert.case_id).exists()  # lost with a plain .delay()
        # the broker still down: the sweep does not burn the request's attempts
        broker.forget_failure()
        assert follow_up.sweep(now=later(31)) == 0
        assert EnrichmentRequest.objects.get(pk=request.pk).attempts == 1
    broker.forget_failure()
    assert follow_up.sweep(now=later(31)) == 1
    request.refresh_from_db()
    assert request.done_at is not None and request.attempts == 2 and request.lease_until is None
    result = EnrichmentResult.objects.get(case_id=alert.case_id, provider="blocklist", observable__value="203.0.113.7")
    assert result.verdict == "malicious"


def test_alerts_joining_a_case_share_its_open_request(source, monkeypatch):
    with monkeypatch.context() as patch:
        broker_down(patch)
        first = ingest(source, source_ref="a-1")
        broker.forget_failure()
        second = ingest(source, source_ref="a-2", observables=[{"type": "user", "value": "bob"}])
    assert first.case_id == second.case_id
    [request] = EnrichmentRequest.objects.filter(case_id=first.case_id)
    assert request.requested_at > request.created_at  # touched by the joining alert
    follow_up.sweep(now=later(31))
    assert EnrichmentResult.objects.filter(case_id=first.case_id, observable__value="bob").exists()


def test_a_done_request_is_not_queued_again(source, monkeypatch):
    alert = ingest(source)
    [request] = EnrichmentRequest.objects.filter(case_id=alert.case_id)
    assert request.done_at is not None  # published after the commit, run at once (embedded mode)
    evidence = EnrichmentResult.objects.filter(case_id=alert.case_id).count()
    queued = []
    monkeypatch.setattr(enrichment_tasks.run_enrichment_request, "apply_async", lambda *a, **k: queued.append(a))
    assert follow_up.sweep(now=later(3600)) == 0 and queued == []
    # and running it again (a redelivered task) stores no second copy of the evidence
    assert follow_up.run_request(request.pk) == 0
    enrichment_tasks.enrich_case.delay(alert.case_id)
    assert EnrichmentResult.objects.filter(case_id=alert.case_id).count() == evidence


def test_a_recently_queued_request_is_not_queued_twice(source, monkeypatch, settings):
    queued = []
    monkeypatch.setattr(enrichment_tasks.run_enrichment_request, "apply_async",
                        lambda args, **kwargs: queued.append(args[0]))
    alert = ingest(source)
    [request] = EnrichmentRequest.objects.filter(case_id=alert.case_id)
    assert queued == [request.pk]  # the publish after the commit (its task lost by the "broker")
    assert follow_up.sweep() == 0  # inside the grace period
    now = later(31)
    assert follow_up.sweep(now=now) == 1
    assert follow_up.sweep(now=now) == 0  # a second sweep at the same time
    assert follow_up.sweep(now=now + timedelta(seconds=5)) == 0
    assert queued == [request.pk, request.pk]
    # a worker holding the lease (enriching right now) is not doubled either
    EnrichmentRequest.objects.filter(pk=request.pk).update(lease_until=now + timedelta(seconds=600))
    assert follow_up.sweep(now=now + timedelta(seconds=60)) == 0
    assert follow_up.run_request(request.pk) == 0
    # bounded: after SOAR_FOLLOW_UP_MAX_ATTEMPTS queueings it is left alone (visible in the admin)
    EnrichmentRequest.objects.filter(pk=request.pk).update(lease_until=None,
                                                           attempts=settings.SOAR_FOLLOW_UP_MAX_ATTEMPTS)
    assert follow_up.sweep(now=now + timedelta(seconds=60)) == 0
    assert EnrichmentRequest.objects.get(pk=request.pk).attempts == settings.SOAR_FOLLOW_UP_MAX_ATTEMPTS


def test_playbook_triggers_left_open_are_evaluated_by_the_sweep_once(source, monkeypatch, settings):
    settings.SOAR_ENRICHMENT_AUTO = False
    playbook = make_playbook({"name": "On open", "trigger": {"type": "case_created"},
                              "steps": [action("t", "tag", tags=["opened"])]})
    ingested = make_playbook({"name": "On alert", "trigger": {"type": "alert_ingested"},
                              "steps": [action("t", "tag", tags=["alert"])]})

    def database_gone(case_id):
        raise ConnectionError("database dropped after the commit")

    with monkeypatch.context() as patch:
        patch.setattr(triggers, "case_created", database_gone)
        alert = ingest(source)
    [record] = PendingTrigger.objects.filter(case_id=alert.case_id)
    assert record.case_opened and record.alert_ids == [alert.pk] and record.done_at is None
    assert not PlaybookRun.objects.filter(playbook__in=[playbook, ingested]).exists()
    assert pending.sweep() == 0  # inside the grace period
    assert pending.sweep(now=later(31)) == 1
    assert pending.sweep(now=later(3600)) == 0
    record.refresh_from_db()
    assert record.done_at is not None and record.attempts == 2
    assert PlaybookRun.objects.filter(playbook=playbook, case_id=alert.case_id).count() == 1
    assert PlaybookRun.objects.filter(playbook=ingested, case_id=alert.case_id).count() == 1
    assert not pending.evaluate(record.pk)  # done: never twice


def test_no_trigger_record_without_a_playbook_to_fire(source, settings):
    settings.SOAR_ENRICHMENT_AUTO = False
    ingest(source)
    assert not PendingTrigger.objects.exists()


def test_sweeps_have_a_queue_of_their_own_and_limits_fit_the_visibility_timeout():
    from soar.celery import app

    queue = django_settings.SOAR_CELERY_SWEEP_QUEUE
    assert queue == f"{django_settings.CELERY_TASK_DEFAULT_QUEUE}-sweep"
    app.loader.import_default_modules()
    for name in django_settings.SOAR_SWEEP_TASKS:
        assert name in app.tasks, name
        assert app.amqp.router.route({}, name)["queue"].name == queue
    assert app.amqp.router.route({}, "enrichment.tasks.run_enrichment_request")["queue"].name != queue
    # the documented worker commands consume the three queues
    root = Path(__file__).resolve().parents[2]
    worker = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]["worker"]["command"]
    assert worker[worker.index("-Q") + 1] == "celery,celery-sweep,celery-bulk"
    # a worker started without -Q (the README's) consumes both queues
    assert {q.name for q in app.amqp.queues.values()} >= {django_settings.CELERY_TASK_DEFAULT_QUEUE, queue}
    assert "celery -A soar worker -l info &" in (root / "README.md").read_text()
    for entry in django_settings.CELERY_BEAT_SCHEDULE.values():
        if "sweep" in entry["task"] or entry["task"].endswith(("resume_stale_runs", "expire_approvals")):
            assert entry["task"] in django_settings.SOAR_SWEEP_TASKS
    hard = django_settings.CELERY_TASK_TIME_LIMIT
    assert django_settings.CELERY_TASK_SOFT_TIME_LIMIT < hard
    assert django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > hard


def test_a_running_request_renews_a_short_lease_and_a_dead_ones_request_is_swept_after_it(
        source, monkeypatch, settings):
    """A worker SIGKILLed mid-task never clears its lease (bench/faults.py: cases enriched ~5.5 min
    late with a lease of the task's hard limit). The lease is short and renewed by a heartbeat
    while the task runs; a dead task's request is swept once the short lease is over."""
    import time as _time

    settings.SOAR_FOLLOW_UP_LEASE_SECONDS = 0.3
    with monkeypatch.context() as patch:
        broker_down(patch)
        alert = ingest(source)
    [request] = EnrichmentRequest.objects.filter(case_id=alert.case_id)
    seen = []

    def slow_enrichment(case_id, **kwargs):
        for _ in range(4):
            _time.sleep(0.25)
            seen.append(EnrichmentRequest.objects.get(pk=request.pk).lease_until)
        return []

    monkeypatch.setattr(follow_up.services, "enrich_case", slow_enrichment)
    follow_up.run_request(request.pk)
    assert len(set(seen)) >= 2, "the heartbeat renewed the lease while the task ran"
    # A task killed right after its claim: the claim stays, as run_request wrote it.
    EnrichmentRequest.objects.filter(pk=request.pk).update(
        done_at=None, lease_until=timezone.now() + timedelta(seconds=follow_up.lease_seconds()))
    broker.forget_failure()
    assert follow_up.sweep(now=later(31)) == 1
