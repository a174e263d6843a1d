"""Alerts whose processing fails: marked FAILED with the error without holding up their message,
retried by the sweep a bounded number of times, then left in the alert queue."""

import datetime as dt

import pytest
from django.db import OperationalError
from django.utils import timezone

from alerts import correlation, correlation_chunks, outbox, services
from alerts.models import Alert

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held(monkeypatch, make_source):
    """Three stored, unprocessed alerts (dispatch is held back)."""
    monkeypatch.setattr(services, "dispatch_processing", lambda ids, **kwargs: None)
    source, _ = make_source()
    stored = services.ingest(source, [{"title": f"Alert {i}", "severity": "high", "confidence": 90,
                                       "entity": {"type": "ip", "value": f"192.0.2.{i}"}} for i in range(3)],
                             batch=True)
    return [s.id for s in stored]


def poison(monkeypatch, bad_id, error):
    real = correlation.select_rule

    def select_rule(alert, rules):
        if alert.pk == bad_id:
            raise error
        return real(alert, rules)

    # Both paths choose the rule: the chunk (alerts.correlation_chunks) and, alone, the alert.
    monkeypatch.setattr(correlation, "select_rule", select_rule)
    monkeypatch.setattr(correlation_chunks, "select_rule", select_rule)


def age_last_attempt(alert_id, seconds):
    Alert.objects.filter(pk=alert_id).update(processed_at=timezone.now() - dt.timedelta(seconds=seconds))


def test_a_poison_alert_fails_alone_and_keeps_its_error(monkeypatch, held):
    poison(monkeypatch, held[1], ValueError("unexpected payload shape"))
    correlation.process_alerts(held)
    states = dict(Alert.objects.filter(pk__in=held).values_list("pk", "processing"))
    assert states == {held[0]: "done", held[1]: "failed", held[2]: "done"}
    bad = Alert.objects.get(pk=held[1])
    assert bad.processing_error == "ValueError: unexpected payload shape"
    assert bad.processing_attempts == 1 and bad.processed_at is not None
    assert bad.case_id is None and bad.status == "queued", "it waits in the alert queue"


def test_database_errors_are_retried_in_place_before_the_alert_is_marked_failed(monkeypatch, held):
    calls = []

    def always_busy(alert_id, rules):
        calls.append(alert_id)
        raise OperationalError("database is locked")

    monkeypatch.setattr(correlation, "_process_once", always_busy)
    assert correlation.process_alert(held[0]) is False
    assert calls == [held[0]] * correlation.MAX_ATTEMPTS
    assert Alert.objects.get(pk=held[0]).processing == "failed"


def test_the_sweep_retries_a_failed_alert_after_the_delay(monkeypatch, held, settings):
    settings.SOAR_FAILED_ALERT_RETRY_AFTER_SECONDS = 300
    poison(monkeypatch, held[0], ValueError("transient"))
    correlation.process_alert(held[0])
    monkeypatch.undo()  # the cause is gone (a deploy, the database back)
    assert outbox.retry_failed_alerts(timezone.now()) == 0, "too early"
    age_last_attempt(held[0], 301)
    outbox.sweep_unprocessed_alerts(older_than_seconds=0)  # embedded mode: processed in-process
    alert = Alert.objects.get(pk=held[0])
    assert alert.processing == "done" and alert.case_id is not None
    assert alert.processing_attempts == 2


def test_retries_are_bounded(monkeypatch, held, settings):
    settings.SOAR_FAILED_ALERT_RETRIES = 2
    poison(monkeypatch, held[0], ValueError("always"))
    correlation.process_alert(held[0])
    for _ in range(5):
        age_last_attempt(held[0], 10_000)
        outbox.sweep_unprocessed_alerts(older_than_seconds=0)
    alert = Alert.objects.get(pk=held[0])
    assert alert.processing == "failed"
    assert alert.processing_attempts == 3, "the first try and two retries"


def test_a_database_outage_in_the_task_is_retried_by_the_task_not_left_to_the_sweep(monkeypatch, held):
    """PostgreSQL restarting under a worker: the task is tried again after a short backoff
    (soar/task_retry.py), so the alert is processed seconds after the database is back."""
    from alerts import tasks

    real = correlation.process_alerts
    outage = {"left": 2}

    def flaky(alert_ids):
        if outage["left"]:
            outage["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        real(alert_ids)

    monkeypatch.setattr(correlation, "process_alerts", flaky)
    tasks.process_alerts.apply(args=[[held[0]]])
    assert outage["left"] == 0 and Alert.objects.get(pk=held[0]).processing == "done"
