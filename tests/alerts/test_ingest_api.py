"""The webhook on the embedded stack (SQLite, tasks in-process)."""

import hashlib
import hmac
import json
import time

import pytest

from alerts.models import Alert, AlertGroup
from cases.models import AuditLog, Case, CaseEvent

pytestmark = pytest.mark.django_db(transaction=True)

ALERT = {
    "title": "Brute force against VPN",
    "severity": "high",
    "confidence": 90,
    "entity": {"type": "ip", "value": "203.0.113.7"},
    "observables": [{"type": "user", "value": "Alice"}],
    "occurred_at": "2026-11-25T10:00:00Z",
}


def post(client, token, body, path="/api/v1/alerts", **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(path, data=data, content_type=headers.pop("content_type", "application/json"),
                       HTTP_AUTHORIZATION=f"Bearer {token}", **headers)


def test_single_alert_is_stored_normalized_and_opens_case(client, make_source):
    _, token = make_source()
    response = post(client, token, ALERT)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["accepted"] == 1 and body["alerts"][0]["duplicate"] is False
    alert = Alert.objects.get(pk=body["alerts"][0]["id"])
    assert (alert.severity, alert.entity_type, alert.entity_value) == ("high", "ip", "203.0.113.7")
    assert alert.processing == "done" and alert.case is not None
    assert sorted(alert.observables.values_list("type", "value")) == [("ip", "203.0.113.7"), ("user", "alice")]
    case = alert.case
    assert case.severity == "high" and case.status == "NEW"
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds[:2] == [CaseEvent.Kind.CREATED, CaseEvent.Kind.ALERT_ATTACHED]
    assert AuditLog.objects.filter(action="case.create", object_id=str(case.pk)).exists()
    assert response["X-Request-ID"]


def test_low_confidence_alert_waits_in_queue_then_joins_case(client, make_source):
    _, token = make_source()
    low = {**ALERT, "severity": "low", "confidence": 20}
    first = post(client, token, low).json()["alerts"][0]["id"]
    assert Alert.objects.get(pk=first).case is None
    assert Case.objects.count() == 0
    post(client, token, {**ALERT, "severity": "critical"})
    case = Case.objects.get()
    # the queued alert of the same entity and window belongs to the case opened later
    assert Alert.objects.get(pk=first).case == case
    assert case.severity == "critical" and case.alerts.count() == 2
    assert AlertGroup.objects.filter(is_open=True).count() == 1


def test_same_entity_correlates_into_one_case_and_raises_severity(client, make_source):
    _, token = make_source()
    post(client, token, ALERT)
    post(client, token, {**ALERT, "title": "Impossible travel", "severity": "critical"})
    post(client, token, {**ALERT, "entity": {"type": "ip", "value": "198.51.100.9"}})
    assert Case.objects.count() == 2
    case = Case.objects.get(alerts__entity_value="203.0.113.7", alerts__title="Impossible travel")
    assert case.severity == "critical" and case.alerts.count() == 2
    assert case.events.filter(kind="severity_changed").exists()


def test_idempotency_key_makes_resend_an_upsert(client, make_source):
    _, token = make_source()
    first = post(client, token, ALERT, HTTP_IDEMPOTENCY_KEY="abc-1").json()["alerts"][0]
    again = post(client, token, ALERT, HTTP_IDEMPOTENCY_KEY="abc-1").json()["alerts"][0]
    assert again == {"id": first["id"], "duplicate": True, "resolved": False}
    alert = Alert.objects.get()
    assert alert.occurrence_count == 2 and alert.last_seen_at >= alert.received_at


def test_source_ref_makes_resend_an_upsert(client, make_source):
    _, token = make_source()
    post(client, token, {**ALERT, "source_ref": "edr-77"})
    post(client, token, {**ALERT, "source_ref": "edr-77"})
    assert Alert.objects.get().occurrence_count == 2


def test_batch_stores_all_and_reports_per_item(client, make_source):
    _, token = make_source()
    items = [{**ALERT, "source_ref": f"r{i}", "entity": {"type": "ip", "value": f"203.0.113.{i}"}} for i in range(5)]
    items.append(items[0])
    response = post(client, token, {"alerts": items}, path="/api/v1/alerts/batch")
    assert response.status_code == 202
    results = response.json()["alerts"]
    assert len(results) == 6 and results[5] == {"id": results[0]["id"], "duplicate": True, "resolved": False}
    assert Alert.objects.count() == 5 and Case.objects.count() == 5


def test_batch_with_one_bad_item_stores_nothing(client, make_source):
    _, token = make_source()
    items = [ALERT, {**ALERT, "severity": "apocalyptic"}, {"title": ""}]
    response = post(client, token, items, path="/api/v1/alerts/batch")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"1", "2"} and "severity" in errors["1"] and "title" in errors["2"]
    assert Alert.objects.count() == 0


def test_batch_limit(client, make_source, settings):
    settings.SOAR_MAX_BATCH_ITEMS = 3
    _, token = make_source()
    response = post(client, token, [ALERT] * 4, path="/api/v1/alerts/batch")
    assert response.status_code == 400 and "Too many items" in response.json()["detail"]


