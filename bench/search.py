"""Find anything at scale: the top bar's search (/search/) and the case queue's text filter over
the pages section's data set (100,000 cases, 1,000,000 alerts; --quick 20,000 / 200,000) plus
one IP observable per case and one note per two cases, each p50/p95 beside the plain case
queue and /healthz measured in the same run, logged in as an analyst of one team (who sees
half the cases). The needle, 203.0.113.145, is an observable of one of the analyst's cases
and named by nothing else."""

from __future__ import annotations

from bench import common, loader
from bench.pages import PASSWORD, login, timed

PORT = 8714
NEEDLE = "203.0.113.145"

OBSERVABLES_SQL = """
INSERT INTO alerts_observable (type, value, value_hash, first_seen)
SELECT 'ip', '198.18.' || (g / 250) || '.' || (g %% 250), md5('obs' || g), now()
FROM generate_series(1, %(cases)s) g
"""
LINKS_SQL = """
INSERT INTO cases_case_observables (case_id, observable_id)
SELECT c.id, o.id FROM
  (SELECT id, row_number() OVER (ORDER BY id) AS n FROM cases_case WHERE id >= %(first_case)s) c
  JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM alerts_observable WHERE type = 'ip'
        AND value LIKE '198.18.%%') o ON o.n = c.n
"""
NOTES_SQL = """
INSERT INTO cases_note (case_id, author_id, body, created_at)
SELECT id, NULL, 'Checked the proxy logs for case ' || id || ': nothing beyond the first host.', created_at
FROM cases_case WHERE id >= %(first_case)s AND id %% 2 = 0
"""


def _plant_needle(conn, team_id: int) -> int:
    case_id = conn.execute("SELECT id FROM cases_case WHERE team_id = %s ORDER BY id DESC LIMIT 1 OFFSET 500",
                           [team_id]).fetchone()[0]
    obs_id = conn.execute("INSERT INTO alerts_observable (type, value, value_hash, first_seen) "
                          "VALUES ('ip', %s, md5(%s), now()) RETURNING id", [NEEDLE, NEEDLE]).fetchone()[0]
    conn.execute("INSERT INTO cases_case_observables (case_id, observable_id) VALUES (%s, %s)", [case_id, obs_id])
    return case_id


def run(quick: bool) -> dict:
    cases, alerts = (20_000, 200_000) if quick else (100_000, 1_000_000)
    common.reset_database()
    counts = loader.load(cases, alerts)
    with common.db() as conn:
        params = {"cases": cases, "first_case": counts["first_case"]}
        conn.execute(OBSERVABLES_SQL, params)
        conn.execute(LINKS_SQL, params)
        conn.execute(NOTES_SQL, params)
        team_id = conn.execute("SELECT m.team_id FROM cases_team_members m JOIN auth_user u ON u.id = m.user_id "
                               "WHERE u.username = 'analyst1' ORDER BY m.team_id LIMIT 1").fetchone()[0]
        needle_case = _plant_needle(conn, team_id)
        # As autovacuum leaves the tables soon after a bulk load (it runs on inserts too): the
        # trigram indexes' pending lists merged. A full pending list (4 MB, gin_pending_list_limit)
        # is read by every look-up in that index: up to ~40 ms more at this size.
        conn.execute("VACUUM ANALYZE")
        counts["observables"] = conn.execute("SELECT count(*) FROM alerts_observable").fetchone()[0]
        counts["notes"] = conn.execute("SELECT count(*) FROM cases_note").fetchone()[0]
    web = common.gunicorn("web-search", "soar.wsgi:application", PORT)
    base = f"http://127.0.0.1:{PORT}"
    runs = 20 if quick else 50
    results: dict = {"data": counts, "pages": []}
    try:
        session = login(base, "analyst1", PASSWORD)
        found = session.get(f"{base}/search/", params={"q": NEEDLE}).text
        if f'href="/cases/{needle_case}/"' not in found:
            raise RuntimeError("the search did not find the needle's case")
        pages = [
            ("reference: /healthz", "/healthz"),
            ("reference: case queue", "/"),
            ("search: an IP (only an observable)", f"/search/?q={NEEDLE}"),
            ("search: an IP prefix", "/search/?q=203.0.113."),
            ("search: a common word (capped counts)", "/search/?q=proxy"),
            ("search: a case title", "/search/?q=Bench%20case%2012345"),
            ("case queue, q = the IP", f"/?q={NEEDLE}"),
            ("case queue, q = a common word (exact count)", "/?q=proxy"),
        ]
        for label, path in pages:
            samples, size = timed(session, base + path, runs)
            results["pages"].append({"label": label, "p50": common.median(samples),
                                     "p95": common.percentile(samples, 95), "bytes": size})
    finally:
        results["web_peak_mb"] = web.peak_rss_kb / 1024
        web.stop()
    return results


def report(results: dict) -> list[str]:
    data = results["data"]
    lines = [f"### Search at scale ({data['cases']:,} cases, {data['alerts']:,} alerts, {data['observables']:,} "
             f"observables, {data['notes']:,} notes), logged in as an analyst of one team", "",
             "| request | p50 ms | p95 ms | size | p95 target < 200 ms |", "| --- | --- | --- | --- | --- |"]
    for page in results["pages"]:
        target = "reference" if page["label"].startswith("reference") else \
            ("met" if page["p95"] < 200 else "NOT met")
        lines.append(f"| {page['label']} | {page['p50']:.1f} | {page['p95']:.1f} | {page['bytes']:,} B | {target} |")
    lines += ["", f"- Peak web memory: {results['web_peak_mb']:.0f} MB.", ""]
    return lines
