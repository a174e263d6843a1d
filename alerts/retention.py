"""Alert retention: alerts received more than ``SOAR_ALERT_RETENTION_DAYS`` ago are deleted in
batches of ``SOAR_RETENTION_BATCH``, each batch in one transaction, with the observables they
leave orphaned (linked to no alert and no case) and the closed alert groups they leave empty.

What is kept:

- **cases**, their timeline, notes and audit entries: a case outlives its alerts;
- **alerts of an open case** (new, triaged, in progress): an analyst may still need them. They
  become purgeable once the case is resolved or closed;
- **alerts not yet processed** (``processing`` pending): outbox rows are work not done yet;
- **the report figures on PostgreSQL**: the rollup triggers would record each deleted alert as
  a -1 and rewrite the dashboard's history; a purge sets the transaction-local setting
  ``soar.retention``, which the trigger (reporting migration 0002) honours by recording nothing.
  Reports of purged periods therefore still come from the rollups, while the raw-alert views
  and exports (alert list, CSV of alerts, the SQLite dashboard that counts alerts) no longer
  list them; ``rebuild_report_rollups`` recounts from the alerts left and would drop them.

Export (``SOAR_RETENTION_EXPORT_DIR``): every run writes one gzip-compressed JSON Lines file,
one alert a line, before each batch's delete commits: a batch's lines are one gzip member,
written and fsynced inside the batch's transaction, and cut off again if the transaction fails.
The file is written under a hidden ``.partial`` name and renamed when the run ends, so a
finished file is never half written. A run that was killed leaves its ``.partial`` file: the
next run renames it ``...-interrupted.jsonl.gz`` (every alert deleted by the killed run is in
it; its last member may be cut short, and it may list alerts of the batch that did not commit,
which are still stored and exported again)."""

from __future__ import annotations

import gzip
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from alerts.models import Alert, AlertGroup, Observable
from cases import selectors as case_selectors

logger = logging.getLogger(__name__)

EXPORT_FIELDS = (
    "id", "source_id", "source_ref", "dedup_key", "title", "description", "severity", "severity_raw",
    "confidence", "category", "entity_type", "entity_value", "fingerprint", "occurred_at", "received_at",
    "last_seen_at", "occurrence_count", "raw", "parse_warnings", "resolved_at", "status", "processing",
    "processing_attempts", "processing_error", "processed_at", "group_id", "case_id",
)
FILE_PREFIX = "alerts-purged-"


@dataclass
class PurgeResult:
    cutoff: datetime
    alerts: int = 0
    observables: int = 0
    groups: int = 0
    batches: int = 0
    kept_in_open_cases: int = 0
    export_file: Path | None = None
    # False when the run stopped at its time budget with purgeable alerts left.
    complete: bool = True


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def purgeable_alerts(cutoff: datetime) -> QuerySet[Alert]:
    """Alerts received before ``cutoff``, processed (or failed), in no case or a case no longer open."""
    return (Alert.objects.filter(received_at__lt=cutoff).exclude(processing=Alert.Processing.PENDING)
            .filter(Q(case__isnull=True) | ~Q(case__in=case_selectors.open_case_ids())))


def kept_in_open_cases(cutoff: datetime) -> int:
    return Alert.objects.filter(received_at__lt=cutoff, case__in=case_selectors.open_case_ids()).count()


