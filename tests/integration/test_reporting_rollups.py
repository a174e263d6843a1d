"""The dashboard's alert figures from the trigger-maintained sums (PostgreSQL) against counting
the alerts, through every kind of write that moves an alert: insert, attach to a case, a case
moving team, a merge, a deleted alert, a backdated alert, before and after the fold."""


import pytest
from django.test import override_settings
from guardian.shortcuts import assign_perm

from alerts.models import Alert
from cases.models import Case
from reporting.models import AlertRollupDelta
from reporting.rollup_selectors import rollups_enabled
from reporting.rollup_services import fold_alert_rollups, rebuild_alert_rollups
from reporting.selectors import ReportScope, report_summary
from tests.support.reporting_data import DAY, FEB_START, HOUR, JAN_START, MIN, NOW, T0, build_world, make_alert

pytestmark = pytest.mark.django_db

SCOPES = [
    ReportScope(JAN_START, FEB_START),  # whole days: all-time minus outside
    ReportScope(T0 + 30 * MIN, T0 + DAY + 90 * MIN),  # partial hours and days at both ends (hourly)
    ReportScope(T0 - 3 * DAY + 7 * MIN, T0 + 3 * DAY + 11 * MIN),  # partial days, daily buckets
    ReportScope(T0 + 2 * HOUR + 5 * MIN, T0 + 2 * HOUR + 40 * MIN),  # inside one hour
]


def assert_same_figures(world, *, scopes=SCOPES):
    assert rollups_enabled()
    for user in (world.admin, world.alice, world.bob, world.auditor, None):
        for scope in scopes + [ReportScope(JAN_START, FEB_START, team=world.blue)]:
            fast = report_summary(user, scope, now=NOW)
            with override_settings(SOAR_REPORT_ROLLUPS=False):
                slow = report_summary(user, scope, now=NOW)
            assert fast == slow, (getattr(user, "username", "system"), scope)


@pytest.fixture
def world():
    return build_world()


def test_figures_match_counting_the_alerts_through_every_write(world):
    assert AlertRollupDelta.objects.exists()  # written by the triggers, not folded yet
    assert_same_figures(world)
    fold_alert_rollups()
    assert not AlertRollupDelta.objects.exists()
    assert_same_figures(world)

    a7 = make_alert(world.edr, "a7", entity=("ip", "10.0.0.1"), received_at=T0 + 20 * MIN)  # queued, blue
    Alert.objects.filter(pk=world.alerts.a5.pk).update(case=world.c2, status=Alert.Status.IN_CASE)  # attach
    Case.objects.filter(pk=world.c4.pk).update(team=world.red)  # a case moves team with its alert
    Alert.objects.filter(case=world.c1).update(case=world.c3)  # merge-like move
    world.alerts.a3.delete()
    Alert.objects.filter(pk=a7.pk).update(severity="critical", entity_value="10.0.0.7")
    assert_same_figures(world)
    fold_alert_rollups()
    assert_same_figures(world)

    world.c3.alerts.update(case=None)  # what deleting a case does (SET_NULL)
    world.c3.delete()
    Case.objects.filter(pk=world.c2.pk).update(team=None)
    fold_alert_rollups()
    assert_same_figures(world)
    rebuild_alert_rollups()
    assert_same_figures(world)


def test_an_analyst_never_counts_another_teams_alerts(world):
    fold_alert_rollups()
    summary = report_summary(world.alice, SCOPES[0], now=NOW)
    # red's a1, a2, a3 and a6 (queued from red's source); never blue's a4/a5
    assert summary["alerts"]["total"] == 4
    assert summary["top_sources"] == [{"source": "siem", "alerts": 4}]
    assert "mallory" not in {row["value"] for row in summary["top_entities"]}
    assert {row["value"]: row["alerts"] for row in summary["top_entities"]}["10.0.0.1"] == 2  # not a4's
    # a blue case moving to red brings its alert to alice's figures, and takes it from bob's
    Case.objects.filter(pk=world.c4.pk).update(team=world.red)
    assert report_summary(world.alice, SCOPES[0], now=NOW)["alerts"]["total"] == 5
    assert report_summary(world.bob, SCOPES[0], now=NOW)["alerts"]["total"] == 1  # a5, queued from edr


