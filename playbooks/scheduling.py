"""Handing runs to the Celery workers. Queueing happens after the surrounding transaction
commits (the worker must see the rows) and never raises: a run the broker did not take
stays queued with its lease, and the stale-run sweep queues it again."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction

from soar import queue

logger = logging.getLogger(__name__)
EAGER_MAX_SLEEP = 5.0


def queue_run(run_id: int, countdown: float = 0) -> None:
    transaction.on_commit(lambda: dispatch(run_id, countdown))


def dispatch(run_id: int, countdown: float = 0) -> bool:
    if settings.CELERY_TASK_ALWAYS_EAGER and countdown:
        time.sleep(min(countdown, EAGER_MAX_SLEEP))  # eager mode ignores countdown; keep the backoff real
    return queue.publish("playbooks.tasks.execute_run", [run_id], what=f"playbook run {run_id}",
                         countdown=countdown or None)
