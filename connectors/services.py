"""Running pull connectors: one bounded page per run, stored with its cursor in one transaction.

A run (``run_connector``):
1. claims the connector: a lease (token + expiry) set under ``SELECT ... FOR UPDATE SKIP LOCKED``
   in a short transaction, only while no other run holds it; a second run, in this process or
   another, finds it taken and does nothing. The lease is not a row lock held through the HTTP
   calls: that would keep a transaction open for seconds (and, on SQLite, the whole database's
   write lock); a run killed mid-way frees the connector when its lease expires.
2. fetches one page over HTTP (connectors.fetchers), outside any transaction;
3. in ONE transaction: re-checks the lease on the locked row, hands every record to the source's
   adapter and the idempotent ingest (``alerts.services.ingest_pulled``), writes the new cursor
   and the status, and releases the lease. A crash anywhere before the commit leaves the
   cursor where the last committed page put it; the page is fetched again by the next run and
   its alerts already stored (none, after a rollback) count as re-sends: at-least-once, no gap,
   no duplicate.
A failed run keeps the cursor, records the error and backs off exponentially (capped), at
least as long as the server's Retry-After."""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.services import ingest_pulled
from connectors.fetchers import FetchError, Page, endpoint_problem, fetch_page, validate_config
from connectors.fetchers.base import scrub
from connectors.models import PullConnector
from soar import queue
from soar.errors import InvalidInput

logger = logging.getLogger(__name__)

BACKOFF_CAP_SECONDS = 3600.0
ERROR_CHARS = 1000
MAX_PAGE_SIZE = 1000
MIN_INTERVAL_SECONDS = 10


@dataclass
class RunResult:
    """``status``: "ok", "failed", or "skipped" (another run holds the connector, or not due)."""

    status: str
    records: int = 0
    created: int = 0
    rejected: int = 0
    more: bool = False
    error: str = ""


def lease_seconds(connector: PullConnector) -> float:
    """Long enough for a run's few requests (and Splunk's wait for its job) to time out."""
    return 6 * connector.timeout_seconds + 60


def backoff_seconds(connector: PullConnector, failures: int, retry_after: float | None = None) -> float:
    """interval * 2^failures, capped at BACKOFF_CAP_SECONDS (or the interval when that is longer),
    and never sooner than the server asked (Retry-After)."""
    interval = float(connector.interval_seconds)
    backoff = min(interval * 2 ** min(failures, 20), max(BACKOFF_CAP_SECONDS, interval))
    return max(backoff, retry_after or 0.0)


def validate_connector(*, kind: str, query: str, options: Any, endpoint: str, interval_seconds: int,
                       page_size: int, timeout_seconds: float, username: str | None = None,
                       source_kind: str | None = None) -> None:
    """Raise InvalidInput with field errors when the configuration cannot run. ``username`` and
    ``source_kind`` are checked when given (an IMAP mailbox needs a log-in and an e-mail source)."""
    errors = {field: [message] for field, message in validate_config(kind, query, options).items()}
    problem = endpoint_problem(kind, endpoint)
    if problem:
        errors.setdefault("endpoint", []).append(problem)
    if kind == PullConnector.Kind.IMAP and username is not None and not username.strip():
        errors.setdefault("username", []).append("The mailbox's log-in (the secret is its app password).")
    if kind == PullConnector.Kind.IMAP and source_kind is not None and source_kind != "email":
        errors.setdefault("source", []).append("An IMAP mailbox feeds an alert source of kind email (its adapter "
                                               "reads raw messages).")
    if interval_seconds < MIN_INTERVAL_SECONDS:
        errors.setdefault("interval_seconds", []).append(f"At least {MIN_INTERVAL_SECONDS} seconds.")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.setdefault("page_size", []).append(f"Between 1 and {MAX_PAGE_SIZE}.")
    if not 0 < timeout_seconds <= 120:
        errors.setdefault("timeout_seconds", []).append("Between 0 and 120 seconds.")
    if errors:
        raise InvalidInput("The connector's configuration is not valid.", errors=errors)


