"""The transactional outbox's relay: committed PENDING alerts are handed to the broker.

A webhook request commits its alert rows and returns; publishing to the broker is not part of
its latency. Each web process runs one relay thread that publishes the ids handed to it by
the requests, many ids to a message when requests arrive faster than one publish takes.
Nothing is lost when a process dies or the broker is down: the rows stay PENDING and the beat
sweep re-dispatches them after ``SOAR_SWEEP_AFTER_SECONDS``.

Fairness in a storm: the alerts of a source with more than ``SOAR_BULK_BACKLOG_THRESHOLD``
alerts waiting are published to the bulk queue (``SOAR_CELERY_BULK_QUEUE``), which the workers
consume in turn with the main queue (kombu reads a worker's queues round-robin): the other
sources' alerts keep going through the main queue instead of waiting behind the storm. The
backlog per source is read at most once per ``BACKLOG_MAX_AGE_SECONDS`` per process, and the
source of each alert is looked up only while some source is over the threshold. The sweep
takes its alerts round-robin across sources. Delivery stays at-least-once: a message may name
an alert twice or an alert already processed, and processing skips alerts no longer pending."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from alerts import selectors
from alerts.models import Alert
from soar import queue

logger = logging.getLogger(__name__)
DISPATCH_CHUNK = 100
BACKLOG_MAX_AGE_SECONDS = 1.0


class BacklogView:
    """Alerts waiting for processing per source, as read at most ``max_age`` seconds ago (one
    aggregate query; shared by the threads of a process)."""

    def __init__(self, max_age: float = BACKLOG_MAX_AGE_SECONDS):
        self.max_age = max_age
        self._lock = threading.Lock()
        self._counts: dict[int, int] = {}
        self._read_at: float | None = None

    def counts(self) -> dict[int, int]:
        with self._lock:
            now = time.monotonic()
            if self._read_at is None or now - self._read_at >= self.max_age:
                self._read_at = now
                try:
                    self._counts = {source: n for source, (n, _) in selectors.pending_by_source().items()}
                except DatabaseError as exc:
                    # Fairness is best effort: without the figures every alert takes the main queue.
                    # One line, no traceback: a database outage is expected and reported elsewhere.
                    logger.warning("could not read the outbox backlog per source (%s)", exc.__class__.__name__)
                    _drop_broken_connection()
                    self._counts = {}
            return self._counts

    def storming(self) -> set[int]:
        """Sources over SOAR_BULK_BACKLOG_THRESHOLD (none when it is 0)."""
        threshold = settings.SOAR_BULK_BACKLOG_THRESHOLD
        if threshold <= 0:
            return set()
        return {source for source, n in self.counts().items() if n > threshold}

    def forget(self) -> None:
        """Read the database again at the next question (tests)."""
        with self._lock:
            self._read_at = None


backlog = BacklogView()


def _drop_broken_connection() -> None:
    # The relay thread is no request: nobody else closes its connection after a database restart.
    if not connection.in_atomic_block:
        connection.close()


def _close_if_obsolete() -> None:
    """Close this thread's connection once older than CONN_MAX_AGE (at once when it is 0) or
    after an error, without the round trip of a health check."""
    expired = connection.close_at is not None and time.monotonic() >= connection.close_at
    if connection.connection is not None and (connection.errors_occurred or expired):
        connection.close()


def _sources_of(alert_ids: list[int]) -> dict[int, int]:
    try:
        return dict(Alert.objects.filter(pk__in=alert_ids).values_list("pk", "source_id"))
    except DatabaseError as exc:
        logger.warning("could not read the sources of %d alert(s) (%s); main queue", len(alert_ids),
                       exc.__class__.__name__)
        _drop_broken_connection()
        return {}


def message_size(bulk: bool) -> int:
    """Ids per processing message. A storm's messages (the bulk queue) carry a whole correlation
    chunk (SOAR_CORRELATION_CHUNK): a chunk's fixed cost (its look-ups, locks, follow-up
    records and commit) is then shared by 500 alerts instead of 100, which cuts the worker's and
    PostgreSQL's CPU per alert by about a quarter (bench/results.md, "CPU per correlated
    alert"). The main queue keeps small messages: a quiet source's alert waits behind at most
    one bulk message per worker process, a fraction of a second."""
    return max(DISPATCH_CHUNK, settings.SOAR_CORRELATION_CHUNK) if bulk else DISPATCH_CHUNK


def _publish_chunks(alert_ids: list[int], bulk: bool) -> bool:
    options = {"queue": settings.SOAR_CELERY_BULK_QUEUE} if bulk else {}
    where = " (bulk queue)" if bulk else ""
    size = message_size(bulk)
    for start in range(0, len(alert_ids), size):
        chunk = alert_ids[start:start + size]
        if not queue.publish("alerts.tasks.process_alerts", [chunk],
                             what=f"processing of {len(chunk)} alert(s){where}", **options):
            return False
    return True


def publish_processing(alert_ids: list[int], source_of: dict[int, int] | None = None) -> bool:
    """Queue processing now, the alerts of a source in a storm on the bulk queue, the others on
    the main queue. ``source_of`` ({alert id: source id}) spares the look-up of the alerts it
    names. Failure is logged, not raised, and reported as False (then possibly after a part was
    published: at-least-once): the alert rows stay PENDING and the relay's retry or the sweep
    re-dispatches them once the broker is back."""
    storming = backlog.storming() if alert_ids else set()
    if not storming:
        return _publish_chunks(alert_ids, bulk=False)
    source_of = dict(source_of or {})
    unknown = [pk for pk in alert_ids if pk not in source_of]
    if unknown:
        source_of.update(_sources_of(unknown))
    main = [pk for pk in alert_ids if source_of.get(pk) not in storming]
    bulk = [pk for pk in alert_ids if source_of.get(pk) in storming]
    if bulk:
        logger.info("%d alert(s) of source(s) %s in a storm go to the bulk queue", len(bulk),
                    sorted({source_of[pk] for pk in bulk}))
    return _publish_chunks(main, bulk=False) and _publish_chunks(bulk, bulk=True)


class Relay:
    """One background publisher per process (re-created after a fork).

    Ids whose publish failed (broker down) are held and tried again every
    ``retry_seconds``: once the broker is back they go out within seconds, instead of waiting
    for the beat sweep's grace period (SOAR_SWEEP_AFTER_SECONDS). The sweep still covers a
    process that dies holding them. ``publish`` reports a failure by returning False or raising."""

    MAX_HELD = 50_000
    HEALTH_CHECK_SECONDS = 1.0

    def __init__(self, publish: Callable[[list[int], dict[int, int]], object] = publish_processing,
                 linger_seconds: float | None = None, retry_seconds: float = queue.BACKOFF_SECONDS):
        self._publish = publish
        self._linger = linger_seconds
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._pending: list[int] = []
        self._held: list[int] = []
        self._source_of: dict[int, int] = {}  # of the ids pending or held, when the submitter said
        self._retry_at = 0.0
        self._wakeup = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, alert_ids: list[int], source_id: int | None = None) -> None:
        """Hand over committed ids; ``source_id``, the source of them all, spares the relay
        looking it up during a storm (the bulk queue is chosen per source)."""
        with self._lock:
            self._pending.extend(alert_ids)
            if source_id is not None:
                self._source_of.update(dict.fromkeys(alert_ids, source_id))
            self._idle.clear()
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._start()
        self._wakeup.set()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._wakeup = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soar-outbox-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        linger = settings.SOAR_OUTBOX_LINGER_MS / 1000 if self._linger is None else self._linger
        checked_at = 0.0
        while True:
            woke = self._wakeup.wait(timeout=self.retry_seconds if self._held else None)
            if linger and woke:
                # A publish costs about a millisecond of CPU whatever it carries: wait a moment
                # so that the requests arriving meanwhile share it.
                time.sleep(linger)
            self._wakeup.clear()
            with self._lock:
                if self._held and time.monotonic() >= self._retry_at:
                    self._pending, self._held = self._held + self._pending, []
            # This thread is no request: it manages its own database connection (it reads the
            # backlog per source) as Django does around a request: kept for
            # SOAR_DB_CONN_MAX_AGE, closed once too old or after an error, health-checked
            # before use; the check (a round trip) at most once a second, not at every
            # flush. Closing it after every flush cost a new PostgreSQL backend per publish
            # during a storm (fork, authentication, catalog caches; bench/results.md).
            if time.monotonic() - checked_at >= self.HEALTH_CHECK_SECONDS:
                connection.close_if_unusable_or_obsolete()
                checked_at = time.monotonic()
            self.flush()
            _close_if_obsolete()

    def flush(self) -> None:
        """Publish everything handed over so far (also called at exit)."""
        with self._lock:
            ids, self._pending = self._pending, []
            source_of = {pk: self._source_of.pop(pk) for pk in ids if pk in self._source_of}
        published = True
        try:
            if ids:
                published = self._publish(ids, source_of) is not False
        except Exception:  # noqa: BLE001 - the relay thread must survive; the sweep has the rows
            published = False
            logger.exception("outbox relay failed to publish %d alert(s); held for a retry", len(ids))
        finally:
            with self._lock:
                if ids and not published:
                    self._held = (self._held + ids)[-self.MAX_HELD:]
                    kept = set(self._held)
                    self._source_of.update((pk, source) for pk, source in source_of.items() if pk in kept)
                    self._retry_at = time.monotonic() + self.retry_seconds
                if not self._pending:
                    self._idle.set()

    def held(self) -> int:
        """Ids waiting for the broker to come back."""
        return len(self._held)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """For tests and shutdown: True once every submitted id has been tried (published, or
        held for a retry)."""
        return self._idle.wait(timeout)


relay = Relay()
atexit.register(relay.flush)


def _process_here(alert_ids: list[int], source_of: dict[int, int]) -> None:
    """The embedded mode's relay: tasks run in-process, so publishing processes the alerts in
    the relay thread, after the webhook has answered. Each round also sweeps what an earlier
    round left (a crash, a locked database) at once, instead of leaving it to the embedded
    beat's sweep (soar/embedded_beat.py: every few seconds, in one process, and off with
    SOAR_EMBEDDED_BEAT=0). The cases'
    follow-ups (enrichment, playbook triggers: durable rows committed with the cases) run in
    the follow-up thread (soar.queue.follow_ups), so that the next round's alerts do not wait
    for them."""
    try:
        with queue.follow_ups_in_background():
            publish_processing(alert_ids, source_of)
            sweep_unprocessed_alerts()
    finally:
        # A thread that is not a request: give its database connection back (SQLite locks).
        connection.close()


embedded_relay = Relay(publish=_process_here, linger_seconds=0.02)
atexit.register(embedded_relay.flush)


def dispatch_processing(alert_ids: list[int], *, source_id: int | None = None, defer: bool = False) -> None:
    """Hand committed alerts to processing. With a broker the relay thread publishes them. In
    the embedded mode (tasks run in-process) they are processed now, or, when ``defer`` (the
    webhook) and SOAR_EMBEDDED_PROCESSING is "background" (the default), by a thread after
    the response: a sender of a 500-alert group must not wait for 500 cases to be opened,
    enriched and offered to playbooks (Alertmanager re-sends after 10 s). ``source_id``: the
    source of them all, when the caller knows it."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        relay.submit(alert_ids, source_id)
    elif defer and settings.SOAR_EMBEDDED_PROCESSING == "background":
        embedded_relay.submit(alert_ids, source_id)
    else:
        publish_processing(alert_ids, None if source_id is None else dict.fromkeys(alert_ids, source_id))


