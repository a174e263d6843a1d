"""Alertmanager groups large enough for the COPY path on PostgreSQL: a resolved notification
resolves the stored alerts (no new rows), and the same group firing again after resolution is
stored as new alerts. Processing is left out (no worker): this is the storage contract."""

import json

import pytest

from alerts import bulk, services
from alerts.models import Alert

pytestmark = pytest.mark.django_db(transaction=True)


def group(size: int, status: str) -> dict:
    return {"version": "4", "status": status, "alerts": [{
        "status": status, "startsAt": "2026-11-30T10:00:00Z", "fingerprint": f"{i:016x}",
        "labels": {"alertname": "NodeDown", "severity": "critical", "instance": f"node-{i}.example.com:9100"},
    } for i in range(size)]}


def post(client, token, body):
    return client.post("/api/v1/alerts", data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


def test_copy_sized_groups_resolve_and_refire(client, make_source, monkeypatch):
    monkeypatch.setattr(services, "dispatch_processing", lambda ids, **kwargs: None)
    monkeypatch.setattr(services, "dispatch_resolution", lambda ids: None)
    _, token = make_source(name="am", kind="alertmanager")
    assert bulk.can_copy(60)
    fired = post(client, token, group(60, "firing")).json()["alerts"]
    assert len(fired) == 60 and not any(a["duplicate"] for a in fired)

    resolved = post(client, token, group(60, "resolved")).json()["alerts"]
    assert [a["id"] for a in resolved] == [a["id"] for a in fired]
    assert all(a["resolved"] and not a["duplicate"] for a in resolved)
    assert Alert.objects.count() == 60 and not Alert.objects.filter(resolved_at__isnull=True).exists()
    assert set(Alert.objects.values_list("occurrence_count", flat=True)) == {2}

    again = post(client, token, group(60, "firing")).json()["alerts"]
    assert not {a["id"] for a in again} & {a["id"] for a in fired}
    assert Alert.objects.count() == 120 and Alert.objects.filter(resolved_at__isnull=True).count() == 60
