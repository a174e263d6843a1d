"""PostgreSQL fast path for storing many alerts: ids drawn from the table's sequence, rows
sent with COPY. The ORM's bulk_create spends most of a 1,000-alert batch building model
instances and preparing values; COPY writes the same rows several times faster.
Any error (a concurrent insert of one of our dedup keys) surfaces as Django's
IntegrityError so the caller can fall back to the row-by-row path."""

from __future__ import annotations

import json

from django.db import connection

from alerts.models import Alert
from alerts.normalization import NormalizedAlert

# Below this many rows a plain INSERT is as fast and simpler to reason about.
COPY_THRESHOLD = 50

_ALERT_FIELDS = (
    "id", "source", "source_ref", "dedup_key", "title", "description", "severity", "severity_raw",
    "confidence", "category", "entity_type", "entity_value", "fingerprint", "occurred_at", "received_at",
    "last_seen_at", "occurrence_count", "raw", "status", "processing", "processing_attempts", "processing_error",
)


def can_copy(count: int) -> bool:
    return connection.vendor == "postgresql" and count >= COPY_THRESHOLD


def copy_alerts(source_id: int, rows: list[tuple[NormalizedAlert, str]], now) -> list[int]:
    """Insert ``rows`` (alert, dedup key) and return their new ids, in order."""
    meta = Alert._meta
    columns = ", ".join(meta.get_field(name).column for name in _ALERT_FIELDS)
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [meta.db_table, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f'COPY "{meta.db_table}" ({columns}) FROM STDIN') as copy:
            for alert_id, (alert, key) in zip(ids, rows, strict=True):
                copy.write_row((
                    alert_id, source_id, alert.source_ref, key, alert.title, alert.description, alert.severity,
                    alert.severity_raw, alert.confidence, alert.category, alert.entity_type, alert.entity_value,
                    alert.fingerprint, alert.occurred_at, now, now, 1,
                    json.dumps(alert.raw if alert.raw is not None else {}),
                    Alert.Status.QUEUED, Alert.Processing.PENDING, 0, "",
                ))
    return ids


def copy_links(table: str, pairs: set[tuple[int, int]]) -> None:
    """COPY (alert_id, observable_id) rows into the alert/observable link table."""
    with connection.wrap_database_errors, connection.cursor() as cursor:
        with cursor.cursor.copy(f'COPY "{table}" (alert_id, observable_id) FROM STDIN') as copy:
            for pair in pairs:
                copy.write_row(pair)
