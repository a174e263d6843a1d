"""What a sender's "resolved" notification does beyond the alert row (already marked resolved
by ingestion): the alert's correlation group closes once all its alerts are resolved, and a
case whose alerts are all resolved gets a timeline entry and, where its rule says so
(``CorrelationRule.resolve_cases``), moves to RESOLVED.

Idempotent: running it twice for the same alerts changes nothing the second time. Alerts not
yet processed are skipped here; processing calls this again once they are."""

from __future__ import annotations

import logging

from django.db import transaction

from alerts.models import Alert, AlertGroup
from cases import services as case_services

logger = logging.getLogger(__name__)


def apply_resolution(alert_ids: list[int]) -> None:
    alerts = list(
        Alert.objects.filter(pk__in=alert_ids, resolved_at__isnull=False, processing=Alert.Processing.DONE)
        .values_list("group_id", "case_id")
    )
    for group_id in sorted({group_id for group_id, _ in alerts if group_id}):
        close_group_if_resolved(group_id)
    for case_id in sorted({case_id for _, case_id in alerts if case_id}):
        settle_case_if_resolved(case_id)


@transaction.atomic
def close_group_if_resolved(group_id: int) -> bool:
    """A group whose alerts are all over takes no new alert: the condition's next firing
    starts a new group (and, past the case's end, a new case)."""
    group = AlertGroup.objects.select_for_update().filter(pk=group_id, is_open=True).first()
    if group is None or Alert.objects.filter(group_id=group_id, resolved_at__isnull=True).exists():
        return False
    group.is_open = False
    group.save(update_fields=["is_open"])
    return True


def settle_case_if_resolved(case_id: int) -> None:
    alerts = Alert.objects.filter(case_id=case_id)
    if alerts.filter(resolved_at__isnull=True).exists():
        return
    resolve = AlertGroup.objects.filter(case_id=case_id, rule__resolve_cases=True).exists()
    try:
        case_services.record_alerts_resolved(case_id, alert_count=alerts.count(), resolve=resolve)
    except case_services.CaseError as exc:
        # A merged or already finished case: the timeline entry is the whole effect.
        logger.info("case %s not moved on alert resolution: %s", case_id, exc)
