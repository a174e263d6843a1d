"""Streaming exports of cases, alerts and the audit log, as CSV or a JSON array.

Rows come from ``.values_list(...).iterator(chunk_size=2000)``: nothing is cached by the
queryset and each row is written out as soon as it is read, so 100,000 rows need the memory
of one chunk. What a user may export is what the lists show them: cases from
``visible_cases``, alerts from ``visible_alerts``, the audit log for leads, admins and
auditors only (with the audit-log API's rule for leads)."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import django_filters as filters
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import BooleanField, ExpressionWrapper, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from alerts.filtersets import AlertExportFilter
from alerts.selectors import visible_alerts
from cases.custom_fields import export_columns as custom_field_columns
from cases.filtersets import AuditLogFilter, CaseFilter
from cases.roles import Actor
from cases.selectors import sla_breached_q, visible_audit_log, visible_cases
from reporting import verdicts
from reporting.params import ReportParamsSerializer
from reporting.selectors import scoped_cases
from soar.filters import MAX_ID

CHUNK_SIZE = 2000
# Larger ids overflow the database's bigint (a 500 on SQLite): a 400 instead.
# A spreadsheet runs a cell starting with one of these as a formula; alert titles come from outside.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Export:
    name: str
    columns: list[tuple[str, str]]  # (output column, queryset field)
    rows: QuerySet | list[tuple[Any, ...]]  # a list: figures computed already, in column order

    def field_names(self) -> list[str]:
        return [column for column, _ in self.columns]

    def tuples(self) -> Iterator[tuple]:
        if isinstance(self.rows, list):
            return iter(self.rows)
        return self.rows.values_list(*[field for _, field in self.columns]).iterator(chunk_size=CHUNK_SIZE)


# --- filters (the same parameters as the lists) ------------------------------------------------

class CaseExportFilter(CaseFilter):
    """The case list's filters, with the team id bounded."""

    team = filters.NumberFilter(field_name="team_id", label="Team id", min_value=0, max_value=MAX_ID)


