"""Ingestion: parse payloads with the source's adapter, store alerts (idempotently) and
hand them to processing through the transactional outbox (``alerts.outbox``).

The webhook's transaction writes the alert rows and nothing else: observables are kept on
the row (``pending_observables``) and linked by the worker, so concurrent senders never
contend on shared observable rows and a single alert is one INSERT statement."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from alerts import bulk
from alerts.adapters import parse_payload
from alerts.models import Alert, AlertSource, Observable, SignedRequest, hash_token
from alerts.normalization import NormalizationError, NormalizedAlert
from alerts.outbox import dispatch_processing, dispatch_resolution
from alerts.reporters import record_reporters
from soar.bulk import any_of, insert_rows
from soar.errors import InvalidInput, NotAuthenticated

logger = logging.getLogger(__name__)


class SignatureRejected(NotAuthenticated):
    """A signed source's request without a valid, fresh signature."""

    code = "signature_rejected"


class InvalidAlerts(InvalidInput):
    """Payloads the source's adapter cannot read. ``errors`` holds their field errors: the one
    payload's, or ``{"errors": {index: field errors}}`` for a batch."""

    code = "invalid_alerts"


@dataclass
class StoredAlert:
    id: int
    created: bool
    severity: str = ""  # as parsed from this request (for the webhook's counters)
    # This request's notification resolved an alert stored earlier (Alertmanager/Grafana).
    resolved: bool = False


# --- authentication -------------------------------------------------------------------

# token hash -> (monotonic expiry, source). Every webhook request authenticates; a source
# changes rarely, so each process keeps what it read for SOAR_SOURCE_CACHE_SECONDS. Saving or
# deleting a source clears this process's copy at once (other processes: within the TTL).
_source_cache: dict[str, tuple[float, AlertSource]] = {}
_source_cache_lock = threading.Lock()
SOURCE_CACHE_MAX_ENTRIES = 1024


def authenticate_source(token: str) -> AlertSource | None:
    if not token:
        return None
    token_hash = hash_token(token)
    now = time.monotonic()
    cached = _source_cache.get(token_hash)
    if cached is not None and cached[0] > now:
        return cached[1]
    source = AlertSource.objects.filter(token_hash=token_hash).first()
    if source is None or not source.enabled:
        _source_cache.pop(token_hash, None)
        return None
    ttl = settings.SOAR_SOURCE_CACHE_SECONDS
    if ttl > 0:
        with _source_cache_lock:
            if len(_source_cache) >= SOURCE_CACHE_MAX_ENTRIES:
                _source_cache.clear()
            _source_cache[token_hash] = (now + ttl, source)
    return source


def forget_cached_sources() -> None:
    with _source_cache_lock:
        _source_cache.clear()


@dataclass(frozen=True)
class VerifiedSignature:
    """A valid signature: ``digest`` identifies it (replay detection), ``expires_at`` is when
    the timestamp check starts refusing it (Unix seconds)."""

    digest: str
    expires_at: float


def signing_string(timestamp: str, body: bytes, idempotency_key: str = "") -> bytes:
    """``timestamp + "." + body``; with an Idempotency-Key, ``timestamp + "." + key + "\\n" + body``
    so that the key, which decides de-duplication, cannot be added or changed by whoever
    replays a captured request. A key is printable ASCII without newlines, so the two parts
    cannot be shifted into each other."""
    if idempotency_key:
        return f"{timestamp}.{idempotency_key}\n".encode() + body
    return f"{timestamp}.".encode() + body


