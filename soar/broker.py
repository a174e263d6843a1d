"""Publishing a task without ever raising, for code whose work is stored in the database first
(the alert outbox, enrichment requests, resolutions): a failed publish is logged and reported
as False, and the rows are picked up again by a retry or a sweep.

After a failure the broker is skipped for ``BACKOFF_SECONDS`` by every caller in the process:
during an outage each publish would otherwise wait for a connect timeout, and a broker that is
down for one kind of task is down for all of them."""

from __future__ import annotations

import logging
import time
from typing import Any

logger = logging.getLogger(__name__)
BACKOFF_SECONDS = 5.0
_down_until = 0.0


def publish(task: Any, args: list, *, what: str) -> bool:
    """``task.apply_async(args)`` once (no publish retries); False when it failed now or the
    broker failed within the last BACKOFF_SECONDS. ``what`` names the work in the log."""
    global _down_until
    if time.monotonic() < _down_until:
        logger.info("broker marked down; %s left for a retry", what)
        return False
    try:
        task.apply_async(args=args, retry=False)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure: the stored rows are retried
        _down_until = time.monotonic() + BACKOFF_SECONDS
        logger.warning("could not queue %s (%s); it is retried", what, exc.__class__.__name__)
        return False


def forget_failure() -> None:
    """Try the broker again at the next publish (tests, and a caller that knows it is back)."""
    global _down_until
    _down_until = 0.0
