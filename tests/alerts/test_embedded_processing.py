"""The embedded mode's default: webhook alerts are processed by a thread of the web process
after the response (SOAR_EMBEDDED_PROCESSING=background), so a sender never waits for cases to
be opened, enriched and offered to playbooks."""

from __future__ import annotations

import json

import pytest

from alerts import outbox
from alerts.models import Alert
from soar.queue import follow_ups

pytestmark = pytest.mark.django_db(transaction=True)


def group(size: int) -> dict:
    return {"version": "4", "status": "firing", "alerts": [{
        "status": "firing", "startsAt": "2026-11-30T10:00:00Z", "fingerprint": f"{i:016x}",
        "labels": {"alertname": "NodeDown", "severity": "critical", "instance": f"node-{i}.example.com:9100"},
    } for i in range(size)]}


def test_webhook_answers_before_processing_and_the_thread_finishes_it(client, make_source, settings, monkeypatch):
    settings.SOAR_EMBEDDED_PROCESSING = "background"
    _, token = make_source(name="am", kind="alertmanager")
    started = []
    real = outbox._process_here

    def gated(ids, source_of):
        started.append(ids)
        real(ids, source_of)

    gate = outbox.Relay(publish=gated, linger_seconds=0)
    monkeypatch.setattr(outbox, "embedded_relay", gate)
    answer = client.post("/api/v1/alerts", data=json.dumps(group(20)), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 202 and answer.json()["accepted"] == 20
    assert gate.wait_idle(timeout=60)
    # The chunk's follow-ups (enrichment, playbook triggers) run on in their own thread: the
    # test's database may be flushed only once they are done.
    assert follow_ups.wait_idle(timeout=60)
    assert sum(len(ids) for ids in started) == 20
    assert Alert.objects.filter(processing=Alert.Processing.DONE, case__isnull=False).count() == 20


def test_background_round_sweeps_alerts_an_earlier_round_left(make_source, settings):
    """The relay's own round sweeps old pending alerts at once (the embedded beat's sweep may be
    off, or run in another process)."""
    from django.utils import timezone

    settings.SOAR_SWEEP_AFTER_SECONDS = 0
    source, _ = make_source(name="siem")
    left = Alert.objects.create(source=source, title="left behind", severity="low", fingerprint="f",
                                received_at=timezone.now())
    outbox._process_here([], {})
    left.refresh_from_db()
    assert left.processing == Alert.Processing.DONE


def test_commands_and_inline_mode_process_before_returning(client, make_source, settings):
    settings.SOAR_EMBEDDED_PROCESSING = "inline"
    _, token = make_source(name="am", kind="alertmanager")
    client.post("/api/v1/alerts", data=json.dumps(group(3)), content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}")
    assert Alert.objects.filter(processing=Alert.Processing.DONE).count() == 3


def test_the_sweep_queues_a_waiting_alert_once_per_grace_period(make_source, settings, monkeypatch):
    """An alert still waiting behind a long queue is not published again at every sweep
    (issue 14: the sweep re-queued the same pending alerts twice)."""
    from datetime import timedelta

    from django.utils import timezone

    settings.SOAR_SWEEP_AFTER_SECONDS = 30
    source, _ = make_source(name="siem")
    waiting = Alert.objects.create(source=source, title="in a long queue", severity="low", fingerprint="f")
    Alert.objects.filter(pk=waiting.pk).update(received_at=timezone.now() - timedelta(seconds=60))
    queued: list[list[int]] = []
    monkeypatch.setattr(outbox, "publish_processing", lambda ids, *args, **kwargs: queued.append(ids) or True)
    assert outbox.sweep_unprocessed_alerts() == 1
    assert outbox.sweep_unprocessed_alerts() == 0  # queued a moment ago: still in the queue
    Alert.objects.filter(pk=waiting.pk).update(processed_at=timezone.now() - timedelta(seconds=31))
    assert outbox.sweep_unprocessed_alerts() == 1  # a grace period later it may have been lost
    assert queued == [[waiting.pk], [waiting.pk]]
