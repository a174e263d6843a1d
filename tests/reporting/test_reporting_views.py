"""The dashboard page, the JSON summary API and /metrics protection."""

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from reporting import metrics
from reporting.metrics import SoarCollector
from tests.support.reporting_data import build_world

pytestmark = pytest.mark.django_db

JANUARY = {"from": "2026-01-01", "to": "2026-01-31"}


@pytest.fixture
def world():
    return build_world()


# --- JSON API --------------------------------------------------------------------------------

def test_summary_api_returns_the_figures_for_the_range(client, world):
    client.force_login(world.alice)
    response = client.get("/api/v1/reports/summary", JANUARY)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["cases"]["cases"] == 3 and body["alerts"]["total"] == 4
    assert body["range"]["from"].startswith("2026-01-01T00:00:00") and body["range"]["to"].startswith("2026-02-01")
    assert body["cases"]["mtta_seconds"] == pytest.approx(1200)


def test_summary_api_filters_by_team_slug_or_id(client, world):
    client.force_login(world.admin)
    by_slug = client.get("/api/v1/reports/summary", {**JANUARY, "team": "blue"}).json()
    by_id = client.get("/api/v1/reports/summary", {**JANUARY, "team": world.blue.pk}).json()
    assert by_slug["cases"] == by_id["cases"] and by_slug["cases"]["cases"] == 1


