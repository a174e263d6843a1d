"""Batch ingestion on PostgreSQL, where large batches take the COPY fast path."""

import json

import pytest

from alerts import bulk
from alerts.models import Alert, Observable

pytestmark = pytest.mark.django_db(transaction=True)


def batch(client, token, items):
    return client.post("/api/v1/alerts/batch", data=json.dumps(items), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


def item(i, ref=None):
    return {"title": f"Copy path {i}", "severity": "low", "confidence": 10, "source_ref": ref or f"ref-{i}",
            "entity": {"type": "ip", "value": f"203.0.113.{i % 20}"},
            "observables": [{"type": "user", "value": f"user{i % 7}"}], "data": {"n": i, "nested": {"ok": True}}}


def test_large_batch_uses_copy_and_keeps_every_field(client, make_source):
    _, token = make_source()
    items = [item(i) for i in range(120)]
    assert bulk.can_copy(len(items))
    response = batch(client, token, items)
    assert response.status_code == 202
    results = response.json()["alerts"]
    assert len(results) == 120 and not any(r["duplicate"] for r in results)
    alert = Alert.objects.get(pk=results[7]["id"])
    assert (alert.title, alert.source_ref, alert.entity_value) == ("Copy path 7", "ref-7", "203.0.113.7")
    assert alert.raw == items[7] and alert.processing == "pending" and alert.occurrence_count == 1
    assert sorted(alert.observables.values_list("type", "value")) == [("ip", "203.0.113.7"), ("user", "user0")]
    assert Observable.objects.count() == 20 + 7
    # the sequence stays consistent with ORM inserts after COPY
    assert batch(client, token, [item(999)]).status_code == 202


def test_resent_and_repeated_keys_in_a_copy_batch_are_upserts(client, make_source):
    _, token = make_source()
    first = batch(client, token, [item(i) for i in range(60)]).json()["alerts"]
    mixed = [item(i) for i in range(50, 110)] + [item(200, ref="ref-100")]
    second = batch(client, token, mixed).json()["alerts"]
    assert [r["duplicate"] for r in second[:10]] == [True] * 10
    assert second[0]["id"] == first[50]["id"]
    assert second[-1] == {"id": second[50]["id"], "duplicate": True}
    assert Alert.objects.count() == 110
    assert Alert.objects.get(source_ref="ref-55").occurrence_count == 2
    assert Alert.objects.get(source_ref="ref-100").occurrence_count == 2