@pytest.mark.parametrize(
    "body, content_type, status, fragment",
    [
        (b"{not json", "application/json", 400, "Invalid JSON"),
        (b"", "application/json", 400, "empty"),
        (json.dumps(ALERT).encode(), "text/plain", 415, "Content-Type"),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400, "nested deeper"),
        (b'{"title": "a\\u0000b"}', "application/json", 400, "NUL"),
        (b'{"title": "x", "confidence": 123456789012345678901234567890}', "application/json", 400, "64 bits"),
        (b'{"title": "x", "data": NaN}', "application/json", 400, "Invalid JSON"),
        (b'{"title": "x", "data": 1e999}', "application/json", 400, "finite"),
        (b'{"title": "x", "occurred_at": "9999-01-01T00:00:00Z"}', "application/json", 400, "occurred_at"),
        (b'{"title": "x", "occurred_at": 1e300}', "application/json", 400, "occurred_at"),
        (b'{"title": "x", "confidence": 101}', "application/json", 400, "confidence"),
        (b'{"title": "x", "entity": {"type": "ip", "value": "not-an-ip"}}', "application/json", 400, "entity"),
        (b'"just a string"', "application/json", 400, "object"),
        (b"\xff\xfe", "application/json", 400, "UTF-8"),
    ],
)
def test_bad_input_is_refused_clearly_and_stores_nothing(client, make_source, body, content_type, status, fragment):
    _, token = make_source()
    response = post(client, token, body, content_type=content_type)
    assert response.status_code == status, response.content
    assert fragment in response.content.decode()
    assert Alert.objects.count() == 0


def test_body_over_limit_is_413(client, make_source, settings):
    settings.SOAR_MAX_BODY_BYTES = 1000
    _, token = make_source()
    response = post(client, token, {**ALERT, "description": "x" * 2000})
    assert response.status_code == 413
    assert Alert.objects.count() == 0


@pytest.mark.parametrize("header", ["", "Bearer ", "Bearer wrong", "Token abc"])
def test_unknown_token_is_401(client, make_source, header):
    make_source()
    response = client.post("/api/v1/alerts", data=json.dumps(ALERT), content_type="application/json",
                           HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert Alert.objects.count() == 0


def test_disabled_source_is_refused(client, make_source):
    _, token = make_source(enabled=False)
    assert post(client, token, ALERT).status_code == 401


def test_token_is_stored_hashed(make_source):
    source, token = make_source()
    assert token not in (source.token_hash, source.token_prefix)
    assert source.token_hash == hashlib.sha256(token.encode()).hexdigest()


def sign(secret, body, ts):
    return "sha256=" + hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


def test_hmac_signature_required_and_verified(client, make_source):
    _, token = make_source(hmac_secret="s3cret")
    body = json.dumps(ALERT).encode()
    now = str(int(time.time()))
    assert post(client, token, body).status_code == 401
    assert post(client, token, body, HTTP_X_SOAR_TIMESTAMP=now,
                HTTP_X_SOAR_SIGNATURE=sign("wrong", body, now)).status_code == 401
    tampered = json.dumps({**ALERT, "severity": "info"}).encode()
    assert post(client, token, tampered, HTTP_X_SOAR_TIMESTAMP=now,
                HTTP_X_SOAR_SIGNATURE=sign("s3cret", body, now)).status_code == 401
    old = str(int(time.time()) - 301)
    replay = post(client, token, body, HTTP_X_SOAR_TIMESTAMP=old, HTTP_X_SOAR_SIGNATURE=sign("s3cret", body, old))
    assert replay.status_code == 401 and "window" in replay.json()["detail"]
    assert Alert.objects.count() == 0
    ok = post(client, token, body, HTTP_X_SOAR_TIMESTAMP=now, HTTP_X_SOAR_SIGNATURE=sign("s3cret", body, now))
    assert ok.status_code == 202
    assert Alert.objects.count() == 1


def test_ingest_token_cannot_read_other_api(client, make_source):
    _, token = make_source()
    response = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {token}")
    # the schema is public, but the admin and case API are not reachable with a source token
    response = client.get("/admin/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_refusals_are_application_errors_answered_by_kind(client, make_source):
    """The webhook raises soar.errors kinds; the API's handler answers them (detail + code), the
    view only adds its authentication scheme to a 401."""
    _, token = make_source(name="kinds", hmac_secret="s3cret")
    missing = client.post("/api/v1/alerts", data=json.dumps(ALERT), content_type="application/json")
    assert missing.status_code == 401 and missing["WWW-Authenticate"] == 'Bearer realm="soar-ingest"'
    assert missing.json() == {"detail": "Missing 'Authorization: Bearer <source token>' header.",
                              "code": "not_authenticated"}
    unsigned = post(client, token, ALERT)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "signature_rejected"
    assert unsigned["WWW-Authenticate"] == 'Bearer realm="soar-ingest"'
    too_large = post(client, token, b"x", CONTENT_LENGTH="999999999")
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large"
