"""Enrichment runs: evidence on the timeline, cache, rate limits, isolation of failing
providers, severity rules, de-duplication and the automatic triggers."""

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Observable
from cases.models import AuditLog, CaseEvent
from cases.services import open_case
from enrichment import services
from enrichment.models import EnrichmentResult, EnrichmentRule, ProviderConfig, RateLimitBucket
from enrichment.providers.blocklist import BlocklistProvider


def fixture_json(name):
    return json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "enrichment" / name).read_text())

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_localhost")]


def observable(obs_type, value):
    return Observable.objects.get_or_create(type=obs_type, value_hash=Observable.digest(value),
                                            defaults={"value": value})[0]


def make_case(*observables, severity="medium"):
    case = open_case(title="Suspicious traffic", severity=severity)
    case.observables.add(*observables)
    return case


def configure(key, server, **fields):
    fields.setdefault("api_key", "k")
    fields.setdefault("timeout_seconds", 2)
    fields.setdefault("max_retries", 0)
    fields.setdefault("rate_limit_per_minute", 0)
    return ProviderConfig.objects.create(provider=key, base_url=server.url, **fields)


def test_results_are_evidence_on_the_timeline(fake_server):
    fake_server.add("GET", "/api/v2/check", json=fixture_json("abuseipdb_malicious.json"))
    configure("abuseipdb", fake_server)
    ip = observable("ip", "1.2.3.4")
    case = make_case(ip)
    results = services.enrich_case(case.pk)
    by_provider = {r.provider: r for r in results}
    assert set(by_provider) == {"abuseipdb", "ip_classification", "threat_intel", "blocklist", "asset_inventory"}
    abuse = by_provider["abuseipdb"]
    assert (abuse.verdict, abuse.score, abuse.case_id, abuse.from_cache) == ("malicious", 100, case.pk, False)
    assert abuse.raw["data"]["totalReports"] == 1234 and abuse.fetched_at is not None
    event = case.events.get(kind=CaseEvent.Kind.ENRICHMENT, data__provider="abuseipdb")
    assert event.data["verdict"] == "malicious" and event.data["observable"] == "ip:1.2.3.4"
    assert event.data["score"] == 100 and "Abuse confidence" in event.data["summary"]
    assert "raw" not in event.data and event.actor_label == "enrichment"
    # "nothing known" answers are kept as results but not written on the timeline
    assert not case.events.filter(kind=CaseEvent.Kind.ENRICHMENT, data__provider="blocklist").exists()


def test_cache_hit_does_not_reach_the_server(fake_server):
    fake_server.add("GET", "/api/v2/check", json=fixture_json("abuseipdb_malicious.json"))
    configure("abuseipdb", fake_server, cache_ttl_seconds=600)
    case = make_case(observable("ip", "1.2.3.4"))
    services.enrich_case(case.pk, provider_keys=["abuseipdb"], force=True)
    second = services.enrich_case(case.pk, provider_keys=["abuseipdb"], force=True)
    assert fake_server.count() == 1
    assert second[0].from_cache and second[0].verdict == "malicious" and second[0].raw["data"]["abuseConfidenceScore"]


def test_no_cache_when_ttl_is_zero(fake_server):
    fake_server.add("GET", "/api/v2/check", json=fixture_json("abuseipdb_malicious.json"))
    configure("abuseipdb", fake_server, cache_ttl_seconds=0)
    case = make_case(observable("ip", "1.2.3.4"))
    services.enrich_case(case.pk, provider_keys=["abuseipdb"], force=True)
    services.enrich_case(case.pk, provider_keys=["abuseipdb"], force=True)
    assert fake_server.count() == 2


def test_rate_limit_is_respected(fake_server, settings):
    settings.SOAR_ENRICHMENT_MAX_RATE_WAIT_SECONDS = 0
    fake_server.add("GET", "/api/v2/check", json=fixture_json("abuseipdb_clean.json"))
    configure("abuseipdb", fake_server, rate_limit_per_minute=2)
    case = make_case(*(observable("ip", f"1.2.3.{i}") for i in range(1, 4)))
    results = services.enrich_case(case.pk, provider_keys=["abuseipdb"])
    assert fake_server.count() == 2
    errors = [r for r in results if r.error]
    assert len(errors) == 1 and "rate limit of 2/min" in errors[0].error
    events = case.events.filter(kind=CaseEvent.Kind.ENRICHMENT, data__has_key="error")
    assert ["rate limit" in e.data["error"] for e in events] == [True]


