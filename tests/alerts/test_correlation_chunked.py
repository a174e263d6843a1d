"""Correlation in chunks (``correlation.process_chunk``) gives the same result as the per-alert
path (``correlation.process_alert``, one alert after the other in the same order): the same
groups, cases, alert rows, timeline and audit entries.

The property test runs a random stream of alerts (few entities, sources and observables,
every severity, confidences around the thresholds, alerts already resolved, arrival times
spread across window boundaries and out of order) through both paths on a fresh database
each, in batches, closing some cases between batches, and compares what they stored.

A sender's "resolved" is applied by its own task (``apply_resolution``) after the commit that
processed the alert, racing with the processing of the next alerts; here both paths apply it
at the end of each batch, so that the comparison does not depend on that race."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts import correlation, correlation_chunks, resolution, services
from alerts.models import Alert, AlertGroup, AlertSource, CorrelationRule, Observable
from alerts.normalization import SEVERITIES
from cases.models import AuditLog, Case

pytestmark = pytest.mark.django_db(transaction=True)

ALERT = st.fixed_dictionaries({
    "source": st.sampled_from(["a", "b"]),
    "entity": st.one_of(st.none(), st.integers(0, 3)),
    "user": st.one_of(st.none(), st.integers(0, 2)),
    "fingerprint": st.integers(0, 1),
    "severity": st.sampled_from(SEVERITIES),
    "confidence": st.sampled_from([20, 60, 90]),
    "resolved": st.sampled_from([False, False, False, False, True]),
    # Minutes after the previous alert; a late one arrived that much before it.
    "gap": st.sampled_from([0, 1, 2, 3, 4, 6, 9, 12, -7]),
})
RULE = st.fixed_dictionaries({
    "key": st.sampled_from(["entity", "observable", "fingerprint"]),
    "threshold_mode": st.sampled_from(["all", "any"]),
    "min_severity": st.sampled_from(["medium", "high"]),
    "min_confidence": st.sampled_from([50, 80]),
    "window_minutes": st.sampled_from([5, 10]),
    "only_b": st.booleans(),
})
SCENARIO = st.fixed_dictionaries({
    "rules": st.lists(RULE, min_size=1, max_size=2),
    "alerts": st.lists(ALERT, min_size=1, max_size=24),
    "batches": st.lists(st.integers(1, 9), min_size=1, max_size=6),
    # After batch i, whether an analyst closes the case of the batch's last alert in a case.
    "closes": st.lists(st.booleans(), max_size=6),
    "chunk": st.integers(1, 12),
})


def payload(spec: dict) -> dict:
    item: dict = {"title": f"alert e{spec['entity']}", "severity": spec["severity"],
                  "confidence": spec["confidence"], "fingerprint": f"fp-{spec['fingerprint']}"}
    if spec["entity"] is not None:
        item["entity"] = {"type": "ip", "value": f"198.51.100.{spec['entity']}"}
    if spec["user"] is not None:
        item["observables"] = [{"type": "user", "value": f"user{spec['user']}"}]
    return item


def reset() -> None:
    Alert.objects.all().delete()
    AlertGroup.objects.all().delete()
    Case.objects.all().delete()  # its timeline goes with it; the audit log is append-only
    Observable.objects.all().delete()
    CorrelationRule.objects.all().delete()
    AlertSource.objects.all().delete()


def run(scenario: dict, chunked: bool, base: dt.datetime) -> dict:
    reset()
    sources = {}
    for name in ("a", "b"):
        source = AlertSource(name=f"src-{name}", kind="generic")
        source.rotate_token()
        source.save()
        sources[name] = source
    for index, spec in enumerate(scenario["rules"]):
        rule = CorrelationRule.objects.create(
            name=f"rule {index}", priority=index, key=spec["key"], threshold_mode=spec["threshold_mode"],
            min_severity=spec["min_severity"], min_confidence=spec["min_confidence"],
            window_minutes=spec["window_minutes"])
        if spec["only_b"]:
            rule.sources.add(sources["b"])
    ids = []
    minute = 0
    for spec in scenario["alerts"]:
        minute += spec["gap"]
        alert_id = services.ingest(sources[spec["source"]], [payload(spec)])[0].id
        Alert.objects.filter(pk=alert_id).update(
            received_at=base + dt.timedelta(minutes=minute),
            resolved_at=base if spec["resolved"] else None)
        ids.append(alert_id)
    rules = correlation.load_rules()
    start = 0
    for number, size in enumerate(scenario["batches"] + [len(ids)]):
        batch = ids[start:start + size]
        start += size
        if chunked:
            for at in range(0, len(batch), scenario["chunk"]):
                correlation.process_chunk(batch[at:at + scenario["chunk"]], rules)
        else:
            for alert_id in batch:
                correlation.process_alert(alert_id, rules)
        resolution.apply_resolution(batch)
        if number < len(scenario["closes"]) and scenario["closes"][number]:
            last = Alert.objects.filter(pk__in=batch, case__isnull=False).order_by("-pk").first()
            if last is not None:
                Case.objects.filter(pk=last.case_id).update(status="CLOSED")
    return snapshot(ids)


def snapshot(ids: list[int]) -> dict:
    index = {alert_id: i for i, alert_id in enumerate(ids)}
    members: dict[int, frozenset[int]] = {}
    for group_id in AlertGroup.objects.values_list("pk", flat=True):
        members[group_id] = frozenset(index[a] for a in Alert.objects.filter(group_id=group_id)
                                      .values_list("pk", flat=True))
    in_case: dict[int, frozenset[int]] = {}
    for case_id in Case.objects.values_list("pk", flat=True):
        in_case[case_id] = frozenset(index[a] for a in Alert.objects.filter(case_id=case_id)
                                     .values_list("pk", flat=True))
    alerts = {
        index[row["pk"]]: (row["processing"], row["status"], members.get(row["group_id"]),
                           in_case.get(row["case_id"]), row["pending_observables"])
        for row in Alert.objects.values("pk", "processing", "status", "group_id", "case_id", "pending_observables")
    }
    groups = Counter(
        (members[g.pk], g.key, g.is_open, g.alert_count, g.first_seen, g.last_seen, in_case.get(g.case_id))
        for g in AlertGroup.objects.all()
    )
    cases = Counter()
    for case in Case.objects.all():
        kinds = Counter(case.events.values_list("kind", flat=True))
        audits = Counter(AuditLog.objects.filter(object_type="cases.case", object_id=str(case.pk))
                         .values_list("action", flat=True))
        observables = frozenset(case.observables.values_list("value", flat=True))
        cases[(in_case[case.pk], case.title, case.description, case.severity, case.confidence, case.status,
               case.sla_ack_due - case.created_at, case.sla_resolve_due - case.created_at,
               tuple(sorted(kinds.items())), tuple(sorted(audits.items())), observables)] += 1
    return {"alerts": alerts, "groups": groups, "cases": cases}


@pytest.fixture
def quiet(monkeypatch, settings):
    settings.SOAR_ENRICHMENT_AUTO = False
    monkeypatch.setattr(services, "dispatch_processing", lambda ids, **kwargs: None)
    # Resolution is applied by run() after each batch, in both paths (see the module's docstring).
    monkeypatch.setattr(correlation, "dispatch_resolution", lambda ids: None)
    monkeypatch.setattr(correlation_chunks, "dispatch_resolution", lambda ids: None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(scenario=SCENARIO)
def test_chunks_store_what_alert_by_alert_processing_stores(quiet, scenario):
    base = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    one_by_one = run(scenario, chunked=False, base=base)
    in_chunks = run(scenario, chunked=True, base=base)
    assert in_chunks["alerts"] == one_by_one["alerts"]
    assert in_chunks["groups"] == one_by_one["groups"]
    assert in_chunks["cases"] == one_by_one["cases"]


def test_a_chunk_takes_a_constant_number_of_statements(quiet, make_source):
    """Ten or a hundred alerts that each open a case: the same statements, not ten times more."""
    source, _ = make_source()
    counts = []
    for size in (10, 100):
        ids = [s.id for s in services.ingest(source, [
            {"title": "x", "severity": "critical", "confidence": 90,
             "entity": {"type": "ip", "value": f"203.0.113.{i}"},
             "observables": [{"type": "user", "value": f"u{size}-{i}"}]} for i in range(size)], batch=True)]
        with CaptureQueriesContext(connection) as queries:
            assert correlation.process_chunk(ids, correlation.load_rules()) == ids
        sqls = [q["sql"] for q in queries.captured_queries]
        # Correlation's own statements: up to the commit, without the receivers of
        # cases_alerts_added (playbooks looks up its triggers once per chunk).
        sqls = sqls[:next(i for i, sql in enumerate(sqls) if sql == "COMMIT")]
        counts.append(len([sql for sql in sqls if '"playbooks_' not in sql]))
        assert Case.objects.filter(alerts__pk__in=ids).distinct().count() == size
    # SQLite splits a bulk INSERT into statements of at most 999 parameters: a few more.
    assert counts[1] <= counts[0] + 5, counts


def test_waiting_alerts_join_the_case_their_group_opens_and_severity_is_raised(quiet, make_source):
    CorrelationRule.objects.all().delete()
    CorrelationRule.objects.create(name="entity", key="entity", min_severity="high", min_confidence=50)
    source, _ = make_source()
    entity = {"type": "hostname", "value": "ws-1"}
    low = [s.id for s in services.ingest(source, [{"title": "low", "severity": "low", "confidence": 90,
                                                   "entity": entity},
        {"title": "low2", "severity": "medium", "confidence": 90, "entity": entity}], batch=True)]
    rules = correlation.load_rules()
    correlation.process_chunk(low, rules)
    assert not Case.objects.exists() and AlertGroup.objects.get().alert_count == 2
    more = [s.id for s in services.ingest(source, [
        {"title": "high", "severity": "high", "confidence": 90, "entity": entity},
        {"title": "crit", "severity": "critical", "confidence": 95, "entity": entity}], batch=True)]
    correlation.process_chunk(more, rules)
    case = Case.objects.get()
    assert set(case.alerts.values_list("pk", flat=True)) == set(low + more)
    assert (case.severity, case.confidence) == ("critical", 95)
    assert case.events.filter(kind="alert_attached").count() == 4
    assert case.events.filter(kind="severity_changed").count() == 1
    assert set(Alert.objects.values_list("status", flat=True)) == {"in_case"}


def test_a_chunk_that_keeps_failing_is_processed_alert_by_alert(quiet, make_source, monkeypatch):
    from django.db import OperationalError

    source, _ = make_source()
    ids = [s.id for s in services.ingest(source, [
        {"title": "x", "severity": "high", "confidence": 90, "entity": {"type": "ip", "value": f"192.0.2.{i}"}}
        for i in range(3)], batch=True)]
    calls = []

    def busy(alert_ids, rules):
        calls.append(alert_ids)
        raise OperationalError("database is locked")

    monkeypatch.setattr(correlation, "process_chunk", busy)
    correlation.process_alerts(ids)
    assert len(calls) == correlation.CHUNK_ATTEMPTS
    assert set(Alert.objects.values_list("processing", flat=True)) == {"done"}
    assert Case.objects.count() == 3


def test_chunk_size_setting_splits_a_message(quiet, make_source, monkeypatch, settings):
    settings.SOAR_CORRELATION_CHUNK = 2
    source, _ = make_source()
    ids = [s.id for s in services.ingest(source, [
        {"title": "x", "severity": "high", "confidence": 90, "entity": {"type": "ip", "value": "192.0.2.9"}}
        for _ in range(5)], batch=True)]
    seen = []
    real = correlation.process_chunk
    monkeypatch.setattr(correlation, "process_chunk", lambda chunk, rules: seen.append(chunk) or real(chunk, rules))
    correlation.process_alerts(ids)
    assert seen == [ids[0:2], ids[2:4], ids[4:5]]
    assert Case.objects.count() == 1 and Case.objects.get().alerts.count() == 5
