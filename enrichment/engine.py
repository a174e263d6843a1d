"""One provider on one observable: cache, rate limit, isolation. Never raises: a failure
becomes an ``Outcome`` with ``error`` set, so one bad provider cannot block the others."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from enrichment import ratelimit
from enrichment.models import CachedLookup, Verdict
from enrichment.providers.base import LookupResult, Provider
from enrichment.providers.errors import ProviderError

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    verdict: str = Verdict.UNKNOWN
    score: int = 0
    summary: str = ""
    raw: Any = field(default_factory=dict)
    error: str = ""
    matched: bool = False
    from_cache: bool = False
    fetched_at: Any = None


def cached(provider: Provider, observable) -> Outcome | None:
    if not (provider.cacheable and provider.config.cache_ttl_seconds):
        return None
    hit = CachedLookup.objects.filter(provider=provider.key, observable=observable,
                                      expires_at__gt=timezone.now()).first()
    if hit is None:
        return None
    matched = bool((hit.raw or {}).get("_matched", True)) if isinstance(hit.raw, dict) else True
    raw = {k: v for k, v in hit.raw.items() if k != "_matched"} if isinstance(hit.raw, dict) else hit.raw
    return Outcome(hit.verdict, hit.score, hit.summary, raw, matched=matched, from_cache=True,
                   fetched_at=hit.fetched_at)


def store_in_cache(provider: Provider, observable, result: LookupResult, fetched_at) -> None:
    ttl = provider.config.cache_ttl_seconds
    if not (provider.cacheable and ttl):
        return
    raw = {**result.raw, "_matched": result.matched} if isinstance(result.raw, dict) else result.raw
    CachedLookup.objects.update_or_create(
        provider=provider.key, observable=observable,
        defaults={"verdict": result.verdict, "score": result.score, "summary": result.summary, "raw": raw,
                  "fetched_at": fetched_at, "expires_at": fetched_at + timedelta(seconds=ttl)},
    )


def has_fresh_cache(provider: Provider, observable) -> bool:
    return cached(provider, observable) is not None


def run_lookup(provider: Provider, observable, *, use_cache: bool = True) -> Outcome:
    if use_cache:
        hit = cached(provider, observable)
        if hit is not None:
            return hit
    now = timezone.now()
    if provider.requires_network:
        allowed = ratelimit.acquire(provider.key, provider.config.rate_limit_per_minute,
                                    max_wait=settings.SOAR_ENRICHMENT_MAX_RATE_WAIT_SECONDS)
        if not allowed:
            return Outcome(error=f"{provider.name}: local rate limit of {provider.config.rate_limit_per_minute}"
                                 "/min reached; run enrichment again later.", fetched_at=now)
    try:
        result = provider.lookup(observable.type, observable.value)
    except ProviderError as exc:
        return Outcome(error=str(exc)[:2000], fetched_at=timezone.now())
    except Exception as exc:  # noqa: BLE001 - isolation: a provider bug must not stop the others
        logger.exception("enrichment provider %s failed on observable %s", provider.key, observable.pk)
        return Outcome(error=f"{provider.name}: internal error ({exc.__class__.__name__}).", fetched_at=timezone.now())
    fetched_at = timezone.now()
    try:
        store_in_cache(provider, observable, result, fetched_at)
    except Exception:  # noqa: BLE001 - a cache write failure only costs a later re-fetch
        logger.warning("could not cache %s result for observable %s", provider.key, observable.pk)
    return Outcome(result.verdict, result.score, result.summary, result.raw, matched=result.matched,
                   fetched_at=fetched_at)
