"""Planner statistics for the dashboard's case query (PostgreSQL only; no index, so no cost to
writes). The query groups cases by (team, assignee, severity, UTC day or hour of creation).
Without statistics on the date_trunc expression the planner takes every case for its own group
(100,000 groups at 100,000 cases), so it sorts every row, spilling to disk, instead of hashing a
few hundred groups: ~220 ms instead of ~70 ms at 100,000 cases. These objects give it the number
of distinct groups; ANALYZE (autovacuum, or the one below) keeps them current."""

from django.db import migrations

from soar.migration_ops import postgresql_only

BUCKET = "date_trunc('{unit}', created_at AT TIME ZONE 'UTC')"  # as reporting.expressions.BucketKey
FORWARD = "\n".join(
    f"CREATE STATISTICS IF NOT EXISTS case_report_{unit}_groups (ndistinct) "
    f"ON team_id, assignee_id, severity, ({BUCKET.format(unit=unit)}) FROM cases_case;"
    for unit in ("day", "hour")
) + "\nANALYZE cases_case;"
BACKWARD = "DROP STATISTICS IF EXISTS case_report_day_groups; DROP STATISTICS IF EXISTS case_report_hour_groups;"


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0005_alert_rollup_triggers"),
    ]

    operations = [postgresql_only(FORWARD, BACKWARD)]
