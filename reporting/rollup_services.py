"""Writes of the dashboard's alert sums (PostgreSQL): folding the trigger-written deltas into
them (a periodic task) and rebuilding them from the alerts (after the migration, or to repair).

See reporting.models.AlertRollupDelta for why the sums exist and how they stay exact."""

from __future__ import annotations

import time

from django.db import connection, transaction

from reporting.models import AlertEntityRollup

# {rows}: a relation of alerts as (received_at, team_id, queued, source_id, severity,
# entity_type, entity_value, change). Each UTC hour and day is upserted once per run, in key
# order, so two runs never deadlock (they are serialized by an advisory lock anyway).
_ADD_SQL = """
WITH moved AS ({rows}),
hours AS (
  INSERT INTO cases_alerthourrollup (hour, team_id, queued, source_id, severity, alerts)
  SELECT date_trunc('hour', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', team_id, queued, source_id,
         severity, sum(change)
  FROM moved GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (hour, team_id, queued, source_id, severity)
  DO UPDATE SET alerts = cases_alerthourrollup.alerts + EXCLUDED.alerts
),
entities AS (
  INSERT INTO cases_alertentityrollup (day, team_id, queued_source_id, entity_type, entity_value, entity_hash,
                                       alerts)
  SELECT d.day, m.team_id, CASE WHEN m.queued THEN m.source_id ELSE 0 END, m.entity_type, min(m.entity_value),
         md5(m.entity_value), sum(m.change)
  FROM moved m
  CROSS JOIN LATERAL (VALUES ((m.received_at AT TIME ZONE 'UTC')::date), (%(all_time)s::date)) AS d(day)
  WHERE m.entity_value <> ''
  GROUP BY 1, 2, 3, 4, 6 ORDER BY 1, 2, 3, 4, 6
  ON CONFLICT (day, team_id, queued_source_id, entity_type, entity_hash)
  DO UPDATE SET alerts = cases_alertentityrollup.alerts + EXCLUDED.alerts
)
SELECT count(*) FROM moved
"""

_DELTAS = ("DELETE FROM cases_alertrollupdelta RETURNING received_at, team_id, queued, source_id, severity, "
           "entity_type, entity_value, change")
_ALERTS = ("SELECT a.received_at, COALESCE(c.team_id, 0)::integer AS team_id, a.case_id IS NULL AS queued, "
           "a.source_id, a.severity, a.entity_type, a.entity_value, 1 AS change "
           "FROM alerts_alert a LEFT JOIN cases_case c ON c.id = a.case_id")
_LOCK_KEY = 7_201_811  # pg_advisory_xact_lock key of the fold/rebuild


def _supported() -> bool:
    return connection.vendor == "postgresql"


def fold_alert_rollups() -> int:
    """Move the pending deltas into the sums; returns how many were folded. Readers see either
    the deltas or the sums they became (one statement), never both or neither."""
    if not _supported():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute(_ADD_SQL.format(rows=_DELTAS), {"all_time": AlertEntityRollup.ALL_TIME})
        return cursor.fetchone()[0]


def rebuild_alert_rollups() -> dict:
    """Recompute every sum from the alerts. Writes to alerts and cases wait meanwhile (SHARE
    lock), so nothing changes between the count and the reset of the deltas."""
    if not _supported():
        return {"alerts": 0, "seconds": 0.0}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute("LOCK TABLE alerts_alert, cases_case IN SHARE MODE")
        cursor.execute("TRUNCATE cases_alertrollupdelta, cases_alerthourrollup, cases_alertentityrollup")
        cursor.execute(_ADD_SQL.format(rows=_ALERTS), {"all_time": AlertEntityRollup.ALL_TIME})
        alerts = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_alerthourrollup, cases_alertentityrollup")
    return {"alerts": alerts, "seconds": time.perf_counter() - started}
