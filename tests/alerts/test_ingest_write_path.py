"""The webhook's write path: one statement per alert, observables linked by processing, the
per-process source cache and the outbox relay that batches publishes."""

import json
import threading
import time

import pytest

from alerts import correlation, services
from alerts.models import Alert, AlertSource, Observable
from alerts.outbox import Relay

pytestmark = pytest.mark.django_db(transaction=True)

ALERT = {"title": "Beacon", "severity": "low", "confidence": 20, "source_ref": "r-1",
         "entity": {"type": "ip", "value": "203.0.113.9"}, "observables": [{"type": "domain", "value": "evil.test"}]}


def post(client, token, body):
    return client.post("/api/v1/alerts", data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def dispatched(monkeypatch):
    """What the request hands to processing (nothing is processed)."""
    handed = []
    monkeypatch.setattr(services, "dispatch_processing", lambda ids, **kwargs: handed.extend(ids))
    return handed


def test_a_single_alert_is_one_statement_once_the_source_is_cached(client, make_source, dispatched,
                                                                   django_assert_num_queries):
    _, token = make_source()
    services.forget_cached_sources()
    warm = post(client, token, {**ALERT, "source_ref": "warm"}).json()["alerts"][0]["id"]
    with django_assert_num_queries(1) as captured:
        response = post(client, token, ALERT)
    assert response.status_code == 202
    assert "INSERT INTO" in captured.captured_queries[0]["sql"]
    assert "ON CONFLICT" in captured.captured_queries[0]["sql"]
    assert dispatched == [warm, response.json()["alerts"][0]["id"]]


def test_resend_counts_occurrences_and_is_not_dispatched_again(client, make_source, dispatched):
    source, token = make_source()
    first = post(client, token, ALERT).json()["alerts"][0]
    second = post(client, token, ALERT).json()["alerts"][0]
    assert second == {"id": first["id"], "duplicate": True, "resolved": False}
    alert = Alert.objects.get(pk=first["id"])
    assert alert.occurrence_count == 2 and alert.last_seen_at >= alert.received_at
    assert dispatched == [first["id"]]


def test_observables_ride_on_the_row_until_processing_links_them(client, make_source, dispatched):
    _, token = make_source()
    alert_id = post(client, token, ALERT).json()["alerts"][0]["id"]
    alert = Alert.objects.get(pk=alert_id)
    assert alert.pending_observables == [["ip", "203.0.113.9"], ["domain", "evil.test"]]
    assert not alert.observables.exists() and not Observable.objects.exists()
    # processing one alert on its own (not through process_alerts) links them too
    assert correlation.process_alert(alert_id) is True
    alert.refresh_from_db()
    assert alert.pending_observables is None and alert.processing == "done"
    assert sorted(alert.observables.values_list("type", "value")) == [("domain", "evil.test"), ("ip", "203.0.113.9")]


def test_processing_a_message_links_every_alert_in_one_round(make_source, dispatched):
    source, _ = make_source()
    stored = services.ingest(source, [{**ALERT, "source_ref": f"m{i}", "observables": [
        {"type": "user", "value": f"u{i % 3}"}]} for i in range(10)], batch=True)
    ids = [s.id for s in stored]
    correlation.process_alerts(ids)
    assert Observable.objects.filter(type="user").count() == 3
    assert Alert.objects.filter(pk__in=ids, pending_observables__isnull=True, processing="done").count() == 10
    assert Alert.observables.through.objects.filter(alert_id__in=ids).count() == 20


def test_disabling_or_rotating_a_source_takes_effect_at_once_in_this_process(client, make_source, dispatched,
                                                                            settings):
    settings.SOAR_SOURCE_CACHE_SECONDS = 3600
    source, token = make_source()
    assert post(client, token, ALERT).status_code == 202
    source.enabled = False
    source.save()
    assert post(client, token, ALERT).status_code == 401
    source.enabled = True
    new_token = source.rotate_token()
    source.save()
    assert post(client, token, ALERT).status_code == 401
    assert post(client, new_token, ALERT).status_code == 202


def test_changes_made_elsewhere_reach_this_process_after_the_cache_delay(client, make_source, dispatched,
                                                                        settings):
    settings.SOAR_SOURCE_CACHE_SECONDS = 3600
    source, token = make_source()
    assert post(client, token, ALERT).status_code == 202
    # Another web process disables it: no signal reaches this one.
    AlertSource.objects.filter(pk=source.pk).update(enabled=False)
    assert post(client, token, ALERT).status_code == 202, "still cached here"
    settings.SOAR_SOURCE_CACHE_SECONDS = 0
    services.forget_cached_sources()
    assert post(client, token, ALERT).status_code == 401


# --- the relay ---------------------------------------------------------------------------

class Recorder:
    def __init__(self, fail_first=False):
        self.calls, self.fail_first = [], fail_first
        self.lock = threading.Lock()

    def __call__(self, ids, source_of=None):
        with self.lock:
            self.calls.append(list(ids))
            if self.fail_first and len(self.calls) == 1:
                raise ConnectionError("broker down")


def test_relay_publishes_what_arrives_within_the_linger_in_one_message():
    recorder = Recorder()
    relay = Relay(publish=recorder, linger_seconds=0.2)
    for n in range(5):
        relay.submit([n * 10, n * 10 + 1])
    assert relay.wait_idle(5)
    assert recorder.calls == [[0, 1, 10, 11, 20, 21, 30, 31, 40, 41]]


def test_relay_survives_a_failed_publish():
    recorder = Recorder(fail_first=True)
    relay = Relay(publish=recorder, linger_seconds=0)
    relay.submit([1])
    assert relay.wait_idle(5)
    time.sleep(0.05)
    relay.submit([2])
    assert relay.wait_idle(5)
    assert recorder.calls == [[1], [2]]


def test_relay_flush_publishes_leftovers_synchronously():
    recorder = Recorder()
    relay = Relay(publish=recorder, linger_seconds=30)
    relay.submit([7, 8])
    relay.flush()  # what atexit does when the process stops
    assert recorder.calls == [[7, 8]]
    assert relay.wait_idle(1)


def test_relay_holds_ids_the_broker_refused_and_publishes_them_when_it_is_back():
    """After a broker outage the web processes re-publish within seconds, not after the sweep's
    grace period (bench/faults.py: recovery after a Redis outage)."""
    broker_up = threading.Event()
    published: list[int] = []

    def publish(ids, source_of=None):
        if not broker_up.is_set():
            return False
        published.extend(ids)
        return True

    relay = Relay(publish=publish, linger_seconds=0, retry_seconds=0.05)
    relay.submit([1, 2])
    assert relay.wait_idle(5) and relay.held() == 2 and published == []
    broker_up.set()
    deadline = time.monotonic() + 5
    while sorted(published) != [1, 2] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(published) == [1, 2] and relay.held() == 0


def test_relay_hands_the_publish_the_sources_it_was_told_also_after_a_retry():
    calls: list[tuple[list[int], dict[int, int]]] = []
    refuse = [True]

    def publish(ids, source_of):
        calls.append((list(ids), dict(source_of)))
        return not refuse.pop() if refuse else True

    relay = Relay(publish=publish, linger_seconds=0, retry_seconds=0.05)
    relay.submit([1, 2], source_id=7)
    assert relay.wait_idle(5) and relay.held() == 2
    relay.submit([3])  # source not given: the publish looks it up
    deadline = time.monotonic() + 5
    while relay.held() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert calls[0] == ([1, 2], {1: 7, 2: 7})
    assert sorted(i for ids, _ in calls[1:] for i in ids) == [1, 2, 3]
    assert {k: v for _, sources in calls[1:] for k, v in sources.items()} == {1: 7, 2: 7}
