"""Ingestion benchmarks: single alerts under gunicorn vs the bare-DRF floor (wrk), batches
vs a raw COPY of the same normalized rows, and duplicate cases under 32 concurrent senders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections import Counter

import requests

from bench import common

PORT_APP, PORT_FLOOR, PORT_DURABLE = 8711, 8712, 8713


def wrk(url: str, connections: int, seconds: int, token: str) -> dict:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is needed for this benchmark: apt-get install -y wrk")
    out = subprocess.run(
        ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s", "--latency",
         "-s", str(common.ROOT / "bench" / "post.lua"), url],
        capture_output=True, text=True, env={**common.env(), "SOAR_BENCH_TOKEN": token},
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(pct):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": latency(50), "p99": latency(99), "errors": int(non_2xx.group(1)) if non_2xx else 0}


def single_alert(quick: bool) -> list[dict]:
    token = common.create_source("bench-single")
    seconds = 4 if quick else 15
    rows = []
    from bench import floor_durable  # noqa: PLC0415

    with common.db() as conn:
        conn.execute(floor_durable.TABLE_SQL)
    app = common.gunicorn("web-single", "soar.wsgi:application", PORT_APP)
    floor = common.gunicorn("web-floor", "bench.floor:application", PORT_FLOOR)
    durable = common.gunicorn("web-floor-durable", "bench.floor_durable:application", PORT_DURABLE)
    try:
        # Every worker thread opens its database and broker connections on its first request
        # (~250 ms); a short 64-connection run reaches them all, on both servers alike, so
        # that the measured runs are the steady state and not the cold start.
        for port in (PORT_APP, PORT_FLOOR, PORT_DURABLE):
            wrk(f"http://127.0.0.1:{port}/api/v1/alerts", 64, 2, token)
        for clients in (1, 16, 64):
            product = wrk(f"http://127.0.0.1:{PORT_APP}/api/v1/alerts", clients, seconds, token)
            bare = wrk(f"http://127.0.0.1:{PORT_FLOOR}/api/v1/alerts", clients, seconds, token)
            stored = wrk(f"http://127.0.0.1:{PORT_DURABLE}/api/v1/alerts", clients, seconds, token)
            rows.append({"clients": clients, "product": product, "floor": bare, "durable": stored,
                         "ratio": product["rps"] / bare["rps"], "durable_ratio": product["rps"] / stored["rps"]})
    finally:
        rows_memory = {"web_peak_mb": app.peak_rss_kb / 1024}
        app.stop()
        floor.stop()
        durable.stop()
    rows.append(rows_memory)
    return rows


def _batch_payload(batch_index: int, size: int) -> list[dict]:
    return [{"title": f"Batch alert {batch_index}-{i}", "severity": "low", "confidence": 30,
             "source_ref": f"b{batch_index}-{i}", "entity": {"type": "ip", "value": f"203.0.113.{i % 250}"},
             "observables": [{"type": "user", "value": f"user{i % 50}"}]}
            for i in range(size)]


def batch(quick: bool) -> dict:
    token = common.create_source("bench-batch")
    batches = 5 if quick else 20
    app = common.gunicorn("web-batch", "soar.wsgi:application", PORT_APP)
    payloads = [json.dumps(_batch_payload(n, 1000)) for n in range(batches)]
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        session.post(f"http://127.0.0.1:{PORT_APP}/api/v1/alerts/batch", data=json.dumps(_batch_payload(999, 10)),
                     headers=headers)  # warm-up
        started = time.perf_counter()
        for body in payloads:
            response = session.post(f"http://127.0.0.1:{PORT_APP}/api/v1/alerts/batch", data=body, headers=headers)
            assert response.status_code == 202, response.text[:300]
        elapsed = time.perf_counter() - started
    finally:
        memory = app.peak_rss_kb / 1024
        app.stop()
    api_rate = batches * 1000 / elapsed
    copy_rate = copy_floor(batches * 1000)
    return {"alerts": batches * 1000, "api_rate": api_rate, "copy_rate": copy_rate, "ratio": api_rate / copy_rate,
            "web_peak_mb": memory}


def copy_floor(count: int) -> float:
    """Raw psycopg COPY of the same normalized rows into the same table (then removed)."""
    with common.db() as conn:
        source_id = conn.execute("SELECT id FROM alerts_alertsource WHERE name='bench-batch'").fetchone()[0]
        columns = ["source_id", "source_ref", "dedup_key", "title", "description", "severity", "severity_raw",
                   "confidence", "category", "entity_type", "entity_value", "fingerprint", "received_at",
                   "last_seen_at", "occurrence_count", "raw", "status", "processing", "processing_attempts",
                   "processing_error", "parse_warnings"]
        now = "2026-11-25 12:00:00+00"
        rows = []
        for i in range(count):
            raw = json.dumps({"title": f"Copy alert {i}", "severity": "low"})
            rows.append((source_id, f"c{i}", f"ref:c{i}", f"Copy alert {i}", "", "low", "low", 30, "", "ip",
                         f"203.0.113.{i % 250}", f"{i:064x}", now, now, 1, raw, "queued", "done", 0, "", "[]"))
        started = time.perf_counter()
        with conn.transaction():
            with conn.cursor().copy(f"COPY alerts_alert ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        elapsed = time.perf_counter() - started
        conn.execute("DELETE FROM alerts_alert WHERE dedup_key LIKE 'ref:c%%' AND title LIKE 'Copy alert %%'")
    return count / elapsed


def duplicates(quick: bool) -> dict:
    """32 senders, 10,000 alerts over 100 entities; count entities split over several cases."""
    total = 2000 if quick else 10_000
    common.clean_slate()
    token = common.create_source("bench-dups")
    app = common.gunicorn("web-dups", "soar.wsgi:application", PORT_APP)
    worker = common.celery_worker("worker-dups", concurrency=2)
    alerts = [{"title": f"Scan {i}", "severity": "high", "confidence": 90, "source_ref": f"d{i}",
               "entity": {"type": "ip", "value": f"192.0.2.{i % 100}"}} for i in range(total)]
    chunks = [alerts[i:i + 50] for i in range(0, total, 50)]
    statuses = Counter()
    lock = threading.Lock()

    def sender(n):
        session = requests.Session()
        for chunk in chunks[n::32]:
            response = session.post(f"http://127.0.0.1:{PORT_APP}/api/v1/alerts/batch", json=chunk,
                                    headers={"Authorization": f"Bearer {token}"})
            with lock:
                statuses[response.status_code] += 1

    try:
        started = time.perf_counter()
        threads = [threading.Thread(target=sender, args=(n,)) for n in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        accepted = time.perf_counter() - started
        with common.db() as conn:
            deadline = time.time() + 600
            while conn.execute("SELECT count(*) FROM alerts_alert a JOIN alerts_alertsource s ON s.id = a.source_id "
                               "WHERE s.name='bench-dups' AND a.processing='pending'").fetchone()[0]:
                if time.time() > deadline:
                    raise RuntimeError("alerts not processed in 10 minutes")
                time.sleep(0.5)
            processed = time.perf_counter() - started
            split = conn.execute(
                "SELECT count(*) FROM (SELECT entity_value FROM alerts_alert a JOIN alerts_alertsource s "
                "ON s.id = a.source_id WHERE s.name='bench-dups' GROUP BY entity_value "
                "HAVING count(DISTINCT case_id) > 1) x").fetchone()[0]
            cases = conn.execute("SELECT count(DISTINCT case_id) FROM alerts_alert a JOIN alerts_alertsource s "
                                 "ON s.id = a.source_id WHERE s.name='bench-dups'").fetchone()[0]
    finally:
        web_mb, worker_mb = app.peak_rss_kb / 1024, worker.peak_rss_kb / 1024
        app.stop()
        worker.stop()
    return {"alerts": total, "statuses": dict(statuses), "duplicate_entities": split, "cases": cases,
            "accept_seconds": accepted, "processed_seconds": processed, "web_peak_mb": web_mb,
            "worker_peak_mb": worker_mb}
