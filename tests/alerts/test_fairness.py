"""Back-pressure and fairness (issue 16): a storm on one source does not starve the others.
The alerts of a source with a backlog over SOAR_BULK_BACKLOG_THRESHOLD go to the bulk queue,
the other sources' to the main queue; the sweep takes due alerts round-robin across sources."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from alerts import outbox
from alerts.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """What the outbox hands to the broker: (alert ids, queue name or None for the default)."""
    messages: list[tuple[list[int], str | None]] = []

    def publish(name, args, *, what, **options):
        assert name == "alerts.tasks.process_alerts"
        messages.append((list(args[0]), options.get("queue")))
        return True

    monkeypatch.setattr(outbox.queue, "publish", publish)
    outbox.backlog.forget()
    yield messages
    outbox.backlog.forget()


def pending(source, n: int, *, age_seconds: int = 0) -> list[int]:
    received = timezone.now() - timedelta(seconds=age_seconds)
    alerts = Alert.objects.bulk_create(
        Alert(source=source, title=f"{source.name} {i}", severity="low", fingerprint=f"{source.name}-{i}")
        for i in range(n))
    ids = [a.pk for a in alerts]
    # received_at is auto_now_add: set the age afterwards, one microsecond apart (a stable order).
    for offset, pk in enumerate(ids):
        Alert.objects.filter(pk=pk).update(received_at=received + timedelta(microseconds=offset))
    return ids


def test_a_storming_source_goes_to_the_bulk_queue_and_the_others_to_the_main_queue(make_source, settings,
                                                                                   published):
    settings.SOAR_BULK_BACKLOG_THRESHOLD = 50
    settings.SOAR_CORRELATION_CHUNK = 120  # a storm's messages carry a correlation chunk
    storm, _ = make_source(name="storm")
    quiet, _ = make_source(name="quiet")
    storm_ids = pending(storm, 230)
    quiet_ids = pending(quiet, 3)
    assert outbox.publish_processing(storm_ids[-130:] + quiet_ids)
    main = [ids for ids, queue_name in published if queue_name is None]
    bulk = [ids for ids, queue_name in published if queue_name == settings.SOAR_CELERY_BULK_QUEUE]
    assert main == [quiet_ids]
    assert sorted(i for ids in bulk for i in ids) == sorted(storm_ids[-130:])
    assert [len(ids) for ids in bulk] == [120, 10]
    assert outbox.message_size(bulk=False) == outbox.DISPATCH_CHUNK < outbox.message_size(bulk=True)


def test_below_the_threshold_or_with_it_off_everything_takes_the_main_queue(make_source, settings, published):
    storm, _ = make_source(name="storm")
    ids = pending(storm, 60)
    settings.SOAR_BULK_BACKLOG_THRESHOLD = 60  # "more than": 60 pending is not a storm
    assert outbox.publish_processing(ids)
    settings.SOAR_BULK_BACKLOG_THRESHOLD = 0
    outbox.backlog.forget()
    assert outbox.publish_processing(ids)
    assert published == [(ids, None), (ids, None)]


def test_the_backlog_is_read_at_most_once_per_period(make_source, settings, published, django_assert_num_queries):
    settings.SOAR_BULK_BACKLOG_THRESHOLD = 5
    storm, _ = make_source(name="storm")
    ids = pending(storm, 10)
    with django_assert_num_queries(2):  # the backlog per source, then the sources of these alerts
        outbox.publish_processing(ids)
    with django_assert_num_queries(1):  # the backlog read a moment ago is reused
        outbox.publish_processing(ids)
    assert [queue_name for _, queue_name in published] == [settings.SOAR_CELERY_BULK_QUEUE] * 2


def test_the_sources_the_submitter_gave_are_not_looked_up(make_source, settings, published,
                                                        django_assert_num_queries):
    """The webhook knows the source of the alerts it hands the relay: during a storm the relay
    looks up only the ids whose source it was not told."""
    settings.SOAR_BULK_BACKLOG_THRESHOLD = 5
    storm, _ = make_source(name="storm")
    quiet, _ = make_source(name="quiet")
    storm_ids, quiet_ids = pending(storm, 10), pending(quiet, 2)
    outbox.backlog.counts()
    with django_assert_num_queries(0):
        assert outbox.publish_processing(storm_ids + quiet_ids,
                                         {**dict.fromkeys(storm_ids, storm.pk), **dict.fromkeys(quiet_ids, quiet.pk)})
    with django_assert_num_queries(1):  # the quiet alerts' sources only
        assert outbox.publish_processing(storm_ids + quiet_ids, dict.fromkeys(storm_ids, storm.pk))
    assert published == [(quiet_ids, None), (storm_ids, settings.SOAR_CELERY_BULK_QUEUE)] * 2


def test_the_sweep_takes_due_alerts_round_robin_across_sources(make_source, settings, published):
    settings.SOAR_BULK_BACKLOG_THRESHOLD = 0
    storm, _ = make_source(name="storm")
    quiet, _ = make_source(name="quiet")
    other, _ = make_source(name="other")
    storm_ids = pending(storm, 40, age_seconds=600)  # older than everything else
    quiet_ids = pending(quiet, 2, age_seconds=60)
    other_ids = pending(other, 5, age_seconds=120)
    # Strictly oldest first, a sweep of 4 would have taken 4 of the storm's alerts.
    assert outbox.sweep_unprocessed_alerts(older_than_seconds=30, limit=4) == 4
    assert published[-1][0] == [storm_ids[0], other_ids[0], quiet_ids[0], storm_ids[1]]
    Alert.objects.update(processed_at=None)  # as if never swept
    # Turn by turn: the oldest of each source, then the second of each...; at most 3 per source.
    assert outbox.sweep_unprocessed_alerts(older_than_seconds=30, limit=100, per_source=3) == 8
    assert published[-1][0] == [storm_ids[0], other_ids[0], quiet_ids[0],
                                storm_ids[1], other_ids[1], quiet_ids[1],
                                storm_ids[2], other_ids[2]]


def test_the_sweep_sends_a_storm_to_the_bulk_queue(make_source, settings, published):
    settings.SOAR_BULK_BACKLOG_THRESHOLD = 20
    storm, _ = make_source(name="storm")
    quiet, _ = make_source(name="quiet")
    storm_ids = pending(storm, 30, age_seconds=600)
    quiet_ids = pending(quiet, 1, age_seconds=60)
    assert outbox.sweep_unprocessed_alerts(older_than_seconds=30) == 31
    assert published == [(quiet_ids, None), (storm_ids, settings.SOAR_CELERY_BULK_QUEUE)]
    # Every swept alert is stamped: not queued again before the grace period.
    assert not Alert.objects.filter(processed_at__isnull=True).exists()


def test_the_bulk_queue_is_declared_and_named_after_the_main_queue():
    assert django_settings.SOAR_CELERY_BULK_QUEUE == f"{django_settings.CELERY_TASK_DEFAULT_QUEUE}-bulk"
    declared = {q.name for q in django_settings.CELERY_TASK_QUEUES}
    assert {django_settings.CELERY_TASK_DEFAULT_QUEUE, django_settings.SOAR_CELERY_SWEEP_QUEUE,
            django_settings.SOAR_CELERY_BULK_QUEUE} == declared
