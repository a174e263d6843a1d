"""Starting runs (triggered, manual, dry) and the sweep that resumes runs whose worker died."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases.services import add_case_event, record_audit
from cases.vocabulary import EventKind
from playbooks import scheduling
from playbooks.dryrun import simulate
from playbooks.models import Playbook, PlaybookRun
from soar import errors

if TYPE_CHECKING:
    from cases.models import Case

logger = logging.getLogger(__name__)
SWEEP_LIMIT = 500


class RunRefused(errors.InvalidInput):
    """A run that may not start (disabled playbook, merged case); message for the user."""

    code = "run_refused"


def start_run(playbook: Playbook, case: Case, *, trigger: str, trigger_data: dict | None = None,
              started_by: User | None = None,
              dry_run: bool = False) -> PlaybookRun:
    """Record a run of the playbook's current version and hand it to a worker (a dry run is
    simulated at once, in this process: it only reads)."""
    if not dry_run and not playbook.enabled:
        raise RunRefused(f"Playbook '{playbook.name}' is disabled; only a dry run is possible.", field="playbook")
    if not dry_run and case.merged_into_id:
        raise RunRefused(f"Case #{case.pk} was merged into case #{case.merged_into_id}; run it there.",
                         field="playbook")
    now = timezone.now()
    who = getattr(started_by, "username", "") or ""
    with transaction.atomic():
        run = PlaybookRun.objects.create(
            playbook=playbook, playbook_name=playbook.name, version=playbook.version, definition=playbook.definition,
            case=case, trigger=trigger, trigger_data=trigger_data or {}, dry_run=dry_run,
            started_by=started_by if getattr(started_by, "pk", None) else None, heartbeat_at=now,
        )
        record_audit("playbook.dry_run" if dry_run else "playbook.run", run, actor=started_by,
                     actor_label=who or "automation",
                     after={"playbook": playbook.name, "version": playbook.version, "case": case.pk,
                            "trigger": trigger})
        if not dry_run:
            message = f"Playbook '{playbook.name}' v{playbook.version} queued (trigger: {trigger}"
            message += f", by {who})" if who else ")"
            add_case_event(case, EventKind.PLAYBOOK, message, actor=started_by,
                           actor_label=f"playbook:{playbook.name}"[:150],
                           data={"run_id": run.pk, "trigger": trigger, "version": playbook.version})
            scheduling.queue_run(run.pk)
    if dry_run:
        simulate(run)
    return run


def resume_stale_runs(now: datetime | None = None) -> list[int]:
    """Re-queue runs whose lease expired: queued runs the broker lost, steps whose worker was
    killed, retries whose message vanished. Each run at most once per heartbeat timeout."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SOAR_PLAYBOOK_HEARTBEAT_TIMEOUT_SECONDS)
    stale = (PlaybookRun.objects
             .filter(status__in=[PlaybookRun.Status.QUEUED, PlaybookRun.Status.RUNNING], dry_run=False)
             .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
             .filter(Q(requeued_at__isnull=True) | Q(requeued_at__lt=cutoff))
             .order_by("heartbeat_at").values_list("id", flat=True)[:SWEEP_LIMIT])
    queued = []
    for run_id in list(stale):
        if PlaybookRun.objects.filter(pk=run_id).filter(Q(requeued_at__isnull=True) | Q(requeued_at__lt=cutoff)) \
                .update(requeued_at=now):
            if scheduling.dispatch(run_id):
                queued.append(run_id)
    if queued:
        logger.info("re-queued %d stale playbook run(s): %s", len(queued), queued[:20])
    return queued
