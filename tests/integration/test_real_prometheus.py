"""A real sender: Debian's `prometheus` fires an alert, a real `prometheus-alertmanager` posts it
to the webhook of a gunicorn (with a Celery worker) on the test database, and later posts its
resolution. The same Prometheus scrapes Mini-SOAR's /metrics with the bearer token and its
query API shows the webhook counter.

The alert's condition is a gauge the test serves itself (``soar_test_condition``), so
flipping it to 0 resolves the alert through Prometheus' normal evaluation. Every process runs
on free loopback ports with temporary config and data directories and is stopped at teardown.
Needs /usr/bin/prometheus and /usr/bin/prometheus-alertmanager (.ci/run installs them)."""

from __future__ import annotations

import json
import secrets
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from alerts.models import Alert
from cases.models import Team
from tests.integration.conftest import Service, free_port

pytestmark = pytest.mark.django_db(transaction=True)

PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
ALERT_NAME = "SoarTestInstanceDown"
SOURCE = "prometheus-am"


class ConditionServer:
    """Serves ``soar_test_condition <value>`` in the Prometheus text format on a free port."""

    def __init__(self):
        self.value = 1
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = f"# TYPE soar_test_condition gauge\nsoar_test_condition {outer.value}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def get_json(url: str, token: str = "") -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
        return json.loads(response.read())


def get_text(url: str, token: str) -> str:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read().decode()


@dataclass
class Stack:
    source: object
    web_url: str
    metrics_token: str
    prometheus_url: str
    alertmanager_url: str
    condition: ConditionServer

    def query(self, promql: str) -> list:
        url = f"{self.prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        body = get_json(url)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def received(self) -> float:
        """The webhook counter as Mini-SOAR's /metrics shows it now (read with the token)."""
        text = get_text(f"{self.web_url}/metrics", self.metrics_token)
        prefix = f'soar_webhook_alerts_received_total{{source="{SOURCE}"}} '
        return sum(float(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix))


