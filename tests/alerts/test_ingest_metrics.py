"""The webhook's Prometheus counters (alerts.ingest_metrics): incremented per request, never
recomputed from rows. Counters are process-wide, so each test reads them before and after."""

import json
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Alert

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "adapters"

ALERT = {"title": "Brute force against VPN", "severity": "high", "confidence": 90,
         "entity": {"type": "ip", "value": "203.0.113.7"}, "source_ref": "evt-1"}


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Snapshot:
    """Counter values before a step; ``delta(name, **labels)`` is the change since."""

    def __init__(self, *series):
        self.before = {s: value(s[0], **dict(s[1])) for s in series}

    @staticmethod
    def key(name, **labels):
        return name, tuple(sorted(labels.items()))

    def delta(self, name, **labels) -> float:
        return value(name, **labels) - self.before.get(self.key(name, **labels), 0.0)


def snapshot(source: str) -> Snapshot:
    series = [Snapshot.key("soar_webhook_alerts_received_total", source=source),
              Snapshot.key("soar_webhook_alerts_duplicate_total", source=source)]
    series += [Snapshot.key("soar_webhook_alerts_accepted_total", source=source, severity=s)
               for s in ("info", "low", "medium", "high", "critical")]
    series += [Snapshot.key("soar_webhook_requests_refused_total", source=source, status=str(s))
               for s in (400, 401, 413, 415)]
    return Snapshot(*series)


def post(client, token, body, path="/api/v1/alerts"):
    return client.post(path, data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_new_alert_counts_received_and_accepted_by_severity(client, make_source):
    _, token = make_source(name="m-new")
    counted = snapshot("m-new")
    assert post(client, token, ALERT).status_code == 202
    assert counted.delta("soar_webhook_alerts_received_total", source="m-new") == 1
    assert counted.delta("soar_webhook_alerts_accepted_total", source="m-new", severity="high") == 1
    assert counted.delta("soar_webhook_alerts_duplicate_total", source="m-new") == 0


def test_a_resend_counts_duplicate_not_accepted(client, make_source):
    _, token = make_source(name="m-dup")
    assert post(client, token, ALERT).status_code == 202
    counted = snapshot("m-dup")
    response = post(client, token, ALERT)
    assert response.status_code == 202 and response.json()["alerts"][0]["duplicate"] is True
    assert counted.delta("soar_webhook_alerts_received_total", source="m-dup") == 1
    assert counted.delta("soar_webhook_alerts_duplicate_total", source="m-dup") == 1
    assert counted.delta("soar_webhook_alerts_accepted_total", source="m-dup", severity="high") == 0
    assert Alert.objects.get().occurrence_count == 2


def test_a_batch_counts_each_alert_new_and_resent(client, make_source):
    _, token = make_source(name="m-batch")
    assert post(client, token, {**ALERT, "source_ref": "b-0"}).status_code == 202
    counted = snapshot("m-batch")
    batch = [{**ALERT, "source_ref": f"b-{i}", "severity": "low" if i % 2 else "critical"} for i in range(4)]
    assert post(client, token, batch, path="/api/v1/alerts/batch").status_code == 202
    assert counted.delta("soar_webhook_alerts_received_total", source="m-batch") == 4
    assert counted.delta("soar_webhook_alerts_duplicate_total", source="m-batch") == 1  # b-0
    assert counted.delta("soar_webhook_alerts_accepted_total", source="m-batch", severity="low") == 2
    assert counted.delta("soar_webhook_alerts_accepted_total", source="m-batch", severity="critical") == 1


def test_an_alertmanager_notification_counts_each_alert(client, make_source):
    _, token = make_source(name="m-am", kind="alertmanager")
    payload = json.loads((FIXTURES / "alertmanager" / "group_firing.json").read_text())
    counted = snapshot("m-am")
    response = post(client, token, payload)
    assert response.status_code == 202, response.content
    alerts = len(payload["alerts"])
    assert counted.delta("soar_webhook_alerts_received_total", source="m-am") == alerts
    accepted = sum(counted.delta("soar_webhook_alerts_accepted_total", source="m-am", severity=s)
                   for s in ("info", "low", "medium", "high", "critical"))
    assert accepted == alerts


def test_refused_requests_are_counted_by_source_and_status(client, make_source):
    _, token = make_source(name="m-bad")
    counted, anonymous = snapshot("m-bad"), snapshot("unknown")
    assert post(client, token, {"severity": "high"}).status_code == 400  # no title
    assert post(client, "soar_not-a-token", ALERT).status_code == 401
    assert counted.delta("soar_webhook_requests_refused_total", source="m-bad", status="400") == 1
    assert counted.delta("soar_webhook_alerts_received_total", source="m-bad") == 1
    assert counted.delta("soar_webhook_alerts_accepted_total", source="m-bad", severity="high") == 0
    assert anonymous.delta("soar_webhook_requests_refused_total", source="unknown", status="401") == 1
    assert anonymous.delta("soar_webhook_alerts_received_total", source="unknown") == 1


def test_a_refused_batch_counts_its_items(client, make_source):
    _, token = make_source(name="m-badbatch")
    counted = snapshot("m-badbatch")
    batch = [ALERT, {"severity": "high"}, {**ALERT, "source_ref": "x"}]
    assert post(client, token, batch, path="/api/v1/alerts/batch").status_code == 400
    assert counted.delta("soar_webhook_requests_refused_total", source="m-badbatch", status="400") == 1
    assert counted.delta("soar_webhook_alerts_received_total", source="m-badbatch") == 3
    assert counted.delta("soar_webhook_alerts_accepted_total", source="m-badbatch", severity="high") == 0
    assert not Alert.objects.exists()


def test_counters_never_go_down_when_alerts_are_deleted(client, make_source, settings):
    settings.SOAR_METRICS_ALLOWLIST = ["127.0.0.1/32"]
    _, token = make_source(name="m-del")
    for i in range(3):
        assert post(client, token, {**ALERT, "source_ref": f"d-{i}"}).status_code == 202
    received = value("soar_webhook_alerts_received_total", source="m-del")
    accepted = value("soar_webhook_alerts_accepted_total", source="m-del", severity="high")
    assert received >= 3 and accepted >= 3
    Alert.objects.all().delete()
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("soar_webhook_alerts_received_total", (("source", "m-del"),))] == received
    assert samples[("soar_webhook_alerts_accepted_total", (("severity", "high"), ("source", "m-del")))] == accepted
    # ... while the stored-row gauge follows the rows.
    assert ("soar_alerts_stored", (("severity", "high"), ("source", "m-del"))) not in samples
    assert value("soar_webhook_alerts_received_total", source="m-del") == received


