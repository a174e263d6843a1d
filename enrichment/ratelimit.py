"""Per-provider token bucket shared by every process through a locked database row
(SELECT ... FOR UPDATE on PostgreSQL; SQLite serializes writers anyway)."""

from __future__ import annotations

import time

from django.db import IntegrityError, transaction
from django.utils import timezone

from enrichment.models import RateLimitBucket


@transaction.atomic
def take_token(provider_key: str, per_minute: int) -> float:
    """Take one token; returns 0 on success, else the seconds until one is available."""
    now = timezone.now()
    bucket = RateLimitBucket.objects.select_for_update().filter(provider=provider_key).first()
    if bucket is None:
        try:
            with transaction.atomic():
                RateLimitBucket.objects.create(provider=provider_key, tokens=per_minute - 1, updated_at=now)
            return 0.0
        except IntegrityError:
            bucket = RateLimitBucket.objects.select_for_update().get(provider=provider_key)
    rate = per_minute / 60.0
    elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
    tokens = min(float(per_minute), bucket.tokens + elapsed * rate)
    wait = 0.0
    if tokens >= 1:
        tokens -= 1
    else:
        wait = (1 - tokens) / rate
    RateLimitBucket.objects.filter(pk=bucket.pk).update(tokens=tokens, updated_at=now)
    return wait


def acquire(provider_key: str, per_minute: int, *, max_wait: float, sleep=time.sleep) -> bool:
    """Wait (at most ``max_wait`` seconds in total) for a token. False means over the limit."""
    if not per_minute:
        return True
    deadline = time.monotonic() + max_wait
    while True:
        wait = take_token(provider_key, per_minute)
        if wait <= 0:
            return True
        if time.monotonic() + wait > deadline:
            return False
        sleep(wait)
