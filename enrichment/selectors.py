"""Reads for the enrichment app: blocklist, evidence of a case, provider configuration."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from alerts.normalization import NormalizationError, make_observable
from enrichment.models import BlocklistEntry, EnrichmentResult, ProviderConfig
from soar.bulk import any_of

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


def cases_with_unanswered_failures(case_ids: Iterable[int]) -> set[int]:
    """Those of these cases where a provider failed on an observable and has not answered it
    since (an automatic enrichment would look it up again). One query."""
    answered = EnrichmentResult.objects.filter(case_id=OuterRef("case_id"), provider=OuterRef("provider"),
                                               observable_id=OuterRef("observable_id"), error="")
    failed = (EnrichmentResult.objects.filter(any_of("case_id", case_ids)).exclude(error="")
              .filter(~Exists(answered)))
    return set(failed.values_list("case_id", flat=True).distinct())


def case_answered_pairs(case_id: int, observable_ids: Iterable[int]) -> set[tuple[str, int]]:
    """(provider key, observable id) of the lookups answered (without an error) on the case for
    these observables. One query."""
    answered = EnrichmentResult.objects.filter(any_of("observable_id", observable_ids), case_id=case_id, error="")
    return set(answered.values_list("provider", "observable_id").distinct())


# --- for the case page's observable table (evidence app) ---

VERDICT_STRENGTH = {"malicious": 3, "suspicious": 2, "benign": 1, "unknown": 0}


def case_observable_verdicts(case_id: int) -> dict[int, str]:
    """{observable id: the strongest verdict of its enrichment results in the case} (provider
    errors left out; observables without a result absent). One query."""
    verdicts: dict[int, str] = {}
    rows = (EnrichmentResult.objects.filter(case_id=case_id, error="").order_by()
            .values_list("observable_id", "verdict").distinct())
    for observable_id, verdict in rows:
        if VERDICT_STRENGTH.get(verdict, 0) >= VERDICT_STRENGTH.get(verdicts.get(observable_id, ""), -1):
            verdicts[observable_id] = verdict
    return verdicts


def blocklisted_pairs(pairs: list[tuple[str, str]], *, now: datetime | None = None) -> set[tuple[str, str]]:
    """Those (type, stored value) pairs with an unexpired entry on any blocklist. One query."""
    if not pairs:
        return set()
    now = now or timezone.now()
    rows = (BlocklistEntry.objects.filter(value__in={value for _, value in pairs})
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).values_list("obs_type", "value"))
    return set(rows) & set(pairs)
