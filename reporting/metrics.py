"""Product metrics for Prometheus, computed from database aggregates at scrape time.

A custom collector rather than counters incremented in code: every web process answers
with the same numbers (whichever gunicorn worker is scraped), nothing is lost on restart,
and alerts ingested by any process or worker are counted. Each scrape costs a handful of
indexed aggregate queries.

Metrics: soar_alerts_stored{source,severity}, soar_alerts_pending, soar_alerts_queued,
soar_alert_queue_lag_seconds, soar_source_alerts_pending{source},
soar_source_alert_queue_lag_seconds{source}, soar_cases{status}, soar_case_mtta_seconds and
soar_case_mttr_seconds (histograms), soar_playbook_runs{status}, soar_playbook_steps{status},
soar_pending_approvals, soar_metrics_scrape_errors, the pull connectors' soar_connector_*
(connectors.metrics); and the verdicts of the cases resolved in
the last VERDICT_WINDOW_DAYS days: soar_case_verdicts{resolution},
soar_cases_with_verdict{dimension,name}, soar_false_positive_cases{dimension,name} and
soar_false_positive_ratio{dimension,name} with dimension rule, source or detection.

Label cardinality stays bounded: statuses and resolutions are fixed or admin-defined, rules and
sources are admin-defined rows; detection names come from senders (alert titles), so only the
VERDICT_DETECTION_LIMIT detections with the most verdicts are exported (the tail is left out).

All of them are gauges (figures that can go down), the histograms included: they describe
the rows now stored. soar_alerts_stored falls when alerts are deleted; for ingestion rates use
the webhook's real counters in alerts.ingest_metrics (soar_webhook_alerts_*_total)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

from alerts import selectors as alert_selectors
from cases.selectors import case_status_counts, readable_cases
from cases.vocabulary import CaseStatus
from connectors.metrics import connector_families
from playbooks import selectors as playbook_selectors
from reporting import verdicts
from reporting.expressions import seconds_between

logger = logging.getLogger(__name__)

MTTA_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 72 * 3600, 7 * 86400)
MTTR_BUCKETS = (900, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 72 * 3600, 7 * 86400, 30 * 86400)


def _isolated() -> contextlib.AbstractContextManager[Any]:
    """A savepoint when called inside a transaction (a failed query on PostgreSQL would poison
    it); nothing otherwise: in autocommit a failure stays local, and on SQLite a transaction
    would take the write lock (transaction_mode IMMEDIATE) on every scrape."""
    return transaction.atomic() if transaction.get_connection().in_atomic_block else contextlib.nullcontext()


def _alert_families() -> Iterator[Any]:
    # A gauge, not a counter: deleting alerts lowers it (and a re-send does not raise it).
    stored = GaugeMetricFamily("soar_alerts_stored", "Alerts now stored, by source and severity.",
                               labels=["source", "severity"])
    for source, severity, count in alert_selectors.stored_counts():
        stored.add_metric([source, severity], count)
    yield stored

    now = timezone.now()
    # One scan of the outbox for the totals and the per-source figures.
    by_source = alert_selectors.pending_by_source()
    pending = sum(n for n, _ in by_source.values())
    oldest = min((first for _, first in by_source.values() if first is not None), default=None)
    yield GaugeMetricFamily("soar_alerts_pending", "Alerts stored but not yet processed (outbox).", value=pending)
    lag = (now - oldest).total_seconds() if oldest else 0.0
    yield GaugeMetricFamily("soar_alert_queue_lag_seconds", "Age of the oldest unprocessed alert.",
                            value=max(lag, 0.0))
    # Per source (admin-defined: bounded label values), every source, 0 when it has no backlog:
    # which sender a storm comes from, and whether the others' alerts still go through.
    depth = GaugeMetricFamily("soar_source_alerts_pending", "Alerts stored but not yet processed, by source.",
                              labels=["source"])
    age = GaugeMetricFamily("soar_source_alert_queue_lag_seconds",
                            "Age of the oldest unprocessed alert, by source.", labels=["source"])
    for source_id, name in alert_selectors.source_name_list():
        count, first = by_source.get(source_id, (0, None))
        depth.add_metric([name], count)
        age.add_metric([name], max((now - first).total_seconds(), 0.0) if first else 0.0)
    yield depth
    yield age
    yield GaugeMetricFamily("soar_alerts_queued", "Alerts waiting in the analyst alert queue (no case).",
                            value=alert_selectors.queued_count())


def _histogram(name: str, documentation: str, stamp: str, bounds: Iterable[int]) -> HistogramMetricFamily:
    done = Q(**{f"{stamp}__isnull": False})
    seconds = seconds_between("created_at", stamp)
    aggregates = {f"le_{bound}": Count("pk", filter=done & Q(LessThanOrEqual(seconds, bound))) for bound in bounds}
    row = readable_cases(None).aggregate(total=Count("pk", filter=done), sum=Sum(seconds, filter=done), **aggregates)
    buckets = [(str(float(bound)), row[f"le_{bound}"]) for bound in bounds] + [("+Inf", row["total"])]
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=float(row["sum"] or 0.0))


def _case_families() -> Iterator[Any]:
    cases = GaugeMetricFamily("soar_cases", "Cases by status.", labels=["status"])
    counts = case_status_counts()
    for status in CaseStatus.values:
        cases.add_metric([status], counts.get(status, 0))
    yield cases
    yield _histogram("soar_case_mtta_seconds", "Time from case creation to acknowledgement (triage).",
                     "triaged_at", MTTA_BUCKETS)
    yield _histogram("soar_case_mttr_seconds", "Time from case creation to resolution.", "resolved_at", MTTR_BUCKETS)


VERDICT_WINDOW_DAYS = 30
VERDICT_DETECTION_LIMIT = 25
NO_NAME = "(none)"


def _verdict_families() -> Iterator[Any]:
    since = timezone.now() - timedelta(days=VERDICT_WINDOW_DAYS)
    cases = readable_cases(None).filter(resolved_at__gte=since)
    by_resolution = GaugeMetricFamily(
        "soar_case_verdicts", f"Cases resolved in the last {VERDICT_WINDOW_DAYS} days, by verdict.",
        labels=["resolution"])
    for row in verdicts.resolution_counts(cases):
        by_resolution.add_metric([row["resolution"]], row["cases"])
    yield by_resolution
    labels = ["dimension", "name"]
    judged = GaugeMetricFamily("soar_cases_with_verdict", f"Cases resolved with a verdict in the last "
                               f"{VERDICT_WINDOW_DAYS} days, per rule, source or detection.", labels=labels)
    false = GaugeMetricFamily("soar_false_positive_cases", "Of those, the cases whose verdict counts as a "
                              "false positive.", labels=labels)
    ratio = GaugeMetricFamily("soar_false_positive_ratio", "False positives / cases with a verdict.",
                              labels=labels)
    for dimension, lookup in verdicts.DIMENSIONS:
        limit = VERDICT_DETECTION_LIMIT if dimension == "detection" else None
        for row in verdicts.rate_rows(cases, lookup, limit=limit):
            name = (row["name"] or NO_NAME)[:200]
            judged.add_metric([dimension, name], row["verdicts"])
            false.add_metric([dimension, name], row["false_positives"])
            ratio.add_metric([dimension, name], row["false_positive_rate"] or 0.0)
    yield judged
    yield false
    yield ratio


def _playbook_counts() -> tuple[dict[str, int], dict[str, int], int]:
    return (playbook_selectors.run_status_counts(), playbook_selectors.step_status_counts(),
            playbook_selectors.pending_approval_count())


def _playbook_families() -> Iterator[Any]:
    """Always yields the three families, so dashboards see the series even while the playbooks
    tables are missing (they are then empty and the failure counts as a scrape error)."""
    failed: DatabaseError | None = None
    runs: dict[str, int]
    steps: dict[str, int]
    try:
        with _isolated():
            runs, steps, pending = _playbook_counts()
    except DatabaseError as exc:
        logger.warning("playbook metrics unavailable: %s", exc)
        runs, steps, pending, failed = {}, {}, 0, exc
    run_family = GaugeMetricFamily("soar_playbook_runs", "Playbook runs by status.", labels=["status"])
    for status, count in sorted(runs.items()):
        run_family.add_metric([str(status)], count)
    step_family = GaugeMetricFamily("soar_playbook_steps", "Playbook steps by status.", labels=["status"])
    for status, count in sorted(steps.items()):
        step_family.add_metric([str(status)], count)
    yield run_family
    yield step_family
    yield GaugeMetricFamily("soar_pending_approvals", "Playbook actions waiting for a human approval.",
                            value=pending)
    if failed is not None:
        raise _PartialFailure from failed


class _PartialFailure(Exception):
    """A group yielded placeholder families but could not read its data."""


class SoarCollector:
    """Yields the product metrics; a failing group is logged and counted, never breaks /metrics."""

    groups: tuple[Callable[[], Iterator[Any]], ...] = (_alert_families, _case_families, _verdict_families,
                                                       _playbook_families, connector_families)

    def describe(self) -> list[Any]:
        # Nothing at registration time: describing would hit the database during startup.
        return []

    def collect(self) -> Iterator[Any]:
        errors = 0
        for group in self.groups:
            families = []
            try:
                with _isolated():
                    for family in group():
                        families.append(family)
            except _PartialFailure:
                errors += 1
            except Exception:  # noqa: BLE001 - a scrape must still answer
                logger.exception("metrics group %s failed", group.__name__)
                errors += 1
            yield from families
        yield GaugeMetricFamily("soar_metrics_scrape_errors", "Metric groups that failed in this scrape.",
                                value=errors)


_lock = threading.Lock()
_collector: SoarCollector | None = None


def register_collector(registry: CollectorRegistry = REGISTRY) -> SoarCollector:
    """Register the collector once per process (safe under autoreload and repeated test imports)."""
    global _collector
    with _lock:
        if _collector is None:
            existing = [c for c in getattr(registry, "_collector_to_names", {}) if isinstance(c, SoarCollector)]
            _collector = existing[0] if existing else SoarCollector()
            if not existing:
                registry.register(_collector)
        return _collector


def multiprocess_extra() -> bytes:
    """In prometheus_client's multiprocess mode django-prometheus builds a fresh registry that
    lacks our collector; its output is appended separately then."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ and "prometheus_multiproc_dir" not in os.environ:
        return b""
    registry = CollectorRegistry()
    registry.register(SoarCollector())
    return generate_latest(registry)
