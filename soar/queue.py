"""Queueing Celery tasks by name, so that the code that queues work never imports the module
that runs it (a ``tasks.py`` imports the services it calls; the services must not import it
back). Every task is looked up in the app's registry by its name.

``publish`` never raises, for code whose work is stored in the database first (the alert
outbox, enrichment requests, resolutions, playbook runs): a failed publish is logged and
reported as False, and the rows are picked up again by a retry or a sweep. After a failure the
broker is skipped for ``BACKOFF_SECONDS`` by every caller in the process: during an outage each
publish would otherwise wait for a connect timeout, and a broker that is down for one kind of
task is down for all of them.

``enqueue_on_commit`` queues after the surrounding transaction commits (the worker must see
the rows it was told about)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from celery import Task
from django.db import transaction

from soar.celery import app

logger = logging.getLogger(__name__)
BACKOFF_SECONDS = 5.0
_down_until = 0.0


def task(name: str) -> Task:
    """The registered task called ``name``. Task modules are imported on first use in processes
    that have not loaded them (a web process, a management command)."""
    try:
        return app.tasks[name]
    except KeyError:
        app.loader.import_default_modules()
        return app.tasks[name]


def publish(name: str, args: Sequence[Any], *, what: str, **options: Any) -> bool:
    """Queue task ``name`` with ``args`` once (no publish retries); False when it failed now or
    the broker failed within the last BACKOFF_SECONDS. ``what`` names the work in the log;
    ``options`` go to ``apply_async`` (``countdown``, ``queue``)."""
    global _down_until
    if time.monotonic() < _down_until:
        logger.info("broker marked down; %s left for a retry", what)
        return False
    try:
        task(name).apply_async(args=tuple(args), retry=False, **options)
        return True
    except Exception as exc:  # noqa: BLE001 - any broker failure: the stored rows are retried
        _down_until = time.monotonic() + BACKOFF_SECONDS
        logger.warning("could not queue %s (%s); it is retried", what, exc.__class__.__name__)
        return False


def enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Queue task ``name`` now; a broker failure raises (for work that is not stored first and
    whose caller reports the failure)."""
    task(name).apply_async(args=args, kwargs=kwargs)


def enqueue_on_commit(name: str, *args: Any, **kwargs: Any) -> None:
    """Queue task ``name`` once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(name, *args, **kwargs))


def forget_failure() -> None:
    """Try the broker again at the next publish (tests, and a caller that knows it is back)."""
    global _down_until
    _down_until = 0.0
