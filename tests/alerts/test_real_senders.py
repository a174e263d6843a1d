"""Real senders on the embedded stack: resolution, raw e-mail, parse warnings, fresh-install cases."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from alerts.models import Alert, AlertGroup, CorrelationRule
from cases.models import Case, CaseEvent

pytestmark = pytest.mark.django_db(transaction=True)
REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"

FIRING = {
    "version": "4", "status": "firing", "receiver": "soar", "groupKey": "{}:{alertname=\"DiskFull\"}",
    "truncatedAlerts": 0,
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-01.example.com:9100"},
        "annotations": {"summary": "disk 99% full"},
        "startsAt": "2026-11-30T10:00:00.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "0a1b2c3d4e5f6789",
    }],
}


def resolved_of(payload: dict) -> dict:
    resolved = copy.deepcopy(payload)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2026-11-30T10:05:00Z"
    return resolved


def post(client, token, body, content_type="application/json", path="/api/v1/alerts"):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(path, data=data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_resolved_notification_resolves_the_firing_alert_not_a_new_one(client, make_source):
    _, token = make_source(name="am", kind="alertmanager")
    fired = post(client, token, FIRING).json()["alerts"][0]
    alert = Alert.objects.get(pk=fired["id"])
    assert alert.case_id is not None and alert.resolved_at is None and alert.severity == "critical"

    answer = post(client, token, resolved_of(FIRING))
    assert answer.status_code == 202
    assert answer.json()["alerts"] == [{"id": alert.pk, "duplicate": False, "resolved": True}]
    assert Alert.objects.count() == 1
    alert.refresh_from_db()
    assert alert.resolved_at is not None and alert.occurrence_count == 2 and alert.severity == "critical"
    assert not AlertGroup.objects.get(pk=alert.group_id).is_open
    case = Case.objects.get(pk=alert.case_id)
    assert case.events.filter(kind=CaseEvent.Kind.ALERTS_RESOLVED).count() == 1
    assert case.status == Case.Status.NEW  # the shipped rule does not close cases by itself

    again = post(client, token, resolved_of(FIRING)).json()["alerts"][0]
    assert again == {"id": alert.pk, "duplicate": True, "resolved": False}
    assert case.events.filter(kind=CaseEvent.Kind.ALERTS_RESOLVED).count() == 1


def test_rule_that_resolves_cases_walks_the_case_to_resolved(client, make_source):
    _, token = make_source(name="am", kind="alertmanager")
    CorrelationRule.objects.update(resolve_cases=True)
    alert = Alert.objects.get(pk=post(client, token, FIRING).json()["alerts"][0]["id"])
    post(client, token, resolved_of(FIRING))
    case = Case.objects.get(pk=alert.case_id)
    assert case.status == Case.Status.RESOLVED and case.resolved_at is not None
    steps = list(case.events.filter(kind=CaseEvent.Kind.STATUS_CHANGED).values_list("data__to", flat=True))
    assert steps == ["TRIAGED", "IN_PROGRESS", "RESOLVED"]


def test_case_waits_until_every_alert_is_resolved(client, make_source):
    _, token = make_source(name="am", kind="alertmanager")
    two = copy.deepcopy(FIRING)
    second = copy.deepcopy(two["alerts"][0])
    second["fingerprint"] = "ffff000011112222"
    second["labels"]["alertname"] = "DiskSlow"
    two["alerts"].append(second)
    ids = [a["id"] for a in post(client, token, two).json()["alerts"]]
    case_id = Alert.objects.get(pk=ids[0]).case_id
    assert Alert.objects.get(pk=ids[1]).case_id == case_id
    post(client, token, resolved_of(FIRING))  # only the first alert
    assert not CaseEvent.objects.filter(case_id=case_id, kind=CaseEvent.Kind.ALERTS_RESOLVED).exists()
    post(client, token, resolved_of(two))
    assert CaseEvent.objects.filter(case_id=case_id, kind=CaseEvent.Kind.ALERTS_RESOLVED).count() == 1


def test_firing_again_after_resolution_is_a_new_alert(client, make_source):
    """Legacy Grafana alerts carry no start time: the same rule firing again after "ok" must not
    be counted on the resolved alert (it would be lost)."""
    _, token = make_source(name="graf", kind="grafana")
    legacy = json.loads((REAL / "grafana" / "07-grafana-docs-legacy-alerting.json").read_text())
    first = post(client, token, legacy).json()["alerts"][0]["id"]
    post(client, token, {**legacy, "state": "ok"})
    assert Alert.objects.get(pk=first).resolved_at is not None
    second = post(client, token, legacy).json()["alerts"][0]
    assert second["id"] != first and second["duplicate"] is False
    assert Alert.objects.get(pk=second["id"]).resolved_at is None


def test_resolution_without_its_firing_alert_is_stored_not_cased(client, make_source):
    _, token = make_source(name="am", kind="alertmanager")
    only = post(client, token, resolved_of(FIRING)).json()["alerts"][0]
    alert = Alert.objects.get(pk=only["id"])
    assert only["duplicate"] is False and alert.resolved_at is not None
    assert alert.case_id is None and alert.processing == Alert.Processing.DONE


def test_grafana_unified_from_an_alertmanager_source_is_read(client, make_source):
    _, token = make_source(name="am", kind="alertmanager")
    body = json.loads((REAL / "grafana" / "01-grafana-docs-unified-firing-2-alerts.json").read_text())
    answer = post(client, token, body)
    assert answer.status_code == 202 and answer.json()["accepted"] == 2
    titles = sorted(Alert.objects.values_list("title", flat=True))
    assert [t.split(":")[0] for t in titles] == ["High CPU usage", "High memory usage"]


def test_huge_group_is_stored_whole_and_truncation_recorded(client, make_source, settings):
    _, token = make_source(name="am", kind="alertmanager")
    group = {**FIRING, "truncatedAlerts": 7, "alerts": []}
    for index in range(1200):
        alert = copy.deepcopy(FIRING["alerts"][0])
        alert["fingerprint"] = f"{index:016x}"
        alert["labels"] = {**alert["labels"], "severity": "warning", "instance": f"node-{index}:9100"}
        group["alerts"].append(alert)
    answer = post(client, token, group)
    assert answer.status_code == 202 and answer.json()["accepted"] == 1200
    assert Alert.objects.count() == 1200
    assert all("truncatedAlerts" in " ".join(w) for w in Alert.objects.values_list("parse_warnings", flat=True))


def test_unreadable_optional_fields_become_warnings_in_the_api(client, make_source, admin_user):
    _, token = make_source(name="wz", kind="wazuh")
    body = {"timestamp": "yesterday-ish", "id": "1.2", "rule": {"level": "very high", "id": "5712"},
            "agent": {"name": "web-01"}}
    answer = post(client, token, body)
    assert answer.status_code == 202
    alert = Alert.objects.get(pk=answer.json()["alerts"][0]["id"])
    assert alert.title == "Wazuh rule 5712" and alert.severity == "medium" and alert.occurred_at is None
    fields = " ".join(alert.parse_warnings)
    assert "timestamp" in fields and "rule.level" in fields and "rule.description" in fields
    client.force_login(admin_user)
    listed = client.get("/api/v1/alerts").json()["results"][0]
    assert listed["parse_warnings"] == alert.parse_warnings
    page = client.get("/alerts/").content.decode()
    assert "3 parse warnings" in page


def test_raw_rfc822_message_is_an_alert(client, make_source):
    _, token = make_source(name="mail", kind="email")
    raw = (REAL / "email" / "03-phishing-pot-htm-attachment-spf-fail.eml").read_bytes()
    answer = post(client, token, raw, content_type="message/rfc822")
    assert answer.status_code == 202
    alert = Alert.objects.get(pk=answer.json()["alerts"][0]["id"])
    assert alert.entity_type == "email" and alert.raw["attachments"]
    hashes = set(alert.observables.filter(type="hash").values_list("value", flat=True))
    assert {a["sha256"] for a in alert.raw["attachments"]} <= hashes
    assert post(client, token, raw, content_type="message/rfc822").json()["alerts"][0]["duplicate"] is True


def test_raw_message_to_a_json_source_is_a_clear_415(client, make_source):
    _, token = make_source(name="siem", kind="generic")
    answer = post(client, token, b"From: a@b.example\r\n\r\nhi", content_type="message/rfc822")
    assert answer.status_code == 415 and "e-mail sources" in answer.json()["detail"]


def test_reported_phish_wrapper_is_unwrapped(client, make_source):
    _, token = make_source(name="mail", kind="email")
    original = (REAL / "email" / "06-mail-parser-bbva-spoof-reply-to.eml").read_bytes()
    wrapper = (b"From: Alice <alice@corp.example>\r\nTo: phish@corp.example\r\nSubject: FW: suspicious\r\n"
               b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
               b"Content-Type: text/plain\r\n\r\nPlease check.\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
               + original + b"\r\n--b--\r\n")
    alert = Alert.objects.get(pk=post(client, token, wrapper, content_type="message/rfc822")
                              .json()["alerts"][0]["id"])
    assert alert.category == "phishing" and alert.title.startswith("Reported e-mail:")
    assert alert.raw["reporter"].endswith("<alice@corp.example>")
    assert alert.entity_value != "alice@corp.example"
    # Bob reports the same phish through the webhook: the same alert, and Bob is on it too.
    again = post(client, token, wrapper.replace(b"From: Alice <alice@corp.example>", b"From: Bob <bob@corp.example>"),
                 content_type="message/rfc822").json()["alerts"][0]
    assert again["duplicate"] is True and again["id"] == alert.pk
    alert.refresh_from_db()
    assert alert.raw["reporters"] == ["Alice <alice@corp.example>", "Bob <bob@corp.example>"]
    assert "Also reported by: Bob <bob@corp.example>" in alert.description


def test_case_page_shows_indicators_defanged(client, make_source, admin_user):
    _, token = make_source(name="siem", kind="generic")
    post(client, token, {"title": "C2 beacon", "severity": "critical", "entity": {"type": "ip", "value": "8.8.4.4"},
                         "observables": [{"type": "url", "value": "hxxps://evil[.]example/payload"}]})
    alert = Alert.objects.get()
    assert set(alert.observables.values_list("value", flat=True)) >= {"https://evil.example/payload"}
    client.force_login(admin_user)
    page = client.get(f"/cases/{alert.case_id}/").content.decode()
    assert "hxxps://evil[.]example/payload" in page and "https://evil.example/payload" not in page


def test_generic_data_fields_give_observables_by_shape(client, make_source):
    _, token = make_source(name="tool", kind="generic")
    body = {"title": "Custom detector hit", "severity": "high",
            "data": {"src": {"ip": "8.8.8.8", "host": "evil.example"}, "account_name": "Bob",
                     "file": "report.pdf", "sha256": "A" * 64, "link": "hxxps://bad[.]example/x"}}
    alert = Alert.objects.get(pk=post(client, token, body).json()["alerts"][0]["id"])
    keys = {f"{t}:{v}" for t, v in alert.observables.values_list("type", "value")}
    assert {"ip:8.8.8.8", "domain:evil.example", "user:bob", "hash:" + "a" * 64,
            "url:https://bad.example/x"} <= keys
    assert not any(key.endswith("report.pdf") for key in keys)
    assert (alert.entity_type, alert.entity_value) == ("ip", "8.8.8.8") and alert.case_id


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", "application/json"])
def test_raw_message_with_another_content_type_is_still_read(client, make_source, content_type):
    _, token = make_source(name="mail", kind="email")
    raw = (REAL / "email" / "01-phishing-pot-ledger-mailchimp-alternative.eml").read_bytes()
    answer = post(client, token, raw, content_type=content_type)
    assert answer.status_code == 202, answer.content
    assert Alert.objects.get().entity_type == "email"


def test_kibana_archive_record_is_read_as_its_document():
    from alerts.adapters import parse_payload

    hit = json.loads((REAL / "elastic" / "02-7x-signal-threat-match-search-hit.json").read_text())
    record = {"type": "doc", "value": {"index": hit["_index"], "id": hit["_id"], "source": hit["_source"]}}
    (from_hit,), (from_record,) = parse_payload("elastic", hit), parse_payload("elastic", record)
    assert (from_record.title, from_record.source_ref) == (from_hit.title, from_hit.source_ref)


def test_wazuh_5x_ecs_document_is_read_through_ecs_names():
    """Shape from wazuh/wazuh-indexer-plugins ecs/alerts (plain ECS + wazuh.decoder/rules); no
    genuine 5.x alert is published yet, so this is the schema, not a captured document."""
    from alerts.adapters import parse_payload

    doc = {"@timestamp": "2026-11-30T10:00:00Z", "wazuh": {"decoder": ["sshd"], "rules": ["5712"]},
           "rule": {"id": "5712", "name": "sshd: brute force"}, "event": {"severity": 12},
           "source": {"ip": "203.0.113.9"}, "host": {"name": "web-01"}, "user": {"name": "root"}}
    (alert,) = parse_payload("wazuh", {"_index": "wazuh-alerts-5.x-2026.11.30", "_id": "abc", "_source": doc})
    alert.finalize()
    assert (alert.title, alert.severity, alert.entity_value, alert.source_ref) == (
        "sshd: brute force", "high", "203.0.113.9", "abc")
    assert {"hostname:web-01", "user:root"} <= {o.key() for o in alert.observables} and not alert.warnings
