"""Source adapters: fixture payloads -> expected normalized alerts; malformed -> field errors.

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
KINDS = ("generic", "elastic", "splunk", "wazuh", "suricata", "alertmanager", "email")


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
        source_ref="rt_scheduler__nobody__SplunkEnterpriseSecuritySuite__RMD5a1b2c3d4e5f60718_at_1795525200_77",
        occurred_at=utc(2026, 11, 24, 13, 0, 5), category="malware",
        observables={"ip:203.0.113.200", "user:bob", "hash:44d88612fea8a8f36de82e1278abb02f",
                     "url:http://cdn.badfiles.test/payload/update.bin", "domain:cdn.badfiles.test"},
    )],
    ("wazuh", "ssh_bruteforce"): [dict(
        title="sshd: brute force trying to get access to the system. Non existent user.", severity="high",
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
        title="Successful sudo to ROOT executed.", severity="info", entity="hostname:wazuh-manager",
        source_ref="1795586401.22", occurred_at=utc(2026, 11, 25, 6, 0, 1, 4000), category="sudo",
        observables={"user:ops", "user:root"},
    )],
    ("suricata", "http_exploit"): [dict(
        title="ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)", severity="high",
        entity="ip:203.0.113.45", source_ref="1283746529184736:2034647",
        occurred_at=utc(2026, 11, 25, 8, 30, 12, 345678), category="Attempted Administrator Privilege Gain",
        observables={"ip:198.51.100.80", "domain:shop.example.com",
                     "url:http://shop.example.com/search?q=${jndi:ldap://203.0.113.45:1389/a}"},
    )],
    ("suricata", "dns_policy"): [dict(
        title="ET INFO Observed DNS Query to .test TLD", severity="low", entity="ip:198.51.100.14",
        source_ref="908172635412345:2027863", occurred_at=utc(2026, 11, 24, 22, 5, 47, 2113),
        observables={"ip:203.0.113.53", "domain:update.tracker.test"},
    )],
    ("suricata", "tls_sni"): [dict(
        title="ET MALWARE Observed Malicious SSL Cert (Cobalt Strike C2)", severity="medium",
        entity="ip:198.51.100.77", source_ref="55512345678901:2046266",
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
        title="[RESOLVED] SSHLoginBurst: Burst of SSH logins on bastion", severity="info",
        entity="hostname:bastion.example.com", source_ref="a9c8e7d6b5a49382:2026-11-24T23:10:00+00:00:resolved",
        occurred_at=utc(2026, 11, 24, 23, 10), fingerprint="a9c8e7d6b5a49382", observables={"user:deploy"},
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
        for attr in ("confidence", "category", "fingerprint"):
            if attr in want:
                assert getattr(alert, attr) == want[attr]
        assert len(alert.fingerprint) >= 16
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


def test_alertmanager_resend_dedupes_and_resolution_differs():
    firing = load("alertmanager", "resolved")
    firing["status"] = firing["alerts"][0]["status"] = "firing"
    first, again = parse_payload("alertmanager", firing)[0], parse_payload("alertmanager", copy.deepcopy(firing))[0]
    resolved = parse_payload("alertmanager", load("alertmanager", "resolved"))[0]
    assert first.source_ref == again.source_ref
    assert first.severity == "high"  # severity "page"
    assert resolved.source_ref != first.source_ref
    assert resolved.fingerprint == first.fingerprint


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


@pytest.mark.parametrize("level,severity", [(0, "info"), (3, "info"), (4, "low"), (6, "low"), (7, "medium"),
                                            (9, "medium"), (10, "high"), (12, "high"), (13, "critical"),
                                            (15, "critical"), ("12", "high")])
def test_wazuh_level_mapping(level, severity):
    payload = load("wazuh", "ssh_bruteforce")
    payload["rule"]["level"] = level
    assert parse_payload("wazuh", payload)[0].severity == severity


@pytest.mark.parametrize("value,severity", [(1, "high"), (2, "medium"), (3, "low"), (4, "info"), (None, "medium")])
def test_suricata_severity_mapping(value, severity):
    payload = load("suricata", "http_exploit")
    payload["alert"]["severity"] = value
    assert parse_payload("suricata", payload)[0].severity == severity


def _broken(kind, name, mutate):
    payload = load(kind, name)
    mutate(payload)
    return payload


MALFORMED = [
    ("elastic", lambda: _broken("elastic", "nested_malware", lambda p: p["kibana"]["alert"]["rule"].pop("name")),
     "kibana.alert.rule.name"),
    ("elastic", lambda: _broken("elastic", "flat_webhook", lambda p: p["alerts"][0].update({"@timestamp": "today"})),
     "alerts[0].@timestamp"),
    ("elastic", lambda: _broken("elastic", "nested_malware",
                                lambda p: p["kibana"]["alert"].update({"original_time": "2126-01-01T00:00:00Z"})),
     "kibana.alert.original_time"),
    ("elastic", lambda: {"alerts": []}, "alerts"),
    ("elastic", lambda: _broken("elastic", "flat_webhook", lambda p: p["alerts"][1].pop("kibana.alert.rule.name")),
     "alerts[1].kibana.alert.rule.name"),
    ("splunk", lambda: {"sid": "x", "result": {}}, "search_name"),
    ("splunk", lambda: {"search_name": "x", "result": ["a"]}, "result"),
    ("splunk", lambda: {"search_name": "x", "result": {"_time": "3026-01-01T00:00:00Z"}}, "result._time"),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p["rule"].update({"level": 16})), "rule.level"),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p["rule"].update({"level": "high"})),
     "rule.level"),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p.pop("rule")), "rule"),
    ("wazuh", lambda: _broken("wazuh", "ssh_bruteforce", lambda p: p["rule"].pop("description")),
     "rule.description"),
    ("suricata", lambda: _broken("suricata", "http_exploit", lambda p: p.update({"event_type": "flow"})),
     "event_type"),
    ("suricata", lambda: _broken("suricata", "http_exploit", lambda p: p["alert"].update({"severity": "1"})),
     "alert.severity"),
    ("suricata", lambda: _broken("suricata", "http_exploit", lambda p: p["alert"].pop("signature")),
     "alert.signature"),
    ("suricata", lambda: _broken("suricata", "http_exploit", lambda p: p.update({"timestamp": 1e300})), "timestamp"),
    ("alertmanager", lambda: {"version": "4", "alerts": []}, "alerts"),
    ("alertmanager", lambda: _broken("alertmanager", "group_firing", lambda p: p.update({"version": "3"})),
     "version"),
    ("alertmanager", lambda: _broken("alertmanager", "group_firing",
                                     lambda p: p["alerts"][1]["labels"].pop("alertname") and p.pop("commonLabels")),
     "alerts[1].labels.alertname"),
    ("alertmanager", lambda: _broken("alertmanager", "group_firing", lambda p: p["alerts"][0].update({"labels": 7})),
     "alerts[0].labels"),
    ("email", lambda: _broken("email", "phishing_report", lambda p: p.update({"from": "not an address"})), "from"),
    ("email", lambda: _broken("email", "phishing_report", lambda p: p.update({"severity": "apocalyptic"})),
     "severity"),
    ("email", lambda: _broken("email", "phishing_report", lambda p: p.update({"attachments": "x.exe"})),
     "attachments"),
    ("email", lambda: _broken("email", "phishing_report", lambda p: p.update({"received_at": "1989-12-31T00:00:00Z"})),
     "received_at"),
]


@pytest.mark.parametrize("kind,make,field", MALFORMED, ids=[f"{k}-{f}" for k, _, f in MALFORMED])
def test_malformed_payload_reports_field(kind, make, field):
    with pytest.raises(NormalizationError) as info:
        parse_payload(kind, make())
    assert field in info.value.errors, info.value.errors


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("payload", [None, 0, 1.5, "text", [], [1, 2], {}, {"alerts": None}, True])
def test_wrong_shapes_raise_normalization_error(kind, payload):
    with pytest.raises(NormalizationError) as info:
        parse_payload(kind, payload)
    assert info.value.errors


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
