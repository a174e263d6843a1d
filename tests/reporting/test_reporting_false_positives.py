"""False-positive rates per correlation rule, source and detection: the report summary (JSON and
dashboard), the CSV export and the /metrics gauges, limited to the cases the reader may see."""

import csv
import io

import pytest
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Alert, AlertGroup, AlertSource, CorrelationRule
from cases import services
from cases.models import Resolution
from tests.factories import build_world

pytestmark = pytest.mark.django_db


def attach(case, source, title, rule=None):
    now = timezone.now()
    group = None
    if rule is not None:
        group = AlertGroup.objects.create(rule=rule, key=f"k{case.pk}{title}", key_hash=f"{case.pk}{title}"[:64],
                                          first_seen=now, last_seen=now, case=case, is_open=False)
    return Alert.objects.create(source=source, title=title, severity="high", fingerprint=f"{case.pk}-{title}",
                                case=case, group=group, status=Alert.Status.IN_CASE)


@pytest.fixture
def fp_world(settings):
    settings.SOAR_REPORT_CACHE_SECONDS = 0
    w = build_world()
    siem = AlertSource.objects.create(name="siem", kind="generic", token_hash="a" * 64, default_team=w.blue)
    edr = AlertSource.objects.create(name="edr", kind="generic", token_hash="b" * 64, default_team=w.red)
    brute = CorrelationRule.objects.create(name="brute-force", key="entity")
    cases = []
    for n, verdict in enumerate(["false-positive", "false-positive", "true-positive", "benign"]):
        case = services.open_case(title=f"case {n}", severity="high", team=w.blue)
        attach(case, siem, "SSH brute force", rule=brute)
        attach(case, siem, "SSH brute force", rule=None)  # a second alert: the case still counts once
        services.resolve_case(case, resolution=verdict, summary="checked", actor=w.analyst)
        cases.append(case)
    manual = services.open_case(title="by hand", severity="low", team=w.blue)
    attach(manual, edr, "Odd login")
    services.resolve_case(manual, resolution="false-positive", summary="noise", actor=w.analyst)
    open_case = services.open_case(title="still open", severity="low", team=w.blue)
    attach(open_case, siem, "SSH brute force", rule=brute)
    red = services.open_case(title="red one", severity="low", team=w.red)
    attach(red, edr, "Red detection")
    services.resolve_case(red, resolution="false-positive", summary="noise", actor=w.red_analyst)
    w.cases = cases
    return w


def by_name(rows):
    return {row["name"]: row for row in rows}


def test_summary_gives_rates_per_rule_source_and_detection_for_visible_cases(client, fp_world):
    client.force_login(fp_world.analyst)
    body = client.get("/api/v1/reports/summary").json()["false_positives"]
    assert body["verdicts"] == 5 and body["false_positives"] == 3 and body["false_positive_rate"] == 0.6
    rules = by_name(body["per_rule"])
    assert rules["brute-force"] == {"name": "brute-force", "verdicts": 4, "false_positives": 2,
                                    "false_positive_rate": 0.5}
    assert rules[None]["verdicts"] == 1 and rules[None]["false_positives"] == 1  # opened by hand: no rule
    sources = by_name(body["per_source"])
    assert sources["siem"]["false_positive_rate"] == 0.5 and sources["edr"]["false_positive_rate"] == 1.0
    assert sources["edr"]["verdicts"] == 1  # the red team's case is not visible to a blue analyst
    detections = by_name(body["per_detection"])
    assert detections["SSH brute force"]["verdicts"] == 4 and "Red detection" not in detections
    counts = {row["resolution"]: row["cases"] for row in body["by_resolution"]}
    assert counts == {"false-positive": 3, "true-positive": 1, "benign": 1}


def test_admin_defined_resolution_counts_as_false_positive_when_flagged(client, fp_world):
    Resolution.objects.create(slug="test-traffic", name="Test traffic", counts_as_false_positive=True)
    case = services.open_case(title="pentest", severity="low", team=fp_world.blue)
    services.resolve_case(case, resolution="test-traffic", summary="red team exercise", actor=fp_world.analyst)
    client.force_login(fp_world.analyst)
    body = client.get("/api/v1/reports/summary").json()["false_positives"]
    assert body["verdicts"] == 6 and body["false_positives"] == 4


def test_dashboard_and_csv_export_show_the_rates(client, fp_world):
    client.force_login(fp_world.analyst)
    html = client.get("/reports/").content.decode()
    assert 'id="fp-per-rule"' in html and "brute-force" in html and "50.0%" in html
    assert 'id="fp-per-detection"' in html and "SSH brute force" in html
    response = client.get("/reports/export/verdicts.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["dimension", "name", "verdicts", "false_positives", "false_positive_rate"]
    assert ["rule", "brute-force", "4", "2", "0.5"] in rows and ["source", "edr", "1", "1", "1.0"] in rows
    assert client.get("/reports/export/verdicts.csv?days=0").status_code == 400
    cases_csv = b"".join(client.get("/reports/export/cases.csv").streaming_content).decode()
    assert "resolution,false_positive,resolved_by,resolution_summary" in cases_csv.splitlines()[0]
    assert "false-positive,true,analyst,checked" in cases_csv


@override_settings(SOAR_METRICS_ALLOWLIST=["127.0.0.1/32"], SOAR_METRICS_TOKEN="")
def test_metrics_expose_verdicts_and_false_positive_ratios(client, fp_world):
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for family in text_string_to_metric_families(text) for s in family.samples}
    assert values[("soar_case_verdicts", (("resolution", "false-positive"),))] == 4  # every team
    rule = (("dimension", "rule"), ("name", "brute-force"))
    assert values[("soar_cases_with_verdict", rule)] == 4
    assert values[("soar_false_positive_cases", rule)] == 2
    assert values[("soar_false_positive_ratio", rule)] == 0.5
    assert values[("soar_false_positive_ratio", (("dimension", "source"), ("name", "edr")))] == 1.0
    assert values[("soar_cases_with_verdict", (("dimension", "rule"), ("name", "(none)")))] == 2
    assert values[("soar_metrics_scrape_errors", ())] == 0


def test_detection_labels_are_bounded(client, fp_world, monkeypatch):
    from reporting import metrics

    monkeypatch.setattr(metrics, "VERDICT_DETECTION_LIMIT", 1)
    families = {family.name: family for family in metrics.SoarCollector().collect()}
    detections = [s for s in families["soar_cases_with_verdict"].samples if s.labels["dimension"] == "detection"]
    assert [s.labels["name"] for s in detections] == ["SSH brute force"]
