"""Reporting figures against hand-computed values (see reporting_data for the world)."""

import datetime as dt

import pytest

from reporting.selectors import ReportScope, report_summary
from tests.support.reporting_data import FEB_START, JAN_START, NOW, T0, build_world

pytestmark = pytest.mark.django_db

JANUARY = ReportScope(start=JAN_START, end=FEB_START)


@pytest.fixture
def world():
    return build_world()


def by_key(rows, key):
    return {row[key]: row for row in rows}


def test_totals_for_an_admin_cover_every_case_of_the_range(world):
    summary = report_summary(world.admin, JANUARY, now=NOW)
    cases = summary["cases"]
    assert cases["cases"] == 4  # the December case is outside the range
    assert cases["open"] == 2 and cases["resolved"] == 2 and cases["acknowledged"] == 3
    assert cases["mtta_seconds"] == pytest.approx((10 + 30 + 50) / 3 * 60)
    assert cases["mttr_seconds"] == pytest.approx(3 * 3600)  # (2 h + 4 h) / 2
    assert (cases["sla_breached"], cases["sla_ack_breached"], cases["sla_resolve_breached"]) == (2, 2, 2)
    assert cases["automated"] == 2 and cases["automation_rate"] == 0.5
    assert summary["alerts"]["total"] == 6
    assert summary["severity"]["cases"] == {"info": 0, "low": 1, "medium": 1, "high": 1, "critical": 1}
    assert summary["severity"]["alerts"] == {"info": 0, "low": 2, "medium": 1, "high": 2, "critical": 1}


def test_top_sources_and_entities(world):
    summary = report_summary(world.admin, JANUARY, now=NOW)
    assert summary["top_sources"] == [{"source": "siem", "alerts": 4}, {"source": "edr", "alerts": 2}]
    assert summary["top_entities"][0] == {"type": "ip", "value": "10.0.0.1", "alerts": 3}
    assert {(r["type"], r["value"]) for r in summary["top_entities"]} == {
        ("ip", "10.0.0.1"), ("host", "web1"), ("user", "mallory"), ("ip", "10.0.0.9")}


def test_daily_volume_has_every_day_of_the_range_with_zeros(world):
    summary = report_summary(world.admin, JANUARY, now=NOW)
    volume = summary["volume"]
    assert summary["range"]["bucket"] == "day" and len(volume) == 31
    counts = {row["t"][:10]: (row["cases"], row["alerts"]) for row in volume}
    assert counts["2026-01-10"] == (1, 2)
    assert counts["2026-01-11"] == (2, 2)  # c2, c3; a3, a6
    assert counts["2026-01-12"] == (1, 2)
    assert counts["2026-01-01"] == (0, 0)
    assert sum(row["cases"] for row in volume) == 4


def test_hourly_volume_for_a_short_range(world):
    scope = ReportScope(start=T0, end=T0 + dt.timedelta(days=1))
    summary = report_summary(world.admin, scope, now=NOW)
    assert summary["range"]["bucket"] == "hour" and len(summary["volume"]) == 24
    assert [(row["cases"], row["alerts"]) for row in summary["volume"][:2]] == [(1, 1), (0, 1)]


def test_per_team_figures(world):
    rows = by_key(report_summary(world.admin, JANUARY, now=NOW)["per_team"], "team")
    red, blue = rows["Red"], rows["Blue"]
    assert (red["cases"], red["open"], red["resolved"], red["sla_breached"], red["automated"]) == (3, 2, 1, 2, 1)
    assert red["mtta_seconds"] == pytest.approx(20 * 60) and red["mttr_seconds"] == pytest.approx(2 * 3600)
    assert red["automation_rate"] == pytest.approx(1 / 3, abs=1e-4) and red["team_slug"] == "red"
    assert (blue["cases"], blue["mtta_seconds"], blue["mttr_seconds"]) == (1, 50 * 60, 4 * 3600)


def test_per_analyst_figures(world):
    rows = by_key(report_summary(world.admin, JANUARY, now=NOW)["per_analyst"], "analyst")
    assert set(rows) == {"alice", "bob", None}
    alice = rows["alice"]
    assert (alice["cases"], alice["open"], alice["sla_breached"]) == (2, 1, 1)
    assert alice["mtta_seconds"] == pytest.approx(20 * 60)
    assert rows[None]["cases"] == 1 and rows[None]["mtta_seconds"] is None
    assert rows["bob"]["mttr_seconds"] == pytest.approx(4 * 3600)


def test_team_filter_narrows_every_figure(world):
    summary = report_summary(world.admin, ReportScope(JAN_START, FEB_START, team=world.blue), now=NOW)
    assert summary["cases"]["cases"] == 1 and summary["cases"]["mtta_seconds"] == pytest.approx(50 * 60)
    assert summary["alerts"]["total"] == 2  # a4 (blue case) and a5 (queued, from blue's source)
    assert [row["team"] for row in summary["per_team"]] == ["Blue"]
    assert summary["range"]["team"] == {"id": world.blue.pk, "slug": "blue", "name": "Blue"}


def test_an_analyst_gets_only_the_figures_of_cases_they_can_see(world):
    summary = report_summary(world.alice, JANUARY, now=NOW)
    assert summary["cases"]["cases"] == 3
    assert summary["cases"]["mtta_seconds"] == pytest.approx(20 * 60)
    assert [row["team"] for row in summary["per_team"]] == ["Red"]
    assert "bob" not in {row["analyst"] for row in summary["per_analyst"]}
    # a1, a2, a3 (red cases) and a6 (queued from red's source); never blue's a4/a5
    assert summary["alerts"]["total"] == 4
    values = {row["value"] for row in summary["top_entities"]}
    assert "mallory" not in values
    assert summary["top_sources"] == [{"source": "siem", "alerts": 4}]


def test_a_blue_team_filter_gives_a_red_analyst_nothing(world):
    summary = report_summary(world.alice, ReportScope(JAN_START, FEB_START, team=world.blue), now=NOW)
    assert summary["cases"]["cases"] == 0 and summary["alerts"]["total"] == 0
    assert summary["cases"]["mtta_seconds"] is None and summary["cases"]["automation_rate"] is None


def test_figures_use_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(18):  # +4: the false-positive breakdowns
        report_summary(world.alice, JANUARY, now=NOW)