@pytest.mark.parametrize("params, field", [
    ({"days": "0"}, "days"),
    ({"days": "abc"}, "days"),
    ({"days": "9999"}, "days"),
    ({"from": "2026-01-01"}, "to"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
    ({"from": "yesterday", "to": "2026-01-01"}, "from"),
    ({"team": "no-such-team"}, "team"),
])
def test_summary_api_rejects_bad_parameters_with_field_errors(client, world, params, field):
    client.force_login(world.alice)
    response = client.get("/api/v1/reports/summary", params)
    assert response.status_code == 400
    assert field in response.json()


def test_summary_api_needs_a_signed_in_user(client, world):
    assert client.get("/api/v1/reports/summary").status_code in (401, 403)


def test_summary_api_accepts_a_user_token(client, world):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=world.bob)
    response = client.get("/api/v1/reports/summary", JANUARY, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and response.json()["cases"]["cases"] == 1


# --- dashboard page --------------------------------------------------------------------------

def test_dashboard_renders_figures_charts_and_data(client, world, django_assert_max_num_queries):
    client.force_login(world.alice)
    with django_assert_max_num_queries(29):  # +4: the false-positive breakdowns
        response = client.get("/reports/", JANUARY)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="chart-volume"' in html and "vendor/chart.umd.min.js" in html and "js/dashboard.js" in html
    assert 'id="report-data"' in html and "20m 0s" in html  # MTTA of red
    assert "c4 malware" not in html and "Blue" not in html
    assert response.context["summary"]["cases"]["cases"] == 3
    assert "/reports/export/cases.csv?created_after=2026-01-01&amp;created_before=2026-01-31" in html
    assert "export/audit.csv" not in html  # analysts cannot export the audit log


def test_dashboard_shows_errors_and_falls_back_to_the_default_range(client, world):
    client.force_login(world.lead)
    response = client.get("/reports/", {"from": "2026-02-01", "to": "2026-01-01"})
    assert response.status_code == 200
    assert "Must be on or after from." in response.content.decode()
    assert "export/audit.csv" in response.content.decode()


def test_dashboard_preset_ranges(client, world):
    client.force_login(world.admin)
    response = client.get("/reports/", {"days": "7"})
    assert response.status_code == 200
    assert response.context["days"] == 7 and response.context["scope"].bucket == "day"


def test_dashboard_needs_login(client):
    response = client.get("/reports/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_vendored_chart_library_is_served_locally():
    from django.contrib.staticfiles import finders

    path = finders.find("vendor/chart.umd.min.js")
    assert path and "Chart.js v4" in open(path, encoding="utf-8").read(300)
    assert finders.find("vendor/chart.js.LICENSE.md") and finders.find("js/dashboard.js")


# --- /metrics --------------------------------------------------------------------------------

SOAR_METRICS = ["soar_alerts_stored", "soar_cases", "soar_case_mtta_seconds_bucket",
                "soar_case_mttr_seconds_count", "soar_playbook_runs", "soar_playbook_steps",
                "soar_pending_approvals", "soar_alert_queue_lag_seconds", "soar_alerts_pending",
                "soar_source_alerts_pending", "soar_source_alert_queue_lag_seconds"]


def samples(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@override_settings(SOAR_METRICS_ALLOWLIST=["127.0.0.1/32"], SOAR_METRICS_TOKEN="")
def test_metrics_refused_to_a_client_outside_the_allowlist_without_token(client, world):
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7").status_code == 403


@override_settings(SOAR_METRICS_ALLOWLIST=["127.0.0.1/32"], SOAR_METRICS_TOKEN="s3cret-token")
def test_metrics_with_the_token_from_anywhere(client, world):
    response = client.get("/metrics", REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200
    text = response.content.decode()
    for name in SOAR_METRICS:
        assert name in text, name
    assert "django_http_requests" in text  # django-prometheus's own metrics are there too
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.7",
                      HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


@override_settings(SOAR_METRICS_ALLOWLIST=[], SOAR_METRICS_TOKEN="")
def test_metrics_closed_to_everyone_until_a_token_or_an_allowlist_is_set(client, world):
    """No default allowlist: loopback is where a same-host reverse proxy's requests come from."""
    for address in ("127.0.0.1", "::1", "198.51.100.7"):
        response = client.get("/metrics", REMOTE_ADDR=address)
        text = response.content.decode()
        assert response.status_code == 403 and "SOAR_METRICS_TOKEN" in text and "SOAR_METRICS_ALLOWLIST" in text


def test_metrics_default_settings_allow_nobody(monkeypatch):
    import importlib.util

    from soar import settings as project_settings

    monkeypatch.delenv("SOAR_METRICS_ALLOWLIST", raising=False)
    monkeypatch.delenv("SOAR_METRICS_TOKEN", raising=False)
    spec = importlib.util.spec_from_file_location("fresh_settings", project_settings.__file__)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    assert fresh.SOAR_METRICS_ALLOWLIST == [] and fresh.SOAR_METRICS_TOKEN == ""


@override_settings(SOAR_METRICS_TOKEN="s3cret-token")
def test_metrics_with_a_token_and_no_allowlist_refuses_loopback_without_it(client, world, settings):
    settings.SOAR_METRICS_ALLOWLIST = []
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


@override_settings(SOAR_METRICS_ALLOWLIST=["10.0.0.0/8", "::1/128"], SOAR_METRICS_TOKEN="")
def test_metrics_allowlist_takes_cidrs(client, world):
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="11.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="not-an-ip").status_code == 403


@override_settings(SOAR_METRICS_ALLOWLIST=["127.0.0.1/32"])
def test_metric_values_come_from_the_database(client, world):
    from django.utils import timezone

    from alerts.models import Alert

    Alert.objects.filter(pk=world.alerts.a6.pk).update(processing=Alert.Processing.PENDING,
                                                       received_at=timezone.now() - timezone.timedelta(seconds=120))
    values = samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode())
    assert values[("soar_alerts_stored", (("severity", "high"), ("source", "siem")))] == 1
    assert values[("soar_alerts_stored", (("severity", "low"), ("source", "edr")))] == 1
    assert values[("soar_cases", (("status", "NEW"),))] == 2  # c3 and the December case
    assert values[("soar_cases", (("status", "RESOLVED"),))] == 2
    assert values[("soar_alerts_pending", ())] == 1
    assert values[("soar_alert_queue_lag_seconds", ())] >= 120
    # Per source, every source (0 without a backlog): where a storm comes from.
    assert values[("soar_source_alerts_pending", (("source", "siem"),))] == 1
    assert values[("soar_source_alerts_pending", (("source", "edr"),))] == 0
    assert values[("soar_source_alert_queue_lag_seconds", (("source", "siem"),))] >= 120
    assert values[("soar_source_alert_queue_lag_seconds", (("source", "edr"),))] == 0
    assert values[("soar_alerts_queued", ())] == 2
    # MTTA: 10, 30 and 50 minutes
    assert values[("soar_case_mtta_seconds_bucket", (("le", "900.0"),))] == 1
    assert values[("soar_case_mtta_seconds_bucket", (("le", "1800.0"),))] == 2
    assert values[("soar_case_mtta_seconds_bucket", (("le", "3600.0"),))] == 3
    assert values[("soar_case_mtta_seconds_count", ())] == 3
    assert values[("soar_case_mtta_seconds_sum", ())] == pytest.approx(90 * 60)
    # MTTR: 2 h and 4 h
    assert values[("soar_case_mttr_seconds_bucket", (("le", "14400.0"),))] == 2
    assert values[("soar_case_mttr_seconds_bucket", (("le", "3600.0"),))] == 0
    assert values[("soar_case_mttr_seconds_sum", ())] == pytest.approx(6 * 3600)
    assert values[("soar_metrics_scrape_errors", ())] == 0


def test_collector_is_registered_once():
    first = metrics.register_collector()
    second = metrics.register_collector()
    assert first is second
    ours = [c for c in REGISTRY._collector_to_names if isinstance(c, SoarCollector)]
    assert ours == [first]


@override_settings(SOAR_METRICS_ALLOWLIST=["127.0.0.1/32"])
def test_playbook_metrics_count_runs_steps_and_pending_approvals(client, world):
    from django.utils import timezone

    from playbooks.models import ApprovalRequest, PlaybookRun, StepRun

    def run(status):
        return PlaybookRun.objects.create(playbook_name="contain", version=1, definition={}, case=world.c1,
                                          trigger="manual", status=status)

    waiting, done, _ = run("waiting_approval"), run("succeeded"), run("succeeded")
    step = StepRun.objects.create(run=waiting, index=0, step_id="isolate", type="action",
                                  status="waiting_approval", idempotency_key="k1")
    StepRun.objects.create(run=done, index=0, step_id="ticket", type="action", status="succeeded",
                           idempotency_key="k2")
    ApprovalRequest.objects.create(run=waiting, step=step, case=world.c1, action="edr.isolate", summary="isolate",
                                   expires_at=timezone.now() + timezone.timedelta(hours=1))
    values = samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode())
    assert values[("soar_playbook_runs", (("status", "succeeded"),))] == 2
    assert values[("soar_playbook_runs", (("status", "waiting_approval"),))] == 1
    assert values[("soar_playbook_steps", (("status", "waiting_approval"),))] == 1
    assert values[("soar_playbook_steps", (("status", "succeeded"),))] == 1
    assert values[("soar_pending_approvals", ())] == 1
    assert values[("soar_metrics_scrape_errors", ())] == 0