@pytest.fixture
def stack(make_source, service_factory, celery_worker, tmp_path):
    for binary in (PROMETHEUS, ALERTMANAGER):
        if not Path(binary).exists():
            pytest.fail(f"{binary} is missing: apt-get install prometheus prometheus-alertmanager (.ci/run does)")
    team = Team.objects.create(name="Monitoring", slug="monitoring")
    source, token = make_source(name=SOURCE, kind="alertmanager", team=team)
    metrics_token = secrets.token_urlsafe(24)
    # /metrics only with the token: loopback is not in the allowlist here.
    web = service_factory("web", name="web-prometheus", concurrency=2, SOAR_METRICS_TOKEN=metrics_token,
                          SOAR_METRICS_ALLOWLIST="192.0.2.1/32")
    condition = ConditionServer()
    started: list[Service] = []
    try:
        am_port, prom_port = free_port(), free_port()
        am_dir, prom_dir = tmp_path / "alertmanager", tmp_path / "prometheus"
        am_dir.mkdir()
        prom_dir.mkdir()
        (am_dir / "alertmanager.yml").write_text(yaml.safe_dump({
            "route": {"receiver": "mini-soar", "group_by": ["alertname"], "group_wait": "1s",
                      "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "mini-soar", "webhook_configs": [{
                "url": f"{web.url}/api/v1/alerts", "send_resolved": True,
                "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
            }]}],
        }))
        rule = {"alert": ALERT_NAME, "expr": "max(soar_test_condition) > 0", "for": "0s",
                "labels": {"severity": "critical", "instance": "web-01.example.com:9100"},
                "annotations": {"summary": "web-01 is down", "description": "Raised by the integration test."}}
        (prom_dir / "rules.yml").write_text(yaml.safe_dump(
            {"groups": [{"name": "soar-test", "interval": "1s", "rules": [rule]}]}))
        (prom_dir / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [str(prom_dir / "rules.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": [
                {"job_name": "condition", "static_configs": [{"targets": [condition.address]}]},
                # A scrape of a busy gunicorn may take over a second on a loaded machine.
                {"job_name": "mini-soar", "metrics_path": "/metrics", "scrape_interval": "2s", "scrape_timeout": "2s",
                 "authorization": {"type": "Bearer", "credentials": metrics_token},
                 "static_configs": [{"targets": [web.url.removeprefix("http://")]}]},
            ],
        }))
        am_url, prom_url = f"http://127.0.0.1:{am_port}", f"http://127.0.0.1:{prom_port}"
        alertmanager = Service("alertmanager", [
            ALERTMANAGER, f"--config.file={am_dir / 'alertmanager.yml'}", f"--storage.path={am_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
        ], env={}, ready=lambda s: http_ok(f"{am_url}/-/ready"), timeout=60)
        started.append(alertmanager.start())
        prometheus = Service("prometheus", [
            PROMETHEUS, f"--config.file={prom_dir / 'prometheus.yml'}", f"--storage.tsdb.path={prom_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ], env={}, ready=lambda s: http_ok(f"{prom_url}/-/ready"), timeout=60)
        started.append(prometheus.start())
        yield Stack(source, web.url, metrics_token, prom_url, am_url, condition)
    finally:
        for service in reversed(started):
            service.stop()
        condition.stop()
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_alertmanager_notifications_become_an_alert_a_case_and_its_resolution(stack, wait_until):
    source = stack.source
    # 1. Prometheus fires, Alertmanager posts the notification, the worker processes it.
    alert = wait_until(lambda: Alert.objects.filter(source=source).first(), timeout=120,
                       message="the firing notification stored")
    assert alert.source.kind == "alertmanager"
    assert ALERT_NAME in alert.title and "[RESOLVED]" not in alert.title
    assert alert.severity == "critical" and alert.severity_raw == "critical"
    assert (alert.entity_type, alert.entity_value) == ("hostname", "web-01.example.com")
    assert alert.raw["labels"]["alertname"] == ALERT_NAME and alert.fingerprint
    alert = wait_until(lambda: Alert.objects.filter(pk=alert.pk, processing="done").first(), timeout=120,
                       message="the alert processed by the worker")

    # 2. Prometheus scrapes /metrics with the bearer token; its query API shows the counter.
    def scraped_counter():
        return [r for r in stack.query("soar_webhook_alerts_received_total") if r["metric"].get("source") == SOURCE]

    series = wait_until(scraped_counter, timeout=120, interval=0.5, message="Prometheus scraping the counter")
    assert float(series[0]["value"][1]) >= 1
    assert series[0]["metric"]["job"] == "mini-soar"

    def scraped_up():
        # The latest scrape: one that timed out on a loaded machine is followed by another.
        up = stack.query('up{job="mini-soar"}')
        return up if up and up[0]["value"][1] == "1" else None

    up = wait_until(scraped_up, timeout=120, interval=0.5, message="a successful scrape of mini-soar")
    assert up and up[0]["value"][1] == "1", up

    # Behaviour that lands with the alert-resolution branch (Alert.resolved_at, and a default
    # correlation rule under which real critical alerts open cases): checked at the end, after
    # the resolution has been exercised, so one run reports every gap at once.
    gaps = []
    if alert.case is None:
        gaps.append("no case was opened for the critical alert by the default correlation rule")
    elif alert.case.team_id != source.default_team_id:
        gaps.append(f"the case went to team {alert.case.team_id}, not the source's default team")

    # 3. The condition clears: Prometheus resolves the alert, Alertmanager posts the resolution.
    rows_before = Alert.objects.filter(source=source).count()
    received_before = stack.received()
    stack.condition.value = 0

    def resolution_arrived():
        # Either shape counts as arrived (the row resolved, or a "[RESOLVED]" row as before the
        # resolution branch): the assertions below tell them apart.
        resolved = getattr(Alert.objects.get(pk=alert.pk), "resolved_at", None) is not None
        return resolved or Alert.objects.filter(source=source).count() > rows_before

    wait_until(resolution_arrived, timeout=120, interval=0.5, message="the resolved notification stored")
    # Prometheus counts the notification at its next scrape, which may come after the row.
    wait_until(lambda: stack.received() > received_before, timeout=120, interval=0.5,
               message="the resolved notification counted by Prometheus")
    wait_until(lambda: not Alert.objects.filter(processing="pending").exists(), timeout=120,
               message="the resolution processed")
    refreshed = Alert.objects.get(pk=alert.pk)
    if getattr(refreshed, "resolved_at", None) is None:
        gaps.append("the firing alert's row has no resolved_at after the resolved notification")
    if Alert.objects.filter(source=source).count() != rows_before:
        new = list(Alert.objects.filter(source=source).exclude(pk=alert.pk).values_list("title", flat=True))
        gaps.append(f"the resolution created another alert row instead of updating the first: {new}")
    assert not gaps, "; ".join(gaps)
