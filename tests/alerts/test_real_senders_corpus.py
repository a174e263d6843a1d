"""The conformance corpus: genuine payloads published by the tools' own projects
(tests/fixtures/real/<kind>/, provenance in each *.expect.json and in the README there).

Each sample is parsed by its adapter and compared with what an analyst expects from the
document (written down when the sample was gathered, not from our parser's output); then every
sample is posted to the webhook of a database holding only what the migrations create, where
all must be accepted, distinct alerts must stay distinct, and every high/critical one must be
in a case."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pytest

from alerts.adapters import parse_payload
from alerts.normalization import NormalizedAlert

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "real"
MIN_SAMPLES_PER_KIND = 5


def samples() -> list[tuple[str, Path]]:
    found = []
    for expect in sorted(CORPUS.glob("*/*.expect.json")):
        found.append((expect.parent.name, expect))
    return found


SAMPLES = samples()


def payload_of(expect_path: Path) -> tuple[object, str]:
    """The sample as a sender posts it: parsed JSON, or raw bytes for a message/rfc822 body."""
    meta = json.loads(expect_path.read_text())
    stem = expect_path.name.removesuffix(".expect.json")
    content_type = meta.get("content_type", "application/json")
    if content_type == "message/rfc822":
        return (expect_path.parent / f"{stem}.eml").read_bytes(), content_type
    return json.loads((expect_path.parent / f"{stem}.json").read_text()), content_type


def parsed(kind: str, expect_path: Path) -> list[NormalizedAlert]:
    payload, _ = payload_of(expect_path)
    return parse_payload(kind, payload)


def sample_id(value) -> str:
    return f"{value[0]}/{value[1].name.removesuffix('.expect.json')}" if isinstance(value, tuple) else str(value)


def test_every_kind_has_enough_genuine_samples_with_provenance():
    by_kind = defaultdict(int)
    for kind, expect in SAMPLES:
        provenance = json.loads(expect.read_text())["provenance"]
        assert provenance.get("url") or provenance.get("repository"), expect.name
        by_kind[kind] += 1
    assert set(by_kind) >= {"alertmanager", "grafana", "email", "suricata", "wazuh", "elastic", "splunk"}
    short = {kind: n for kind, n in by_kind.items() if n < MIN_SAMPLES_PER_KIND}
    assert not short, f"kinds with fewer than {MIN_SAMPLES_PER_KIND} genuine samples: {short}"


@pytest.mark.parametrize("sample", SAMPLES, ids=sample_id)
def test_sample_normalizes_as_an_analyst_expects(sample):
    kind, expect_path = sample
    expect = json.loads(expect_path.read_text())["expect"]
    alerts = parsed(kind, expect_path)
    for alert in alerts:
        alert.finalize()
    assert len(alerts) == expect["count"]
    for alert, wanted in zip(alerts, expect.get("alerts", []), strict=False):
        if "title_contains" in wanted:
            assert wanted["title_contains"].lower() in alert.title.lower()
        if "severity" in wanted:
            assert alert.severity == wanted["severity"], alert.severity_raw
        if "status" in wanted:
            assert alert.resolved == (wanted["status"] == "resolved")
        if "occurred_at" in wanted:
            assert alert.occurred_at == dt.datetime.fromisoformat(wanted["occurred_at"])
        if "entity" in wanted:
            assert f"{alert.entity_type}:{alert.entity_value}" == wanted["entity"]
        keys = {obs.key() for obs in alert.observables}
        missing = set(wanted.get("observables_include", [])) - keys
        assert not missing, f"missing observables {missing}; got {sorted(keys)}"
    if expect.get("truncated_alerts"):
        assert all(any("truncatedAlerts" in w for w in alert.warnings) for alert in alerts)


def test_identity_follows_each_tool():
    """Alerts the tools consider distinct get distinct source_refs; the same alert (a re-send, or
    the resolved notification of a firing one) gets the same source_ref, across the corpus."""
    ref_by_identity: dict[tuple[str, str], set[str]] = defaultdict(set)
    for kind, expect_path in SAMPLES:
        expect = json.loads(expect_path.read_text())["expect"]
        for alert, wanted in zip(parsed(kind, expect_path), expect.get("alerts", []), strict=False):
            if wanted.get("dedup_identity"):
                alert.finalize()
                ref_by_identity[(kind, wanted["dedup_identity"])].add(alert.source_ref)
    assert ref_by_identity
    for identity, refs in ref_by_identity.items():
        assert len(refs) == 1 and "" not in refs, (identity, refs)
    by_kind: dict[str, list[str]] = defaultdict(list)
    for (kind, _identity), refs in ref_by_identity.items():
        by_kind[kind].extend(refs)
    for kind, refs in by_kind.items():
        assert len(refs) == len(set(refs)), f"{kind}: distinct alerts share a source_ref"


# --- the webhook of a fresh install -------------------------------------------------------------


@pytest.fixture
def shipped_rules(db):
    """Exactly the correlation rules the migrations create (other tests may have flushed or
    changed them): the migrations' own functions run against the migrated state."""
    from importlib import import_module

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from alerts.models import CorrelationRule

    CorrelationRule.objects.all().delete()
    state = MigrationExecutor(connection).loader.project_state(("alerts", "0007_real_senders"))
    import_module("alerts.migrations.0003_default_rule").create_default_rule(state.apps, None)
    import_module("alerts.migrations.0007_real_senders").default_rule_takes_real_alerts(state.apps, None)
    return list(CorrelationRule.objects.all())


