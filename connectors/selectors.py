"""Reads of pull connectors (the command line, the metrics)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from connectors.models import PullConnector
from soar.errors import NotFound


def connector_by_name(name: str) -> PullConnector:
    connector = PullConnector.objects.filter(name=name).first()
    if connector is None:
        raise NotFound(f"No pull connector named {name!r}.")
    return connector


def connector_status() -> QuerySet[PullConnector]:
    """Every connector with the figures the metrics expose (one query)."""
    return PullConnector.objects.only(
        "name", "enabled", "last_run_at", "last_success_at", "lag_seconds", "records_fetched_total",
        "records_rejected_total", "alerts_created_total", "consecutive_failures", "last_error",
    ).order_by("name")


def current_lag_seconds(connector: PullConnector, now: datetime | None = None) -> float | None:
    """How far behind its source the connector is now. A run stores the lag it measured
    (``lag_seconds``: 0 when it caught up); while later runs fail, the cursor stays put as the
    source moves on, so the time since the last success is added: a connector failing for an
    hour is at least an hour behind. None when no run ever succeeded (unknown, not "caught up")."""
    if connector.last_success_at is None:
        return None
    lag = connector.lag_seconds or 0.0
    if connector.consecutive_failures:
        lag += max(((now or timezone.now()) - connector.last_success_at).total_seconds(), 0.0)
    return lag


def any_enabled() -> bool:
    return PullConnector.objects.filter(enabled=True).exists()
