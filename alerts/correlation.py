"""Processing of stored alerts: pick a correlation rule, join or open the alert group for
the alert's key inside the rule's window, and open or extend the group's case.

Concurrency: at most one *open* group per (rule, key) is a database constraint; the group
row is locked (SELECT ... FOR UPDATE) while its case is looked up or created, so concurrent
workers on PostgreSQL converge on one group and one case. SQLite runs writers one at a time
(IMMEDIATE transactions), which gives the same guarantee."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from alerts import attack_mapping
from alerts import selectors as alert_selectors
from alerts import services as alert_services
from alerts.correlation_chunks import process_chunk
from alerts.correlation_rules import (
    LoadedRule,
    attached_alert,
    correlation_key,
    load_rules,
    meets_threshold,
    opened_case_description,
    select_rule,
)
from alerts.models import Alert, AlertGroup, CorrelationRule, Observable
from alerts.normalization import SEVERITY_RANK
from alerts.outbox import dispatch_resolution
from alerts.signals import alerts_processed, case_alerts_added
from cases import selectors as case_selectors
from cases import services as case_services
from soar.errors import Conflict

if TYPE_CHECKING:
    from cases.models import Team

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
CHUNK_ATTEMPTS = 3


class NotQueued(Conflict):
    """None of the alerts chosen is waiting in the queue (any more)."""

    code = "not_queued"


def process_alerts(alert_ids: list[int]) -> None:
    """Process these alerts in chunks of SOAR_CORRELATION_CHUNK (``process_chunk``: a constant
    number of statements per chunk); a chunk that keeps failing is processed alert by alert, so
    that one bad alert cannot take the others down with it."""
    rules = load_rules()
    ids = list(dict.fromkeys(alert_ids))
    size = max(1, settings.SOAR_CORRELATION_CHUNK)
    done: list[int] = []
    for start in range(0, len(ids), size):
        done += _process_chunk_or_each(ids[start:start + size], rules)
    if done:
        alerts_processed.send(sender=Alert, alert_ids=done)


def _process_chunk_or_each(alert_ids: list[int], rules: list[LoadedRule]) -> list[int]:
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            return process_chunk(alert_ids, rules)
        except (OperationalError, IntegrityError) as exc:
            # Deadlock victim, serialization failure, a group opened by another worker meanwhile,
            # SQLite busy: the chunk rolled back whole; take it again.
            logger.info("retrying a chunk of %d alert(s) after %s (attempt %d)", len(alert_ids),
                        exc.__class__.__name__, attempt)
        except Exception:  # noqa: BLE001 - a bug or bad data: find the alert alone, below
            logger.exception("a chunk of %d alert(s) could not be processed; one by one", len(alert_ids))
            break
    return [alert_id for alert_id in alert_ids if process_alert(alert_id, rules)]


def process_alert(alert_id: int, rules: list[LoadedRule] | None = None) -> bool:
    """Process one PENDING alert; safe to call twice (the second call does nothing). An alert
    that cannot be processed is marked FAILED with the error; the sweep retries it later
    (SOAR_FAILED_ALERT_RETRIES), and it never takes the rest of its message down with it."""
    rules = load_rules() if rules is None else rules
    last: Exception
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return _process_once(alert_id, rules)
        except (OperationalError, IntegrityError) as exc:
            # Deadlock victim / serialization failure / SQLite busy: retry the whole unit.
            logger.info("retrying alert %s after %s (attempt %d)", alert_id, exc.__class__.__name__, attempt)
            last = exc
        except Exception as exc:  # noqa: BLE001 - a bug or bad data must not loop through the sweep forever
            logger.exception("alert %s could not be processed", alert_id)
            last = exc
            break
    Alert.objects.filter(pk=alert_id, processing=Alert.Processing.PENDING).update(
        processing=Alert.Processing.FAILED, processing_error=f"{last.__class__.__name__}: {last}"[:2000],
        processing_attempts=F("processing_attempts") + 1, processed_at=timezone.now(),
    )
    return False


def _process_once(alert_id: int, rules: list[LoadedRule]) -> bool:
    opened_case = None
    with transaction.atomic():
        # OF self: without it PostgreSQL also locks the joined source row, and every worker
        # processing that source's alerts would queue behind the others.
        alert = (Alert.objects.select_for_update(of=("self",)).select_related("source")
                 .filter(pk=alert_id, processing=Alert.Processing.PENDING).first())
        if alert is None:
            return False
        if alert.pending_observables is not None:
            # Not linked by process_alerts (called for this alert alone, or another worker
            # held the row): link under this row lock, before the rule reads them.
            alert_services.link_observables([(alert.pk, alert.pending_observables)])
            alert.pending_observables = None
        if alert.attack_ids:
            attack_mapping.link_alert_techniques([(alert.pk, alert.attack_ids)])
        rule = select_rule(alert, rules)
        if rule is not None:
            opened_case = _correlate(alert, rule)
        alert.processing = Alert.Processing.DONE
        alert.processed_at = timezone.now()
        alert.processing_attempts += 1
        alert.save(update_fields=["processing", "processed_at", "processing_attempts", "group", "case", "status",
                                  "pending_observables"])
        if alert.resolved_at is not None:
            # Resolved before it was processed (or stored already resolved): settle its group.
            transaction.on_commit(lambda: dispatch_resolution([alert_id]))
        if opened_case is not None:
            case_id, alert_ids = opened_case
            case_alerts_added.send(sender=Alert, case_id=case_id, alert_ids=alert_ids, opened=True)
        elif alert.case_id is not None:
            case_alerts_added.send(sender=Alert, case_id=alert.case_id, alert_ids=[alert.pk], opened=False)
    return True


def _correlate(alert: Alert, rule: CorrelationRule) -> tuple[int, list[int]] | None:
    """Put the alert in its group (and the group's case); (case id, alert ids) of a case it opened."""
    at = alert.received_at
    group = None
    if rule.key == CorrelationRule.Key.OBSERVABLE:
        group = _find_group_sharing_observable(rule, alert, at)
    if group is None:
        group = _join_or_open_group(rule, correlation_key(rule, alert), at)
    group.alert_count += 1
    group.last_seen = max(group.last_seen, at)
    alert.group = group
    opened = None
    # An alert whose condition was already over when it arrived stays in the queue for review.
    if group.case_id is None and alert.resolved_at is None and meets_threshold(rule, alert):
        case = case_services.open_case(
            title=alert.title, severity=alert.severity, confidence=alert.confidence,
            description=opened_case_description(rule, group.key),
            team=alert.source.default_team, template_id=rule.template_id,
        )
        group.case = case
        # Earlier alerts of the group that waited in the queue belong to this case too.
        waiting = list(Alert.objects.filter(group=group, case__isnull=True).exclude(pk=alert.pk))
        _attach(case.pk, waiting + [alert], saved_by_caller=alert)
        opened = (case.pk, [a.pk for a in waiting] + [alert.pk])
    elif group.case_id is not None:
        _attach(group.case_id, [alert], saved_by_caller=alert)
    group.save(update_fields=["alert_count", "last_seen", "case"])
    return opened


def _attach(case_id: int, alerts: list[Alert], *, actor: User | None = None,
            actor_label: str = case_services.AUTOMATION,
            saved_by_caller: Alert | None = None) -> None:
    """Link alerts to a case and let the cases app write the timeline and raise severity."""
    for item in alerts:
        item.case_id = case_id
        item.status = Alert.Status.IN_CASE
    # The alert being processed is saved by the caller; only the others need an UPDATE here.
    others = [a.pk for a in alerts if a is not saved_by_caller]
    if others:
        Alert.objects.filter(pk__in=others).update(case_id=case_id, status=Alert.Status.IN_CASE)
    observable_ids = alert_selectors.observable_ids_by_alert(a.pk for a in alerts)
    case_services.record_alerts_attached(case_id, [attached_alert(a, observable_ids.get(a.pk, [])) for a in alerts],
                                         actor=actor, actor_label=actor_label)


def _find_group_sharing_observable(rule: CorrelationRule, alert: Alert, at: datetime) -> AlertGroup | None:
    """The oldest active group of this rule holding an alert with any of this alert's observables.
    Unlike entity/fingerprint keys this is best effort under concurrency: two alerts sharing only
    a secondary observable may, if processed at the same instant, open two groups."""
    observable_ids = list(alert.observables.values_list("id", flat=True))
    if not observable_ids:
        return None
    window = timedelta(minutes=rule.window_minutes)
    candidates = (AlertGroup.objects.select_for_update(of=("self",))
                  .filter(rule=rule, is_open=True, last_seen__gte=at - window,
                          alerts__observables__in=observable_ids)
                  .order_by("id"))
    for group in candidates[:5]:
        if group.case_id is None or case_selectors.is_case_open(group.case_id):
            return group
    return None


def _join_or_open_group(rule: CorrelationRule, key: str, at: datetime) -> AlertGroup:
    key_hash = Observable.digest(key)
    window = timedelta(minutes=rule.window_minutes)
    for _ in range(MAX_ATTEMPTS):
        group = (AlertGroup.objects.select_for_update(of=("self",))
                 .filter(rule=rule, key_hash=key_hash, is_open=True).first())
        if group is not None:
            expired = group.last_seen + window < at
            # Decide on the locked row's own state: read its case in a statement of its own,
            # taken after the lock, so a case that the previous lock holder just committed is
            # seen (see case_selectors.case_status). A case id whose status cannot be read is
            # not taken as finished: joining it is safe, closing the group would open a twin.
            status = case_selectors.case_status(group.case_id) if group.case_id is not None else None
            case_done = status is not None and status not in case_selectors.OPEN_CASE_STATUSES
            if not expired and not case_done:
                return group
            group.is_open = False
            group.save(update_fields=["is_open"])
        try:
            with transaction.atomic():
                return AlertGroup.objects.create(
                    rule=rule, key=key[:2100], key_hash=key_hash, first_seen=at, last_seen=at
                )
        except IntegrityError:
            continue  # another worker opened it first; lock and join theirs
    raise OperationalError("could not settle on an alert group")


# --- analyst actions from the alert queue ---------------------------------------------

@transaction.atomic
def promote_alerts(alert_ids: list[int], *, actor: User, team: Team | None = None, title: str = "") -> int:
    """Open a case for queued alerts chosen by an analyst. Returns the case id."""
    alerts = list(Alert.objects.select_for_update().filter(pk__in=alert_ids, case__isnull=True).order_by("id"))
    if not alerts:
        raise NotQueued("None of these alerts is waiting in the queue.")
    top = max(alerts, key=lambda a: SEVERITY_RANK[a.severity])
    case = case_services.open_case(
        title=title or top.title, severity=top.severity, confidence=max(a.confidence for a in alerts),
        team=team, actor=actor, actor_label="",
    )
    _attach(case.pk, alerts, actor=actor, actor_label="")
    ids = [a.pk for a in alerts]
    case_alerts_added.send(sender=Alert, case_id=case.pk, alert_ids=ids, opened=True, promoted=True)
    return case.pk


@transaction.atomic
def attach_alerts(alert_ids: list[int], case_id: int, *, actor: User) -> int:
    alerts = list(Alert.objects.select_for_update().filter(pk__in=alert_ids).exclude(case_id=case_id).order_by("id"))
    _attach(case_id, alerts, actor=actor, actor_label="")
    return len(alerts)
