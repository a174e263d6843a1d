"""Reads of pull connectors (the command line, the metrics)."""

from __future__ import annotations

from django.db.models import QuerySet

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


def any_enabled() -> bool:
    return PullConnector.objects.filter(enabled=True).exists()
