"""Ingest a JSON or NDJSON file through the same path as the webhook."""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from alerts.api.parsing import check_json
from alerts.models import AlertSource
from alerts.services import StoredAlert, ingest
from soar.errors import ApplicationError

CHUNK = 500


def read_items(path: Path) -> list[tuple[int, Any]]:
    """(line or index, payload) pairs from a JSON array/object or NDJSON file."""
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if not stripped:
        raise CommandError(f"{path} is empty.")
    try:
        data = json.loads(text)
        return list(enumerate(data, 1)) if isinstance(data, list) else [(1, data)]
    except ValueError:
        pass
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except ValueError as exc:
            raise CommandError(f"{path}:{number}: invalid JSON ({exc}).")
    return items


class Command(BaseCommand):
    help = "Ingest alerts from a JSON array / object or NDJSON file, as source NAME."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", required=True, help="AlertSource name (its adapter parses the file).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, file: Path, source: str, no_progress: bool, **options: Any) -> None:
        alert_source = AlertSource.objects.filter(name=source).first()
        if alert_source is None:
            names = ", ".join(AlertSource.objects.values_list("name", flat=True)) or "none configured"
            raise CommandError(f"Unknown source {source!r} (known: {names}).")
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        items = read_items(file)
        created = duplicates = 0
        rejected: list[str] = []
        with tqdm(total=len(items), unit="alert", disable=no_progress, file=self.stderr) as bar:
            for start in range(0, len(items), CHUNK):
                chunk = items[start:start + CHUNK]
                for number, outcome in self._ingest_chunk(alert_source, chunk):
                    if isinstance(outcome, str):
                        rejected.append(f"item {number}: {outcome}")
                    else:
                        created += sum(1 for s in outcome if s.created)
                        duplicates += sum(1 for s in outcome if not s.created)
                bar.update(len(chunk))
        self.stdout.write(f"{len(items)} item(s) read: {created} alert(s) created, {duplicates} duplicate(s), "
                          f"{len(rejected)} rejected.")
        for line in rejected[:20]:
            self.stdout.write(f"  rejected {line}")
        if rejected:
            raise CommandError(f"{len(rejected)} item(s) rejected.")

    def _ingest_chunk(self, source: AlertSource,
                      chunk: list[tuple[int, Any]]) -> list[tuple[int, list[StoredAlert] | str]]:
        """(number, stored alerts) of the chunk, or per item: (number, why it was rejected)."""
        try:
            for _, payload in chunk:
                check_json(payload, settings.SOAR_MAX_JSON_DEPTH)
            return [(chunk[0][0], ingest(source, [p for _, p in chunk], batch=True))]
        except ApplicationError:
            pass
        # Something in the chunk is bad: go one by one so the good items still land.
        results: list[tuple[int, list[StoredAlert] | str]] = []
        for number, payload in chunk:
            try:
                check_json(payload, settings.SOAR_MAX_JSON_DEPTH)
                results.append((number, ingest(source, [payload])))
            except ApplicationError as exc:
                results.append((number, rejection(exc)))
        return results


def rejection(exc: ApplicationError) -> str:
    """A rejected item's line: its field errors, or the refusal's message, as JSON."""
    return json.dumps(exc.errors if exc.errors is not None else {"detail": exc.message})[:300]
