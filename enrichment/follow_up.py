"""Durable automatic enrichment: a request row per case with work pending, committed with the
alerts that caused it, a task per request, and a beat sweep for requests left open.

Why not ``enrich_case.delay`` straight from a signal: when the broker or the database is down
at that moment the task is simply lost (a case without evidence). Here the request commits in
the transaction that puts the alerts in the case (alerts.signals.case_alerts_added); only the
publish happens after the commit, and if it fails, or the broker or a worker loses the task,
``sweep`` queues the request again once it has been queued longer than
``SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS`` ago, at most ``SOAR_FOLLOW_UP_MAX_ATTEMPTS`` times.

Running a request twice is harmless: automatic enrichment skips (case, provider, observable)
pairs already answered on the case, and a lease (``lease_until``) keeps a second worker from
enriching the same case while the first one still is. The lease is short
(``SOAR_FOLLOW_UP_LEASE_SECONDS``) and renewed by a heartbeat while the task runs: a worker
killed mid-task (SIGKILL skips every ``finally``) frees its requests within that time instead
of holding them for the whole task time limit (bench/faults.py found cases enriched ~5.5 min
late after a worker SIGKILL with a lease of the hard limit)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from enrichment import services
from enrichment.models import EnrichmentRequest
from enrichment.providers.base import Provider
from enrichment.providers.registry import build_providers
from soar import queue
from soar.bulk import any_of

logger = logging.getLogger(__name__)
SWEEP_LIMIT = 500
ROUNDS = 3  # alerts keep joining the case while it is enriched: enrich again, this often
KEEP_DONE_DAYS = 7
REQUESTS_PER_TASK = 25  # a chunk's requests to one task: fewer publishes, still spread over the workers


def record_requests(cases: list[tuple[int, bool]]) -> list[EnrichmentRequest]:
    """Inside the caller's transaction: note that these cases ((case id, opened) pairs) need
    enriching. An open request of a case absorbs the new alerts (its task enriches the whole
    case, again if it is running now). One look-up of their open requests, one UPDATE, one
    INSERT, and their tasks published after the commit, ``REQUESTS_PER_TASK`` requests to a
    task. Returns the new requests."""
    opened: dict[int, bool] = {}
    for case_id, was_opened in cases:
        opened[case_id] = opened.get(case_id, False) or was_opened
    if not opened:
        return []
    now = timezone.now()
    open_now = EnrichmentRequest.objects.filter(any_of("case_id", opened), done_at__isnull=True)
    absorbed = set(open_now.values_list("case_id", flat=True))
    if absorbed:
        open_now.update(requested_at=now)
    rows = [EnrichmentRequest(case_id=case_id, requested_at=now, queued_at=now, attempts=1,
                              reason=(EnrichmentRequest.Reason.CASE_OPENED if was_opened
                                      else EnrichmentRequest.Reason.ALERTS_ADDED))
            for case_id, was_opened in opened.items() if case_id not in absorbed]
    if not rows:
        return []
    try:
        with transaction.atomic():
            created = EnrichmentRequest.objects.bulk_create(rows)
    except IntegrityError:  # another transaction opened one for one of these cases meanwhile
        return [request for request in (_record_one(row.case_id, row.reason, now) for row in rows) if request]
    ids = [request.pk for request in created]
    transaction.on_commit(lambda: publish_many(ids))
    return created


def _record_one(case_id: int, reason: str, now: datetime) -> EnrichmentRequest | None:
    if EnrichmentRequest.objects.filter(case_id=case_id, done_at__isnull=True).update(requested_at=now):
        return None
    try:
        with transaction.atomic():
            request = EnrichmentRequest.objects.create(case_id=case_id, reason=reason, requested_at=now,
                                                       queued_at=now, attempts=1)
    except IntegrityError:
        EnrichmentRequest.objects.filter(case_id=case_id, done_at__isnull=True).update(requested_at=now)
        return None
    transaction.on_commit(lambda: publish(request.pk))
    return request


def publish(request_id: int) -> bool:
    """Queue the request's task; never raises (the sweep queues it again)."""
    return queue.publish("enrichment.tasks.run_enrichment_request", [request_id],
                         what=f"enrichment request {request_id}", follow_up=True)


