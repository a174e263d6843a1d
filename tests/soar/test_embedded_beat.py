"""The embedded mode's beat (soar/embedded_beat.py): the schedules a real beat runs, run in a
thread of one web process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from alerts.models import Alert
from reporting.services import create_report_schedule
from soar import embedded_beat
from soar.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def beat(tmp_path, settings, monkeypatch):
    settings.SOAR_EMBEDDED_BEAT = True
    assert settings.CELERY_TASK_ALWAYS_EAGER  # the embedded mode
    monkeypatch.setattr(app.conf, "beat_schedule", {})  # only what each test schedules
    started: list[embedded_beat.EmbeddedBeat] = []

    def make() -> embedded_beat.EmbeddedBeat:
        started.append(embedded_beat.EmbeddedBeat(lock_path=tmp_path / "beat.lock", retry_after_seconds=0.05))
        return started[-1]

    yield make
    for one in started:
        one.stop()


def test_a_schedule_added_in_the_admin_runs_without_a_broker(beat, make_source, settings):
    """A left-behind alert (a crash between storing and processing) is correlated by the sweep,
    with no new request to start a relay round: before, nothing ran it in the embedded mode."""
    settings.SOAR_SWEEP_AFTER_SECONDS = 0
    source, _ = make_source(name="siem")
    left = Alert.objects.create(source=source, title="left behind", severity="low", fingerprint="f",
                                received_at=timezone.now())
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="sweep", task="alerts.tasks.sweep_unprocessed_alerts", interval=every_second)
    runner = beat()
    assert runner.start() is True
    assert wait_for(lambda: Alert.objects.get(pk=left.pk).processing == Alert.Processing.DONE)
    runner.stop()  # beat writes its run counts back when it stops
    assert PeriodicTask.objects.get(name="sweep").total_run_count >= 1


def test_a_report_schedule_sends_its_email_in_the_embedded_mode(beat):
    """The admin guide's report schedule, made as `create_report_schedule` makes it; its
    crontab replaced by a one-second interval so that it is due during the test."""
    schedule = create_report_schedule("Daily report", ["soc-leads@example.org"], frequency="daily", hour=7)
    schedule.crontab = None
    schedule.interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    schedule.save()
    assert beat().start() is True
    assert wait_for(lambda: len(mail.outbox) >= 1)
    assert mail.outbox[0].to == ["soc-leads@example.org"] and "Daily report" in mail.outbox[0].subject


def test_one_process_per_data_directory_runs_it(beat):
    first, second = beat(), beat()
    assert first.start() is True and first.running()
    assert first.start() is True  # idempotent
    assert second.start() is False and not second.running()  # the lock file is taken
    first.stop()
    assert not first.running()
    assert second.start() is True and second.running()  # the lock was released


def test_off_with_a_broker_or_when_turned_off(beat, settings):
    runner = beat()
    settings.SOAR_EMBEDDED_BEAT = False
    assert runner.start() is False
    settings.SOAR_EMBEDDED_BEAT = True
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a broker: the real beat runs the schedules
    assert runner.start() is False
    assert not runner.running()


def test_a_failing_beat_is_started_again(beat, monkeypatch):
    """Celery's beat loop ends at the first exception (the database away, tables missing): the
    thread logs it and starts a new beat instead of stopping every sweep for good."""
    starts: list[int] = []

    class FlakyService:
        def __init__(self, *args, **kwargs):
            self._stopped = threading.Event()

        def start(self):
            starts.append(1)
            if len(starts) == 1:
                raise RuntimeError("no such table: django_celery_beat_periodictask")
            self._stopped.wait(30)

        def stop(self, wait=False):
            self._stopped.set()

    monkeypatch.setattr(embedded_beat, "Service", FlakyService)
    runner = beat()
    assert runner.start() is True
    assert wait_for(lambda: len(starts) == 2, timeout=10)
    assert runner.running()
    runner.stop()
    assert not runner.running()
