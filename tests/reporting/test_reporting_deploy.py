"""Prometheus and Grafana provisioning files: they parse and show every soar_* metric."""

import json
import re
from pathlib import Path

import yaml

from alerts import ingest_metrics
from reporting import metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def soar_metric_names() -> set[str]:
    """The names the collector and the webhook counters expose, read from their modules' code."""
    source = Path(metrics.__file__).read_text() + Path(ingest_metrics.__file__).read_text()
    return set(re.findall(r'"(soar_[a-z_]+)"', source))


def test_prometheus_scrapes_the_web_service_metrics():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    web = jobs["soar-web"]
    assert web["metrics_path"] == "/metrics"
    assert web["static_configs"][0]["targets"] == ["web:8000"]
    assert web["authorization"] == {"type": "Bearer", "credentials_file": "/prometheus/soar_metrics_token"}


def test_grafana_datasource_and_dashboard_provider():
    datasources = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    source = datasources["datasources"][0]
    assert (source["type"], source["url"], source["uid"]) == ("prometheus", "http://prometheus:9090",
                                                              "soar-prometheus")
    providers = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/soar.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_dashboard_has_a_panel_for_every_product_metric():
    dashboard = json.loads((DEPLOY / "grafana/dashboards/soar.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    names = soar_metric_names()
    assert {"soar_alerts_stored", "soar_webhook_alerts_received", "soar_webhook_alerts_accepted",
            "soar_webhook_alerts_duplicate", "soar_webhook_requests_refused", "soar_cases",
            "soar_case_mtta_seconds", "soar_case_mttr_seconds", "soar_playbook_runs", "soar_playbook_steps",
            "soar_pending_approvals",
            "soar_alert_queue_lag_seconds", "soar_alerts_pending", "soar_source_alerts_pending",
            "soar_source_alert_queue_lag_seconds"} <= names
    for name in names:
        assert name in exprs, f"no panel shows {name}"
    for panel in panels:
        assert panel["datasource"]["uid"] == "soar-prometheus"
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
