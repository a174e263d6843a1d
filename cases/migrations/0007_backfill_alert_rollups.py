"""Sum the alerts that existed before the rollup triggers (0005): an upgraded database gets exact
dashboard figures without anyone having to remember `manage.py rebuild_report_rollups`.
PostgreSQL only; on an empty database this is instant (~20 s at a million alerts).

The SQL is frozen here, as a migration must be; reporting.rollup_services holds the live
copy used by the fold task and the rebuild command."""

from django.db import migrations

from soar.migration_ops import postgresql_only

ALL_TIME = "0001-01-01"  # cases.models.AlertEntityRollup.ALL_TIME when this was written

BACKFILL = f"""
TRUNCATE cases_alertrollupdelta, cases_alerthourrollup, cases_alertentityrollup;
WITH moved AS (
  SELECT a.received_at, COALESCE(c.team_id, 0)::integer AS team_id, a.case_id IS NULL AS queued,
         a.source_id, a.severity, a.entity_type, a.entity_value, 1 AS change
  FROM alerts_alert a LEFT JOIN cases_case c ON c.id = a.case_id
),
hours AS (
  INSERT INTO cases_alerthourrollup (hour, team_id, queued, source_id, severity, alerts)
  SELECT date_trunc('hour', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', team_id, queued, source_id,
         severity, sum(change)
  FROM moved GROUP BY 1, 2, 3, 4, 5
)
INSERT INTO cases_alertentityrollup (day, team_id, queued_source_id, entity_type, entity_value, entity_hash, alerts)
SELECT d.day, m.team_id, CASE WHEN m.queued THEN m.source_id ELSE 0 END, m.entity_type, min(m.entity_value),
       md5(m.entity_value), sum(m.change)
FROM moved m
CROSS JOIN LATERAL (VALUES ((m.received_at AT TIME ZONE 'UTC')::date), ('{ALL_TIME}'::date)) AS d(day)
WHERE m.entity_value <> ''
GROUP BY 1, 2, 3, 4, 6;
ANALYZE cases_alerthourrollup, cases_alertentityrollup;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0006_case_report_statistics"),
    ]

    operations = [postgresql_only(BACKFILL)]
