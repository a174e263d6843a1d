"""Pull connectors' status as Prometheus metrics, read from their rows at scrape time (by
reporting.metrics' collector, like the other stored figures: every web process answers the
same, whichever worker ran the connector). Label: ``connector``, the admin-defined name (one
series per row of the admin: bounded).

- ``soar_connector_up{connector}``: 1 when the last run succeeded (or none failed yet), else 0;
- ``soar_connector_last_run_timestamp_seconds`` / ``soar_connector_last_success_timestamp_seconds``;
- ``soar_connector_lag_seconds``: how far behind the source the cursor is (0: caught up; growing
  with the time since the last success while runs fail; no sample before a first success);
- ``soar_connector_consecutive_failures``;
- ``soar_connector_records_fetched_total``, ``soar_connector_records_rejected_total``,
  ``soar_connector_alerts_created_total``: counters kept on the row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from connectors.selectors import connector_status, current_lag_seconds


def connector_families() -> Iterator[Any]:
    labels = ["connector"]
    up = GaugeMetricFamily("soar_connector_up", "1 when the connector's last run succeeded.", labels=labels)
    last_run = GaugeMetricFamily("soar_connector_last_run_timestamp_seconds", "When the connector last ran.",
                                 labels=labels)
    last_success = GaugeMetricFamily("soar_connector_last_success_timestamp_seconds",
                                     "When the connector last stored a page.", labels=labels)
    lag = GaugeMetricFamily("soar_connector_lag_seconds", "How far behind its source the connector's cursor is.",
                            labels=labels)
    failures = GaugeMetricFamily("soar_connector_consecutive_failures", "Failed runs in a row.", labels=labels)
    fetched = CounterMetricFamily("soar_connector_records_fetched", "Records fetched by the connector.",
                                  labels=labels)
    rejected = CounterMetricFamily("soar_connector_records_rejected",
                                   "Records the source's adapter could not read (skipped).", labels=labels)
    created = CounterMetricFamily("soar_connector_alerts_created", "New alerts stored from the connector.",
                                  labels=labels)
    now = timezone.now()
    for row in connector_status():
        name = [row.name]
        up.add_metric(name, 0 if row.consecutive_failures else 1)
        last_run.add_metric(name, row.last_run_at.timestamp() if row.last_run_at else 0.0)
        last_success.add_metric(name, row.last_success_at.timestamp() if row.last_success_at else 0.0)
        behind = current_lag_seconds(row, now)
        if behind is not None:
            lag.add_metric(name, behind)
        failures.add_metric(name, row.consecutive_failures)
        fetched.add_metric(name, row.records_fetched_total)
        rejected.add_metric(name, row.records_rejected_total)
        created.add_metric(name, row.alerts_created_total)
    yield from (up, last_run, last_success, lag, failures, fetched, rejected, created)
