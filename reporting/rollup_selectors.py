"""The dashboard's alert figures (volume, severity mix, top sources, top entities) read from the
sums kept by the database (reporting.models.AlertRollupDelta and friends) instead of counting the
alerts: PostgreSQL only, ``rollups_enabled()``.

A range is cut into signed pieces whose sum is exactly the range:

- whole UTC hours (days for entities) come from the sums plus the deltas not folded yet;
- the partial hours (days) at the edges are counted live from the alerts;
- when a range covers most of the data, the entities are read as the all-time sums minus the
  days outside the range, and a partial day as its day sum minus the part outside the range,
  whichever reads fewer rows.

Visibility is the same rule as ``cases.selectors.visible_alerts``, turned into lists of ids:
alerts in cases of the viewer's teams, queued alerts of the sources feeding them (or no team),
and the alerts of cases shared with the viewer (counted live: they are few)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection

from alerts.selectors import source_ids_feeding
from cases import roles
from cases.roles import Actor
from cases.selectors import case_ids_outside_teams, shared_case_ids, user_team_ids
from reporting.expressions import BUCKET_FORMATS
from reporting.models import AlertEntityRollup

if TYPE_CHECKING:
    from cases.models import Team

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
ALL_TIME = AlertEntityRollup.ALL_TIME

# (sign, kind, lo, hi): see "SQL pieces" below.
Piece = tuple[int, str, dt.datetime | None, dt.datetime | None]


def rollups_enabled() -> bool:
    return bool(settings.SOAR_REPORT_ROLLUPS) and connection.vendor == "postgresql"


@dataclass
class AlertVisibility:
    """Which alerts count: everything, or in-case alerts of ``teams``' cases, queued alerts of
    ``sources`` and alerts of ``shared_cases`` (cases outside ``teams``)."""

    everything: bool = False
    teams: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    shared_cases: list[int] = field(default_factory=list)


def alert_visibility(user: Actor, team: Team | None = None) -> AlertVisibility:
    """``user`` None is the system (scheduled reports); ``team`` narrows like scoped_alerts."""
    if user is None or roles.sees_all_cases(user):
        if team is None:
            return AlertVisibility(everything=True)
        return AlertVisibility(teams=[team.pk], sources=source_ids_feeding([team.pk], teamless=False))
    reader = roles.signed_in(user)
    if reader is None or not reader.is_active:
        return AlertVisibility()
    teams = user_team_ids(reader)
    # The shared ids first (two small permission tables), then those cases by primary key: as
    # "pk IN (...) OR pk IN (...)" the planner scanned every case (~25 ms at 100k cases).
    direct, via_groups = shared_case_ids(reader, "view_case")
    shared_ids = set(direct.values_list("content_object_id", flat=True)
                     .union(via_groups.values_list("content_object_id", flat=True)))
    shared = case_ids_outside_teams(shared_ids, teams, team_id=None if team is None else team.pk)
    if team is not None:
        teams = teams & {team.pk}
        sources = source_ids_feeding(teams, teamless=False)
    else:
        sources = source_ids_feeding(teams, teamless=True)
    return AlertVisibility(teams=sorted(teams), sources=sources, shared_cases=shared)


# --- SQL pieces ------------------------------------------------------------------------------
# A piece is (sign, kind, lo, hi): kind "sums" (hour or day sums in [lo, hi), None: unbounded),
# "total" (all-time entity sums) or "live" (alerts received in [lo, hi)).

def _rollup_filter(vis: AlertVisibility, alias: str, entity: bool = False) -> str:
    if vis.everything:
        return "TRUE"
    if entity:
        return (f"(({alias}.queued_source_id = 0 AND {alias}.team_id = ANY(%(teams)s::bigint[])) "
                f"OR {alias}.queued_source_id = ANY(%(sources)s::bigint[]))")
    return (f"((NOT {alias}.queued AND {alias}.team_id = ANY(%(teams)s::bigint[])) "
            f"OR ({alias}.queued AND {alias}.source_id = ANY(%(sources)s::bigint[])))")


def _live_filter(vis: AlertVisibility) -> str:
    if vis.everything:
        return "TRUE"
    # The case's team as a correlated look-up (one primary-key probe per live alert), not a
    # join: the planner hashed all of cases_case (45-65 ms at 100k cases, growing with the
    # table) for the few thousand alerts of an edge hour.
    return ("((a.case_id IS NOT NULL AND (SELECT c.team_id FROM cases_case c WHERE c.id = a.case_id) "
            "= ANY(%(teams)s::bigint[])) "
            "OR (a.case_id IS NULL AND a.source_id = ANY(%(sources)s::bigint[])) "
            "OR a.case_id = ANY(%(shared)s::bigint[]))")


class _Sql:
    """Collects the parameters of the pieces while their SQL is written."""

    def __init__(self, vis: AlertVisibility):
        self.params: dict[str, Any] = {"teams": vis.teams, "sources": vis.sources, "shared": vis.shared_cases}

    def bound(self, column: str, lo: dt.date | None, hi: dt.date | None) -> str:
        """``lo <= column < hi``, each side only when given (dates or datetimes)."""
        parts = []
        for op, value in ((">=", lo), ("<", hi)):
            if value is not None:
                name = f"p{len(self.params)}"
                self.params[name] = value
                parts.append(f"{column} {op} %({name})s")
        return " AND ".join(parts) or "TRUE"


def _live(sql: _Sql, vis: AlertVisibility, columns: str, lo: dt.datetime | None, hi: dt.datetime | None, sign: int,
          shared_only: bool = False) -> str:
    where = "a.case_id = ANY(%(shared)s::bigint[])" if shared_only else _live_filter(vis)
    return (f"SELECT {columns}, {sign} AS n FROM alerts_alert a "  # noqa: S608 - fixed SQL pieces; every value is a %(name)s parameter
            f"WHERE {sql.bound('a.received_at', lo, hi)} AND {where}")


def _count_pieces(start: dt.datetime, end: dt.datetime) -> list[Piece]:
    first = _ceil(start, HOUR)
    last = _floor(end, HOUR)
    if first >= last:
        return [(1, "live", start, end)]
    return [(1, "sums", first, last), (1, "live", start, first), (1, "live", last, end)]


def alert_counts(vis: AlertVisibility, start: dt.datetime, end: dt.datetime,
                 bucket: str) -> list[tuple[dt.datetime, str, int, int]]:
    """(bucket start, severity, source id, alerts) for the alerts of [start, end)."""
    if bucket not in BUCKET_FORMATS:  # written into the SQL below
        raise ValueError(f"unknown bucket {bucket!r}")
    sql = _Sql(vis)
    columns = "a.received_at AS t, a.severity, a.source_id"
    parts = []
    for sign, kind, lo, hi in _count_pieces(start, end):
        if kind == "live":
            parts.append(_live(sql, vis, columns, lo, hi, sign))
            continue
        parts.append(f"SELECT r.hour AS t, r.severity, r.source_id, {sign} * r.alerts AS n "  # noqa: S608 - fixed SQL pieces; every value is a %(name)s parameter
                     f"FROM cases_alerthourrollup r WHERE {sql.bound('r.hour', lo, hi)} AND {_rollup_filter(vis, 'r')}")
        parts.append(f"SELECT d.received_at AS t, d.severity, d.source_id, {sign} * d.change AS n "  # noqa: S608 - fixed SQL pieces; every value is a %(name)s parameter
                     f"FROM cases_alertrollupdelta d WHERE {sql.bound('d.received_at', lo, hi)} "
                     f"AND {_rollup_filter(vis, 'd')}")
        if vis.shared_cases:
            parts.append(_live(sql, vis, columns, lo, hi, sign, shared_only=True))
    query = (f"SELECT date_trunc('{bucket}', t AT TIME ZONE 'UTC'), severity, source_id, sum(n) "  # noqa: S608 - bucket checked above; values are %(name)s parameters
             f"FROM ({' UNION ALL '.join(parts)}) x GROUP BY 1, 2, 3 HAVING sum(n) <> 0")
    with connection.cursor() as cursor:
        cursor.execute(query, sql.params)
        return [(t.replace(tzinfo=dt.UTC), severity, source_id, int(n)) for t, severity, source_id, n in cursor]


def _data_days() -> tuple[dt.date, dt.date] | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT day FROM cases_alertentityrollup WHERE day > %(t)s ORDER BY day LIMIT 1), "
                       "(SELECT day FROM cases_alertentityrollup WHERE day > %(t)s ORDER BY day DESC LIMIT 1)",
                       {"t": ALL_TIME})
        first, last = cursor.fetchone()
    return None if first is None else (first, last)


def _partial_day(lo: dt.datetime, hi: dt.datetime) -> list[Piece]:
    """[lo, hi) inside one UTC day: counted live, or as the day's sum minus the rest of the day."""
    day = _floor(lo, DAY)
    if hi - lo <= DAY - (hi - lo):
        return [(1, "live", lo, hi)]
    return [(1, "sums", day, day + DAY), (-1, "live", day, lo), (-1, "live", hi, day + DAY)]