def test_a_shared_case_adds_its_alerts_and_nothing_else(world):
    fold_alert_rollups()
    assign_perm("view_case", world.alice, world.c4)
    summary = report_summary(world.alice, SCOPES[0], now=NOW)
    assert summary["alerts"]["total"] == 5  # + a4, not the queued a5 of blue's source
    assert {row["value"]: row["alerts"] for row in summary["top_entities"]}["10.0.0.1"] == 3
    assert_same_figures(world)


def test_the_upgrade_migration_sums_alerts_written_before_the_triggers(world):
    """An upgraded database holds alerts the triggers never saw: migration 0007 sums them."""
    import importlib

    from django.db import connection

    backfill = importlib.import_module("cases.migrations.0007_backfill_alert_rollups").Migration.operations[0]
    with connection.cursor() as cursor:  # as before migration 0005: no sums, no deltas
        cursor.execute("TRUNCATE cases_alertrollupdelta, cases_alerthourrollup, cases_alertentityrollup")
    with override_settings(SOAR_REPORT_ROLLUPS=False):
        expected = report_summary(world.admin, SCOPES[0], now=NOW)
    assert report_summary(world.admin, SCOPES[0], now=NOW) != expected, "the sums are empty before"
    with connection.schema_editor() as editor:
        backfill.code(None, editor)
    assert_same_figures(world)


def test_one_update_statement_records_the_moves_of_all_its_alerts(world):
    """The update trigger is statement-level (reporting/0003): one statement moving many alerts
    records each alert's -1/+1, nothing for an update of uncounted columns, and nothing for an
    alert whose visibility key is unchanged (moved between two cases of the same team)."""
    fold_alert_rollups()
    Alert.objects.filter(source=world.siem).update(processing=Alert.Processing.DONE, processing_attempts=7)
    assert not AlertRollupDelta.objects.exists()

    Alert.objects.filter(case=world.c1).update(case=world.c2)  # red to red: same key
    assert not AlertRollupDelta.objects.exists()
    assert_same_figures(world)

    moved = list(Alert.objects.filter(case__isnull=False).values_list("pk", flat=True))
    Alert.objects.filter(pk__in=moved).update(case=None, status=Alert.Status.QUEUED)  # one statement
    assert AlertRollupDelta.objects.filter(change=-1).count() == len(moved) >= 3
    assert AlertRollupDelta.objects.filter(change=1, queued=True, team_id=0).count() == len(moved)
    assert_same_figures(world)
    Alert.objects.filter(pk__in=moved).update(case=world.c4, status=Alert.Status.IN_CASE)  # into blue's case
    assert AlertRollupDelta.objects.filter(change=1, team_id=world.blue.pk).count() == len(moved)
    assert_same_figures(world)
    fold_alert_rollups()
    assert_same_figures(world)


def test_correlating_a_chunk_keeps_the_figures(world):
    """The worker's path: one chunk of alerts joined to new and existing cases by one UPDATE."""
    from alerts import correlation

    fold_alert_rollups()
    pending = [make_alert(world.siem, f"storm {i}", entity=("ip", f"10.9.0.{i % 3}"), received_at=T0 + i * MIN,
                          severity="high", confidence=90) for i in range(9)]
    Alert.objects.filter(pk__in=[a.pk for a in pending]).update(processing=Alert.Processing.PENDING)
    correlation.process_alerts([alert.pk for alert in pending])
    assert Alert.objects.filter(pk__in=[a.pk for a in pending], case__isnull=False).count() == 9
    assert AlertRollupDelta.objects.filter(change=1, queued=False).count() == 9
    assert_same_figures(world)
