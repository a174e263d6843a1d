"""Correlation of a chunk of alerts with a constant number of statements, whatever its size
(``process_chunk``), making the same decisions as the per-alert path in alerts.correlation
(docs/architecture.md, "Correlation in more detail"). alerts.correlation.process_alerts calls
it and falls back to the per-alert path for a chunk that keeps failing.

Concurrency: at most one *open* group per (rule, key) is a database constraint; the group
row is locked (SELECT ... FOR UPDATE) while its case is looked up or created, so concurrent
workers on PostgreSQL converge on one group and one case. SQLite runs writers one at a time
(IMMEDIATE transactions), which gives the same guarantee."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from alerts import attack_mapping
from alerts import selectors as alert_selectors
from alerts import services as alert_services
from alerts.correlation_rules import (
    LoadedRule,
    attached_alert,
    correlation_key,
    meets_threshold,
    opened_case_description,
    select_rule,
)
from alerts.models import Alert, AlertGroup, AlertSource, CorrelationRule, Observable
from alerts.outbox import dispatch_resolution
from alerts.signals import CaseAlerts, cases_alerts_added
from cases import selectors as case_selectors
from cases import services as case_services
from soar.bulk import any_of, update_rows

logger = logging.getLogger(__name__)


# --- a chunk of alerts, set-based ----------------------------------------------------------
#
# process_chunk gives the alerts of a chunk what process_alert gives each of them in turn (the
# same groups, cases, timeline and audit entries), in a constant number of statements: the
# pending rows are locked at once, every rule, key, window and threshold decision is taken in
# Python on the locked group rows, and the result is written with bulk statements.

_CHUNK_ALERT_FIELDS = ("id", "source_id", "title", "severity", "confidence", "entity_type", "entity_value",
                       "fingerprint", "received_at", "resolved_at", "status", "processing_attempts",
                       "pending_observables", "group_id", "case_id", "attack_ids", "processing")


@dataclass(eq=False)
class _NewCase:
    spec: dict[str, Any]
    case_id: int = 0  # once created


@dataclass(eq=False)
class _Group:
    rule: CorrelationRule
    key: str
    key_hash: str
    first_seen: datetime
    last_seen: datetime
    alert_count: int
    is_open: bool
    case: int | _NewCase | None
    row: AlertGroup | None  # None: opened by this chunk
    order: tuple[int, int]  # oldest first: stored groups by id, then this chunk's in opening order
    shared: Counter[int] = field(default_factory=Counter)  # observable id -> alerts of the group with it
    members: list[Alert] = field(default_factory=list)
    changed: bool = False
    pk: int = 0

    @property
    def case_id(self) -> int | None:
        return self.case.case_id if isinstance(self.case, _NewCase) else self.case


@dataclass
class _Attach:
    """One record_alerts_attached call of the per-alert path: ``alert`` opened ``case`` (then the
    group's waiting alerts come first) or joined it."""

    case: int | _NewCase
    alert: Alert
    group: _Group
    opened: bool
    waiting: list[Alert] = field(default_factory=list)  # the chunk's own waiting alerts


class _Chunk:
    def __init__(self, rules: list[LoadedRule]):
        self.rules = rules
        self.statuses: dict[int, str] = {}
        self.open_by_key: dict[tuple[int, str], _Group] = {}
        self.by_rule: dict[int, list[_Group]] = {}
        self.new_groups: list[_Group] = []
        self.stored: list[_Group] = []
        self.attaches: list[_Attach] = []
        self.alert_group: dict[int, _Group] = {}
        self.alert_case: dict[int, int | _NewCase] = {}
        self.observables: dict[int, list[int]] = {}

    def add_stored(self, row: AlertGroup, rule: CorrelationRule) -> _Group:
        group = _Group(rule=rule, key=row.key, key_hash=row.key_hash, first_seen=row.first_seen,
                       last_seen=row.last_seen, alert_count=row.alert_count, is_open=row.is_open,
                       case=row.case_id, row=row, order=(0, row.pk), pk=row.pk)
        self.stored.append(group)
        self.open_by_key[(rule.pk, row.key_hash)] = group
        self.by_rule.setdefault(rule.pk, []).append(group)
        return group

    def case_open(self, case: int | _NewCase | None) -> bool | None:
        """True/False for a case whose status is known; None for a case id that cannot be read."""
        if isinstance(case, _NewCase):
            return True
        status = self.statuses.get(case) if case is not None else None
        return None if status is None else status in case_selectors.OPEN_CASE_STATUSES

    def sharing(self, rule: CorrelationRule, observable_ids: list[int], at: datetime) -> _Group | None:
        """_find_group_sharing_observable on the chunk's view: the look-up joins the group's alerts'
        observables, so a group comes back once per matching (alert, observable) link, and only
        the first five rows are considered."""
        window = timedelta(minutes=rule.window_minutes)
        rows: list[_Group] = []
        for group in sorted(self.by_rule.get(rule.pk, []), key=lambda g: g.order):
            if group.is_open and group.last_seen >= at - window:
                rows += [group] * sum(group.shared[o] for o in observable_ids)
            if len(rows) >= 5:
                break
        for group in rows[:5]:
            if group.case is None or self.case_open(group.case):
                return group
        return None

    def key_group(self, rule: CorrelationRule, key: str, at: datetime) -> _Group:
        key_hash = Observable.digest(key)
        group = self.open_by_key.get((rule.pk, key_hash))
        if group is not None:
            expired = group.last_seen + timedelta(minutes=rule.window_minutes) < at
            case_done = group.case is not None and self.case_open(group.case) is False
            if not expired and not case_done:
                return group
            group.is_open = False
            group.changed = True
        group = _Group(rule=rule, key=key[:2100], key_hash=key_hash, first_seen=at, last_seen=at, alert_count=0,
                       is_open=True, case=None, row=None, order=(1, len(self.new_groups)))
        self.new_groups.append(group)
        self.open_by_key[(rule.pk, key_hash)] = group
        self.by_rule.setdefault(rule.pk, []).append(group)
        return group

    def correlate(self, alert: Alert, rule: CorrelationRule) -> None:
        at = alert.received_at
        observable_ids = self.observables.get(alert.pk, [])
        group = None
        if rule.key == CorrelationRule.Key.OBSERVABLE and observable_ids:
            group = self.sharing(rule, observable_ids, at)
        if group is None:
            group = self.key_group(rule, correlation_key(rule, alert), at)
        group.alert_count += 1
        group.last_seen = max(group.last_seen, at)
        group.changed = True
        self.alert_group[alert.pk] = group
        if group.case is None and alert.resolved_at is None and meets_threshold(rule, alert):
            case = _NewCase({
                "title": alert.title, "severity": alert.severity, "confidence": alert.confidence,
                "description": opened_case_description(rule, group.key),
                "source_id": alert.source_id, "template_id": rule.template_id,
            })
            group.case = case
            self.attaches.append(_Attach(case, alert, group, True, waiting=list(group.members)))
            for waiting in group.members:
                self.alert_case[waiting.pk] = case
            self.alert_case[alert.pk] = case
        elif group.case is not None:
            self.attaches.append(_Attach(group.case, alert, group, False))
            self.alert_case[alert.pk] = group.case
        group.members.append(alert)
        for observable_id in observable_ids:
            group.shared[observable_id] += 1


def process_chunk(alert_ids: list[int], rules: list[LoadedRule]) -> list[int]:
    """Process the PENDING alerts among ``alert_ids`` (in that order) in one transaction; returns
    the ids processed. Alerts another worker holds are skipped (it processes them)."""
    position = {alert_id: index for index, alert_id in enumerate(alert_ids)}
    with transaction.atomic():
        asynchronous_commit()
        # The rows are found by primary key only and the PENDING ones kept here: with
        # "processing = 'pending'" in the statement PostgreSQL may read them through the
        # outbox's partial index of every pending alert, filtering on the id: 170-195 ms a
        # chunk under a backlog of 100,000 (bench/results.md), the largest part of
        # PostgreSQL's CPU in a storm, and a cost that grew with the backlog. The row locks of
        # the chunk (alerts, groups, cases) are FOR NO KEY UPDATE: they serialize the writers
        # of a row as FOR UPDATE does, without holding off the foreign-key checks of rows that
        # reference it (another transaction's COMMIT waited on them: Lock:transactionid).
        alerts = sorted(
            (alert for alert in Alert.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
             .filter(any_of("pk", alert_ids)).only(*_CHUNK_ALERT_FIELDS)
             if alert.processing == Alert.Processing.PENDING),
            key=lambda a: position[a.pk])
        if not alerts:
            return []
        _correlate_chunk(alerts, rules)
    return [alert.pk for alert in alerts]


def asynchronous_commit() -> None:
    """On PostgreSQL, this transaction's COMMIT does not wait for its WAL to reach the disk.
    Safe for correlation, whose result is derived from committed rows: a crash may lose the
    last chunks committed within ``wal_writer_delay`` x 3, whole (never half of one); their
    alerts are then PENDING again and the sweep correlates them again. Anything that builds
    on a chunk's result (an analyst's change to its case, a follow-up's rows) commits after
    it in the WAL, so its own synchronous commit makes the chunk durable first. The worker no
    longer holds the chunk's group and case locks through a disk flush (the other worker
    process waits on them: Lock:transactionid) nor spends CPU on it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _correlate_chunk(alerts: list[Alert], rules: list[LoadedRule]) -> None:
    ids = [alert.pk for alert in alerts]
    pending = [(alert.pk, alert.pending_observables) for alert in alerts if alert.pending_observables]
    if pending:
        alert_services.link_observables(pending)
    mapped = [(alert.pk, alert.attack_ids) for alert in alerts if alert.attack_ids]
    if mapped:
        attack_mapping.link_alert_techniques(mapped)  # two statements for the chunk
    chunk = _Chunk(rules)
    chunk.observables = alert_selectors.observable_ids_by_alert(ids)
    chosen = {alert.pk: select_rule(alert, rules) for alert in alerts}
    rules_by_id = {rule.pk: rule for rule in chosen.values() if rule is not None}
    _lock_groups(chunk, alerts, chosen, rules_by_id)
    for alert in alerts:
        rule = chosen[alert.pk]
        if rule is not None:
            chunk.correlate(alert, rule)
    _write_chunk(chunk, alerts)


def _lock_groups(chunk: _Chunk, alerts: list[Alert], chosen: dict[int, CorrelationRule | None],
                 rules_by_id: dict[int, CorrelationRule]) -> None:
    """Lock, in (rule, key) order, the open groups the chunk's alerts may join: those of their
    keys and, for observable rules, those sharing an observable with them (best effort, as
    _find_group_sharing_observable); then read their cases' statuses."""
    keys: set[tuple[int, str]] = set()
    sharing_since: dict[int, datetime] = {}
    observed: set[int] = set()
    for alert in alerts:
        rule = chosen[alert.pk]
        if rule is None:
            continue
        keys.add((rule.pk, Observable.digest(correlation_key(rule, alert))))
        if rule.key == CorrelationRule.Key.OBSERVABLE and chunk.observables.get(alert.pk):
            since = alert.received_at - timedelta(minutes=rule.window_minutes)
            sharing_since[rule.pk] = min(since, sharing_since.get(rule.pk, since))
            observed.update(chunk.observables[alert.pk])
    if not keys:
        return
    shared: dict[int, Counter[int]] = {}
    if sharing_since:
        window = Q()
        for rule_id, since in sharing_since.items():
            window |= Q(rule_id=rule_id, last_seen__gte=since)
        links = (AlertGroup.objects.filter(window, is_open=True, alerts__observables__in=sorted(observed))
                 .order_by().values_list("id", "alerts__observables").annotate(n=Count("pk")))
        for group_id, observable_id, n in links:
            shared.setdefault(group_id, Counter())[observable_id] += n
    wanted = Q(any_of("rule_id", {rule_id for rule_id, _ in keys}),
               any_of("key_hash", {key_hash for _, key_hash in keys}))
    if shared:
        wanted |= Q(pk__in=sorted(shared))
    rows = list(AlertGroup.objects.select_for_update(no_key=True, of=("self",)).filter(wanted, is_open=True)
                .order_by("rule_id", "key_hash", "id"))
    for row in rows:
        rule = rules_by_id.get(row.rule_id)
        if rule is None or ((row.rule_id, row.key_hash) not in keys and row.pk not in shared):
            continue
        group = chunk.add_stored(row, rule)
        group.shared.update(shared.get(row.pk, Counter()))
    # After the locks, in a statement of their own (see case_selectors.case_status).
    chunk.statuses = case_selectors.case_statuses(g.case for g in chunk.stored if isinstance(g.case, int))


def _write_chunk(chunk: _Chunk, alerts: list[Alert]) -> None:
    now = timezone.now()
    # 1. The cases opened by the chunk, in the order the per-alert path opens them.
    opened = [a.case for a in chunk.attaches if a.opened and isinstance(a.case, _NewCase)]
    if opened:
        teams = dict(AlertSource.objects.filter(pk__in={c.spec["source_id"] for c in opened})
                     .values_list("pk", "default_team_id"))
        specs = [{**c.spec, "team_id": teams.get(c.spec["source_id"])} for c in opened]
        for case, case_id in zip(opened, case_services.open_cases_bulk(specs), strict=True):
            case.case_id = case_id
    # 2. Groups: stored ones first (a group closed here frees its key), then the new ones.
    changed: list[AlertGroup] = []
    for group in chunk.stored:
        if group.changed and group.row is not None:
            row = group.row
            row.is_open, row.alert_count, row.last_seen = group.is_open, group.alert_count, group.last_seen
            row.case_id = group.case_id
            changed.append(row)
    if changed:
        update_rows(AlertGroup, changed, ["is_open", "alert_count", "last_seen", "case"])
    if chunk.new_groups:
        _insert_groups(chunk.new_groups)
    # 3. The alerts that waited in stored groups for the case opened now.
    waiting_for = {id(a.group): a for a in chunk.attaches if a.opened and a.group.row is not None}
    stored_waiting: dict[int, list[Alert]] = {}
    if waiting_for:
        chunk_ids = [alert.pk for alert in alerts]
        for other in (Alert.objects.filter(group_id__in=[a.group.pk for a in waiting_for.values()],
                                           case__isnull=True).exclude(any_of("pk", chunk_ids))
                      .only("id", "title", "severity", "confidence", "received_at", "group_id")):
            stored_waiting.setdefault(other.group_id or 0, []).append(other)
    extra_ids = [row.pk for rows in stored_waiting.values() for row in rows]
    if extra_ids:
        chunk.observables.update(alert_selectors.observable_ids_by_alert(extra_ids))
    # 4. The cases' side: timeline, severity raises, audit, observables; in per-alert order.
    calls: list[tuple[int, list[dict[str, Any]]]] = []
    signals: dict[int, tuple[bool, list[int]]] = {}
    for attach in chunk.attaches:
        case_id = attach.case.case_id if isinstance(attach.case, _NewCase) else attach.case
        batch = [attach.alert]
        if attach.opened:
            waiting = stored_waiting.get(attach.group.pk, []) + attach.waiting
            waiting.sort(key=lambda a: (a.received_at, a.pk), reverse=True)
            batch = waiting + [attach.alert]
        calls.append((case_id, [attached_alert(a, chunk.observables.get(a.pk, [])) for a in batch]))
        was_opened, ids = signals.get(case_id, (False, []))
        signals[case_id] = (was_opened or attach.opened, ids + [a.pk for a in batch])
    gained = case_services.record_alerts_attached_bulk(calls)
    # 5. The alert rows.
    for alert in alerts:
        joined = chunk.alert_group.get(alert.pk)
        if joined is not None:
            alert.group_id = joined.pk
        in_case = chunk.alert_case.get(alert.pk)
        if in_case is not None:
            alert.case_id = in_case.case_id if isinstance(in_case, _NewCase) else in_case
            alert.status = Alert.Status.IN_CASE
        alert.processing = Alert.Processing.DONE
        alert.processed_at = now
        alert.processing_attempts += 1
        alert.pending_observables = None
    _update_alerts(alerts, [(row.pk, row.group_id or 0) for rows in stored_waiting.values() for row in rows], chunk)
    resolved = [alert.pk for alert in alerts if alert.resolved_at is not None]
    if resolved:
        # Resolved before they were processed (or stored already resolved): settle their groups.
        transaction.on_commit(lambda: dispatch_resolution(resolved))
    if signals:
        cases_alerts_added.send(sender=Alert, cases=[CaseAlerts(case_id, ids, was_opened, case_id in gained)
                                                     for case_id, (was_opened, ids) in signals.items()])


def _insert_groups(groups: list[_Group]) -> None:
    """One INSERT for the groups opened by the chunk. On PostgreSQL their ids are drawn first,
    in opening order (the "oldest group" of an observable rule is the lowest id, as in the
    per-alert path), and the rows go in (rule, key) order: two workers opening the same keys
    wait on the open-group index in the same order (no deadlock); the later one gets an
    IntegrityError and takes its chunk again, joining the groups the first one opened."""
    pairs = [(g, AlertGroup(rule_id=g.rule.pk, key=g.key, key_hash=g.key_hash, is_open=g.is_open,
                            first_seen=g.first_seen, last_seen=g.last_seen, alert_count=g.alert_count,
                            case_id=g.case_id)) for g in groups]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [AlertGroup._meta.db_table, len(pairs)])
            for (_, row), (pk,) in zip(pairs, cursor.fetchall(), strict=True):
                row.pk = pk
        pairs.sort(key=lambda pair: (pair[1].rule_id, pair[1].key_hash, pair[1].pk))
    AlertGroup.objects.bulk_create([row for _, row in pairs])
    for group, row in pairs:
        group.pk = row.pk


def _update_alerts(alerts: list[Alert], waiting: list[tuple[int, int]], chunk: _Chunk) -> None:
    """The chunk's alerts (group, case, status, done) and the stored alerts that waited for a
    case opened now, each set in one statement (soar.bulk.update_rows)."""
    case_of_group = {g.pk: g.case_id for g in chunk.stored + chunk.new_groups}
    update_rows(Alert, alerts, ["group", "case", "status", "processing", "processed_at", "processing_attempts",
                                "pending_observables"])
    update_rows(Alert, [Alert(pk=alert_id, case_id=case_of_group[group_id], status=Alert.Status.IN_CASE)
                        for alert_id, group_id in waiting], ["case", "status"])