def test_rate_limit_waits_for_a_token_when_allowed(fake_server, settings):
    settings.SOAR_ENRICHMENT_MAX_RATE_WAIT_SECONDS = 5
    fake_server.add("GET", "/api/v2/check", json=fixture_json("abuseipdb_clean.json"))
    configure("abuseipdb", fake_server, rate_limit_per_minute=60)  # 1 token/s after a burst of 60
    RateLimitBucket.objects.create(provider="abuseipdb", tokens=0.5, updated_at=timezone.now())
    case = make_case(observable("ip", "1.2.3.4"))
    results = services.enrich_case(case.pk, provider_keys=["abuseipdb"])
    assert not results[0].error and fake_server.count() == 1


def test_failing_providers_do_not_block_the_others(fake_server, monkeypatch):
    fake_server.add("GET", "/api/v2/check", json=fixture_json("abuseipdb_malicious.json"))
    fake_server.add("GET", "/api/v3/ip_addresses/1.2.3.4", delay=1.0, json={})
    configure("abuseipdb", fake_server)
    configure("virustotal", fake_server, timeout_seconds=0.2)

    def broken(self, obs_type, value):
        raise RuntimeError("provider bug with secret=abc")

    monkeypatch.setattr(BlocklistProvider, "lookup", broken)
    case = make_case(observable("ip", "1.2.3.4"))
    results = {r.provider: r for r in services.enrich_case(case.pk)}
    assert "timed out after 0.2s" in results["virustotal"].error
    assert results["blocklist"].error == "Internal blocklist: internal error (RuntimeError)."
    assert not results["abuseipdb"].error and results["abuseipdb"].verdict == "malicious"
    errors = case.events.filter(kind=CaseEvent.Kind.ENRICHMENT, data__has_key="error")
    assert {e.data["provider"] for e in errors} == {"virustotal", "blocklist"}
    # The next automatic run looks up again only what failed (an error is no answer).
    monkeypatch.undo()
    assert {r.provider for r in services.enrich_case(case.pk)} == {"virustotal", "blocklist"}


def test_known_malicious_ip_raises_case_to_high():
    services.add_to_blocklist("firewall", "ip", "1.2.3.4", reason="C2", actor_label="t")
    case = make_case(observable("ip", "1.2.3.4"), severity="low")
    services.enrich_case(case.pk)
    case.refresh_from_db()
    assert case.severity == "high"
    event = case.events.get(kind=CaseEvent.Kind.SEVERITY_CHANGED)
    assert event.data["before"]["severity"] == "low" and event.data["after"]["severity"] == "high"
    assert "Known-malicious IP raises to high" in event.message
    assert AuditLog.objects.filter(action="case.update", object_id=str(case.pk),
                                   after__severity="high").exists()


def test_rules_only_raise_and_can_raise_confidence():
    EnrichmentRule.objects.create(name="blocklisted domain", verdict="malicious", provider="blocklist",
                                  observable_type="domain", raise_confidence_to=95, raise_severity_to="medium")
    services.add_to_blocklist("proxy", "domain", "evil.example", actor_label="t")
    case = make_case(observable("domain", "evil.example"), severity="critical")
    services.enrich_case(case.pk)
    case.refresh_from_db()
    assert (case.severity, case.confidence) == ("critical", 95)
    services.enrich_case(case.pk, force=True)
    assert case.events.filter(kind=CaseEvent.Kind.SEVERITY_CHANGED).count() == 1


def test_automatic_runs_do_not_repeat_evidence():
    services.add_to_blocklist("firewall", "ip", "1.2.3.4", actor_label="t")
    case = make_case(observable("ip", "1.2.3.4"))
    first = services.enrich_case(case.pk)
    assert services.enrich_case(case.pk) == []
    assert len(services.enrich_case(case.pk, force=True)) == len(first)