def _entity_pieces(start: dt.datetime, end: dt.datetime) -> list[Piece]:
    first, last = _ceil(start, DAY), _floor(end, DAY)
    if first > last:  # start and end inside the same day
        return _net(_partial_day(start, end))
    pieces: list[Piece] = []
    if start < first:
        pieces += _partial_day(start, first)
    if last < end:
        pieces += _partial_day(last, end)
    if first == last:
        return _net(pieces)
    days = _data_days()
    if days is None:
        return _net(pieces + [(1, "sums", first, last)])
    data_first = dt.datetime.combine(days[0], dt.time.min, tzinfo=dt.UTC)
    data_end = dt.datetime.combine(days[1], dt.time.min, tzinfo=dt.UTC) + DAY
    inside = max(dt.timedelta(0), min(last, data_end) - max(first, data_first))
    outside = max(dt.timedelta(0), first - data_first) + max(dt.timedelta(0), data_end - last)
    if outside < inside:
        return _net(pieces + [(1, "total", None, None), (-1, "sums", None, first), (-1, "sums", last, None)])
    return _net(pieces + [(1, "sums", first, last)])


def _net(pieces: list[Piece]) -> list[Piece]:
    """The same signed sum with overlapping day sums netted out and empty live ranges dropped.
    A range ending today reads today's sums as "day minus the rest of the day" while the
    all-time form subtracts the days from today on: without netting, today's rows (~14,000
    at a million alerts) were read and grouped twice to cancel out."""
    sums = [p for p in pieces if p[1] == "sums"]
    kept = [p for p in pieces if p[1] != "sums" and not (p[1] == "live" and p[2] is not None and p[2] == p[3])]
    low, high = dt.datetime.min.replace(tzinfo=dt.UTC), dt.datetime.max.replace(tzinfo=dt.UTC)
    bounds = sorted({b for _, _, lo, hi in sums for b in (lo or low, hi or high)})
    runs: list[tuple[int, dt.datetime, dt.datetime]] = []  # consecutive stretches with the same total sign
    for lo, hi in itertools.pairwise(bounds):
        sign = sum(s for s, _, a, b in sums if (a or low) <= lo and hi <= (b or high))
        if runs and runs[-1][0] == sign and runs[-1][2] == lo:
            runs[-1] = (sign, runs[-1][1], hi)
        else:
            runs.append((sign, lo, hi))
    return kept + [(sign, "sums", None if lo == low else lo, None if hi == high else hi)
                   for sign, lo, hi in runs if sign]


