"""gunicorn settings for the web tier: prometheus_client's multiprocess mode.

Each gunicorn worker is its own process with its own counters (alerts.ingest_metrics,
django-prometheus); /metrics is answered by one of them. In multiprocess mode every worker
writes its values to files in PROMETHEUS_MULTIPROC_DIR and /metrics sums the files of all
workers, those that have exited included, so counters never go down while the master runs.

- PROMETHEUS_MULTIPROC_DIR set: that directory, emptied when the master starts (files of an
  earlier run would be added in). Give each gunicorn master its own directory.
- unset: a private temporary directory, removed when the master exits. Only the master's
  children see it, so `manage.py` or Celery processes started next to it stay in ordinary
  single-process mode.

Usage: gunicorn -c deploy/gunicorn.conf.py soar.wsgi:application -b ... -w 4
(command-line options override anything set here)."""

import os
import shutil
import tempfile
from pathlib import Path

# Read by prometheus_client when a worker first imports it (after the fork), so it must be in
# the environment before any worker starts. A reload (HUP) runs this file again: the variable
# is then already set and the directory is kept.
_OWNED = "SOAR_GUNICORN_OWNS_PROMETHEUS_DIR"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="soar-prometheus-")
    os.environ[_OWNED] = "1"


def on_starting(server):
    """Master, before any worker: start from an empty directory."""
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.is_file() and entry.suffix == ".db":
            entry.unlink()
    server.log.info("prometheus multiprocess mode in %s", path)


def child_exit(server, worker):
    """Master, after a worker exited: drop its live gauges (its counters stay in the sum)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if os.environ.get(_OWNED):
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
