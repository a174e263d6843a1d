"""Alert retention on PostgreSQL keeps the dashboard's history: the purge's deletes record no
-1 in the rollups (the trigger honours the transaction-local `soar.retention`), so the report
figures from the rollups are the same after the purge, while counting the alerts no longer
finds the purged ones. Any other delete still lowers the sums."""

import gzip
import json

import pytest
from django.test import override_settings

from alerts import retention
from alerts.models import Alert
from reporting.models import AlertRollupDelta
from reporting.rollup_selectors import rollups_enabled
from reporting.rollup_services import fold_alert_rollups
from reporting.selectors import ReportScope, report_summary
from tests.support.reporting_data import DAY, FEB_START, JAN_START, NOW, T0, build_world

pytestmark = pytest.mark.django_db

SCOPES = [ReportScope(JAN_START, FEB_START), ReportScope(T0, T0 + 3 * DAY)]


def figures(world, *, rollups=True):
    with override_settings(SOAR_REPORT_ROLLUPS=rollups):
        return {(getattr(user, "username", "system"), index): report_summary(user, scope, now=NOW)
                for user in (world.admin, world.alice, world.bob, None)
                for index, scope in enumerate(SCOPES + [ReportScope(JAN_START, FEB_START, team=world.blue)])}


def test_the_purge_keeps_the_rollup_figures(tmp_path):
    world = build_world()
    fold_alert_rollups()
    assert rollups_enabled()
    before = figures(world)
    assert before == figures(world, rollups=False)  # the sums agree with the alerts to begin with
    assert before[("system", 0)]["alerts"]["total"] == 6

    # 30 days after NOW every alert is old: a3 stays (its case c2 is open), the others go.
    result = retention.purge_expired_alerts(30, batch=2, export_dir=str(tmp_path), now=NOW + 40 * DAY)
    assert (result.alerts, result.batches, result.kept_in_open_cases) == (5, 3, 1)
    assert list(Alert.objects.values_list("title", flat=True)) == ["a3"]
    assert not AlertRollupDelta.objects.exists(), "the purge recorded deltas"
    with gzip.open(result.export_file, "rt") as lines:
        assert sorted(json.loads(line)["title"] for line in lines) == ["a1", "a2", "a4", "a5", "a6"]

    fold_alert_rollups()
    assert figures(world) == before
    # Counting the alerts (SQLite's way, and every raw-alert view) no longer finds them.
    assert figures(world, rollups=False)[("system", 0)]["alerts"]["total"] == 1

    # The setting was transaction-local: an ordinary delete lowers the sums again.
    world.alerts.a3.delete()
    assert AlertRollupDelta.objects.filter(change=-1).count() == 1
    fold_alert_rollups()
    assert figures(world)[("system", 0)]["alerts"]["total"] == 5