def _claim(connector_id: int, token: str, now: datetime, ignore_schedule: bool) -> PullConnector | None:
    with transaction.atomic():
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        connector = (PullConnector.objects.select_for_update(skip_locked=True).select_related("source")
                     .filter(free, pk=connector_id, enabled=True).first())
        if connector is None:
            return None
        if not ignore_schedule and connector.next_run_at is not None and connector.next_run_at > now:
            return None
        connector.lease_token = token
        connector.lease_until = now + timedelta(seconds=lease_seconds(connector))
        connector.save(update_fields=["lease_token", "lease_until"])
    return connector


def _locked_own(connector_id: int, token: str) -> PullConnector | None:
    """The connector's row, locked, if this run still holds the lease (inside a transaction)."""
    return PullConnector.objects.select_for_update().filter(pk=connector_id, lease_token=token).first()


def run_connector(connector_id: int, *, ignore_schedule: bool = False) -> RunResult:
    """One run: fetch one page and store it with its cursor. Never raises for the remote side's
    failures (they are the connector's status); ``ignore_schedule`` runs a connector that is not
    yet due (the admin's "run now", ``run_connector --once``), never one another run holds."""
    token = secrets.token_hex(16)
    started = timezone.now()
    connector = _claim(connector_id, token, started, ignore_schedule)
    if connector is None:
        return RunResult("skipped")
    if not connector.source.enabled:
        # Like the webhook, which refuses a disabled source's token: nothing is fetched for it.
        return _fail(connector, token, f"{connector.name}: the alert source {connector.source.name} is disabled", None)
    try:
        page = fetch_page(connector, dict(connector.cursor or {}))
    except FetchError as exc:
        return _fail(connector, token, str(exc), exc.retry_after)
    except Exception as exc:  # noqa: BLE001 - a fetcher bug must not leave the lease held
        _log_traceback(connector, "the fetch failed")
        return _fail(connector, token, f"{connector.name}: unexpected {exc.__class__.__name__}", None)
    try:
        try:
            result = _store(connector, token, page, started)
        except Exception as exc:  # noqa: BLE001 - rolled back: the cursor stays at the last committed page
            _log_traceback(connector, f"storing a page of {len(page.records)} record(s) failed; rolled back")
            return _fail(connector, token, f"{connector.name}: storing the page failed ({exc.__class__.__name__}); "
                         "the page is fetched again", None)
        if result.status == "ok" and page.acknowledge is not None:
            try:
                _acknowledge(connector, page.acknowledge, len(page.records))
            finally:
                # Held through the marking: a run starting meanwhile would read the same messages.
                PullConnector.objects.filter(pk=connector.pk, lease_token=token).update(lease_token="",
                                                                                        lease_until=None)
        return result
    finally:
        if page.release is not None:
            _release(connector, page.release)


def _acknowledge(connector: PullConnector, acknowledge: Callable[[], None], records: int) -> None:
    """Mark the page read on the remote side (the mailbox's flag or move), after the commit. A
    failure leaves the records there: the next run reads them again and finds their alerts
    stored (re-sends, no duplicate), so it is a warning, not a failed run."""
    try:
        acknowledge()
    except Exception as exc:  # noqa: BLE001 - the alerts are committed; the next run retries the marking
        warning = scrub(f"marking {records} record(s) processed on the server failed "
                        f"({exc}); they are read again next run", connector.secret)[:ERROR_CHARS]
        logger.warning("pull connector %s: %s", connector.name, warning)
        PullConnector.objects.filter(pk=connector.pk).update(last_warning=warning)


def _release(connector: PullConnector, release: Callable[[], None]) -> None:
    try:
        release()
    except Exception:  # noqa: BLE001 - closing a connection must not turn a stored page into a failure
        logger.warning("pull connector %s: closing the connection failed", connector.name, exc_info=True)


def _log_traceback(connector: PullConnector, what: str) -> None:
    """The traceback of an unexpected error, without the secret (an exception's text may quote
    a header value)."""
    logger.error("pull connector %s: %s\n%s", connector.name, what, scrub(traceback.format_exc(), connector.secret))


