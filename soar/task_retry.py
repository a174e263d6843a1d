"""Retry policy for worker tasks that are safe to run again: a task that meets a database
outage (PostgreSQL restarting, a connection dropped) is tried again with a short backoff,
instead of failing and waiting for a sweep's grace period (SOAR_SWEEP_AFTER_SECONDS,
SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS: 30 s). bench/faults.py measured 21 s of recovery after a
PostgreSQL restart with the default sweeps before this. The sweeps still cover what the
retries do not (a worker killed, retries exhausted)."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

# 1, 2, 4, 8, 8, ... seconds: about a minute and a half of outage before the sweeps take over.
DATABASE_RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 8,
    "retry_jitter": False,
    "max_retries": 12,
}
