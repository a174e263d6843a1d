"""Durable playbook triggers for alerts put in cases (see models.PendingTrigger).

The trigger evaluation used to run from the after-commit signals; a database that dropped
just then, or a process that died, lost it (the case never got its playbooks). Now the record
commits with the case; ``evaluate`` runs after the commit and ``sweep`` (beat) evaluates the
records still open ``SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS`` after their last attempt, at most
``SOAR_FOLLOW_UP_MAX_ATTEMPTS`` times. Each record is evaluated under its row lock, in the
transaction that creates its runs and marks it done: never twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from playbooks.models import PendingTrigger, Playbook
from playbooks.services import triggers
from soar import queue

logger = logging.getLogger(__name__)
SWEEP_LIMIT = 500
KEEP_DONE_DAYS = 7
ON_OPEN = ("case_created", "severity_at_least", "observable_type_present", "alert_ingested")
ON_JOIN = ("observable_type_present", "alert_ingested")


def record(case_id: int, alert_ids: list[int], *, opened: bool) -> PendingTrigger | None:
    """Inside the caller's transaction; evaluated after the commit. Nothing is written when no
    enabled playbook has a trigger these alerts could fire."""
    created = record_many([(case_id, alert_ids, opened)])
    return created[0] if created else None


def _kinds(alert_ids: list[int], opened: bool) -> set[str]:
    kinds = set(ON_OPEN if opened else ON_JOIN)
    if not alert_ids:
        kinds.discard("alert_ingested")
    return kinds


def record_many(cases: list[tuple[int, list[int], bool]]) -> list[PendingTrigger]:
    """``record`` for many cases ((case id, alert ids, opened)) at once: one look-up of the
    enabled triggers, one INSERT; each record is evaluated after the commit (in the order
    given), in the embedded mode's follow-up thread when processing runs in the background
    (soar.queue.run_follow_up)."""
    if not cases:
        return []
    enabled = set(Playbook.objects.filter(enabled=True).values_list("trigger_type", flat=True).distinct())
    if not enabled:
        return []
    now = timezone.now()
    rows = [PendingTrigger(case_id=case_id, alert_ids=list(alert_ids or []), case_opened=opened, queued_at=now,
                           attempts=1)
            for case_id, alert_ids, opened in cases if _kinds(alert_ids, opened) & enabled]
    if not rows:
        return []
    created = PendingTrigger.objects.bulk_create(rows)
    ids = [pending.pk for pending in created]
    transaction.on_commit(lambda: queue.run_follow_up(lambda: _evaluate_each(ids),
                                                      what=f"playbook triggers of {len(ids)} case(s)"))
    return created


def _evaluate_each(pending_ids: list[int]) -> None:
    for pending_id in pending_ids:
        _safely_evaluate(pending_id)


def _safely_evaluate(pending_id: int) -> None:
    try:
        evaluate(pending_id)
    except Exception:  # noqa: BLE001 - never breaks the caller; the sweep tries again
        logger.exception("playbook triggers of record %s failed; the sweep will retry", pending_id)


def evaluate(pending_id: int) -> bool:
    """Start the runs the record's alerts trigger and mark it done, in one transaction. False
    when it is done already or another process is evaluating it."""
    with transaction.atomic():
        pending = (PendingTrigger.objects.select_for_update(skip_locked=True)
                   .filter(pk=pending_id, done_at__isnull=True).first())
        if pending is None:
            return False
        if pending.case_opened:
            triggers.case_created(pending.case_id)
        if pending.alert_ids:
            triggers.alerts_processed(pending.alert_ids)
        pending.done_at = timezone.now()
        pending.save(update_fields=["done_at"])
    return True


def sweep(now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Evaluate the open records last tried more than the grace period ago. Returns how many
    were evaluated."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS)
    due = PendingTrigger.objects.filter(done_at__isnull=True, queued_at__lte=cutoff,
                                        attempts__lt=settings.SOAR_FOLLOW_UP_MAX_ATTEMPTS)
    evaluated = 0
    for pending_id in list(due.order_by("queued_at").values_list("id", flat=True)[:limit]):
        if not due.filter(pk=pending_id).update(queued_at=now, attempts=F("attempts") + 1):
            continue  # another sweep took it
        try:
            evaluated += evaluate(pending_id)
        except Exception:  # noqa: BLE001 - one bad record must not stop the others
            logger.exception("playbook triggers of record %s failed (sweep)", pending_id)
    if evaluated:
        logger.warning("evaluated %d playbook trigger record(s) left open", evaluated)
    old = list(PendingTrigger.objects.filter(done_at__lt=now - timedelta(days=KEEP_DONE_DAYS))
               .values_list("id", flat=True)[:limit])
    if old:
        PendingTrigger.objects.filter(pk__in=old).delete()
    return evaluated
