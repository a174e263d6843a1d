"""Celery tasks: thin wrappers over enrichment.services and enrichment.follow_up.

All are safe to run twice (acks_late: a task whose worker died is delivered again): automatic
enrichment skips the (case, provider, observable) pairs already answered on the case, and a
request already done is left alone. ``enrich_case`` with ``force=True`` (an analyst's "run
again") is the exception by design: it stores a fresh answer."""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from enrichment import follow_up, services
from soar.task_retry import DATABASE_RETRY

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def enrich_case(case_id: int, observable_ids: list[int] | None = None, provider_keys: list[str] | None = None,
                force: bool = False, actor_id: int | None = None) -> int:
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        return len(services.enrich_case(case_id, observable_ids=observable_ids, provider_keys=provider_keys,
                                        force=force, actor=actor))
    except services.CaseReadOnly as exc:  # merged after the run was queued: nothing to do, not an error
        logger.info("enrichment of case %s skipped: %s", case_id, exc)
        return 0


@shared_task(acks_late=True)
def enrich_alerts(alert_ids: list[int], queued_only: bool = False) -> int:
    return services.enrich_alerts(alert_ids, queued_only=queued_only)


@shared_task(acks_late=True, **DATABASE_RETRY)
def run_enrichment_request(request_id: int) -> int:
    return follow_up.run_request(request_id)


@shared_task(acks_late=True, **DATABASE_RETRY)
def run_enrichment_requests(request_ids: list[int]) -> int:
    return follow_up.run_requests(request_ids)


@shared_task
def sweep_enrichment_requests() -> int:
    return follow_up.sweep()
