"""The dashboard's case query on PostgreSQL: the hand-computed figures (the unit tests pin them
on SQLite, whose duration sums are computed differently), and the planner statistics of
migration 0006 that let it hash a few hundred groups instead of sorting every case."""

import datetime as dt
import json

import pytest
from django.db import connection

from cases.models import Case, Team
from reporting.expressions import BucketKey
from reporting.selectors import ReportScope, case_aggregates, report_summary
from tests.support.reporting_data import FEB_START, JAN_START, NOW, build_world

pytestmark = pytest.mark.django_db


def test_case_figures_are_exact_on_postgresql():
    world = build_world()
    cases = report_summary(world.admin, ReportScope(JAN_START, FEB_START), now=NOW)["cases"]
    assert (cases["cases"], cases["open"], cases["acknowledged"], cases["resolved"]) == (4, 2, 3, 2)
    assert cases["mtta_seconds"] == (10 + 30 + 50) / 3 * 60  # exact: the durations are summed as intervals
    assert cases["mttr_seconds"] == 3 * 3600
    assert (cases["sla_breached"], cases["sla_ack_breached"], cases["sla_resolve_breached"]) == (2, 2, 2)
    assert cases["automated"] == 2
    alice = report_summary(world.alice, ReportScope(JAN_START, FEB_START), now=NOW)
    assert alice["cases"]["cases"] == 3 and alice["cases"]["mtta_seconds"] == 20 * 60


@pytest.mark.parametrize("bucket", ["day", "hour"])
def test_the_planner_knows_how_many_groups_the_case_query_has(bucket):
    """400 cases in 4 groups: without statistics on the bucket expression the planner expects
    400 groups (one per case) and sorts every case; this fails if BucketKey's SQL no longer
    matches the expression of the statistics objects (migration 0006)."""
    team = Team.objects.create(name="Stats", slug="stats")
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    Case.objects.bulk_create([Case(title=f"s{i}", team=team, severity="high") for i in range(400)])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_case SET created_at = %s + (id %% 4) * %s", [start, dt.timedelta(days=1)])
        cursor.execute("ANALYZE cases_case")
    scope = ReportScope(start, start + dt.timedelta(days=2 if bucket == "hour" else 10))
    rows = (Case.objects.filter(created_at__gte=scope.start, created_at__lt=scope.end).order_by()
            .annotate(bucket=BucketKey("created_at", bucket)).values("bucket", "team_id", "assignee_id", "severity")
            .annotate(**case_aggregates(NOW)))
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    expected = 2 if bucket == "hour" else 4
    assert len(list(rows)) == expected
    assert plan[0]["Plan"]["Plan Rows"] <= 4 * expected, plan[0]["Plan"]