def top_entities(vis: AlertVisibility, start: dt.datetime, end: dt.datetime, limit: int) -> list[dict[str, Any]]:
    sql = _Sql(vis)
    columns = "a.entity_type, a.entity_value"
    parts = []
    for sign, kind, lo, hi in _entity_pieces(start, end):
        if kind == "live":
            parts.append(_live(sql, vis, columns, lo, hi, sign) + " AND a.entity_value <> ''")
            continue
        if kind == "total":
            days = "r.day = %(all_time)s"
        else:
            days = f"r.day > %(all_time)s AND {sql.bound('r.day', lo and lo.date(), hi and hi.date())}"
        parts.append(f"SELECT r.entity_type, r.entity_value, {sign} * r.alerts AS n FROM cases_alertentityrollup r "  # noqa: S608 - fixed SQL pieces; every value is a %(name)s parameter
                     f"WHERE {days} AND {_rollup_filter(vis, 'r', entity=True)}")
        parts.append(f"SELECT d.entity_type, d.entity_value, {sign} * d.change AS n FROM cases_alertrollupdelta d "  # noqa: S608 - fixed SQL pieces; every value is a %(name)s parameter
                     f"WHERE {sql.bound('d.received_at', lo, hi)} AND d.entity_value <> '' "
                     f"AND {_rollup_filter(vis, 'd')}")
        if vis.shared_cases:
            parts.append(_live(sql, vis, columns, lo, hi, sign, shared_only=True) + " AND a.entity_value <> ''")
    sql.params["all_time"] = ALL_TIME
    query = (f"SELECT entity_type, entity_value, sum(n) FROM ({' UNION ALL '.join(parts)}) x "  # noqa: S608 - fixed SQL pieces; every value is a %(name)s parameter, limit an int
             f"GROUP BY 1, 2 HAVING sum(n) > 0 ORDER BY 3 DESC, 2 ASC LIMIT {int(limit)}")
    with connection.cursor() as cursor:
        cursor.execute(query, sql.params)
        return [{"type": kind, "value": value, "alerts": int(n)} for kind, value, n in cursor]


def _floor(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return moment - (moment - epoch) % step


def _ceil(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    floor = _floor(moment, step)
    return floor if floor == moment else floor + step
