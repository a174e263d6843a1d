"""Page latency with 100,000 cases and 1,000,000 alerts loaded: the analyst pages, the dashboard
and a filtered export, each p50/p95 beside /healthz (one SELECT 1) under the same gunicorn.

Also the heavy case page (issue 18): one case of the analyst's team with 200 observables (each
in 5 other cases of both teams, 10 of them in 300 cases like a shared resolver; every fourth an
IOC; an enrichment verdict each), 50 tasks, 20 evidence files and 1,000 timeline events (100 of
them notes), seeded by ``seed_heavy_case``."""

from __future__ import annotations

import re
import time

import requests

from bench import common, loader

PORT = 8713
PASSWORD = "soar-demo-123"

# The heavy case (issue 18), all rows written by INSERT ... SELECT generate_series in one
# transaction. %(case)s is the heavy case, %(tag)s makes the observables' values unique.
HEAVY_CASE_SQL = [
    """INSERT INTO alerts_observable (type, value, value_hash, first_seen)
       SELECT 'ip', '192.0.2.' || g || '-' || %(tag)s, md5('heavy' || %(tag)s || g), now()
       FROM generate_series(1, 200) g""",
    # The heavy case holds them all; each is also in 5 other cases spread over both teams.
    """INSERT INTO cases_case_observables (case_id, observable_id)
       SELECT %(case)s, id FROM alerts_observable WHERE value LIKE '%%-' || %(tag)s""",
    """INSERT INTO cases_case_observables (case_id, observable_id)
       SELECT DISTINCT %(first_case)s + (o.id * 37 + k * 1009) %% %(cases)s, o.id
       FROM alerts_observable o CROSS JOIN generate_series(0, 4) k
       WHERE o.value LIKE '%%-' || %(tag)s AND %(first_case)s + (o.id * 37 + k * 1009) %% %(cases)s <> %(case)s""",
    # Ten of them are everywhere (a resolver, a proxy): in 300 more cases each.
    """INSERT INTO cases_case_observables (case_id, observable_id)
       SELECT DISTINCT %(first_case)s + (o.id * 7919 + k * 331) %% %(cases)s, o.id
       FROM (SELECT id FROM alerts_observable WHERE value LIKE '%%-' || %(tag)s ORDER BY id LIMIT 10) o
       CROSS JOIN generate_series(5, 304) k
       WHERE %(first_case)s + (o.id * 7919 + k * 331) %% %(cases)s <> %(case)s
       ON CONFLICT DO NOTHING""",
    """INSERT INTO alerts_caseobservable (case_id, observable_id, ioc, sighted, sighted_at, tlp, tags, description,
                                         updated_at, updated_by_id)
       SELECT %(case)s, id, true, id %% 8 = 0, now(), 'amber', '["c2"]'::jsonb, 'beaconing', now(), %(user)s
       FROM alerts_observable WHERE value LIKE '%%-' || %(tag)s AND id %% 4 = 0""",
    """INSERT INTO enrichment_enrichmentresult (case_id, observable_id, provider, verdict, score, summary, raw, error,
                                               from_cache, fetched_at, created_at)
       SELECT %(case)s, id, 'threat_intel', (ARRAY['malicious','suspicious','benign','unknown'])[1 + id %% 4],
              id %% 100, 'bench verdict', '{}'::jsonb, '', false, now(), now()
       FROM alerts_observable WHERE value LIKE '%%-' || %(tag)s""",
    """INSERT INTO cases_casetask (case_id, position, title, description, "group", status, required, assignee_id,
                                  sla_minutes, due_at, notes, created_at, updated_at, completed_at, completed_by_id)
       SELECT %(case)s, g, 'Bench task ' || g, 'Check the host logs for step ' || g, 'Containment',
              (ARRAY['todo','in_progress','done','cancelled'])[1 + g %% 4], g %% 10 = 0,
              CASE WHEN g %% 2 = 0 THEN %(user)s END, 60, now() + g * interval '1 hour', '', now(), now(),
              CASE WHEN g %% 4 = 2 THEN now() END, CASE WHEN g %% 4 = 2 THEN %(user)s END
       FROM generate_series(1, 50) g""",
    """INSERT INTO evidence_evidencefile (case_id, file, name, description, size, content_type, sha256, sha1, md5,
                                         uploaded_by_id, uploaded_at)
       SELECT %(case)s, 'evidence/bench-' || g, 'capture-' || g || '.pcap', 'bench file', 1000 * g,
              'application/vnd.tcpdump.pcap', encode(sha256(('f' || g)::bytea), 'hex'), repeat('a', 40),
              md5('f' || g), %(user)s, now() - g * interval '1 minute'
       FROM generate_series(1, 20) g""",
    """INSERT INTO cases_note (case_id, author_id, body, created_at)
       SELECT %(case)s, %(user)s, 'Bench note ' || g || ': **checked** the proxy logs, nothing beyond the first host.',
              now() - g * interval '7 minutes'
       FROM generate_series(1, 100) g""",
    # 1,000 events: every tenth a note (pointing at its note), the others alerts, status, tasks.
    """INSERT INTO cases_caseevent (case_id, kind, actor_id, actor_label, message, data, created_at)
       SELECT %(case)s, CASE WHEN g %% 10 = 0 THEN 'note'
                             ELSE (ARRAY['alert_attached','status_changed','task','enrichment'])[1 + g %% 4] END,
              %(user)s, '', 'Bench event ' || g,
              CASE WHEN g %% 10 = 0 THEN jsonb_build_object('note_id', n.id) ELSE '{}'::jsonb END,
              now() - g * interval '70 seconds'
       FROM generate_series(1, 1000) g
       LEFT JOIN (SELECT id, row_number() OVER (ORDER BY id) AS r FROM cases_note WHERE case_id = %(case)s) n
         ON g %% 10 = 0 AND n.r = g / 10""",
]


