"""The webhook counters under gunicorn with several workers (deploy/gunicorn.conf.py:
prometheus_client multiprocess mode): one /metrics scrape, answered by any worker, shows the
sum over every worker, including one that was killed."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db(transaction=True)

RECEIVED = "soar_webhook_alerts_received_total"


def post_alert(url: str, token: str, ref: str) -> int:
    body = {"title": f"Multiprocess {ref}", "severity": "low", "confidence": 10,
            "entity": {"type": "hostname", "value": "mp.example.com"}, "source_ref": ref}
    request = urllib.request.Request(f"{url}/api/v1/alerts", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                              "Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def scrape(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/metrics", timeout=60) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def per_worker(directory: Path, source: str) -> dict[int, float]:
    """pid -> that worker's own count of received alerts, read from its counter file."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == RECEIVED and sample.labels.get("source") == source and sample.value:
                    counts[pid] = sample.value
    return counts


def test_one_scrape_sums_every_worker_even_a_dead_one(make_source, service_factory, celery_worker, tmp_path,
                                                        wait_until):
    source, token = make_source(name="multiproc")
    directory = tmp_path / "prometheus"
    stale = directory / "counter_999999.db"
    directory.mkdir()
    stale.write_bytes(b"left over from an earlier run")
    web = service_factory("web", name="web-multiproc", concurrency=2, PROMETHEUS_MULTIPROC_DIR=directory,
                          SOAR_METRICS_ALLOWLIST="127.0.0.1/32")  # /metrics is closed by default
    assert not stale.exists(), "the directory is emptied when gunicorn starts"

    sent = 0
    pool = ThreadPoolExecutor(max_workers=6)

    def send(count: int) -> None:
        nonlocal sent
        refs = [f"mp-{sent + i}" for i in range(count)]
        assert list(pool.map(lambda ref: post_alert(web.url, token, ref), refs)) == [202] * count
        sent += count

    try:
        # Concurrent senders on fresh connections: both workers answer some (bounded retries).
        def both_workers_counted():
            send(6)
            return len(per_worker(directory, source.name)) >= 2 or sent >= 120

        wait_until(both_workers_counted, timeout=180, interval=0, message="requests on both workers")
        counted = per_worker(directory, source.name)
        assert len(counted) >= 2, f"all {sent} requests went to one worker: {counted}"
        assert sum(counted.values()) == sent
        assert scrape(web.url)[(RECEIVED, (("source", source.name),))] == sent

        # A worker dies: gunicorn replaces it, its counts stay in the sum.
        victim = max(counted, key=counted.get)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{victim}").exists(), timeout=60, message="the killed worker reaped")
        send(6)
        values = scrape(web.url)
        assert values[(RECEIVED, (("source", source.name),))] == sent
        assert values[("soar_webhook_alerts_accepted_total", (("severity", "low"), ("source", source.name)))] == sent
        assert victim in per_worker(directory, source.name)
    finally:
        pool.shutdown()
