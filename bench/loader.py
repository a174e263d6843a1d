"""Fast loader for the scale benchmarks: 100,000 cases and 1,000,000 alerts generated inside
PostgreSQL with INSERT ... SELECT over generate_series (seconds, not hours), on top of the
demo data set (teams, users, sources, roles)."""

from __future__ import annotations

import time

from bench import common

CASES_SQL = """
INSERT INTO cases_case (title, description, severity, confidence, status, team_id, assignee_id, created_at,
                        updated_at, triaged_at, in_progress_at, resolved_at, closed_at, sla_ack_due,
                        sla_resolve_due, resolution_summary, tlp, pap)
SELECT 'Bench case ' || g || ' on 10.' || (g %% 250) || '.' || (g %% 97) || '.1',
       '', (ARRAY['info','low','medium','high','critical'])[1 + g %% 5], 50 + g %% 50,
       (ARRAY['NEW','TRIAGED','IN_PROGRESS','RESOLVED','CLOSED'])[1 + (g / 7) %% 5],
       (ARRAY[%(team_a)s, %(team_b)s])[1 + g %% 2]::bigint,
       CASE WHEN g %% 3 = 0 THEN NULL ELSE (ARRAY[%(user_a)s, %(user_b)s])[1 + g %% 2]::int END,
       t, t, t + interval '20 minutes', t + interval '40 minutes',
       CASE WHEN (g / 7) %% 5 >= 3 THEN t + interval '3 hours' END,
       CASE WHEN (g / 7) %% 5 = 4 THEN t + interval '5 hours' END,
       t + interval '1 hour', t + interval '1 day', '', 'AMBER', 'AMBER'
FROM (SELECT g, now() - (g * interval '13 seconds') AS t FROM generate_series(1, %(cases)s) g) s
"""

ALERTS_SQL = """
INSERT INTO alerts_alert (source_id, source_ref, dedup_key, title, description, severity, severity_raw, confidence,
                          category, entity_type, entity_value, fingerprint, occurred_at, received_at, last_seen_at,
                          occurrence_count, raw, parse_warnings, status, processing, processing_attempts,
                          processing_error, case_id)
SELECT (ARRAY[%(sources)s])[1 + g %% %(source_count)s]::bigint, 'bench-' || g, '', 'Bench alert ' || g,
       '', (ARRAY['info','low','medium','high','critical'])[1 + g %% 5], 'raw', g %% 100, 'bench', 'ip',
       '10.' || (g %% 250) || '.' || (g %% 97) || '.1', md5(g::text), t, t, t, 1,
       jsonb_build_object('n', g), '[]'::jsonb, CASE WHEN g %% 20 = 0 THEN 'queued' ELSE 'in_case' END, 'done', 1, '',
       CASE WHEN g %% 20 = 0 THEN NULL ELSE %(first_case)s + (g %% %(cases)s) END
FROM (SELECT g, now() - (g * interval '1 second') AS t FROM generate_series(1, %(alerts)s) g) s
"""

EVENTS_SQL = """
INSERT INTO cases_caseevent (case_id, kind, actor_label, message, data, created_at)
SELECT id, 'created', 'automation', 'Case opened', '{}'::jsonb, created_at FROM cases_case WHERE id >= %(first_case)s
UNION ALL
SELECT id, 'status_changed', 'automation', 'Status changed', '{}'::jsonb, created_at + interval '20 minutes'
FROM cases_case WHERE id >= %(first_case)s
"""


def load(cases: int, alerts: int) -> dict:
    started = time.perf_counter()
    common.manage("load_demo_data")
    with common.db() as conn:
        team_a, team_b = [r[0] for r in conn.execute("SELECT id FROM cases_team ORDER BY id LIMIT 2")]
        users = dict(conn.execute("SELECT username, id FROM auth_user WHERE username IN ('analyst1', 'analyst2')"))
        sources = [r[0] for r in conn.execute("SELECT id FROM alerts_alertsource ORDER BY id")]
        first_case = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM cases_case").fetchone()[0]
        params = {"team_a": team_a, "team_b": team_b, "user_a": users["analyst1"], "user_b": users["analyst2"],
                  "cases": cases, "alerts": alerts, "first_case": first_case,
                  "sources": ",".join(map(str, sources)), "source_count": len(sources)}
        conn.execute(CASES_SQL.replace("%(sources)s", params["sources"]), params)
        conn.execute(ALERTS_SQL.replace("%(sources)s", params["sources"]), params)
        conn.execute(EVENTS_SQL, params)
    # As after migrating a populated deployment: sum the bulk-loaded alerts for the dashboard
    # (the sums replace the deltas the insert trigger wrote).
    rollup_started = time.perf_counter()
    common.manage("rebuild_report_rollups")
    rollup_seconds = time.perf_counter() - rollup_started
    with common.db() as conn:
        conn.execute("ANALYZE")
        counts = {
            "cases": conn.execute("SELECT count(*) FROM cases_case").fetchone()[0],
            "alerts": conn.execute("SELECT count(*) FROM alerts_alert").fetchone()[0],
        }
    counts["seconds"] = time.perf_counter() - started
    counts["first_case"] = first_case
    counts["rollup_seconds"] = rollup_seconds
    return counts