def verify_signature(source: AlertSource, body: bytes, timestamp: str, signature: str, *,
                     idempotency_key: str = "", now: float | None = None) -> VerifiedSignature | None:
    """HMAC-SHA256 over ``signing_string``; the timestamp must be within the window. None when the
    source has no secret (unsigned source)."""
    if not source.hmac_secret:
        return None
    if not timestamp or not signature:
        raise SignatureRejected("This source requires X-Soar-Timestamp and X-Soar-Signature headers.")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureRejected("X-Soar-Timestamp must be Unix seconds.")
    now = time.time() if now is None else now
    window = settings.SOAR_HMAC_WINDOW_SECONDS
    if abs(now - sent_at) > window:
        raise SignatureRejected("X-Soar-Timestamp is outside the accepted window (replay protection).")
    expected = hmac.new(source.hmac_secret.encode(), signing_string(timestamp, body, idempotency_key),
                        hashlib.sha256).hexdigest()
    given = signature.removeprefix("sha256=")
    if not hmac.compare_digest(expected, given):
        raise SignatureRejected("Bad signature.")
    digest = hashlib.sha256(f"{source.pk}:{expected}".encode()).hexdigest()
    return VerifiedSignature(digest, sent_at + window + 1)


def claim_signature(signature: VerifiedSignature) -> list[int] | None:
    """Remember a signature for its window; call inside the transaction that stores the alerts.
    Returns None when it is new, or the alert ids stored by the earlier request that used it
    (a replay). On PostgreSQL a second identical request in flight waits on the unique index
    until the first commits (then sees its row) or rolls back (then claims it itself)."""
    expires_at = datetime.fromtimestamp(signature.expires_at, tz=UTC)
    try:
        with transaction.atomic():
            SignedRequest.objects.create(digest=signature.digest, expires_at=expires_at)
        return None
    except IntegrityError:
        earlier = SignedRequest.objects.filter(digest=signature.digest).values_list("alert_ids", flat=True).first()
        if earlier is None:
            raise  # not a replay after all: let the caller retry the request
        return earlier


def forget_expired_signatures(now: datetime | None = None) -> int:
    """Delete remembered signatures whose timestamp window has passed (called by the sweep)."""
    return SignedRequest.objects.filter(expires_at__lt=now or timezone.now()).delete()[0]


# --- storing --------------------------------------------------------------------------