# --- deploy/gunicorn.conf.py: multiprocess mode -------------------------------------------------

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def load_gunicorn_conf(monkeypatch, directory=None) -> dict:
    import runpy

    # The file sets these itself: setenv first so that monkeypatch restores them afterwards (a
    # left-over PROMETHEUS_MULTIPROC_DIR would switch the rest of the session to multiprocess).
    for name in ("SOAR_GUNICORN_OWNS_PROMETHEUS_DIR", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    if directory is not None:
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    return runpy.run_path(str(GUNICORN_CONF))


class FakeServer:
    class log:  # noqa: N801 - gunicorn's server.log
        @staticmethod
        def info(*args):
            pass


@pytest.mark.django_db(transaction=False)
def test_gunicorn_conf_empties_the_given_directory_and_marks_dead_workers(monkeypatch, tmp_path):
    (tmp_path / "counter_1.db").write_bytes(b"old run")
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "keep.txt").write_text("not ours")
    conf = load_gunicorn_conf(monkeypatch, tmp_path)
    conf["on_starting"](FakeServer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")
    conf["child_exit"](FakeServer, type("Worker", (), {"pid": 4242})())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db", "keep.txt"]  # counts stay
    conf["on_exit"](FakeServer)
    assert tmp_path.exists(), "a directory it was given is not removed"


@pytest.mark.django_db(transaction=False)
def test_gunicorn_conf_without_a_directory_uses_a_private_one(monkeypatch):
    import os

    conf = load_gunicorn_conf(monkeypatch)
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    try:
        assert directory.is_dir() and directory.name.startswith("soar-prometheus-")
        conf["on_starting"](FakeServer)
    finally:
        conf["on_exit"](FakeServer)
    assert not directory.exists()
    assert "deploy/gunicorn.conf.py" in (GUNICORN_CONF.parents[1] / "Dockerfile").read_text()