@pytest.mark.django_db(transaction=True)
def test_fresh_install_accepts_every_sample_and_cases_every_high_alert(client, shipped_rules):
    from alerts.models import Alert, AlertSource

    assert [rule.min_confidence for rule in shipped_rules] == [45]
    tokens = {}
    for kind in sorted({kind for kind, _ in SAMPLES}):
        source = AlertSource(name=f"real-{kind}", kind=kind)
        tokens[kind] = source.rotate_token()
        source.save()
    stored_ids: list[int] = []
    for kind, expect_path in SAMPLES:
        payload, content_type = payload_of(expect_path)
        body = payload if isinstance(payload, bytes) else json.dumps(payload)
        response = client.post("/api/v1/alerts", data=body, content_type=content_type,
                               HTTP_AUTHORIZATION=f"Bearer {tokens[kind]}")
        assert response.status_code == 202, (expect_path.name, response.content[:500])
        stored_ids += [item["id"] for item in response.json()["alerts"]]
    alerts = Alert.objects.filter(pk__in=stored_ids)
    assert alerts.exclude(processing=Alert.Processing.DONE).count() == 0
    severe = alerts.filter(severity__in=("high", "critical"), resolved_at__isnull=True)
    assert severe.exists()
    uncased = list(severe.filter(case__isnull=True).values_list("source__kind", "title"))
    assert not uncased, f"high/critical alerts left without a case: {uncased}"


def _with_label(payload: dict, **labels) -> dict:
    for alert in payload["alerts"]:
        alert["labels"] = {**alert.get("labels", {}), **labels}
    return payload


def _splunk_high(payload: dict) -> dict:
    payload["result"] = {**payload["result"], "severity": "high"}
    return payload


# One realistic high/critical payload per adapter. Genuine samples where the corpus has a high one;
# for Splunk and Grafana (no genuine high sample found) a genuine sample with the sender's own
# severity field set to high, as a search or a rule label would set it.
HIGH_PAYLOADS = {
    "alertmanager": ("alertmanager/01-zulip-high-cpu-firing-2-alerts", None),
    "suricata": ("suricata/02-doc-lefthook-stealer-to-client", None),
    "wazuh": ("wazuh/04-doc-virustotal-level12-eicar-agent-host", None),
    "elastic": ("elastic/05-8x-custom-query-high-sysmon-windows-tasks", None),
    "email": ("email/04-phishing-pot-encoded-subject-jpeg-dmarc-fail", None),
    "splunk": ("splunk/04-pd-alert-action-payload-ip-host-cd", _splunk_high),
    "grafana": ("grafana/03-zulip-grafana9-firing-3-alerts", lambda p: _with_label(p, severity="critical")),
    "generic": (None, None),
}
GENERIC_HIGH = {"title": "Impossible travel for j.doe", "severity": "high", "source_ref": "idp-7781",
                "entity": {"type": "user", "value": "j.doe"},
                "observables": [{"type": "ip", "value": "185.220.101.4"}], "occurred_at": "2026-11-30T08:00:00Z"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(HIGH_PAYLOADS))
def test_a_high_alert_of_every_adapter_opens_a_case_on_a_fresh_install(client, shipped_rules, kind):
    from alerts.models import Alert, AlertSource

    name, change = HIGH_PAYLOADS[kind]
    if name is None:
        payload, content_type = GENERIC_HIGH, "application/json"
    else:
        payload, content_type = payload_of(CORPUS / f"{name}.expect.json")
        payload = change(payload) if change else payload
    source = AlertSource(name=f"fresh-{kind}", kind=kind)
    token = source.rotate_token()
    source.save()
    body = payload if isinstance(payload, bytes) else json.dumps(payload)
    answer = client.post("/api/v1/alerts", data=body, content_type=content_type,
                         HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 202, answer.content[:300]
    alerts = Alert.objects.filter(pk__in=[item["id"] for item in answer.json()["alerts"]])
    assert alerts.filter(severity__in=("high", "critical")).exists()
    assert not alerts.filter(severity__in=("high", "critical"), case__isnull=True).exists()
