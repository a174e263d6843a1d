"""The embedded mode's beat (no broker, tasks in-process): Celery's beat service, as
``celery worker --beat`` embeds it, in a thread of the web process, with the scheduler a real
beat uses (CELERY_BEAT_SCHEDULER: django-celery-beat's database scheduler). Tasks are eager
there, so each due task runs in that thread: the sweeps of unprocessed alerts and of enrichment
and playbook follow-ups, the retention purge, the report roll-ups, the pull connectors and the
report schedules an admin adds. Without it, `make run` retried no failed lookup, purged
nothing and sent no scheduled report.

One process per data directory runs it: the first to lock ``SOAR_VAR_DIR/embedded-beat.lock``
(``flock``, released by the kernel when the process dies), so two web processes on one SQLite
file do not each send the same report. It starts with the web application (soar/wsgi.py), never
in a management command or a Celery worker; tests start their own."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import IO, Any, cast

from celery import Celery
from celery.beat import Service
from django import db
from django.conf import settings
from kombu.utils.imports import symbol_by_name

from soar.celery import app

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5.0


class EmbeddedBeat:
    def __init__(self, lock_path: Path | None = None, retry_after_seconds: float = RETRY_AFTER_SECONDS) -> None:
        self._lock_path = lock_path
        self._retry_after = retry_after_seconds
        self._mutex = threading.Lock()
        self._lock_file: IO[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._service: Service | None = None
        self._stop = threading.Event()
        self._pid = 0

    def enabled(self) -> bool:
        return bool(settings.CELERY_TASK_ALWAYS_EAGER) and bool(settings.SOAR_EMBEDDED_BEAT)

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def start(self) -> bool:
        """Start the beat thread in this process, unless another process of this data
        directory runs it. True when this process runs it (idempotent)."""
        if not self.enabled():
            return False
        with self._mutex:
            if self.running():
                return True
            if not self._take_lock():
                logger.info("embedded beat: another process runs it (%s)", self._path())
                return False
            self._pid = os.getpid()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="soar-embedded-beat", daemon=True)
            self._thread.start()
            return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (after the task it runs, if any) and let another process take over."""
        with self._mutex:
            # Under the mutex: the thread creates each beat under it too, so it either sees the
            # stop or has its beat stopped here.
            self._stop.set()
            thread = self._thread
            if self._service is not None:
                self._service.stop()
        if thread is not None:
            thread.join(timeout)
        with self._mutex:
            self._thread = self._service = None
            if self._lock_file is not None:
                self._lock_file.close()  # releases the flock
                self._lock_file = None

    def _run(self) -> None:
        # Celery's beat loop ends at the first exception (a database error in the scheduler, the
        # tables not migrated yet): here the thread logs it and starts a new beat a moment later,
        # instead of every sweep stopping silently.
        logger.info("embedded beat started: scheduled tasks run in this process")
        # Lines per due task every few seconds ("sending", "succeeded") would bury the web
        # process's own log (beat and workers log them to logs of their own); errors still show.
        for name in ("celery.beat", "celery.app.trace"):
            if not logging.getLogger(name).level:
                logging.getLogger(name).setLevel(logging.WARNING)
        while not self._stop.is_set():
            try:
                # Register every task module, as `celery beat` does at start-up: beat sends a task
                # it does not know to the broker, which in the embedded mode is memory:// (lost).
                app.loader.import_default_modules()
            except Exception:  # noqa: BLE001 - logged; tried again below
                logger.exception("embedded beat: the task modules did not load; trying again")
                self._stop.wait(self._retry_after)
                continue
            # max_interval 1 s: the loop sleeps at most that long, so stop() is prompt.
            # The configured scheduler, as `celery beat` passes it (Service alone would take
            # Celery's file-based default, blind to the schedules added in the admin).
            with self._mutex:
                if self._stop.is_set():
                    break
                service = self._service = Service(cast("Celery[Any]", app), max_interval=1,
                                                  scheduler_cls=symbol_by_name(settings.CELERY_BEAT_SCHEDULER))
            try:
                service.start()
            except Exception:  # noqa: BLE001 - the thread must survive; the next beat tries again
                logger.exception("embedded beat failed; starting again in %.0f s", self._retry_after)
                self._stop.wait(self._retry_after)
            finally:
                # Not a request: give the connection back (SQLite locks; a broken PostgreSQL one).
                db.connection.close()

    def _path(self) -> Path:
        return self._lock_path or Path(settings.VAR_DIR) / "embedded-beat.lock"

    def _take_lock(self) -> bool:
        if self._lock_file is not None and self._pid == os.getpid():
            return True
        path = self._path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True


beat = EmbeddedBeat()
