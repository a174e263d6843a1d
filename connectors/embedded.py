"""The embedded mode's scheduler (no broker, no beat): one thread per web process that runs
the due connectors every ``SOAR_CONNECTOR_SWEEP_SECONDS``, the sweep beat runs with a broker
(``connectors.tasks.run_due_connectors``; tasks run in-process, so the runs happen in this
thread). It starts at a request once connectors exist (looked up at most once a minute) or
when one is saved in the admin; a process without connectors never starts it. Two processes
on one database each run it safely: the connector's lease lets one run at a time."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connection

from connectors import selectors, services

logger = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 60.0


def embedded_mode() -> bool:
    return bool(settings.CELERY_TASK_ALWAYS_EAGER) and bool(getattr(settings, "SOAR_CONNECTOR_EMBEDDED_SCHEDULER",
                                                                    True))


class Scheduler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._checked_at = 0.0
        self._stop = threading.Event()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def ensure_started(self) -> bool:
        """Start the thread in this process (idempotent). False outside the embedded mode."""
        if not embedded_mode():
            return False
        with self._lock:
            if not self.running():
                self._pid = os.getpid()
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="soar-pull-connectors", daemon=True)
                self._thread.start()
        return True

    def maybe_start(self) -> None:
        """At a request: start when connectors exist (the look-up at most once a minute)."""
        if self.running() or not embedded_mode():
            return
        now = time.monotonic()
        if now - self._checked_at < CHECK_EVERY_SECONDS:
            return
        self._checked_at = now
        try:
            wanted = selectors.any_enabled()
        except Exception:  # noqa: BLE001 - a request must never fail for the scheduler (table missing, no database)
            return
        if wanted:
            self.ensure_started()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def tick(self) -> int:
        try:
            return services.run_due_connectors()
        except Exception:  # noqa: BLE001 - the thread must survive a database hiccup
            logger.exception("embedded pull-connector sweep failed")
            return 0
        finally:
            # Not a request: give the database connection back (SQLite locks).
            connection.close()

    def _run(self) -> None:
        interval = float(getattr(settings, "SOAR_CONNECTOR_SWEEP_SECONDS", 10.0))
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(interval)


scheduler = Scheduler()


def on_request_started(**kwargs: Any) -> None:
    scheduler.maybe_start()