def parse_items(source: AlertSource, items: list[Any], batch: bool) -> list[list[NormalizedAlert]]:
    """Parse every item or refuse the whole request with per-item field errors (InvalidAlerts)."""
    parsed: list[list[NormalizedAlert]] = []
    errors: dict[str, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        try:
            parsed.append(parse_payload(source.kind, item))
        except NormalizationError as exc:
            errors[str(index)] = exc.errors
    if errors:
        raise InvalidAlerts("The payload cannot be read as alerts.",
                            errors={"errors": errors} if batch else errors["0"])
    return parsed


def dedup_key_for(alert: NormalizedAlert, idempotency_key: str, item_index: int | None, alert_index: int) -> str:
    if idempotency_key:
        key = f"idem:{idempotency_key}"
        if item_index is not None:
            key += f":{item_index}"
        return key + (f":{alert_index}" if alert_index else "")
    if alert.source_ref:
        return f"ref:{alert.source_ref}"
    return ""


def ingest(
    source: AlertSource, items: list[Any], *, idempotency_key: str = "", batch: bool = False,
    signature: VerifiedSignature | None = None, defer_processing: bool = False,
) -> list[StoredAlert]:
    """Parse and store ``items`` (one payload each) in one transaction. With a ``signature``
    (signed source), a request whose signature was used before stores nothing and returns
    the earlier request's alerts, as duplicates. ``defer_processing`` (the webhook): in the
    embedded mode, process after the caller has answered instead of before (see outbox)."""
    parsed = parse_items(source, items, batch)
    rows: list[tuple[NormalizedAlert, str]] = []
    for item_index, alerts in enumerate(parsed):
        for alert_index, alert in enumerate(alerts):
            key = dedup_key_for(alert, idempotency_key, item_index if batch else None, alert_index)
            rows.append((alert, key[:300]))
    # One row is one statement: autocommit makes it its own transaction (no BEGIN/COMMIT trips).
    # A signed request also writes its signature, in the same transaction as its alerts: if
    # storing fails, the signature is not spent and the sender's retry goes through.
    with transaction.atomic() if len(rows) > 1 or signature is not None else nullcontext():
        if signature is not None:
            earlier = claim_signature(signature)
            if earlier is not None:
                logger.info("replayed signed request from source %s answered with %d stored alert(s)",
                            source.pk, len(earlier))
                return [StoredAlert(alert_id, False) for alert_id in earlier]
        stored = store_alerts(source, rows)
        if signature is not None:
            SignedRequest.objects.filter(digest=signature.digest).update(alert_ids=[s.id for s in stored])
        new_ids = [s.id for s in stored if s.created]
        if new_ids:
            transaction.on_commit(lambda: dispatch_processing(new_ids, source_id=source.pk, defer=defer_processing))
        resolved_ids = [s.id for s in stored if s.resolved]
        if resolved_ids:
            transaction.on_commit(lambda: dispatch_resolution(resolved_ids))
    return stored


@dataclass
class PulledIngest:
    """What ``ingest_pulled`` did: the alerts stored (or counted on their existing row), and the
    records the adapter refused, as (record key, field errors)."""

    stored: list[StoredAlert]
    rejected: list[tuple[str, dict[str, list[str]]]]


def ingest_pulled(source: AlertSource, records: list[tuple[str, Any]]) -> PulledIngest:
    """Pull connectors: parse each (record key, payload) with the source's adapter and store the
    alerts in the CALLER's transaction (the connector commits its cursor with them; processing
    is dispatched after that commit). Idempotent: the de-duplication key is the adapter's
    identity of the alert (``ref:``), else ``pull:<record key>``, so a re-fetched record counts
    an occurrence on its row instead of a new alert. A record the adapter cannot read is
    skipped and reported (one bad record must not stop the cursor forever)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ingest_pulled must run inside the transaction that commits the connector's cursor")
    rows: list[tuple[NormalizedAlert, str]] = []
    rejected: list[tuple[str, dict[str, list[str]]]] = []
    for record_key, payload in records:
        try:
            alerts = parse_payload(source.kind, payload)
        except NormalizationError as exc:
            rejected.append((record_key, exc.errors))
            continue
        for alert_index, alert in enumerate(alerts):
            key = dedup_key_for(alert, "", None, alert_index) or f"pull:{record_key}"
            if alert_index and not alert.source_ref:
                key += f":{alert_index}"
            rows.append((alert, key[:300]))
    stored = store_alerts(source, rows) if rows else []
    new_ids = [s.id for s in stored if s.created]
    if new_ids:
        transaction.on_commit(lambda: dispatch_processing(new_ids, source_id=source.pk))
    resolved_ids = [s.id for s in stored if s.resolved]
    if resolved_ids:
        transaction.on_commit(lambda: dispatch_resolution(resolved_ids))
    return PulledIngest(stored, rejected)


def store_alerts(source: AlertSource, rows: list[tuple[NormalizedAlert, str]]) -> list[StoredAlert]:
    """Insert new alerts; re-sent ones (same dedup key) bump their occurrence count instead."""
    now = timezone.now()
    if bulk.can_copy(len(rows)):
        stored = _copy_alerts(source, rows, now)
    else:
        stored = [_upsert_alert(source, alert, key, now) for alert, key in rows]
    if source.kind == "email":
        # The same phish reported by another user: a re-send whose reporter is listed on the alert.
        record_reporters([(s.id, alert) for s, (alert, _) in zip(stored, rows, strict=True) if not s.created])
    return stored


# --- one alert: INSERT ... ON CONFLICT DO UPDATE ... RETURNING (PostgreSQL and SQLite) ----

_upsert_sql: str | None = None


def _upsert_statement() -> str:
    """The conflict target and its WHERE match the partial unique index on (source, dedup_key)
    exactly; rows without a key never conflict. A new row comes back with occurrence_count 1."""
    global _upsert_sql
    if _upsert_sql is None:
        q = connection.ops.quote_name
        table = q(Alert._meta.db_table)
        columns = ", ".join(q(bulk.alert_column(name)) for name in bulk.ALERT_INSERT_FIELDS)
        count, seen = q("occurrence_count"), q("last_seen_at")
        _upsert_sql = (
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(bulk.ALERT_INSERT_FIELDS))}) "  # noqa: S608 - identifiers from the model's meta, quoted; values are %s parameters
            f"ON CONFLICT ({q('source_id')}, {q('dedup_key')}) WHERE NOT ({q('dedup_key')} = '') "
            f"DO UPDATE SET {count} = {table}.{count} + 1, {seen} = EXCLUDED.{seen} "
            # A firing alert whose identity matches a resolved one is a new occurrence of the
            # condition, not a re-send: no row comes back and the caller stores a new alert.
            f"WHERE {table}.{q('resolved_at')} IS NULL "
            f"RETURNING {q('id')}, {count}"
        )
    return _upsert_sql


def _upsert_alert(source: AlertSource, alert: NormalizedAlert, key: str, now: datetime) -> StoredAlert:
    if alert.resolved and key:
        resolved = _resolve_stored(source, key, now)
        if resolved is not None:
            return resolved
    params = bulk.insert_params(_row_values(source.pk, alert, key, now))
    row = bulk.execute_returning_one(_upsert_statement(), params)
    if row is None:
        # The stored alert with this identity was resolved: keep it under a retired key and
        # store this firing as a new alert.
        _retire_resolved_key(source, key)
        row = bulk.execute_returning_one(_upsert_statement(), params)
        if row is None:
            # Another request stored and resolved this identity in between: let the sender retry.
            raise IntegrityError(f"alert identity {key[:100]!r} of source {source.pk} changed while stored")
    alert_id, occurrences = row
    return StoredAlert(alert_id, occurrences == 1, alert.severity)


def _resolve_stored(source: AlertSource, key: str, now: datetime) -> StoredAlert | None:
    """A resolved notification counts on the alert it resolves (same identity). None when no
    alert has that identity (the firing notification never arrived): it is stored as new."""
    stored = Alert.objects.filter(source=source, dedup_key=key)
    changes: dict[str, Any] = {"occurrence_count": F("occurrence_count") + 1, "last_seen_at": now}
    with transaction.atomic():
        if stored.filter(resolved_at__isnull=True).update(resolved_at=now, **changes):
            return StoredAlert(stored.values_list("id", flat=True).get(), created=False, resolved=True)
        if stored.update(**changes):
            return StoredAlert(stored.values_list("id", flat=True).get(), created=False)
    return None


def _retire_resolved_key(source: AlertSource, key: str) -> None:
    old = Alert.objects.filter(source=source, dedup_key=key, resolved_at__isnull=False)
    for alert_id in old.values_list("id", flat=True)[:1]:
        Alert.objects.filter(pk=alert_id).update(dedup_key=f"{key[:280]}~{alert_id}")


def _row_values(source_id: int, alert: NormalizedAlert, key: str, now: datetime) -> tuple[Any, ...]:
    """Values in ``bulk.ALERT_INSERT_FIELDS`` order."""
    return (
        source_id, alert.source_ref, key, alert.title, alert.description, alert.severity, alert.severity_raw,
        alert.confidence, alert.category, alert.entity_type, alert.entity_value, alert.fingerprint,
        alert.occurred_at, now, now, 1, alert.raw if alert.raw is not None else {}, Alert.Status.QUEUED.value,
        Alert.Processing.PENDING.value, 0, "", pending_observables(alert), alert.warnings,
        now if alert.resolved else None, alert.attack_ids,
    )


def pending_observables(alert: NormalizedAlert) -> list[list[str]] | None:
    return [[o.type, o.value] for o in alert.observables] or None


# --- many alerts: COPY on PostgreSQL --------------------------------------------------------

def _copy_alerts(source: AlertSource, rows: list[tuple[NormalizedAlert, str]], now: datetime) -> list[StoredAlert]:
    keys = [key for _, key in rows if key]
    existing = dict(
        Alert.objects.filter(source=source, dedup_key__in=keys).values_list("dedup_key", "id")
    ) if keys else {}
    to_create: list[tuple[int, NormalizedAlert, str]] = []
    seen_in_request: set[str] = set()
    for index, (alert, key) in enumerate(rows):
        if key and (key in existing or key in seen_in_request):
            continue
        if key:
            seen_in_request.add(key)
        to_create.append((index, alert, key))
    try:
        with transaction.atomic():
            created_ids = bulk.copy_alerts([_row_values(source.pk, alert, key, now) for _, alert, key in to_create])
        created = [StoredAlert(alert_id, True, alert.severity)
                   for alert_id, (_, alert, _) in zip(created_ids, to_create, strict=True)]
    except IntegrityError:
        # A concurrent request inserted one of our keys first: row by row, each an upsert.
        created = [_upsert_alert(source, alert, key, now) for _, alert, key in to_create]
    created_at = {index: stored for (index, _alert, _key), stored in zip(to_create, created, strict=True)}
    # The others were re-sent (stored earlier, or earlier in this batch): the upsert counts the occurrence.
    return [created_at[index] if index in created_at else _upsert_alert(source, alert, key, now)
            for index, (alert, key) in enumerate(rows)]


# --- worker side: observables ---------------------------------------------------------------

def link_pending_observables(alert_ids: list[int]) -> int:
    """Link the observables kept on these alerts (upserting the shared observable rows) and clear
    them. Rows another worker holds are skipped: that worker links them. Returns alerts linked."""
    with transaction.atomic():
        rows = [
            (alert_id, observed) for alert_id, observed in
            Alert.objects.select_for_update(skip_locked=True)
            .filter(pk__in=alert_ids, pending_observables__isnull=False)
            .values_list("id", "pending_observables")
            if observed is not None
        ]
        if rows:
            link_observables(rows)
            Alert.objects.filter(pk__in=[alert_id for alert_id, _ in rows]).update(pending_observables=None)
    return len(rows)


def link_observables(pairs: list[tuple[int, list[list[str]]]]) -> None:
    """``pairs``: (alert id, [[type, value], ...]). Idempotent.

    The observable rows are looked up first and only the missing ones inserted (``ON CONFLICT
    DO NOTHING``: another worker may insert the same one meanwhile, then the second look-up
    finds it). In a storm nearly every observable exists already, and upserting them all cost
    a chunk an INSERT of 500 rows that changed nothing, and its worker a model instance and
    Django's INSERT compilation per row."""
    digests = {value: Observable.digest(value) for _, observed in pairs for _, value in observed}
    wanted = {(obs_type, digests[value]): value for _, observed in pairs for obs_type, value in observed}
    if not wanted:
        return
    ids = _observable_ids(wanted)
    missing = {key: value for key, value in wanted.items() if key not in ids}
    if missing:
        now = timezone.now()
        insert_rows(Observable, ["type", "value", "value_hash", "first_seen"],
                    [(obs_type, value, value_hash, now) for (obs_type, value_hash), value in sorted(missing.items())],
                    ignore_conflicts=True)
        ids.update(_observable_ids(missing))
    through = Alert.observables.through
    links = {(alert_id, ids[(obs_type, digests[value])])
             for alert_id, observed in pairs for obs_type, value in observed}
    insert_rows(through, ["alert", "observable"], sorted(links), ignore_conflicts=True)


def _observable_ids(wanted: dict[tuple[str, str], str]) -> dict[tuple[str, str], int]:
    """The ids of the stored observables among ``wanted`` ((type, value hash) -> value)."""
    rows = (Observable.objects.filter(any_of("value_hash", {h for _, h in wanted}))
            .values_list("id", "type", "value_hash"))
    return {(obs_type, value_hash): obs_id for obs_id, obs_type, value_hash in rows
            if (obs_type, value_hash) in wanted}
