"""Reporting figures, computed by the database (aggregates and GROUP BY, never a loop over rows),
so that they stay fast at 100,000+ cases.

Everything starts from a scope: the cases ``user`` may see (``cases.selectors.visible_cases``)
or, for scheduled reports sent by the system, every case; narrowed to a team and to cases
*created* (alerts *received*) inside ``[start, end)``. Durations are returned in seconds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Func, Q, QuerySet
from django.utils import timezone

from alerts.selectors import readable_alerts, source_names
from cases import roles
from cases.roles import Actor
from cases.selectors import automated_case_ids, readable_cases, sla_breached_q, teams_by_id
from cases.vocabulary import OPEN_STATUSES, SEVERITIES
from reporting.expressions import BucketKey, parse_bucket_key, sum_of_seconds
from reporting.rollup_selectors import alert_counts, alert_visibility, rollups_enabled
from reporting.rollup_selectors import top_entities as rollup_top_entities
from reporting.verdicts import false_positive_figures
from soar import safe_cache

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from alerts.models import Alert
    from cases.models import Case, Team

TOP_LIMIT = 10
BREAKDOWN_LIMIT = 50
# Up to this span the volume chart has one point per hour, beyond it one per day.
HOURLY_UP_TO = dt.timedelta(days=2)


@dataclass(frozen=True)
class ReportScope:
    start: dt.datetime
    end: dt.datetime
    team: Team | None = None

    @property
    def bucket(self) -> str:
        return "hour" if self.end - self.start <= HOURLY_UP_TO else "day"

    @classmethod
    def last_days(cls, days: int, team: Team | None = None, now: dt.datetime | None = None) -> ReportScope:
        end = now or timezone.now()
        return cls(start=end - dt.timedelta(days=days), end=end, team=team)


# --- scoped querysets --------------------------------------------------------------------

def scoped_cases(user: Actor, scope: ReportScope) -> QuerySet[Case]:
    """Cases of the scope; ``user=None`` means the system (scheduled reports): every case."""
    cases = readable_cases(user)
    cases = cases.filter(created_at__gte=scope.start, created_at__lt=scope.end)
    if scope.team is not None:
        cases = cases.filter(team=scope.team)
    return cases


def scoped_alerts(user: Actor, scope: ReportScope) -> QuerySet[Alert]:
    """Alerts of the scope. With a team: alerts of the team's cases, and queued alerts of the
    sources that feed the team."""
    alerts = readable_alerts(user)
    alerts = alerts.filter(received_at__gte=scope.start, received_at__lt=scope.end)
    if scope.team is not None:
        alerts = alerts.filter(Q(case__team=scope.team) | Q(case__isnull=True, source__default_team=scope.team))
    return alerts


# --- figures -------------------------------------------------------------------------------

def _ack_breached_q(now: dt.datetime) -> Q:
    return Q(triaged_at__isnull=True, sla_ack_due__lt=now) | Q(triaged_at__gt=F("sla_ack_due"))


def _resolve_breached_q(now: dt.datetime) -> Q:
    return Q(resolved_at__isnull=True, sla_resolve_due__lt=now) | Q(resolved_at__gt=F("sla_resolve_due"))


def case_aggregates(now: dt.datetime) -> dict[str, Func]:
    """The per-group figures as additive aggregates (sums, not averages), so that one GROUP BY
    over (bucket, team, assignee, severity) yields the totals, the per-team and per-analyst rows,
    the severity mix and the volume: one scan of the cases instead of five."""
    automated = automated_case_ids()
    return {
        "cases": Count("pk"),
        "open": Count("pk", filter=Q(status__in=list(OPEN_STATUSES))),
        "acknowledged": Count("pk", filter=Q(triaged_at__isnull=False)),
        "resolved": Count("pk", filter=Q(resolved_at__isnull=False)),
        "ack_sum": sum_of_seconds("created_at", "triaged_at", filter=Q(triaged_at__isnull=False)),
        "resolve_sum": sum_of_seconds("created_at", "resolved_at", filter=Q(resolved_at__isnull=False)),
        "sla_breached": Count("pk", filter=sla_breached_q(now)),
        "sla_ack_breached": Count("pk", filter=_ack_breached_q(now)),
        "sla_resolve_breached": Count("pk", filter=_resolve_breached_q(now)),
        "automated": Count("pk", filter=Q(pk__in=automated)),
    }


# The running sums of a group: the COUNTS plus "ack_sum" and "resolve_sum" (None until a value).
Sums = dict[str, Any]

COUNTS = ("cases", "open", "acknowledged", "resolved", "sla_breached", "sla_ack_breached", "sla_resolve_breached",
          "automated")


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def _add(total: dict[str, Any], row: Mapping[str, Any]) -> None:
    for name in (*COUNTS, "ack_sum", "resolve_sum"):
        if row[name] is not None:
            total[name] = (total.get(name) or 0) + row[name]


def _finish(row: Mapping[str, Any]) -> dict[str, Any]:
    """Sums to averages in seconds, plus the automation rate."""
    out: dict[str, Any] = {name: row.get(name, 0) for name in COUNTS}
    out["mtta_seconds"] = _seconds(row["ack_sum"] / out["acknowledged"]) if out["acknowledged"] else None
    out["mttr_seconds"] = _seconds(row["resolve_sum"] / out["resolved"]) if out["resolved"] else None
    out["automation_rate"] = round(out["automated"] / out["cases"], 4) if out["cases"] else None
    return out


def _ranked(groups: dict[int | None, Sums], names: Mapping[Any, str]) -> list[tuple[int | None, dict[str, Any]]]:
    """Groups by most cases, then name (no name last), at most BREAKDOWN_LIMIT."""
    order = sorted(groups, key=lambda pk: (-groups[pk]["cases"], names.get(pk) is None, names.get(pk) or ""))
    return [(pk, _finish(groups[pk])) for pk in order[:BREAKDOWN_LIMIT]]


def case_figures(cases: QuerySet[Case], scope: ReportScope, now: dt.datetime) -> dict[str, Any]:
    rows: Iterable[Mapping[str, Any]] = (cases.order_by().annotate(bucket=BucketKey(F("created_at"), scope.bucket))
            .values("bucket", "team_id", "assignee_id", "severity").annotate(**case_aggregates(now)))
    totals: dict[str, Any] = {"ack_sum": None, "resolve_sum": None}
    teams: dict[int | None, Sums] = {}
    analysts: dict[int | None, Sums] = {}
    severity = dict.fromkeys(SEVERITIES, 0)
    per_bucket: dict[dt.datetime, int] = {}
    for row in rows:
        _add(totals, row)
        _add(teams.setdefault(row["team_id"], {"ack_sum": None, "resolve_sum": None}), row)
        _add(analysts.setdefault(row["assignee_id"], {"ack_sum": None, "resolve_sum": None}), row)
        severity[row["severity"]] = severity.get(row["severity"], 0) + row["cases"]
        start = parse_bucket_key(row["bucket"], scope.bucket)
        per_bucket[start] = per_bucket.get(start, 0) + row["cases"]
    team_rows = teams_by_id(pk for pk in teams if pk is not None)
    analyst_ids = [pk for pk in analysts if pk is not None]
    usernames: dict[int | None, str] = dict(get_user_model().objects.filter(pk__in=analyst_ids)
                                            .values_list("pk", "username"))
    return {
        "totals": _finish(totals),
        "severity": severity,
        "volume": {start: per_bucket.get(start, 0) for start in _bucket_starts(scope)},
        "per_team": [{"team_id": pk, "team_slug": team_rows[pk].slug if pk in team_rows else None,
                      "team": team_rows[pk].name if pk in team_rows else None, **row}
                     for pk, row in _ranked(teams, {pk: t.name for pk, t in team_rows.items()})],
        "per_analyst": [{"analyst_id": pk, "analyst": usernames.get(pk), **row}
                        for pk, row in _ranked(analysts, usernames)],
    }


def _bucket_starts(scope: ReportScope) -> list[dt.datetime]:
    step = dt.timedelta(hours=1) if scope.bucket == "hour" else dt.timedelta(days=1)
    start = scope.start.astimezone(dt.UTC)
    current = (start.replace(minute=0, second=0, microsecond=0) if scope.bucket == "hour"
               else start.replace(hour=0, minute=0, second=0, microsecond=0))
    starts: list[dt.datetime] = []
    while current < scope.end:
        starts.append(current)
        current += step
    return starts


def volume(queryset: QuerySet[Any], field: str, scope: ReportScope) -> dict[dt.datetime, int]:
    """Rows per hour/day of ``field`` (UTC), with empty buckets as zeros."""
    rows = (queryset.order_by().annotate(bucket=BucketKey(F(field), scope.bucket)).values("bucket")
            .annotate(n=Count("pk")).values_list("bucket", "n"))
    counts = {parse_bucket_key(key, scope.bucket): n for key, n in rows}
    return {start: counts.get(start, 0) for start in _bucket_starts(scope)}


def alert_breakdown(alerts: QuerySet[Alert], scope: ReportScope) -> dict[str, Any]:
    """Alert volume per bucket, severity mix, total and top sources from ONE scan of the alert
    table (grouped by bucket, severity and source): at a million alerts each scan is the cost."""
    rows = (alerts.order_by().annotate(bucket=BucketKey(F("received_at"), scope.bucket))
            .values_list("bucket", "severity", "source_id").annotate(n=Count("pk")))
    return _alert_figures(((parse_bucket_key(key, scope.bucket), level, source_id, n)
                           for key, level, source_id, n in rows), scope)


def _alert_figures(rows: Iterable[tuple[dt.datetime, str, int, int]], scope: ReportScope) -> dict[str, Any]:
    """The figures of ``alert_breakdown`` from (bucket start, severity, source id, alerts) rows."""
    per_bucket: dict[dt.datetime, int] = {}
    severity = dict.fromkeys(SEVERITIES, 0)
    per_source: dict[int, int] = {}
    for start, level, source_id, n in rows:
        per_bucket[start] = per_bucket.get(start, 0) + n
        severity[level] = severity.get(level, 0) + n
        per_source[source_id] = per_source.get(source_id, 0) + n
    per_source = {pk: n for pk, n in per_source.items() if n}
    names = source_names(per_source)
    top = sorted(((names.get(pk, "?"), n) for pk, n in per_source.items()), key=lambda item: (-item[1], item[0]))
    return {
        "volume": {start: per_bucket.get(start, 0) for start in _bucket_starts(scope)},
        "severity": severity,
        "total": sum(severity.values()),
        "top_sources": [{"source": name, "alerts": n} for name, n in top[:TOP_LIMIT]],
    }


def top_entities(alerts: QuerySet[Alert]) -> list[dict[str, Any]]:
    rows = (alerts.exclude(entity_value="").order_by().values("entity_type", "entity_value")
            .annotate(n=Count("pk")).order_by("-n", "entity_value")[:TOP_LIMIT])
    return [{"type": r["entity_type"], "value": r["entity_value"], "alerts": r["n"]} for r in rows]


def report_summary(user: Actor, scope: ReportScope, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every figure of the dashboard, the API and the report e-mail, in a fixed number of queries."""
    now = now or timezone.now()
    cases = scoped_cases(user, scope)
    case = case_figures(cases, scope, now)
    case_volume = case["volume"]
    if rollups_enabled():
        # PostgreSQL: from the pre-aggregated sums (counting 1M alerts costs seconds).
        visibility = alert_visibility(user, scope.team)
        alert_figures = _alert_figures(alert_counts(visibility, scope.start, scope.end, scope.bucket), scope)
        entities = rollup_top_entities(visibility, scope.start, scope.end, TOP_LIMIT)
    else:
        alerts = scoped_alerts(user, scope)
        alert_figures = alert_breakdown(alerts, scope)
        entities = top_entities(alerts)
    alert_volume = alert_figures["volume"]
    alert_severity = alert_figures["severity"]
    team = scope.team
    return {
        "range": {
            "from": scope.start.isoformat(), "to": scope.end.isoformat(), "bucket": scope.bucket,
            "team": {"id": team.pk, "slug": team.slug, "name": team.name} if team else None,
        },
        "cases": case["totals"],
        "alerts": {"total": sum(alert_severity.values())},
        "severity": {"cases": case["severity"], "alerts": alert_severity},
        "volume": [{"t": start.isoformat(), "cases": case_volume[start], "alerts": alert_volume.get(start, 0)}
                   for start in case_volume],
        "top_sources": alert_figures["top_sources"],
        "top_entities": entities,
        "per_team": case["per_team"],
        "per_analyst": case["per_analyst"],
        "false_positives": false_positive_figures(cases),
    }


def cached_report_summary(user: User | AnonymousUser, scope: ReportScope) -> dict[str, Any]:
    """``report_summary`` for the dashboard and the API, kept SOAR_REPORT_CACHE_SECONDS (60) per
    viewer and range: a cold summary still costs ~0.1 s of database time at 100,000 cases and a
    million alerts, and a dashboard is reloaded far more often than its minute-level figures change."""
    ttl = settings.SOAR_REPORT_CACHE_SECONDS
    if ttl <= 0:
        return report_summary(user, scope)
    viewer = "all" if roles.sees_all_cases(user) else f"user{user.pk}"
    minute = dt.timedelta(minutes=1)
    start = scope.start - (scope.start - dt.datetime.min.replace(tzinfo=dt.UTC)) % minute
    end = scope.end - (scope.end - dt.datetime.min.replace(tzinfo=dt.UTC)) % minute
    key = f"soar:report:{viewer}:{start:%Y%m%d%H%M}:{end:%Y%m%d%H%M}:{scope.team.pk if scope.team else ''}"
    summary = safe_cache.get(key)
    if summary is None:
        summary = report_summary(user, ReportScope(start=start, end=end, team=scope.team))
        safe_cache.set(key, summary, ttl)
    return summary
