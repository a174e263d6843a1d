"""Live pages for 50 analysts with open tabs: every tab polls its page's live region (case
queue rows, a case's timeline, the alert queue rows) every 15 s and the navigation badges every
30 s, sending the last ETag back (static/js/live.js does the same). Measured: requests per
second, the share answered 304, p50/p95 latency, and the CPU the web server and PostgreSQL spend
on it. Reference, in the same run: the same tabs reloading the whole page at the same interval
(what a meta refresh, or an analyst pressing F5, would cost)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

from bench import common, loader
from bench.pages import login
from bench.storm import Sampler

PORT = 8714
TABS = 50
PAGE_SECONDS = 15
BADGE_SECONDS = 30


def page_mix(case_ids: list[int]) -> list[tuple[str, str, str]]:
    """(label, path, live region) of each tab: 20 on the case queue, 20 on case pages, 10 on
    the alert queue."""
    tabs = [("case queue", "/", "queue-rows")] * 20
    tabs += [("case page", f"/cases/{case_ids[n % len(case_ids)]}/", "timeline") for n in range(20)]
    tabs += [("alert queue", "/alerts/", "alert-rows")] * 10
    return tabs


class Tab(threading.Thread):
    def __init__(self, session, base: str, page: tuple[str, str, str], live: bool, until: float, stats: dict):
        super().__init__(daemon=True)
        self.session, self.base, self.page, self.live, self.until, self.stats = session, base, page, live, until, stats
        self.etags: dict[str, str] = {}

    def fetch(self, path: str, region: str) -> None:
        headers = {}
        if self.live:
            headers["X-Soar-Live"] = region
            if path in self.etags:
                headers["If-None-Match"] = self.etags[path]
        started = time.perf_counter()
        response = self.session.get(self.base + path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code == 200 and self.live:
            self.etags[path] = response.headers.get("ETag", "")
        with self.stats["lock"]:
            self.stats["latency"].append(elapsed)
            self.stats["status"][response.status_code] += 1
            self.stats["bytes"] += len(response.content)

    def run(self) -> None:
        label, path, region = self.page
        next_page = time.monotonic() + random.uniform(0, PAGE_SECONDS)
        next_badge = time.monotonic() + random.uniform(0, BADGE_SECONDS)
        while True:
            now = time.monotonic()
            if now >= self.until:
                return
            if now >= next_page:
                self.fetch(path, region)
                next_page += PAGE_SECONDS
            if now >= next_badge:
                self.fetch("/playbooks/badges" if self.live else "/playbooks/approvals/", "badges")
                next_badge += BADGE_SECONDS
            time.sleep(max(0.0, min(next_page, next_badge, self.until) - time.monotonic()))


def measure(sessions: list, base: str, pages: list[tuple[str, str, str]], live: bool, seconds: int,
            groups: dict[str, int]) -> dict:
    stats = {"lock": threading.Lock(), "latency": [], "status": Counter(), "bytes": 0}
    sampler = Sampler(groups).start()
    until = time.monotonic() + seconds
    tabs = [Tab(sessions[n % len(sessions)], base, pages[n], live, until, stats) for n in range(TABS)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()
    sampler.stop()
    summary = sampler.summary()
    total = sum(stats["status"].values())
    return {"requests": total, "rate": total / seconds, "status": dict(stats["status"]),
            "not_modified": stats["status"][304] / max(1, total),
            "p50": common.median(stats["latency"]), "p95": common.percentile(stats["latency"], 95),
            "kb_per_s": stats["bytes"] / 1024 / seconds, "web_cores": summary["cores"].get("web", 0.0),
            "postgres_cores": summary["cores"].get("postgres", 0.0), "machine_busy": summary["machine_busy"]}


def run(quick: bool) -> dict:
    cases, alerts = (20_000, 200_000) if quick else (100_000, 1_000_000)
    seconds = 60 if quick else 180
    common.reset_database()
    counts = loader.load(cases, alerts)
    web = common.gunicorn("web-live", "soar.wsgi:application", PORT)
    base = f"http://127.0.0.1:{PORT}"
    try:
        sessions = [login(base, "analyst1"), login(base, "analyst2")]
        with common.db() as conn:
            case_ids = [row[0] for row in conn.execute(
                "SELECT c.id FROM cases_case c JOIN cases_team_members m ON m.team_id = c.team_id "
                "JOIN auth_user u ON u.id = m.user_id WHERE u.username = 'analyst1' ORDER BY c.id DESC LIMIT 20")]
        pages = page_mix(case_ids)
        groups = {"web": web.process.pid}
        for _, path, region in set(pages):  # warm every worker's connections and caches
            for session in sessions:
                session.get(base + path, headers={"X-Soar-Live": region})
        reference = measure(sessions, base, pages, live=False, seconds=seconds, groups=groups)
        live = measure(sessions, base, pages, live=True, seconds=seconds, groups=groups)
    finally:
        web.stop()
    return {"data": counts, "seconds": seconds, "live": live, "reference": reference}


def report(result: dict) -> list[str]:
    data, live, ref = result["data"], result["live"], result["reference"]
    ratio = live["web_cores"] / ref["web_cores"] if ref["web_cores"] else 0.0
    lines = [f"### Live pages: {TABS} analysts with open tabs ({data['cases']:,} cases, {data['alerts']:,} alerts; "
             f"{result['seconds']} s each)", "",
             f"Each tab polls its page's live region every {PAGE_SECONDS} s and the navigation badges every "
             f"{BADGE_SECONDS} s (20 tabs on the case queue, 20 on case pages, 10 on the alert queue). Reference: "
             "the same tabs reloading the whole page at the same interval.", "",
             "| | requests/s | 304 share | p50 ms | p95 ms | KiB/s | web cores | PostgreSQL cores | machine busy |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, row in (("live regions (ETag)", live), ("reference: full page reloads", ref)):
        lines.append(f"| {label} | {row['rate']:.1f} | {row['not_modified']:.0%} | {row['p50']:.1f} | "
                     f"{row['p95']:.1f} | {row['kb_per_s']:.0f} | {row['web_cores']:.2f} | "
                     f"{row['postgres_cores']:.2f} | {row['machine_busy']:.0%} |")
    lines += ["", f"- Web CPU of the live regions: {ratio:.2f} × the full reloads'.", ""]
    return lines
