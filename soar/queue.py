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
the rows it was told about).

Follow-up work in the embedded mode (no broker: tasks run in process, when published): the
thread that processes webhook alerts (alerts.outbox, SOAR_EMBEDDED_PROCESSING=background) runs
inside ``follow_ups_in_background()``; the follow-ups published there with ``follow_up=True``
(or handed to ``run_follow_up``) run one after the other in a thread of their own instead,
so that the cases of a 500-alert group exist without waiting for 500 enrichments. They are
durable rows first (enrichment requests, playbook trigger records), so a process that dies
with some still waiting loses nothing: the apps' sweeps pick them up."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from celery import Task
from django.db import connection, transaction

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


def publish(name: str, args: Sequence[Any], *, what: str, follow_up: bool = False, **options: Any) -> bool:
    """Queue task ``name`` with ``args`` once (no publish retries); False when it failed now or
    the broker failed within the last BACKOFF_SECONDS. ``what`` names the work in the log;
    ``options`` go to ``apply_async`` (``countdown``, ``queue``). ``follow_up``: durable
    follow-up work, run by the background follow-up thread in the embedded mode when published
    inside ``follow_ups_in_background()``."""
    global _down_until
    if follow_up and _deferring():
        return run_follow_up(lambda: publish(name, args, what=what, **options), what=what)
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


# --- the embedded mode's follow-up thread ------------------------------------------------

_local = threading.local()


def _deferring() -> bool:
    return bool(getattr(_local, "defer", False)) and bool(app.conf.task_always_eager)


@contextmanager
def follow_ups_in_background() -> Iterator[None]:
    """While active in this thread (the embedded mode's processing thread), follow-ups run in
    the background follow-up thread, in the order they were handed over."""
    before = getattr(_local, "defer", False)
    _local.defer = True
    try:
        yield
    finally:
        _local.defer = before


class FollowUps:
    """One thread per process that runs the follow-ups handed to it, in order. A follow-up
    that fails is logged (its durable row stays open for the app's sweep)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: deque[tuple[Callable[[], object], str]] = deque()
        self._wakeup = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, function: Callable[[], object], what: str) -> None:
        with self._lock:
            self._work.append((function, what))
            self._idle.clear()
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="soar-follow-ups", daemon=True)
                self._thread.start()
        self._wakeup.set()

    def _run(self) -> None:
        while True:
            self._wakeup.wait()
            self._wakeup.clear()
            self.drain()

    def drain(self) -> None:
        """Run everything handed over so far (the thread's loop; also called at exit)."""
        try:
            while True:
                with self._lock:
                    if not self._work:
                        self._idle.set()
                        return
                    function, what = self._work.popleft()
                try:
                    function()
                except Exception:  # noqa: BLE001 - the thread must survive; the sweeps have the rows
                    logger.exception("follow-up %s failed; left to the sweep", what)
        finally:
            # Not a request: give the database connection back (SQLite locks).
            if threading.current_thread() is self._thread:
                connection.close()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """For tests, benchmarks and shutdown: True once every follow-up handed over has run."""
        return self._idle.wait(timeout)


follow_ups = FollowUps()
atexit.register(follow_ups.drain)


def run_follow_up(function: Callable[[], object], *, what: str) -> bool:
    """Run ``function`` now, or in the background follow-up thread inside
    ``follow_ups_in_background()`` in the embedded mode. Returns True (a failure now raises)."""
    if _deferring():
        follow_ups.submit(function, what)
        return True
    function()
    return True
