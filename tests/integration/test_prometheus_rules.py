"""The shipped alerting rules (deploy/prometheus/alerts.yml): valid for Debian's promtool, they
fire on the situations they name (promtool's rule unit tests), and every soar_* metric they
use is one that Mini-SOAR's /metrics serves."""

import re
import shutil
import subprocess
import textwrap

import pytest
from django.test import override_settings

from tests.integration.conftest import ROOT

RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
LAG_DESCRIPTION = ("soar_alerts_pending = alerts waiting. Add worker processes or hosts (see docs/architecture.md), "
                   "or check that a worker consumes the default and sweep queues.")
STORM_DESCRIPTION = ("A storm from firewall: its alerts are processed from the bulk queue in turn with the others'. "
                     "Check the sender, and soar_source_alert_queue_lag_seconds of the other sources.")
pytestmark = pytest.mark.django_db


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.fail("promtool not found: .ci/run installs Debian's prometheus package")
    return found


def test_rules_are_valid():
    result = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def assert_promtool_tests_pass(tmp_path, unit_tests: str) -> None:
    """Run ``promtool test rules`` on these rule unit tests (YAML, dedented)."""
    tests = tmp_path / "rules_test.yml"
    tests.write_text(textwrap.dedent(unit_tests))
    result = subprocess.run([promtool(), "test", "rules", str(tests)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_queue_lag_and_refusal_rules_fire(tmp_path):
    assert_promtool_tests_pass(tmp_path, f"""\
        rule_files: [{RULES}]
        evaluation_interval: 1m
        tests:
          - interval: 1m
            input_series:
              - series: 'soar_alert_queue_lag_seconds'
                values: '0 300x10'
              - series: 'soar_webhook_requests_refused_total{{source="siem",status="400"}}'
                values: '0+10x30'
            alert_rule_test:
              - eval_time: 8m
                alertname: SoarAlertQueueLagging
                exp_alerts:
                  - exp_labels: {{severity: warning}}
                    exp_annotations:
                      summary: "Oldest unprocessed alert is 5m 0s old"
                      description: "{LAG_DESCRIPTION}"
              - eval_time: 8m
                alertname: SoarAlertQueueStalled
                exp_alerts: []
              - eval_time: 25m
                alertname: SoarWebhookRefusingRequests
                exp_alerts:
                  - exp_labels: {{severity: warning, source: siem, status: "400"}}
                    exp_annotations:
                      summary: "Webhook refuses requests from siem (400)"
                      description: "See the web log for the refused requests' field errors."
        """)


def test_source_storm_rule_names_the_storming_source_only(tmp_path):
    assert_promtool_tests_pass(tmp_path, f"""\
        rule_files: [{RULES}]
        evaluation_interval: 1m
        tests:
          - interval: 1m
            input_series:
              - series: 'soar_source_alerts_pending{{source="firewall"}}'
                values: '0 8000x30'
              - series: 'soar_source_alerts_pending{{source="siem"}}'
                values: '0 40x30'
            alert_rule_test:
              - eval_time: 5m
                alertname: SoarSourceAlertStorm
                exp_alerts: []
              - eval_time: 15m
                alertname: SoarSourceAlertStorm
                exp_alerts:
                  - exp_labels: {{severity: warning, source: firewall}}
                    exp_annotations:
                      summary: "firewall has 8000 alerts waiting for processing"
                      description: "{STORM_DESCRIPTION}"
        """)


@override_settings(SOAR_METRICS_ALLOWLIST=["127.0.0.1/32"], SOAR_METRICS_TOKEN="")
def test_every_soar_metric_in_the_rules_is_served(client, make_source):
    _, token = make_source()
    client.post("/api/v1/alerts", data='{"title": "x"}', content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}")
    client.post("/api/v1/alerts", data="{}", content_type="application/json", HTTP_AUTHORIZATION="Bearer wrong")
    served = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    used = set(re.findall(r"\b(soar_[a-z_]+)", RULES.read_text()))
    assert used
    missing = {name for name in used if not re.search(rf"^{name}(\{{| )", served, re.MULTILINE)}
    assert not missing, f"rules use metrics /metrics does not serve: {missing}"
