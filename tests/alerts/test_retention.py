"""Alert retention (issue 16): old alerts are purged in batches, exported first as gzip JSON
Lines, with their orphan observables and emptied closed groups; cases and the alerts of open
cases are kept."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from alerts import retention, tasks
from alerts.models import Alert, AlertGroup, CorrelationRule, Observable
from cases.models import Case, CaseEvent

pytestmark = pytest.mark.django_db
OLD = timezone.now() - timedelta(days=100)
RECENT = timezone.now() - timedelta(days=2)


def alert(source, title, *, received_at=OLD, case=None, processing=Alert.Processing.DONE, group=None,
          observables=()):
    row = Alert.objects.create(source=source, title=title, severity="high", fingerprint=title, case=case,
                               processing=processing, group=group, entity_type="ip", entity_value="10.0.0.1",
                               raw={"payload": title}, status=Alert.Status.IN_CASE if case else Alert.Status.QUEUED)
    Alert.objects.filter(pk=row.pk).update(received_at=received_at)
    row.observables.set(observables)
    return row


def observable(value: str) -> Observable:
    return Observable.objects.create(type="ip", value=value, value_hash=Observable.digest(value))


def exported(path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture
def source(make_source):
    return make_source(name="siem")[0]


def test_only_old_processed_alerts_outside_open_cases_are_purged(source):
    open_case = Case.objects.create(title="open", status=Case.Status.IN_PROGRESS)
    closed_case = Case.objects.create(title="closed", status=Case.Status.CLOSED)
    CaseEvent.objects.create(case=closed_case, kind="note", message="kept with its case")
    purged = [alert(source, "old queued"), alert(source, "old in closed case", case=closed_case),
              alert(source, "old failed", processing=Alert.Processing.FAILED)]
    kept = [alert(source, "recent", received_at=RECENT), alert(source, "old in open case", case=open_case),
            alert(source, "old unprocessed", processing=Alert.Processing.PENDING)]
    result = retention.purge_expired_alerts(30)
    assert result.alerts == 3 and result.kept_in_open_cases == 1 and result.complete
    assert set(Alert.objects.values_list("pk", flat=True)) == {a.pk for a in kept}
    assert not Alert.objects.filter(pk__in=[a.pk for a in purged]).exists()
    # The case outlives its alerts, with its timeline.
    assert Case.objects.filter(pk=closed_case.pk).exists()
    assert CaseEvent.objects.filter(case=closed_case, message="kept with its case").exists()


def test_retention_zero_keeps_everything(source, settings):
    settings.SOAR_ALERT_RETENTION_DAYS = 0
    alert(source, "ancient", received_at=timezone.now() - timedelta(days=3650))
    assert tasks.purge_old_alerts() == 0
    assert Alert.objects.count() == 1


def test_purge_runs_in_bounded_batches(source, settings, django_assert_max_num_queries):
    settings.SOAR_RETENTION_BATCH = 3
    for n in range(7):
        alert(source, f"old {n}")
    result = retention.purge_expired_alerts(30)
    assert (result.alerts, result.batches) == (7, 3)
    assert not Alert.objects.exists()
    for n in range(2):
        alert(source, f"again {n}")
    # One batch is a fixed number of statements, whatever the batch size.
    with django_assert_max_num_queries(16):
        assert retention.purge_batch(retention.cutoff_for(30), 10) == (2, 0, 0)


def test_the_beat_task_is_scheduled_on_the_sweep_queue(settings):
    from soar.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["purge-old-alerts"]
    assert entry["task"] == "alerts.tasks.purge_old_alerts"
    app.loader.import_default_modules()
    assert app.amqp.router.route({}, entry["task"])["queue"].name == settings.SOAR_CELERY_SWEEP_QUEUE


def test_the_export_is_one_gzip_json_lines_file_per_run(source, settings, tmp_path):
    settings.SOAR_RETENTION_BATCH = 2
    ip = observable("10.0.0.1")
    rows = [alert(source, f"old {n}", observables=[ip]) for n in range(5)]
    alert(source, "recent", received_at=RECENT, observables=[ip])
    result = retention.purge_expired_alerts(30, export_dir=str(tmp_path / "exports"))
    assert result.export_file is not None and result.export_file.name.endswith(".jsonl.gz")
    assert [p.name for p in (tmp_path / "exports").iterdir()] == [result.export_file.name]  # no .partial left
    lines = exported(result.export_file)
    assert [line["id"] for line in lines] == [a.pk for a in rows]
    first = lines[0]
    assert first["title"] == "old 0" and first["source_name"] == "siem" and first["raw"] == {"payload": "old 0"}
    assert first["observables"] == [["ip", "10.0.0.1"]] and first["processing"] == "done"
    assert first["received_at"].startswith(OLD.date().isoformat())
    # A run with nothing to purge writes no file.
    assert retention.purge_expired_alerts(30, export_dir=str(tmp_path / "exports")).export_file is None
    assert len(list((tmp_path / "exports").iterdir())) == 1


def test_a_failed_batch_leaves_its_alerts_stored_and_out_of_the_export(source, settings, tmp_path, monkeypatch):
    settings.SOAR_RETENTION_BATCH = 2
    for n in range(3):
        alert(source, f"old {n}")
    calls = []
    real = retention.purge_batch

    def second_batch_fails(cutoff, batch, export=None):
        calls.append(batch)
        if len(calls) == 2:
            monkeypatch.setattr(retention.AlertGroup, "objects", None)  # fails after the export was written
        return real(cutoff, batch, export)

    monkeypatch.setattr(retention, "purge_batch", second_batch_fails)
    with pytest.raises(AttributeError):
        retention.purge_expired_alerts(30, export_dir=str(tmp_path))
    [exported_file] = tmp_path.iterdir()
    assert [line["title"] for line in exported(exported_file)] == ["old 0", "old 1"]
    assert list(Alert.objects.values_list("title", flat=True)) == ["old 2"]


def test_an_interrupted_runs_partial_file_is_kept_under_a_visible_name(source, tmp_path):
    partial = tmp_path / ".alerts-purged-20260101T000000000000Z.jsonl.gz.partial"
    partial.write_bytes(gzip.compress(b'{"id": 1}\n'))
    alert(source, "old")
    retention.purge_expired_alerts(30, export_dir=str(tmp_path))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "alerts-purged-20260101T000000000000Z-interrupted.jsonl.gz" and len(names) == 2
    assert exported(tmp_path / names[0]) == [{"id": 1}]


def test_orphan_observables_and_empty_closed_groups_go_with_the_alerts(source):
    case = Case.objects.create(title="closed", status=Case.Status.CLOSED)
    only_old, shared, in_case = observable("10.0.0.1"), observable("10.0.0.2"), observable("10.0.0.3")
    in_case.cases.add(case)
    rule = CorrelationRule.objects.create(name="r")
    now = timezone.now()
    closed = AlertGroup.objects.create(rule=rule, key="a", key_hash="a", is_open=False, first_seen=now, last_seen=now)
    still_used = AlertGroup.objects.create(rule=rule, key="b", key_hash="b", is_open=False, first_seen=now,
                                           last_seen=now)
    open_group = AlertGroup.objects.create(rule=rule, key="c", key_hash="c", first_seen=now, last_seen=now)
    alert(source, "old 1", observables=[only_old, shared, in_case], group=closed)
    alert(source, "old 2", group=still_used)
    alert(source, "old 3", group=open_group)
    alert(source, "recent", received_at=RECENT, observables=[shared], group=still_used)
    result = retention.purge_expired_alerts(30)
    assert (result.alerts, result.observables, result.groups) == (3, 1, 1)
    assert set(Observable.objects.values_list("value", flat=True)) == {"10.0.0.2", "10.0.0.3"}
    assert set(AlertGroup.objects.values_list("key", flat=True)) == {"b", "c"}


def test_purge_alerts_command(source, settings):
    settings.SOAR_ALERT_RETENTION_DAYS = 0
    alert(source, "old")
    alert(source, "recent", received_at=RECENT)
    with pytest.raises(CommandError, match="Retention is off"):
        call_command("purge_alerts")
    out = StringIO()
    call_command("purge_alerts", "--older-than-days", "30", "--dry-run", stdout=out)
    assert "1 alert(s)" in out.getvalue() and "would be purged" in out.getvalue()
    assert Alert.objects.count() == 2
    out = StringIO()
    call_command("purge_alerts", "--older-than-days", "30", stdout=out)
    assert "1 alert(s) received before" in out.getvalue() and "no export" in out.getvalue()
    assert list(Alert.objects.values_list("title", flat=True)) == ["recent"]