class ExportFilterError(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid filter")
        self.errors = errors


def _filtered(filterset_class: type[filters.FilterSet], params: Mapping[str, Any], queryset: QuerySet,
              request: HttpRequest | None = None) -> QuerySet:
    filterset = filterset_class(params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ExportFilterError({field: [str(e) for e in errors] for field, errors in filterset.errors.items()})
    return filterset.qs


# --- what each export contains -------------------------------------------------------------------

CASE_COLUMNS = [
    ("id", "id"), ("title", "title"), ("severity", "severity"), ("status", "status"), ("confidence", "confidence"),
    ("team", "team__slug"), ("assignee", "assignee__username"), ("created_at", "created_at"),
    ("triaged_at", "triaged_at"), ("in_progress_at", "in_progress_at"), ("resolved_at", "resolved_at"),
    ("closed_at", "closed_at"), ("sla_ack_due", "sla_ack_due"), ("sla_resolve_due", "sla_resolve_due"),
    ("sla_breached", "sla_breached"), ("merged_into", "merged_into_id"),
    ("resolution", "resolution__slug"), ("false_positive", "resolution__counts_as_false_positive"),
    ("resolved_by", "resolved_by__username"), ("resolution_summary", "resolution_summary"),
]
ALERT_COLUMNS = [
    ("id", "id"), ("received_at", "received_at"), ("source", "source__name"), ("severity", "severity"),
    ("confidence", "confidence"), ("status", "status"), ("title", "title"), ("category", "category"),
    ("entity_type", "entity_type"), ("entity_value", "entity_value"), ("occurrence_count", "occurrence_count"),
    ("case", "case_id"), ("occurred_at", "occurred_at"),
]
AUDIT_COLUMNS = [
    ("id", "id"), ("created_at", "created_at"), ("actor", "actor__username"), ("actor_label", "actor_label"),
    ("action", "action"), ("object_type", "object_type"), ("object_id", "object_id"),
    ("object_repr", "object_repr"), ("request_id", "request_id"), ("client_ip", "client_ip"),
    ("before", "before"), ("after", "after"),
]


def cases_export(queryset: QuerySet) -> Export:
    """``queryset``: cases already limited to what the reader may see. After the fixed columns,
    one ``cf_<key>`` column per active custom field definition (empty where a case has no value)."""
    rows = queryset.annotate(
        sla_breached=ExpressionWrapper(sla_breached_q(timezone.now()), output_field=BooleanField())
    ).order_by("-created_at", "-id")
    return Export("cases", CASE_COLUMNS + custom_field_columns(), rows)


def case_export_for(user: Actor, params: Mapping[str, Any], request: HttpRequest | None = None) -> Export:
    return cases_export(_filtered(CaseExportFilter, params, visible_cases(user), request))


def alert_export_for(user: Actor, params: Mapping[str, Any], request: HttpRequest | None = None) -> Export:
    rows = _filtered(AlertExportFilter, params, visible_alerts(user), request).order_by("-received_at", "-id")
    return Export("alerts", ALERT_COLUMNS, rows)


def audit_export_for(user: Actor, params: Mapping[str, Any], request: HttpRequest | None = None) -> Export:
    """Callers check ``roles.can_read_audit_log`` first (403); this is the row-level rule."""
    rows = _filtered(AuditLogFilter, params, visible_audit_log(user), request).order_by("-created_at", "-id")
    return Export("audit-log", AUDIT_COLUMNS, rows)


def false_positive_export_for(user: Actor, params: Mapping[str, Any], request: HttpRequest | None = None) -> Export:
    """The dashboard's false-positive breakdowns for its range and team (days, or from/to, and team)."""
    serializer = ReportParamsSerializer(data=params)
    if not serializer.is_valid():
        raise ExportFilterError({k: [str(e) for e in v] for k, v in serializer.errors.items()})
    figures = verdicts.false_positive_figures(scoped_cases(user, serializer.scope()))
    return Export("verdicts", [(name, name) for name in verdicts.EXPORT_COLUMNS],
                  list(verdicts.export_rows(figures)))


# --- writers -------------------------------------------------------------------------------------

class _Line:
    """A file-like object whose write() returns what was written (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_lines(export: Export) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(export.field_names())
    for row in export.tuples():
        yield writer.writerow([_csv_cell(value) for value in row])


def json_chunks(export: Export) -> Iterator[str]:
    """A JSON array written one object at a time."""
    names = export.field_names()
    yield "["
    separator = "\n"
    for row in export.tuples():
        yield separator + json.dumps(dict(zip(names, row, strict=True)), cls=DjangoJSONEncoder)
        separator = ",\n"
    yield "\n]\n"


def _grouped(chunks: Iterable[str], target: int = 64 * 1024) -> Iterator[bytes]:
    """Fewer, bigger writes to the socket than one per row."""
    buffer, size = [], 0
    for chunk in chunks:
        buffer.append(chunk)
        size += len(chunk)
        if size >= target:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def _primed(chunks: Iterator[str]) -> Iterator[str]:
    """Read the header and the first row now, so that the query runs before the response starts:
    a database error is then an error response, not a silently truncated 200."""
    head = list(itertools.islice(chunks, 2))
    return itertools.chain(head, chunks)


def streaming_response(export: Export, fmt: str) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        response = StreamingHttpResponse(_grouped(_primed(csv_lines(export))), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_grouped(_primed(json_chunks(export))), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="soar-{export.name}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def csv_text(export: Export, limit: int | None = None) -> tuple[str, int, bool]:
    """The whole CSV as one string (e-mail attachments): (text, data rows, truncated)."""
    lines = csv_lines(export)
    parts = [next(lines)]
    count = 0
    truncated = False
    for line in lines:
        if limit is not None and count >= limit:
            truncated = True
            break
        parts.append(line)
        count += 1
    return "".join(parts), count, truncated