def _store(connector: PullConnector, token: str, page: Page, started: datetime) -> RunResult:
    with transaction.atomic():
        row = _locked_own(connector.pk, token)
        if row is None:
            # The lease expired and another run took over: its cursor wins, this page is dropped.
            logger.warning("pull connector %s: lease lost during the run; page dropped", connector.name)
            return RunResult("skipped")
        outcome = ingest_pulled(connector.source, page.records)
        now = timezone.now()
        created = sum(1 for s in outcome.stored if s.created)
        rejected = len(outcome.rejected)
        warning = ""
        if rejected:
            first_key, first_errors = outcome.rejected[0]
            warning = scrub(f"{rejected} record(s) the {connector.source.kind} adapter cannot read were skipped, "
                            f"e.g. {first_key}: {first_errors}", connector.secret)[:ERROR_CHARS]
            logger.warning("pull connector %s: %s", connector.name, warning)
        lag = 0.0 if not page.more or page.position is None else max((now - page.position).total_seconds(), 0.0)
        PullConnector.objects.filter(pk=row.pk).update(
            cursor=page.cursor, last_run_at=now, last_success_at=now, lag_seconds=lag,
            last_run_records=len(page.records), records_fetched_total=F("records_fetched_total") + len(page.records),
            records_rejected_total=F("records_rejected_total") + rejected,
            alerts_created_total=F("alerts_created_total") + created, last_error="",
            last_warning=warning or (row.last_warning if not page.records else ""), consecutive_failures=0,
            next_run_at=started if page.more else started + timedelta(seconds=row.interval_seconds),
            **({} if page.acknowledge is not None else {"lease_token": "", "lease_until": None}),
        )
    logger.info("pull connector %s: %d record(s), %d new alert(s)%s", connector.name, len(page.records), created,
                ", more waiting" if page.more else "")
    return RunResult("ok", records=len(page.records), created=created, rejected=rejected, more=page.more)


def _fail(connector: PullConnector, token: str, message: str, retry_after: float | None) -> RunResult:
    message = scrub(message, connector.secret)[:ERROR_CHARS]
    with transaction.atomic():
        row = _locked_own(connector.pk, token)
        if row is None:
            return RunResult("failed", error=message)
        failures = row.consecutive_failures + 1
        delay = backoff_seconds(row, failures, retry_after)
        now = timezone.now()
        PullConnector.objects.filter(pk=row.pk).update(
            last_run_at=now, last_error=message, consecutive_failures=failures,
            next_run_at=now + timedelta(seconds=delay), last_run_records=0, lease_token="", lease_until=None,
        )
    logger.warning("pull connector %s failed (%d in a row), next try in %.0fs: %s", connector.name, failures, delay,
                   message)
    return RunResult("failed", error=message)


def due_connector_ids(now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(PullConnector.objects.filter(enabled=True)
                .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                .order_by("next_run_at", "pk").values_list("pk", flat=True))


def run_due_connectors() -> int:
    """Queue a run of every connector that is due (beat, or the embedded mode's beat). With a broker
    each run is a task of its own on any worker; in the embedded mode they run here, in turn.
    Returns how many were queued."""
    queued = 0
    for connector_id in due_connector_ids():
        if queue.publish("connectors.tasks.run_connector", [connector_id], what=f"pull connector {connector_id}"):
            queued += 1
    return queued


def queue_run_now(connector_id: int) -> bool:
    """The admin's "run now": clear the back-off and queue a run."""
    PullConnector.objects.filter(pk=connector_id).update(next_run_at=timezone.now())
    return queue.publish("connectors.tasks.run_connector", [connector_id, True], what=f"pull connector {connector_id}")


def reset_cursor(connector_id: int) -> None:
    """Start again from the beginning (``start_from``): alerts already stored count as re-sends."""
    PullConnector.objects.filter(pk=connector_id).update(cursor={}, next_run_at=None)