class ExportFile:
    """The run's export: gzip members appended batch by batch to a hidden file, renamed at the end."""

    def __init__(self, directory: Path, started: datetime):
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{FILE_PREFIX}{started:%Y%m%dT%H%M%S%fZ}.jsonl.gz"
        self.path = directory / name
        self.partial = directory / f".{name}.partial"
        self._file: BinaryIO = open(self.partial, "xb")  # noqa: SIM115 - closed by finish()
        self.lines = 0

    def mark(self) -> int:
        return self._file.tell()

    def write(self, rows: list[dict[str, Any]]) -> None:
        with gzip.GzipFile(fileobj=self._file, mode="wb", mtime=0) as member:
            for row in rows:
                member.write(json.dumps(row, cls=DjangoJSONEncoder, separators=(",", ":")).encode() + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.lines += len(rows)

    def cut(self, mark: int, lines: int) -> None:
        """Drop what was written after ``mark`` (the batch's delete did not commit)."""
        self._file.truncate(mark)
        self._file.seek(mark)
        self.lines = lines

    def finish(self) -> Path | None:
        """Close; the file takes its final name if it holds any alert (else it is removed)."""
        self._file.close()
        if not self.lines:
            self.partial.unlink()
            return None
        os.replace(self.partial, self.path)
        _fsync_directory(self.path.parent)
        return self.path


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover_interrupted_exports(directory: Path) -> list[Path]:
    """Give the ``.partial`` files of killed runs a visible name (see the module's docstring)."""
    recovered = []
    for partial in sorted(directory.glob(f".{FILE_PREFIX}*.jsonl.gz.partial")):
        target = directory / partial.name[1:].replace(".jsonl.gz.partial", "-interrupted.jsonl.gz")
        os.replace(partial, target)
        logger.warning("alert export %s of an interrupted purge run kept as %s", partial.name, target.name)
        recovered.append(target)
    return recovered


def _export_rows(alert_ids: list[int]) -> list[dict[str, Any]]:
    rows = {row["id"]: row for row in Alert.objects.filter(pk__in=alert_ids).order_by("id")
            .values(*EXPORT_FIELDS, source_name=F("source__name"))}
    links = (Alert.observables.through.objects.filter(alert_id__in=alert_ids)
             .values_list("alert_id", "observable__type", "observable__value").order_by("alert_id", "observable_id"))
    for row in rows.values():
        row["observables"] = []
    for alert_id, kind, value in links:
        rows[alert_id]["observables"].append([kind, value])
    return list(rows.values())


def _keep_rollups(on: bool) -> None:
    """While on, the rollup trigger records no -1 for the alerts deleted (PostgreSQL). The
    setting is transaction-local, and switched off again explicitly: called inside an outer
    transaction, a batch's savepoint would otherwise leave it on until that one ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('soar.retention', %s, true)", ["on" if on else "off"])


def purge_batch(cutoff: datetime, batch: int, export: ExportFile | None = None) -> tuple[int, int, int]:
    """Delete one batch (the lowest ids first): (alerts, orphan observables, empty closed groups)."""
    mark, lines = (export.mark(), export.lines) if export else (0, 0)
    try:
        with transaction.atomic():
            _keep_rollups(True)
            candidates = purgeable_alerts(cutoff).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                # Two runs at once take different batches; a row being changed is left for later.
                candidates = candidates.select_for_update(skip_locked=True, of=("self",))
            ids = list(candidates.values_list("pk", flat=True)[:batch])
            if not ids:
                _keep_rollups(False)
                return 0, 0, 0
            links = Alert.observables.through.objects.filter(alert_id__in=ids)
            observable_ids = set(links.values_list("observable_id", flat=True))
            group_ids = set(Alert.objects.filter(pk__in=ids, group__isnull=False).values_list("group_id", flat=True))
            if export is not None:
                export.write(_export_rows(ids))
            links.delete()
            deleted = Alert.objects.filter(pk__in=ids).only("pk").delete()[1].get(Alert._meta.label, 0)
            orphans = Observable.objects.filter(pk__in=observable_ids, alerts__isnull=True, cases__isnull=True)
            observables = orphans.delete()[1].get(Observable._meta.label, 0)
            empty = AlertGroup.objects.filter(pk__in=group_ids, is_open=False, alerts__isnull=True)
            groups = empty.delete()[1].get(AlertGroup._meta.label, 0)
            _keep_rollups(False)
    except BaseException:
        if export is not None:
            export.cut(mark, lines)
        raise
    return deleted, observables, groups


def purge_expired_alerts(days: int | None = None, *, batch: int | None = None, export_dir: str | None = None,
                         max_seconds: float | None = None, now: datetime | None = None) -> PurgeResult:
    """Purge alerts older than ``days`` (SOAR_ALERT_RETENTION_DAYS; 0 purges nothing) in batches
    of ``batch`` (SOAR_RETENTION_BATCH), exporting them to ``export_dir``
    (SOAR_RETENTION_EXPORT_DIR; empty: no export) first. ``max_seconds``: start no batch after
    that long (the beat task's run stays within the task time limit; the next run goes on)."""
    days = settings.SOAR_ALERT_RETENTION_DAYS if days is None else days
    batch = settings.SOAR_RETENTION_BATCH if batch is None else batch
    export_dir = settings.SOAR_RETENTION_EXPORT_DIR if export_dir is None else export_dir
    started = now or timezone.now()
    result = PurgeResult(cutoff=cutoff_for(days, started))
    if days <= 0:
        return result
    export = None
    if export_dir:
        if Path(export_dir).is_dir():
            recover_interrupted_exports(Path(export_dir))
        export = ExportFile(Path(export_dir), started)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                result.complete = not purgeable_alerts(result.cutoff).exists()
                break
            alerts, observables, groups = purge_batch(result.cutoff, batch, export)
            if not alerts:
                break
            result.alerts += alerts
            result.observables += observables
            result.groups += groups
            result.batches += 1
    finally:
        if export is not None:
            result.export_file = export.finish()
    result.kept_in_open_cases = kept_in_open_cases(result.cutoff)
    if result.alerts:
        logger.info("retention: purged %d alert(s) received before %s, %d orphan observable(s), %d empty "
                    "group(s); %d kept in open cases; export %s", result.alerts, result.cutoff.isoformat(),
                    result.observables, result.groups, result.kept_in_open_cases, result.export_file or "off")
    return result


def purge_preview(days: int, now: datetime | None = None) -> PurgeResult:
    """What a purge would delete now (alerts only: orphans are known once the alerts are gone)."""
    cutoff = cutoff_for(days, now)
    return PurgeResult(cutoff=cutoff, alerts=purgeable_alerts(cutoff).count() if days > 0 else 0,
                       kept_in_open_cases=kept_in_open_cases(cutoff) if days > 0 else 0)
