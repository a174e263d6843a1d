"""PostgreSQL fast path for storing many alerts: ids drawn from the table's sequence, rows
sent with COPY. The ORM's bulk_create spends most of a 1,000-alert batch building model
instances and preparing values; COPY writes the same rows several times faster.
Any error (a concurrent insert of one of our dedup keys) surfaces as Django's
IntegrityError so the caller can fall back to the row-by-row path."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field
from psycopg.types.json import Jsonb

from alerts.models import Alert

# Below this many rows one upsert per alert is as fast and simpler to reason about.
COPY_THRESHOLD = 50
# Columns written for a new alert, in the order of the values tuples (the id comes first in COPY).
ALERT_INSERT_FIELDS = (
    "source", "source_ref", "dedup_key", "title", "description", "severity", "severity_raw", "confidence",
    "category", "entity_type", "entity_value", "fingerprint", "occurred_at", "received_at", "last_seen_at",
    "occurrence_count", "raw", "status", "processing", "processing_attempts", "processing_error",
    "pending_observables", "parse_warnings", "resolved_at", "attack_ids",
)
_JSON_COLUMNS = [i for i, name in enumerate(ALERT_INSERT_FIELDS)
                 if name in ("raw", "pending_observables", "parse_warnings", "attack_ids")]


def alert_field(name: str) -> Field[Any, Any]:
    """The Alert field of a table column (never a relation's reverse side)."""
    field = Alert._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"Alert.{name} is not a column")
    return field


def alert_column(name: str) -> str:
    column = alert_field(name).column
    if column is None:
        raise TypeError(f"Alert.{name} has no column")
    return column


def insert_params(values: tuple[Any, ...]) -> list[Any]:
    """Database parameters for ``values`` (``ALERT_INSERT_FIELDS`` order). psycopg adapts the
    plain values itself; only the JSON columns need wrapping. Elsewhere the fields convert."""
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    if db.vendor == "postgresql":
        params = list(values)
        for i in _JSON_COLUMNS:
            if params[i] is not None:
                params[i] = Jsonb(params[i])
        return params
    fields = [alert_field(name) for name in ALERT_INSERT_FIELDS]
    return [field.get_db_prep_save(value, db) for field, value in zip(fields, values, strict=True)]


def execute_returning_one(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """Run one statement and return its first row. On PostgreSQL with server-side binding, so
    that psycopg prepares it once per connection (SOAR_DB_PREPARE_THRESHOLD): the webhook's
    INSERT is then neither re-sent as text with its values inlined nor re-planned per request.
    None when the statement returned no row."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def can_copy(count: int) -> bool:
    return connection.vendor == "postgresql" and count >= COPY_THRESHOLD


def copy_alerts(rows: list[tuple[Any, ...]]) -> list[int]:
    """Insert ``rows`` (values in ``ALERT_INSERT_FIELDS`` order) and return their new ids, in order."""
    meta = Alert._meta
    columns = ", ".join(alert_column(name) for name in ("id", *ALERT_INSERT_FIELDS))
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [meta.db_table, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f'COPY "{meta.db_table}" ({columns}) FROM STDIN') as copy:
            for alert_id, row in zip(ids, rows, strict=True):
                values = list(row)
                for i in _JSON_COLUMNS:
                    values[i] = None if values[i] is None else json.dumps(values[i])
                copy.write_row((alert_id, *values))
    return ids