def publish_many(request_ids: list[int]) -> bool:
    """Queue the requests' tasks, ``REQUESTS_PER_TASK`` to a task (a storm's cases still spread
    over the workers); never raises. Stops at the first failure (the sweep queues the rest)."""
    if len(request_ids) == 1:
        return publish(request_ids[0])
    for start in range(0, len(request_ids), REQUESTS_PER_TASK):
        part = request_ids[start:start + REQUESTS_PER_TASK]
        if not queue.publish("enrichment.tasks.run_enrichment_requests", [part],
                             what=f"{len(part)} enrichment request(s)", follow_up=True):
            return False
    return True


def lease_seconds() -> int:
    """How long a claim lasts without a heartbeat: a dead task's request is free again after it."""
    return settings.SOAR_FOLLOW_UP_LEASE_SECONDS


class _Heartbeat:
    """Renews a running request's lease every third of its length, from a thread of its own
    (its own database connection), until the task ends."""

    def __init__(self, request_id: int):
        self.request_id = request_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"enrichment-lease-{request_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(max(lease_seconds() / 3, 0.05)):
                EnrichmentRequest.objects.filter(pk=self.request_id, done_at__isnull=True).update(
                    lease_until=timezone.now() + timedelta(seconds=lease_seconds()))
        except Exception:  # noqa: BLE001 - a missed renewal only lets the sweep queue the request again
            logger.warning("could not renew the lease of enrichment request %s", self.request_id, exc_info=True)
        finally:
            connection.close()


def run_request(request_id: int, providers: list[Provider] | None = None) -> int:
    """The task's body: enrich the request's case, mark the request done unless alerts were
    added meanwhile (then enrich again). Returns the number of results stored. ``providers``:
    built once for many requests (run_requests)."""
    now = timezone.now()
    claimed = (EnrichmentRequest.objects.filter(pk=request_id, done_at__isnull=True)
               .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
               .update(lease_until=now + timedelta(seconds=lease_seconds())))
    if not claimed:
        return 0  # done already, or another worker is on it
    stored = 0
    try:
        with _Heartbeat(request_id):
            for _ in range(ROUNDS):
                row = EnrichmentRequest.objects.filter(pk=request_id).values("case_id", "requested_at").first()
                if row is None:
                    return stored  # the case was deleted
                try:
                    stored += len(services.enrich_case(row["case_id"], providers=providers))
                except services.CaseReadOnly:
                    pass  # merged meanwhile: its evidence belongs on the target case; the request is done
                if EnrichmentRequest.objects.filter(pk=request_id, requested_at=row["requested_at"]).update(
                        done_at=timezone.now(), lease_until=None):
                    return stored
            logger.info("case of enrichment request %s keeps growing; left to the sweep", request_id)
    finally:
        EnrichmentRequest.objects.filter(pk=request_id, done_at__isnull=True).update(lease_until=None)
    return stored


def run_requests(request_ids: list[int]) -> int:
    """``run_request`` for each of these requests, one after the other (one task for many; a
    request another worker holds, or done already, is skipped). Returns the results stored. The
    providers and their configuration are read once for the task (seconds at most)."""
    providers = build_providers()
    return sum(run_request(request_id, providers) for request_id in request_ids)


def sweep(now=None, limit: int = SWEEP_LIMIT) -> int:
    """Queue again the open requests last queued more than the grace period ago and not leased
    by a running task; each at most once per grace period (the claim is a conditional UPDATE,
    so two sweeps at once do not both queue it). Returns how many were queued."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS)
    due = (EnrichmentRequest.objects
           .filter(done_at__isnull=True, queued_at__lte=cutoff, attempts__lt=settings.SOAR_FOLLOW_UP_MAX_ATTEMPTS)
           .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)))
    queued = 0
    for request_id, queued_at in list(due.order_by("queued_at").values_list("id", "queued_at")[:limit]):
        if not due.filter(pk=request_id).update(queued_at=now, attempts=F("attempts") + 1):
            continue  # queued by someone else meanwhile
        if not publish(request_id):
            # Broker down: not an attempt, and due again at the next sweep, like the rest.
            EnrichmentRequest.objects.filter(pk=request_id, queued_at=now).update(
                queued_at=queued_at, attempts=F("attempts") - 1)
            break
        queued += 1
    if queued:
        logger.warning("re-queued %d enrichment request(s) left open", queued)
    _forget_done(now)
    return queued


def _forget_done(now) -> None:
    old = list(EnrichmentRequest.objects.filter(done_at__lt=now - timedelta(days=KEEP_DONE_DAYS))
               .values_list("id", flat=True)[:SWEEP_LIMIT])
    if old:
        EnrichmentRequest.objects.filter(pk__in=old).delete()
