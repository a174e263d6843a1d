"""Signed webhook requests cannot be replayed inside the timestamp window, and the
Idempotency-Key header is part of what is signed (issue 14, item 3)."""

import hashlib
import hmac
import json
import time

import pytest

from alerts.models import Alert

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "s3cret"
ALERT = {"title": "Signed alert without source_ref", "severity": "low",
         "entity": {"type": "ip", "value": "203.0.113.70"}}


def signed(body: bytes, ts: str, key: str | None = None, secret: str = SECRET) -> str:
    message = f"{ts}.".encode() + (f"{key}\n".encode() if key is not None else b"") + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def post(client, token, body: bytes, path="/api/v1/alerts", **headers):
    return client.post(path, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
                       **headers)


@pytest.fixture
def token(make_source):
    return make_source(hmac_secret=SECRET)[1]


def test_replayed_signed_request_stores_nothing_new(client, token):
    body = json.dumps(ALERT).encode()
    ts = str(int(time.time()))
    first = post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts, HTTP_X_SOAR_SIGNATURE=signed(body, ts))
    assert first.status_code == 202 and first.json()["alerts"][0]["duplicate"] is False
    for _ in range(3):
        again = post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts, HTTP_X_SOAR_SIGNATURE=signed(body, ts))
        # A sender retrying after a timeout gets a success-like answer naming the stored alert.
        assert again.status_code == 202
        first_id = first.json()["alerts"][0]["id"]
        assert again.json() == {"accepted": 1, "alerts": [{"id": first_id, "duplicate": True, "resolved": False}]}
    assert Alert.objects.count() == 1
    assert Alert.objects.get().occurrence_count == 1, "a replay is not a new occurrence"


def test_replayed_signed_batch_answers_the_stored_ids(client, token):
    body = json.dumps([{**ALERT, "title": f"batch {i}"} for i in range(3)]).encode()
    ts = str(int(time.time()))
    headers = {"HTTP_X_SOAR_TIMESTAMP": ts, "HTTP_X_SOAR_SIGNATURE": signed(body, ts)}
    first = post(client, token, body, path="/api/v1/alerts/batch", **headers)
    again = post(client, token, body, path="/api/v1/alerts/batch", **headers)
    assert first.status_code == again.status_code == 202
    assert [a["id"] for a in again.json()["alerts"]] == [a["id"] for a in first.json()["alerts"]]
    assert all(a["duplicate"] for a in again.json()["alerts"])
    assert Alert.objects.count() == 3


def test_a_new_signature_for_the_same_alert_is_a_resend_not_a_replay(client, token):
    """Re-signing with a new timestamp is how a sender re-sends: source_ref de-duplication applies."""
    body = json.dumps({**ALERT, "source_ref": "edr-1"}).encode()
    ts = str(int(time.time()))
    post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts, HTTP_X_SOAR_SIGNATURE=signed(body, ts))
    ts2 = str(int(ts) + 1)
    resent = post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts2, HTTP_X_SOAR_SIGNATURE=signed(body, ts2))
    assert resent.status_code == 202 and resent.json()["alerts"][0]["duplicate"] is True
    assert Alert.objects.get().occurrence_count == 2


def test_an_added_unsigned_idempotency_key_is_refused(client, token):
    """A captured request re-sent with an Idempotency-Key of the attacker's choosing would
    bypass source_ref de-duplication: the key is covered by the signature when present."""
    body = json.dumps({**ALERT, "source_ref": "edr-2"}).encode()
    ts = str(int(time.time()))
    sig = signed(body, ts)
    assert post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts, HTTP_X_SOAR_SIGNATURE=sig).status_code == 202
    for n in range(3):
        forged = post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts, HTTP_X_SOAR_SIGNATURE=sig,
                      HTTP_IDEMPOTENCY_KEY=f"attacker-{n}")
        assert forged.status_code == 401, forged.content
    assert Alert.objects.count() == 1


def test_a_signed_idempotency_key_is_honoured(client, token):
    body = json.dumps(ALERT).encode()
    ts = str(int(time.time()))
    ok = post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts, HTTP_X_SOAR_SIGNATURE=signed(body, ts, key="k-1"),
              HTTP_IDEMPOTENCY_KEY="k-1")
    assert ok.status_code == 202, ok.content
    # Signed without the key but sent with it, or signed with another key: refused.
    assert post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts, HTTP_X_SOAR_SIGNATURE=signed(body, ts, key="k-2"),
                HTTP_IDEMPOTENCY_KEY="k-1").status_code == 401
    ts2 = str(int(ts) + 1)
    resent = post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts2,
                  HTTP_X_SOAR_SIGNATURE=signed(body, ts2, key="k-1"), HTTP_IDEMPOTENCY_KEY="k-1")
    assert resent.status_code == 202 and resent.json()["alerts"][0]["duplicate"] is True
    assert Alert.objects.count() == 1 and Alert.objects.get().occurrence_count == 2


def test_remembered_signatures_are_forgotten_by_the_sweep_after_the_window(client, token, settings):
    from datetime import timedelta

    from django.utils import timezone

    from alerts import tasks
    from alerts.models import SignedRequest

    body = json.dumps(ALERT).encode()
    ts = str(int(time.time()))
    response = post(client, token, body, HTTP_X_SOAR_TIMESTAMP=ts, HTTP_X_SOAR_SIGNATURE=signed(body, ts))
    assert response.status_code == 202
    assert SignedRequest.objects.count() == 1
    tasks.sweep_unprocessed_alerts()
    assert SignedRequest.objects.count() == 1, "still inside the window"
    SignedRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    tasks.sweep_unprocessed_alerts()
    assert SignedRequest.objects.count() == 0
