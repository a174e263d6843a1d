"""The Django cache, failing open. Everything the app keeps in the cache (log-in and token
throttle counters, report summaries) is an optimisation or a rate limit, never the source of
truth: when the cache server (SOAR_CACHE_URL, Redis) is down, a read is a miss and a write is
dropped, with a warning in the log, so log-in and the reports keep answering instead of a 500.
Authentication itself never goes through here: a password is always checked against the
database, so a dead cache can only make throttling forget, never let a wrong password in.

Every use of the cache in the project goes through these functions (not ``django.core.cache``)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger(__name__)

# After a failure the cache is skipped for this long: a cache server that is down (or a host
# that drops packets, where every call would wait for the socket timeout) costs one failed
# call per process every few seconds, not one per cache operation.
RETRY_AFTER_SECONDS = 5.0
_down_until = 0.0


def _available() -> bool:
    return time.monotonic() >= _down_until


def _failed(operation: str, exc: Exception) -> None:
    global _down_until
    _down_until = time.monotonic() + RETRY_AFTER_SECONDS
    logger.warning("cache unavailable (%s: %s: %s); going on without it for %ss",
                   operation, type(exc).__name__, exc, RETRY_AFTER_SECONDS)


@receiver(setting_changed, dispatch_uid="soar.safe_cache.reset")
def _reset(setting: str, **kwargs: Any) -> None:
    # Tests swap CACHES: a new backend starts out available.
    global _down_until
    if setting == "CACHES":
        _down_until = 0.0


# The backends raise their client library's own errors (redis.ConnectionError, TimeoutError,
# OSError...), which have no common base beyond Exception; a cache error of any kind is a miss.
def get(key: str, default: Any = None) -> Any:
    if not _available():
        return default
    try:
        return cache.get(key, default)
    except Exception as exc:  # noqa: BLE001 - see above
        _failed("get", exc)
        return default


def set(key: str, value: Any, timeout: float | None) -> None:  # noqa: A001 - mirrors the cache API
    if not _available():
        return
    try:
        cache.set(key, value, timeout)
    except Exception as exc:  # noqa: BLE001
        _failed("set", exc)


def add(key: str, value: Any, timeout: float | None) -> bool:
    if not _available():
        return False
    try:
        return cache.add(key, value, timeout)
    except Exception as exc:  # noqa: BLE001
        _failed("add", exc)
        return False


def incr(key: str, timeout: float | None) -> int:
    """Adds one to the counter ``key`` (created at 1 with ``timeout`` if missing) and returns it;
    0 when the cache is unavailable (a counter nobody can read)."""
    if not _available():
        return 0
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, timeout=timeout)
            return 1
    except Exception as exc:  # noqa: BLE001
        _failed("incr", exc)
        return 0


def touch(key: str, timeout: float | None) -> None:
    if not _available():
        return
    try:
        cache.touch(key, timeout)
    except Exception as exc:  # noqa: BLE001
        _failed("touch", exc)


def delete(*keys: str) -> None:
    if not _available():
        return
    try:
        for key in keys:
            cache.delete(key)
    except Exception as exc:  # noqa: BLE001
        _failed("delete", exc)