def test_disabled_and_unconfigured_providers_do_not_run(fake_server):
    configure("abuseipdb", fake_server, enabled=False)
    ProviderConfig.objects.create(provider="ip_classification", enabled=False)
    case = make_case(observable("ip", "1.2.3.4"))
    providers = {r.provider for r in services.enrich_case(case.pk)}
    assert providers == {"threat_intel", "blocklist", "asset_inventory"} and fake_server.count() == 0


def test_enrich_missing_case_is_a_no_op():
    assert services.enrich_case(999999) == []


@pytest.mark.django_db(transaction=True)
def test_ingested_alert_is_enriched_when_its_case_opens(client, make_source):
    services.add_to_blocklist("firewall", "ip", "203.0.113.7", reason="scanner", actor_label="t")
    EnrichmentRule.objects.create(name="blocklisted ip", verdict="malicious", observable_type="ip",
                                  raise_severity_to="critical")
    _, token = make_source()
    alert = {"title": "Brute force", "severity": "high", "confidence": 90,
             "entity": {"type": "ip", "value": "203.0.113.7"}, "observables": [{"type": "user", "value": "alice"}]}
    response = client.post("/api/v1/alerts", data=json.dumps(alert), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 202
    result = EnrichmentResult.objects.get(provider="blocklist", observable__value="203.0.113.7")
    assert result.verdict == "malicious" and result.case is not None
    case = result.case
    case.refresh_from_db()
    assert case.severity == "critical"
    assert case.events.filter(kind=CaseEvent.Kind.ENRICHMENT, data__provider="blocklist").count() == 1
    # one request for the case: its evidence is not repeated
    assert EnrichmentResult.objects.filter(provider="blocklist", case=case).count() == 2  # ip + user


def test_cases_are_enriched_through_requests_and_queued_alerts_only_when_asked(settings, monkeypatch):
    from enrichment import receivers, tasks
    from enrichment.models import EnrichmentRequest

    queued = []
    # queued by name (soar.queue.enqueue -> apply_async(args=..., kwargs=...))
    monkeypatch.setattr(tasks.enrich_alerts, "apply_async", lambda *a, **k: queued.append((k["args"], k["kwargs"])))
    receivers.on_alerts_processed(sender=None, alert_ids=[1, 2])
    assert queued == []  # their cases are enriched through the case's request
    settings.SOAR_ENRICH_QUEUED_ALERTS = True
    receivers.on_alerts_processed(sender=None, alert_ids=[1, 2])
    assert queued == [(([1, 2],), {"queued_only": True})]
    case = make_case()
    receivers.on_case_alerts_added(sender=None, case_id=case.pk, alert_ids=[1], opened=True)
    receivers.on_case_alerts_added(sender=None, case_id=case.pk, alert_ids=[2], opened=False)
    [request] = EnrichmentRequest.objects.filter(case=case)  # one open request per case
    assert request.reason == "case_opened" and request.done_at is None


def test_automatic_enrichment_can_be_switched_off(settings, monkeypatch):
    from enrichment import receivers, tasks
    from enrichment.models import EnrichmentRequest

    settings.SOAR_ENRICHMENT_AUTO = False
    settings.SOAR_ENRICH_QUEUED_ALERTS = True
    monkeypatch.setattr(tasks.enrich_alerts, "apply_async", lambda *a, **k: pytest.fail("queued"))
    case = make_case()
    receivers.on_case_alerts_added(sender=None, case_id=case.pk, alert_ids=[1], opened=True)
    receivers.on_alerts_processed(sender=None, alert_ids=[2])
    assert not EnrichmentRequest.objects.exists()


def test_the_answers_about_one_observable_are_stored_in_one_insert():
    services.add_to_blocklist("firewall", "ip", "1.2.3.4", actor_label="t")
    case = make_case(observable("ip", "1.2.3.4"), observable("domain", "evil.example"))
    with CaptureQueriesContext(connection) as queries:
        results = services.enrich_case(case.pk)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "enrichment_enrichmentresult"')]
    assert len(inserts) == 2 and len({r.provider for r in results}) > 2
    finding = case.events.get(kind=CaseEvent.Kind.ENRICHMENT)
    assert finding.data["result_id"] == next(r.pk for r in results if r.verdict == "malicious")
