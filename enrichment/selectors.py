"""Reads for the enrichment app: blocklist, evidence of a case, provider configuration."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from alerts.normalization import NormalizationError, make_observable
from enrichment.models import BlocklistEntry, EnrichmentResult, ProviderConfig

if TYPE_CHECKING:
    from cases.models import Case


def normalize_value(obs_type: str, value: str) -> str:
    """Blocklist and indicator values compare the way observables are stored."""
    try:
        return make_observable(obs_type, value).value
    except NormalizationError:
        return str(value or "").strip()


def active_blocklist_entries(list_name: str, *, now: datetime | None = None) -> QuerySet[BlocklistEntry]:
    now = now or timezone.now()
    return (BlocklistEntry.objects.filter(list_name=list_name)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .order_by("obs_type", "value"))


def blocklist_matches(obs_type: str, value: str, *, now: datetime | None = None) -> QuerySet[BlocklistEntry]:
    now = now or timezone.now()
    return (BlocklistEntry.objects.filter(obs_type=obs_type, value=normalize_value(obs_type, value))
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)))


def is_blocklisted(obs_type: str, value: str) -> bool:
    """True when any list holds an unexpired entry for this observable."""
    return blocklist_matches(obs_type, value).exists()


def provider_config(provider_key: str) -> ProviderConfig | None:
    return ProviderConfig.objects.filter(provider=provider_key).first()


def case_results(case: Case, *, limit: int = 200) -> list[EnrichmentResult]:
    return list(EnrichmentResult.objects.filter(case=case).select_related("observable")
                .order_by("-fetched_at", "-id")[:limit])


def results_for_cases(case_qs: QuerySet[Case]) -> QuerySet[EnrichmentResult]:
    """Evidence restricted to cases the caller may see (pass ``visible_cases(user)``)."""
    return EnrichmentResult.objects.filter(case__in=case_qs).select_related("observable").order_by("-fetched_at", "-id")


def case_has_result(case_id: int, provider_key: str, observable_id: int) -> bool:
    return EnrichmentResult.objects.filter(case_id=case_id, provider=provider_key, observable_id=observable_id,
                                           error="").exists()
