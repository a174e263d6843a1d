"""Ingestion: parse payloads with the source's adapter, store alerts (idempotently) and
hand them to processing through the transactional outbox."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alerts import bulk
from alerts.adapters import parse_payload
from alerts.models import Alert, AlertSource, Observable, hash_token
from alerts.normalization import NormalizationError, NormalizedAlert

logger = logging.getLogger(__name__)
DISPATCH_CHUNK = 100


class IngestError(Exception):
    """Refused request: ``status`` is the HTTP status, ``errors`` the body."""

    def __init__(self, status: int, errors: dict):
        self.status = status
        self.errors = errors
        super().__init__(str(errors))


@dataclass
class StoredAlert:
    id: int
    created: bool


# --- authentication -------------------------------------------------------------------

def authenticate_source(token: str) -> AlertSource | None:
    if not token:
        return None
    source = AlertSource.objects.filter(token_hash=hash_token(token)).first()
    return source if source and source.enabled else None


def verify_signature(source: AlertSource, body: bytes, timestamp: str, signature: str, *, now: float | None = None):
    """HMAC-SHA256 over ``timestamp + "." + body``; the timestamp must be within the window."""
    if not source.hmac_secret:
        return
    if not timestamp or not signature:
        raise IngestError(401, {"detail": "This source requires X-Soar-Timestamp and X-Soar-Signature headers."})
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise IngestError(401, {"detail": "X-Soar-Timestamp must be Unix seconds."})
    now = time.time() if now is None else now
    if abs(now - sent_at) > settings.SOAR_HMAC_WINDOW_SECONDS:
        raise IngestError(401, {"detail": "X-Soar-Timestamp is outside the accepted window (replay protection)."})
    expected = hmac.new(source.hmac_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    given = signature.removeprefix("sha256=")
    if not hmac.compare_digest(expected, given):
        raise IngestError(401, {"detail": "Bad signature."})


# --- storing --------------------------------------------------------------------------

def parse_items(source: AlertSource, items: list[Any], batch: bool) -> list[list[NormalizedAlert]]:
    """Parse every item or refuse the whole request with per-item field errors."""
    parsed, errors = [], {}
    for index, item in enumerate(items):
        try:
            parsed.append(parse_payload(source.kind, item))
        except NormalizationError as exc:
            errors[str(index)] = exc.errors
    if errors:
        raise IngestError(400, {"errors": errors} if batch else errors["0"])
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
    source: AlertSource, items: list[Any], *, idempotency_key: str = "", batch: bool = False
) -> list[StoredAlert]:
    """Parse and store ``items`` (one payload each) in one transaction."""
    parsed = parse_items(source, items, batch)
    rows = []
    for item_index, alerts in enumerate(parsed):
        for alert_index, alert in enumerate(alerts):
            key = dedup_key_for(alert, idempotency_key, item_index if batch else None, alert_index)
            rows.append((alert, key[:300]))
    with transaction.atomic():
        stored = store_alerts(source, rows)
        new_ids = [s.id for s in stored if s.created]
        if new_ids:
            transaction.on_commit(lambda: dispatch_processing(new_ids))
    return stored


def store_alerts(source: AlertSource, rows: list[tuple[NormalizedAlert, str]]) -> list[StoredAlert]:
    """Insert new alerts in bulk; re-sent ones (same dedup key) bump their occurrence count."""
    now = timezone.now()
    keys = [key for _, key in rows if key]
    existing = dict(
        Alert.objects.filter(source=source, dedup_key__in=keys).values_list("dedup_key", "id")
    ) if keys else {}
    results: list[StoredAlert | None] = [None] * len(rows)
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
            created_ids = _insert_alerts(source, [(alert, key) for _, alert, key in to_create], now)
    except IntegrityError:
        # A concurrent request inserted one of our keys first: go row by row.
        created_ids = [_create_or_none(_alert_row(source, alert, key, now)) for _, alert, key in to_create]
    for (index, _alert, _key), alert_id in zip(to_create, created_ids, strict=True):
        if alert_id is not None:
            results[index] = StoredAlert(alert_id, True)
    _link_observables([
        (alert_id, alert) for (_, alert, _), alert_id in zip(to_create, created_ids, strict=True) if alert_id
    ])
    for index, (_alert, key) in enumerate(rows):
        if results[index] is None:
            results[index] = StoredAlert(_bump_duplicate(source, key, now), False)
    return results  # type: ignore[return-value]


def _insert_alerts(source: AlertSource, rows: list[tuple[NormalizedAlert, str]], now) -> list[int]:
    if bulk.can_copy(len(rows)):
        return bulk.copy_alerts(source.pk, rows, now)
    created = Alert.objects.bulk_create([_alert_row(source, alert, key, now) for alert, key in rows])
    return [row.pk for row in created]


def _alert_row(source: AlertSource, alert: NormalizedAlert, key: str, now) -> Alert:
    return Alert(
        source=source, source_ref=alert.source_ref, dedup_key=key, title=alert.title,
        description=alert.description, severity=alert.severity, severity_raw=alert.severity_raw,
        confidence=alert.confidence, category=alert.category, entity_type=alert.entity_type,
        entity_value=alert.entity_value, fingerprint=alert.fingerprint, occurred_at=alert.occurred_at,
        received_at=now, last_seen_at=now, raw=alert.raw if alert.raw is not None else {},
    )


def _create_or_none(row: Alert) -> int | None:
    try:
        with transaction.atomic():
            row.save(force_insert=True)
        return row.pk
    except IntegrityError:
        return None


def _bump_duplicate(source: AlertSource, key: str, now) -> int:
    alert_id = Alert.objects.filter(source=source, dedup_key=key).values_list("id", flat=True).get()
    Alert.objects.filter(pk=alert_id).update(occurrence_count=F("occurrence_count") + 1, last_seen_at=now)
    return alert_id


def _link_observables(pairs: list[tuple[int, NormalizedAlert]]) -> None:
    wanted = {(o.type, Observable.digest(o.value)): o.value for _, alert in pairs for o in alert.observables}
    if not wanted:
        return
    Observable.objects.bulk_create(
        [Observable(type=t, value=v, value_hash=h) for (t, h), v in wanted.items()], ignore_conflicts=True
    )
    ids = {}
    hashes = {h for _, h in wanted}
    rows = Observable.objects.filter(value_hash__in=hashes).values_list("id", "type", "value_hash")
    for obs_id, obs_type, value_hash in rows:
        ids[(obs_type, value_hash)] = obs_id
    through = Alert.observables.through
    links = {
        (alert_id, ids[(o.type, Observable.digest(o.value))]) for alert_id, alert in pairs for o in alert.observables
    }
    if bulk.can_copy(len(links)):
        bulk.copy_links(through._meta.db_table, links)
    else:
        through.objects.bulk_create([through(alert_id=a, observable_id=o) for a, o in links], ignore_conflicts=True)


# --- outbox dispatch ------------------------------------------------------------------

# After a failed publish, skip the broker for this long: during an outage each request would
# otherwise wait for a connect timeout, and the sweep delivers the alerts anyway.
BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def dispatch_processing(alert_ids: list[int]) -> bool:
    """Queue processing; failure is logged, not raised: the alert rows stay PENDING and the
    sweep re-dispatches them once the broker is back."""
    global _broker_down_until
    from alerts.tasks import process_alerts

    if time.monotonic() < _broker_down_until:
        logger.info("broker marked down; %d alert(s) left for the sweep", len(alert_ids))
        return False
    try:
        for start in range(0, len(alert_ids), DISPATCH_CHUNK):
            process_alerts.apply_async(args=[alert_ids[start:start + DISPATCH_CHUNK]], retry=False)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure must not lose the request
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning("could not queue %d alert(s) for processing (%s); the sweep will retry",
                       len(alert_ids), exc.__class__.__name__)
        return False


def sweep_unprocessed_alerts(older_than_seconds: int | None = None, limit: int = 5000) -> int:
    """Re-dispatch alerts still PENDING after a grace period. Returns how many were queued."""
    age = settings.SOAR_SWEEP_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timezone.timedelta(seconds=age)
    ids = list(
        Alert.objects.filter(processing=Alert.Processing.PENDING, received_at__lte=cutoff)
        .order_by("received_at").values_list("id", flat=True)[:limit]
    )
    if ids and dispatch_processing(ids):
        return len(ids)
    return 0
