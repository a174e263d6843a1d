"""Webhook counters for Prometheus: real counters, incremented as requests are answered.

Unlike the stored-row figures of ``reporting.metrics`` (``soar_alerts_stored``, which
falls when alerts are deleted), these only ever go up while the process lives, so
``rate()``/``increase()`` work on them. Under gunicorn they are kept per worker in
prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up by
``deploy/gunicorn.conf.py``) and /metrics sums every worker's files, dead ones included.

- ``soar_webhook_alerts_received_total{source}``: alerts per request as parsed (an
  Alertmanager notification of 3 alerts counts 3); a refused request counts its items
  (1 for the single-alert endpoint, the batch's length once it is known, else 1).
- ``soar_webhook_alerts_accepted_total{source,severity}``: alerts newly stored.
- ``soar_webhook_alerts_duplicate_total{source}``: re-sends counted on an existing row.
- ``soar_webhook_alerts_resolved_total{source}``: "resolved" notifications that resolved a
  stored alert (Alertmanager/Grafana).
- ``soar_webhook_requests_refused_total{source,status}``: 4xx answers; source ``unknown``
  while the sender is not authenticated.

So received = accepted + duplicate + resolved + items of refused requests. Label values are bounded:
source names are admin-defined slugs, severities the five levels, statuses the few 4xx
codes the webhook answers."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from alerts.models import AlertSource
from alerts.normalization import SEVERITIES
from alerts.services import StoredAlert

UNKNOWN = "unknown"

RECEIVED = Counter("soar_webhook_alerts_received", "Alerts received on the webhook (as parsed), by source.",
                   ["source"])
ACCEPTED = Counter("soar_webhook_alerts_accepted", "Alerts newly stored from the webhook, by source and severity.",
                   ["source", "severity"])
DUPLICATE = Counter("soar_webhook_alerts_duplicate", "Re-sent alerts counted on an existing row, by source.",
                    ["source"])
RESOLVED = Counter("soar_webhook_alerts_resolved", "Stored alerts resolved by their sender's notification, by source.",
                   ["source"])
REFUSED = Counter("soar_webhook_requests_refused", "Webhook requests answered 4xx, by source and status.",
                  ["source", "status"])


def count_ingest(source_name: str, stored: Sequence[StoredAlert]) -> None:
    """A request whose alerts were stored (new) or counted on their existing row (re-sent)."""
    RECEIVED.labels(source_name).inc(len(stored))
    new = Tally(_severity(s.severity) for s in stored if s.created)
    for severity, count in new.items():
        ACCEPTED.labels(source_name, severity).inc(count)
    resolved = sum(1 for s in stored if s.resolved)
    if resolved:
        RESOLVED.labels(source_name).inc(resolved)
    duplicates = len(stored) - new.total() - resolved
    if duplicates:
        DUPLICATE.labels(source_name).inc(duplicates)


def count_refused(source: AlertSource | None, status: int, items: Sequence[Any] | None = None) -> None:
    """A refused request (4xx): ``source`` None before authentication, ``items`` None before the
    body was split into items (counts as one)."""
    if not 400 <= status < 500:
        return
    name = source.name if source is not None else UNKNOWN
    REFUSED.labels(name, str(status)).inc()
    RECEIVED.labels(name).inc(len(items) if items else 1)


def _severity(value: str) -> str:
    return value if value in SEVERITIES else UNKNOWN
