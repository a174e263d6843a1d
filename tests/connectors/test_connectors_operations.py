"""Operating connectors: the admin (write-only secret, validation, status, run now), the
Prometheus metrics, the beat sweep, the command line and the embedded mode's scheduler."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest

from alerts.models import Alert
from connectors import services
from connectors.models import PullConnector
from soar.celery import app
from soar.embedded_beat import EmbeddedBeat
from tests.connectors.connector_fakes import detection_alert
from tests.factories import build_world
from tests.support.eager import EAGER_GET

pytestmark = pytest.mark.django_db


def form_data(source, **overrides):
    data = {"name": "es-prod", "kind": "elasticsearch", "enabled": "on", "source": source.pk,
            "endpoint": "https://es.example.test:9200", "username": "", "secret": "", "query": "",
            "options": '{"index": ".alerts-security.alerts-default"}', "interval_seconds": 60, "page_size": 200,
            "timeout_seconds": 15, "cursor": "{}"}
    return {**data, **overrides}


def test_admin_secret_is_write_only_and_status_is_shown(admin_client, make_source, caplog):
    source, _ = make_source(name="es-source", kind="elastic")
    created = admin_client.post("/admin/connectors/pullconnector/add/",
                                form_data(source, secret="super-secret-api-key"))
    assert created.status_code == 302, created.content[:2000]
    connector = PullConnector.objects.get(name="es-prod")
    assert connector.secret == "super-secret-api-key"
    PullConnector.objects.filter(pk=connector.pk).update(last_error="es-prod: HTTP 500: boom", lag_seconds=42.0,
                                                         records_fetched_total=1234)

    page = admin_client.get(f"/admin/connectors/pullconnector/{connector.pk}/change/")
    assert page.status_code == 200
    assert b"super-secret-api-key" not in page.content
    assert b"HTTP 500: boom" in page.content and b"1234" in page.content
    listing = admin_client.get("/admin/connectors/pullconnector/")
    assert b"super-secret-api-key" not in listing.content and b"es-prod" in listing.content

    # Saving without typing the secret keeps it; the clear box removes it.
    kept = admin_client.post(f"/admin/connectors/pullconnector/{connector.pk}/change/", form_data(source))
    assert kept.status_code == 302
    assert PullConnector.objects.get(pk=connector.pk).secret == "super-secret-api-key"
    admin_client.post(f"/admin/connectors/pullconnector/{connector.pk}/change/",
                      form_data(source, clear_secret="on"))
    assert PullConnector.objects.get(pk=connector.pk).secret == ""
    assert "super-secret-api-key" not in caplog.text
    # Admin changes are audited by field name, never by value.
    from cases.models import AuditLog

    entries = AuditLog.objects.filter(object_type="connectors.pullconnector")
    assert entries.count() == 3 and "super-secret-api-key" not in str(list(entries.values()))


def test_admin_refuses_a_configuration_that_cannot_run(admin_client, make_source):
    source, _ = make_source(name="es-source", kind="elastic")
    cases = [
        (form_data(source, query="not json"), b"Not a query DSL object"),
        (form_data(source, kind="splunk", query=""), b"A Splunk search is required"),
        (form_data(source, page_size=5000), b"Between 1 and 1000"),
        (form_data(source, interval_seconds=1), b"At least 10 seconds"),
        (form_data(source, endpoint="file:///etc/passwd"), b"An http:// or https:// URL"),
        (form_data(source, kind="generic_json", options='{"list_path": 3}'), b"list_path must be a string"),
    ]
    for data, message in cases:
        response = admin_client.post("/admin/connectors/pullconnector/add/", data)
        assert response.status_code == 200 and message in response.content, message
    assert not PullConnector.objects.exists()


def test_view_only_staff_never_see_the_secret_and_analysts_have_no_admin(client, django_user_model, elastic,
                                                                          make_connector):
    world = build_world()
    connector = make_connector(elastic, secret="view-only-must-not-see")
    viewer = django_user_model.objects.create_user("staffview", password="x" * 12, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_pullconnector"))
    client.force_login(viewer)
    page = client.get(f"/admin/connectors/pullconnector/{connector.pk}/change/")
    assert page.status_code == 200 and b"view-only-must-not-see" not in page.content
    assert client.post(f"/admin/connectors/pullconnector/{connector.pk}/change/", {}).status_code == 403
    client.force_login(world.analyst)
    assert client.get("/admin/connectors/pullconnector/").status_code == 302  # to the admin log-in


def test_admin_run_now_runs_a_backed_off_connector(admin_client, elastic, make_connector):
    elastic.index_docs([detection_alert(1)])
    connector = make_connector(elastic)
    PullConnector.objects.filter(pk=connector.pk).update(consecutive_failures=3, next_run_at="2100-01-01T00:00Z")
    response = admin_client.post("/admin/connectors/pullconnector/", {
        "action": "run_now", "_selected_action": [connector.pk]})
    assert response.status_code == 302
    assert Alert.objects.count() == 1  # embedded mode: the queued run ran in process
    connector.refresh_from_db()
    assert connector.consecutive_failures == 0


def test_status_is_exported_as_prometheus_metrics(elastic, make_connector):
    from reporting.metrics import SoarCollector

    elastic.index_docs([detection_alert(n) for n in range(3)])
    connector = make_connector(elastic, page_size=2)
    services.run_connector(connector.pk)
    broken = make_connector(elastic, name="broken-pull", secret="wrong-secret")
    services.run_connector(broken.pk)
    registry = CollectorRegistry()
    registry.register(SoarCollector())
    text = generate_latest(registry).decode()
    assert 'soar_connector_records_fetched_total{connector="siem-pull"} 2.0' in text
    assert 'soar_connector_alerts_created_total{connector="siem-pull"} 2.0' in text
    assert 'soar_connector_up{connector="siem-pull"} 1.0' in text
    assert 'soar_connector_up{connector="broken-pull"} 0.0' in text
    assert 'soar_connector_consecutive_failures{connector="broken-pull"} 1.0' in text
    lag_series = 'soar_connector_lag_seconds{connector="siem-pull"}'
    lag = next(line for line in text.splitlines() if line.startswith(lag_series))
    assert float(lag.split()[-1]) > 0  # a backlog: the cursor is behind the source
    assert "soar_metrics_scrape_errors 0.0" in text
    assert "wrong-secret" not in text


def lag_sample(name):
    from reporting.metrics import SoarCollector

    registry = CollectorRegistry()
    registry.register(SoarCollector())
    series = f'soar_connector_lag_seconds{{connector="{name}"}} '
    return next((float(line.split()[-1]) for line in generate_latest(registry).decode().splitlines()
                 if line.startswith(series)), None)


def test_lag_keeps_growing_while_the_connector_fails(admin_client, elastic, make_connector):
    """The exported lag is how far behind the source the cursor is now: a connector failing for
    an hour is at least an hour behind, although its last successful run had caught up."""
    connector = make_connector(elastic)
    assert lag_sample("siem-pull") is None  # no run yet: unknown, not "caught up"
    services.run_connector(connector.pk)
    assert lag_sample("siem-pull") == 0
    assert b"caught up" in admin_client.get("/admin/connectors/pullconnector/").content

    an_hour_ago = timezone.now() - timedelta(hours=1)
    PullConnector.objects.filter(pk=connector.pk).update(last_success_at=an_hour_ago, lag_seconds=5.0)
    elastic.auth = "ApiKey rotated"  # the key was rotated on the cluster: every run fails now
    assert services.run_connector(connector.pk, ignore_schedule=True).status == "failed"
    assert 3600 + 5 <= lag_sample("siem-pull") < 3600 + 5 + 60
    listing = admin_client.get("/admin/connectors/pullconnector/").content
    assert b"1.0 h behind" in listing

    # The next success measures the lag afresh.
    elastic.auth = f"ApiKey {connector.secret}"
    assert services.run_connector(connector.pk, ignore_schedule=True).status == "ok"
    assert lag_sample("siem-pull") == 0


def test_beat_sweep_runs_due_connectors_only(elastic, make_connector):
    entry = settings.CELERY_BEAT_SCHEDULE["run-due-pull-connectors"]
    assert entry["task"] == "connectors.tasks.run_due_connectors" and entry["task"] in app.tasks
    elastic.index_docs([detection_alert(1)])
    due = make_connector(elastic, name="due-pull")
    later = make_connector(elastic, name="later-pull")
    PullConnector.objects.filter(pk=later.pk).update(next_run_at="2100-01-01T00:00Z")
    assert app.tasks["connectors.tasks.run_due_connectors"].apply().get(**EAGER_GET) == 1
    assert PullConnector.objects.get(pk=due.pk).records_fetched_total == 1
    assert PullConnector.objects.get(pk=later.pk).last_run_at is None


def test_run_connector_command(elastic, make_connector):
    from io import StringIO

    elastic.index_docs([detection_alert(n) for n in range(3)])
    make_connector(elastic, page_size=2)
    out = StringIO()
    call_command("run_connector", "siem-pull", "--once", stdout=out)
    assert "ok: 2 record(s), 2 new alert(s), 0 skipped, more waiting" in out.getvalue()
    with pytest.raises(CommandError, match="No pull connector named 'nope'"):
        call_command("run_connector", "nope", "--once")
    PullConnector.objects.filter(name="siem-pull").update(secret="bad-one")
    with pytest.raises(CommandError, match="authentication refused"):
        call_command("run_connector", "siem-pull", "--once", stdout=StringIO(), stderr=StringIO())


def stored_alerts() -> int:
    """The test database is SQLite in memory with a shared cache, where a read that meets the
    scheduler thread's write fails at once ("table is locked") instead of waiting as it does on
    the embedded mode's file database: such a read counts as "not yet"."""
    try:
        return Alert.objects.count()
    except OperationalError:
        return 0


@pytest.mark.django_db(transaction=True)
def test_embedded_mode_runs_connectors_in_the_embedded_beat(elastic, make_connector, settings, monkeypatch, tmp_path):
    """No broker, no beat process: the web process's embedded beat (soar/embedded_beat.py)
    runs the connector sweep of the beat schedule, and the run stores the alert."""
    elastic.index_docs([detection_alert(1)])
    make_connector(elastic)
    settings.SOAR_EMBEDDED_BEAT = True
    assert settings.CELERY_TASK_ALWAYS_EAGER  # the embedded mode
    # The beat schedule's sweep, every 0.2 s instead of SOAR_CONNECTOR_SWEEP_SECONDS.
    monkeypatch.setattr(app.conf, "beat_schedule", {
        "run-due-pull-connectors": {"task": "connectors.tasks.run_due_connectors", "schedule": 0.2}})
    beat = EmbeddedBeat(lock_path=tmp_path / "beat.lock")
    try:
        assert beat.start() is True
        deadline = time.monotonic() + 30
        while stored_alerts() < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stored_alerts() == 1
    finally:
        beat.stop()
    assert not beat.running()

