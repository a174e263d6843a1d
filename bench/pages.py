"""Page latency with 100,000 cases and 1,000,000 alerts loaded: the analyst pages, the dashboard
and a filtered export, each p50/p95 beside /healthz (one SELECT 1) under the same gunicorn."""

from __future__ import annotations

import re
import time

import requests

from bench import common, loader

PORT = 8713
PASSWORD = "soar-demo-123"


def login(base: str, username: str, password: str = PASSWORD) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(f"{base}/login/", data={"username": username, "password": password,
                                                    "csrfmiddlewaretoken": token}, headers={"Referer": base})
    if "logout" not in response.text.lower():
        raise RuntimeError(f"log-in as {username} failed")
    return session


def timed(session: requests.Session, url: str, runs: int) -> tuple[list[float], int]:
    session.get(url)  # warm caches and connections
    samples, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = session.get(url)
        size = len(response.content)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return samples, size


def cold_dashboard(session: requests.Session, base: str, runs: int, label: str) -> dict:
    """The dashboard for ``runs`` different ranges, so that each request computes its figures."""
    samples = []
    for days in range(90 - runs, 90):
        started = time.perf_counter()
        session.get(f"{base}/reports/?days={days}").raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return {"label": label, "p50": common.median(samples), "p95": common.percentile(samples, 95), "bytes": 0}


def run(quick: bool) -> dict:
    cases, alerts = (20_000, 200_000) if quick else (100_000, 1_000_000)
    common.reset_database()  # a known data set, without the earlier sections' rows
    counts = loader.load(cases, alerts)
    web = common.gunicorn("web-pages", "soar.wsgi:application", PORT)
    base = f"http://127.0.0.1:{PORT}"
    runs = 10 if quick else 30
    results = {"data": counts, "pages": []}
    try:
        session = login(base, "analyst1")
        with common.db() as conn:
            case_id = conn.execute(
                "SELECT c.id FROM cases_case c JOIN cases_team_members m ON m.team_id = c.team_id "
                "JOIN auth_user u ON u.id = m.user_id WHERE u.username = 'analyst1' AND c.id >= %s "
                "ORDER BY c.id LIMIT 1", [counts["first_case"] + 100]).fetchone()[0]
        pages = [
            ("reference: /healthz", "/healthz"),
            ("case queue", "/"),
            ("case queue, filtered", "/?status=NEW&severity=high&q=Bench"),
            ("case page (~10 alerts)", f"/cases/{case_id}/"),
            ("alert queue", "/alerts/"),
            ("dashboard (30 days, cached figures)", "/reports/"),
            ("export: resolved high cases, CSV", "/reports/export/cases.csv?status=RESOLVED&severity=high"),
        ]
        for label, path in pages:
            samples, size = timed(session, base + path, runs)
            results["pages"].append({"label": label, "p50": common.median(samples),
                                     "p95": common.percentile(samples, 95), "bytes": size})
        # Every request a different range: each one computes the figures (cache miss).
        results["pages"].append(cold_dashboard(session, base, runs, "dashboard, cold (figures computed)"))
        # The same as an admin (every team's figures).
        admin = login(base, "admin", password="admin")
        results["pages"].append(cold_dashboard(admin, base, runs, "dashboard, cold, as an admin"))
    finally:
        results["web_peak_mb"] = web.peak_rss_kb / 1024
        web.stop()
    return results


def report(results: dict) -> list[str]:
    data = results["data"]
    lines = [f"### Pages at scale ({data['cases']:,} cases, {data['alerts']:,} alerts; loaded in "
             f"{data['seconds']:.0f} s, of which {data.get('rollup_seconds', 0):.0f} s summing the alerts for the "
             "dashboard), logged in as an analyst of one team", "",
             "| page | p50 ms | p95 ms | size | p95 target < 200 ms |", "| --- | --- | --- | --- | --- |"]
    for page in results["pages"]:
        target = "reference" if page["label"].startswith("reference") else \
            ("met" if page["p95"] < 200 else "NOT met")
        lines.append(f"| {page['label']} | {page['p50']:.1f} | {page['p95']:.1f} | {page['bytes']:,} B | {target} |")
    lines += ["", f"- Peak web memory: {results['web_peak_mb']:.0f} MB.", ""]
    return lines