def dispatch_resolution(alert_ids: list[int]) -> None:
    """Apply what a sender's "resolved" means to the groups and cases of these alerts. The
    alert rows are already marked resolved (committed); if the broker is down, the next
    resolution in the same group or case, or an analyst, settles them."""
    queue.publish("alerts.tasks.apply_resolution", [alert_ids], what=f"resolution of {len(alert_ids)} alert(s)")


def sweep_unprocessed_alerts(older_than_seconds: int | None = None, limit: int = 5000,
                             per_source: int | None = None) -> int:
    """Re-dispatch alerts still PENDING after a grace period, after putting back in line the
    FAILED ones whose last attempt is old enough and that have retries left. Returns how many
    were queued. Fair across sources: the oldest due alert of each source, then the second of
    each, and so on, at most ``per_source`` (SOAR_SWEEP_PER_SOURCE) per source and ``limit`` in
    all, so that a storm's backlog does not hold back another source's lost alert."""
    age = settings.SOAR_SWEEP_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    now = timezone.now()
    revived = retry_failed_alerts(now)
    if revived:
        logger.warning("%d failed alert(s) put back in line for processing", revived)
    cutoff = now - timedelta(seconds=age)
    # processed_at is unused while an alert is PENDING: the sweep stamps it with the time it
    # queued the alert, so an alert still waiting in a long queue (a storm) is not queued again
    # at every sweep, only once per grace period.
    due = (Alert.objects.filter(processing=Alert.Processing.PENDING, received_at__lte=cutoff)
           .filter(Q(processed_at__isnull=True) | Q(processed_at__lte=cutoff)))
    per_source = settings.SOAR_SWEEP_PER_SOURCE if per_source is None else per_source
    turns = due.annotate(turn=Window(RowNumber(), partition_by=[F("source_id")],
                                     order_by=[F("received_at").asc(), F("id").asc()]))
    picked = list(turns.filter(turn__lte=max(per_source, 1)).order_by("turn", "received_at", "id")
                  .values_list("id", "source_id")[:limit])
    ids = [pk for pk, _ in picked]
    if ids and publish_processing(ids, source_of=dict(picked)):
        Alert.objects.filter(pk__in=ids, processing=Alert.Processing.PENDING).update(processed_at=now)
        return len(ids)
    return 0


def retry_failed_alerts(now: datetime) -> int:
    """FAILED -> PENDING for alerts last tried SOAR_FAILED_ALERT_RETRY_AFTER_SECONDS ago that
    have failed at most SOAR_FAILED_ALERT_RETRIES times (a database outage outlasting the
    worker's own retries, a bug fixed by a deploy); the others stay FAILED, in the alert queue."""
    cutoff = now - timedelta(seconds=settings.SOAR_FAILED_ALERT_RETRY_AFTER_SECONDS)
    return Alert.objects.filter(
        processing=Alert.Processing.FAILED, processed_at__lte=cutoff,
        processing_attempts__lte=settings.SOAR_FAILED_ALERT_RETRIES,
    ).update(processing=Alert.Processing.PENDING)