def seed_heavy_case(conn, case_id: int, counts: dict, username: str = "analyst1") -> dict:
    """Fill ``case_id`` with the issue-18 target's rows; returns what it holds."""
    user_id = conn.execute("SELECT id FROM auth_user WHERE username = %s", [username]).fetchone()[0]
    params = {"case": case_id, "tag": f"c{case_id}", "user": user_id, "first_case": counts["first_case"],
              "cases": counts["cases"] - 100}
    with conn.transaction():
        for statement in HEAVY_CASE_SQL:
            conn.execute(statement, params)
    conn.execute("ANALYZE")

    def count(sql: str) -> int:
        return conn.execute(sql, [case_id]).fetchone()[0]

    return {
        "observables": count("SELECT count(*) FROM cases_case_observables WHERE case_id = %s"),
        "links": count("SELECT count(*) FROM cases_case_observables WHERE observable_id IN "
                       "(SELECT observable_id FROM cases_case_observables WHERE case_id = %s)"),
        "tasks": count("SELECT count(*) FROM cases_casetask WHERE case_id = %s"),
        "files": count("SELECT count(*) FROM evidence_evidencefile WHERE case_id = %s"),
        "events": count("SELECT count(*) FROM cases_caseevent WHERE case_id = %s"),
    }


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
            heavy_id = conn.execute(
                "SELECT c.id FROM cases_case c JOIN cases_team_members m ON m.team_id = c.team_id "
                "JOIN auth_user u ON u.id = m.user_id WHERE u.username = 'analyst1' AND c.id >= %s "
                "ORDER BY c.id LIMIT 1", [counts["first_case"] + 5000]).fetchone()[0]
            results["heavy"] = seed_heavy_case(conn, heavy_id, counts)
        pages = [
            ("reference: /healthz", "/healthz"),
            ("case queue", "/"),
            ("case queue, filtered", "/?status=NEW&severity=high&q=Bench"),
            ("case page (~10 alerts)", f"/cases/{case_id}/"),
            ("case page, heavy (issue 18)", f"/cases/{heavy_id}/"),
            ("case page, heavy: older events, observables page 3", f"/cases/{heavy_id}/?events=5&observables=3"),
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
    heavy = results.get("heavy")
    if heavy:
        lines += ["", f"- The heavy case: {heavy['observables']} observables ({heavy['links']:,} case links of "
                  f"those observables in all), {heavy['tasks']} tasks, {heavy['files']} evidence files, "
                  f"{heavy['events']:,} timeline events."]
    lines += ["", f"- Peak web memory: {results['web_peak_mb']:.0f} MB.", ""]
    return lines
