"""The follow-ups of a chunk of alerts that open many cases (issue 16): one INSERT of
enrichment requests and of playbook trigger records for all the chunk's cases, a task per
``REQUESTS_PER_TASK`` requests instead of one per case, and, in the embedded mode's
background processing, the follow-ups run by the follow-up thread after the cases exist,
still durable (a follow-up lost there is the sweep's)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts import correlation
from alerts import services as alert_services
from alerts.models import Alert
from alerts.signals import case_alerts_added
from cases.models import Case
from enrichment import follow_up
from enrichment import services as enrichment_services
from enrichment.models import EnrichmentRequest, EnrichmentResult
from playbooks.models import PendingTrigger, PlaybookRun
from soar import queue
from tests.support.playbooks_helpers import action, make_playbook

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _stored_not_processed(monkeypatch):
    """The tests process the alerts themselves, in one chunk."""
    queue.forget_failure()
    monkeypatch.setattr(alert_services, "dispatch_processing", lambda ids, **kwargs: None)


def critical_alerts(source, n: int, prefix: str = "203.0.113") -> list[int]:
    return [a.id for a in alert_services.ingest(source, [
        {"title": f"scan {i}", "severity": "critical", "confidence": 90,
         "entity": {"type": "ip", "value": f"{prefix}.{i}"}} for i in range(n)], batch=True)]


def published(monkeypatch) -> list[tuple[str, list]]:
    """The real queue.publish, with a record of what it was asked to queue."""
    calls: list[tuple[str, list]] = []
    real = queue.publish

    def recording(name, args, **kwargs):
        calls.append((name, list(args)))
        return real(name, args, **kwargs)

    monkeypatch.setattr(queue, "publish", recording)
    return calls


def test_a_chunk_records_its_cases_requests_in_one_insert_and_publishes_a_task_per_25(make_source, monkeypatch):
    enrichment_services.add_to_blocklist("firewall", "ip", "203.0.113.7", reason="scanner", actor_label="t")
    source, _ = make_source()
    ids = critical_alerts(source, 30)
    calls = published(monkeypatch)
    with CaptureQueriesContext(connection) as queries:
        assert correlation.process_chunk(ids, correlation.load_rules()) == ids
    inserts = [q["sql"] for q in queries.captured_queries
               if q["sql"].startswith('INSERT INTO "enrichment_enrichmentrequest"')]
    assert len(inserts) == 1
    tasks = [args[0] for name, args in calls if name.startswith("enrichment.tasks.")]
    assert [name for name, _ in calls if name.startswith("enrichment.tasks.")] == \
        ["enrichment.tasks.run_enrichment_requests"] * 2
    assert [len(part) for part in tasks] == [25, 5]
    assert Case.objects.count() == 30
    # The tasks ran (in process): every request done, the blocklisted address's case enriched.
    assert EnrichmentRequest.objects.count() == 30
    assert not EnrichmentRequest.objects.filter(done_at__isnull=True).exists()
    assert EnrichmentResult.objects.filter(provider="blocklist", verdict="malicious").count() == 1


def test_record_requests_absorbs_the_open_request_of_a_case_and_adds_the_others(make_source):
    source, _ = make_source()
    correlation.process_chunk(critical_alerts(source, 2), correlation.load_rules())
    first, second = Case.objects.order_by("pk")
    EnrichmentRequest.objects.filter(case=second).delete()
    still_open = EnrichmentRequest.objects.get(case=first)
    EnrichmentRequest.objects.filter(pk=still_open.pk).update(done_at=None, requested_at=timezone.now()
                                                              - timedelta(hours=1))
    created = follow_up.record_requests([(first.pk, False), (second.pk, True), (second.pk, False)])
    assert [(r.case_id, r.reason) for r in created] == [(second.pk, EnrichmentRequest.Reason.CASE_OPENED)]
    still_open.refresh_from_db()
    assert still_open.done_at is None and still_open.requested_at > timezone.now() - timedelta(minutes=1)
    assert EnrichmentRequest.objects.filter(case=first).count() == 1


def test_playbook_trigger_records_of_a_chunk_are_one_insert_and_each_is_evaluated(make_source, settings):
    settings.SOAR_ENRICHMENT_AUTO = False
    playbook = make_playbook({"name": "On open", "trigger": {"type": "case_created"},
                              "steps": [action("t", "tag", tags=["opened"])]})
    source, _ = make_source()
    ids = critical_alerts(source, 4)
    with CaptureQueriesContext(connection) as queries:
        correlation.process_chunk(ids, correlation.load_rules())
    inserts = [q["sql"] for q in queries.captured_queries
               if q["sql"].startswith('INSERT INTO "playbooks_pendingtrigger"')]
    assert len(inserts) == 1
    assert PendingTrigger.objects.count() == 4
    assert not PendingTrigger.objects.filter(done_at__isnull=True).exists()
    assert PlaybookRun.objects.filter(playbook=playbook).count() == 4


def test_background_processing_leaves_the_follow_ups_to_the_follow_up_thread(make_source, settings, monkeypatch):
    settings.SOAR_EMBEDDED_PROCESSING = "background"
    playbook = make_playbook({"name": "On open", "trigger": {"type": "case_created"},
                              "steps": [action("t", "tag", tags=["opened"])]})
    source, _ = make_source()
    ids = critical_alerts(source, 5)
    enriched_in: list[str] = []
    real = follow_up.run_request

    def run_request(request_id, providers=None):
        enriched_in.append(threading.current_thread().name)
        return real(request_id, providers)

    monkeypatch.setattr(follow_up, "run_request", run_request)
    with queue.follow_ups_in_background():
        correlation.process_alerts(ids)
    assert Case.objects.count() == 5
    assert queue.follow_ups.wait_idle(timeout=60)
    assert enriched_in == ["soar-follow-ups"] * 5
    assert not EnrichmentRequest.objects.filter(done_at__isnull=True).exists()
    assert not PendingTrigger.objects.filter(done_at__isnull=True).exists()
    assert PlaybookRun.objects.filter(playbook=playbook).count() == 5


def test_a_follow_up_that_fails_in_the_thread_is_left_to_the_sweep(make_source, settings, monkeypatch):
    settings.SOAR_EMBEDDED_PROCESSING = "background"
    source, _ = make_source()
    ids = critical_alerts(source, 3)
    with monkeypatch.context() as patch:
        def process_died(request_ids):
            raise RuntimeError("the follow-up thread lost its work")

        patch.setattr(follow_up, "run_requests", process_died)
        with queue.follow_ups_in_background():
            correlation.process_alerts(ids)
        assert queue.follow_ups.wait_idle(timeout=60)
    assert EnrichmentRequest.objects.filter(done_at__isnull=True).count() == 3
    later = timezone.now() + timedelta(seconds=settings.SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS + 1)
    assert follow_up.sweep(now=later) == 3
    assert not EnrichmentRequest.objects.filter(done_at__isnull=True).exists()


def test_outside_background_processing_follow_ups_run_at_the_commit(make_source):
    """Commands, the inline mode and the workers: as before, nothing is handed to the thread."""
    source, _ = make_source()
    correlation.process_alerts(critical_alerts(source, 2))
    assert not EnrichmentRequest.objects.filter(done_at__isnull=True).exists()


def joining_alerts(source, users: list[str]) -> list[int]:
    """Alerts of one entity (one case), each with a user observable."""
    return [a.id for a in alert_services.ingest(source, [
        {"title": f"login {user}", "severity": "critical", "confidence": 90,
         "entity": {"type": "ip", "value": "198.51.100.9"}, "observables": [{"type": "user", "value": user}]}
        for user in users], batch=True)]


def test_alerts_that_bring_their_case_no_new_observable_request_no_enrichment(make_source):
    source, _ = make_source()
    correlation.process_chunk(joining_alerts(source, ["alice"]), correlation.load_rules())
    case = Case.objects.get()
    assert EnrichmentRequest.objects.filter(case=case).count() == 1
    # The same observables again: every (provider, observable) pair is answered already.
    correlation.process_chunk(joining_alerts(source, ["alice", "alice"]), correlation.load_rules())
    assert case.alerts.count() == 3
    assert EnrichmentRequest.objects.filter(case=case).count() == 1
    # A user the case did not have: enriched.
    correlation.process_chunk(joining_alerts(source, ["alice", "bob"]), correlation.load_rules())
    assert EnrichmentRequest.objects.filter(case=case).count() == 2
    assert set(case.observables.values_list("value", flat=True)) == {"198.51.100.9", "alice", "bob"}


def test_a_lookup_that_failed_is_retried_by_the_next_alert_even_without_a_new_observable(make_source):
    source, _ = make_source()
    correlation.process_chunk(joining_alerts(source, ["alice"]), correlation.load_rules())
    case = Case.objects.get()
    alice = case.observables.get(value="alice")
    failed = EnrichmentResult.objects.create(case=case, observable=alice, provider="threat_intel", verdict="unknown",
                                             error="timed out", fetched_at=timezone.now())
    correlation.process_chunk(joining_alerts(source, ["alice"]), correlation.load_rules())
    assert EnrichmentRequest.objects.filter(case=case).count() == 2
    # Once answered, the old failure no longer brings the case back.
    EnrichmentResult.objects.create(case=case, observable=alice, provider=failed.provider, verdict="unknown",
                                    fetched_at=timezone.now())
    correlation.process_chunk(joining_alerts(source, ["alice"]), correlation.load_rules())
    assert EnrichmentRequest.objects.filter(case=case).count() == 2


def test_one_case_signal_follows_the_same_rule(make_source):
    """case_alerts_added (the per-alert path, an analyst's promotion) asks for a request unless
    the sender says the alerts brought no new observable."""
    source, _ = make_source()
    correlation.process_chunk(joining_alerts(source, ["alice"]), correlation.load_rules())
    case = Case.objects.get()
    EnrichmentRequest.objects.update(done_at=timezone.now())
    case_alerts_added.send(sender=Alert, case_id=case.pk, alert_ids=[], opened=False, observables_added=False)
    assert EnrichmentRequest.objects.filter(case=case).count() == 1
    case_alerts_added.send(sender=Alert, case_id=case.pk, alert_ids=[], opened=False)
    assert EnrichmentRequest.objects.filter(case=case).count() == 2
