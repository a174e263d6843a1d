"""Celery tasks: thin wrappers over enrichment.services."""

from celery import shared_task
from django.contrib.auth import get_user_model

from enrichment import services


@shared_task(acks_late=True)
def enrich_case(case_id: int, observable_ids: list[int] | None = None, provider_keys: list[str] | None = None,
                force: bool = False, actor_id: int | None = None) -> int:
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return len(services.enrich_case(case_id, observable_ids=observable_ids, provider_keys=provider_keys,
                                    force=force, actor=actor))


@shared_task(acks_late=True)
def enrich_alerts(alert_ids: list[int]) -> int:
    return services.enrich_alerts(alert_ids)
