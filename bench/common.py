"""Shared plumbing for the benchmarks: a PostgreSQL bench database, gunicorn and Celery
subprocesses, peak-memory sampling and the results file."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
BENCH_DB = os.environ.get("BENCH_DB", "soar_bench")
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
QUEUE = os.environ.get("BENCH_QUEUE", "bench")
GUNICORN = ["-w", "4", "-k", "gthread", "--threads", "4", "--timeout", "120", "--backlog", "2048"]


def env(**extra) -> dict:
    values = {**os.environ, "DATABASE_URL": DATABASE_URL, "CELERY_BROKER_URL": BROKER_URL,
              "SOAR_CELERY_QUEUE": QUEUE, "PYTHONPATH": str(ROOT), "SOAR_LOG_LEVEL": "WARNING"}
    values.update({k: str(v) for k, v in extra.items()})
    return values


def reset_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    manage("migrate", "--noinput")
    clean_slate()


def clean_slate() -> None:
    """Start a section without the previous one's backlog: empty the bench broker database and
    mark alerts left pending by ingestion-only sections as handled."""
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    with db() as conn:
        conn.execute("UPDATE alerts_alert SET processing = 'done' WHERE processing = 'pending'")


def manage(*args: str, **extra_env) -> str:
    result = subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env(**extra_env),
                            capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def shell(code: str) -> str:
    return manage("shell", "-c", code).strip().splitlines()[-1]


def create_source(name: str = "bench", kind: str = "generic") -> str:
    return shell(
        "from alerts.models import AlertSource; "
        f"AlertSource.objects.filter(name='{name}').delete(); "
        f"s = AlertSource(name='{name}', kind='{kind}'); t = s.rotate_token(); s.save(); print(t)"
    )


def db() -> psycopg.Connection:
    return psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={BENCH_DB}", autocommit=True)


class Proc:
    def __init__(self, name: str, argv: list[str], extra_env: dict | None = None, health: str | None = None):
        OUT.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log = open(OUT / f"{name}.log", "w")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env(**(extra_env or {})), stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.peak_rss_kb = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()
        if health:
            deadline = time.time() + 60
            while not _ok(health):
                if self.process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"{name} did not start; see {self.log.name}")
                time.sleep(0.2)

    def _sample(self):
        """Peak summed RSS of the process tree (master + workers), sampled every 200 ms."""
        while not self._stop.is_set():
            self.peak_rss_kb = max(self.peak_rss_kb, tree_rss_kb(self.process.pid))
            time.sleep(0.2)

    def stop(self):
        self._stop.set()
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)


def tree_rss_kb(pid: int) -> int:
    try:
        out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)], capture_output=True, text=True)
        return sum(int(x) for x in out.stdout.split())
    except (OSError, ValueError):
        return 0


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def gunicorn(name: str, app: str, port: int, **extra_env) -> Proc:
    argv = [str(BIN / "gunicorn"), app, "-b", f"127.0.0.1:{port}", *GUNICORN]
    return Proc(name, argv, {"SOAR_DB_CONN_MAX_AGE": 600, **extra_env}, health=f"http://127.0.0.1:{port}/healthz")


def celery_worker(name: str = "worker", concurrency: int = 2, settle: float = 3, queues: str | None = None,
                  hostname: str | None = None, **extra_env) -> Proc:
    argv = [str(BIN / "celery"), "-A", "soar", "worker", "-l", "warning", "-c", str(concurrency),
            "-Q", queues or f"{QUEUE},{QUEUE}-sweep,{QUEUE}-bulk",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if hostname:
        argv += ["-n", hostname]
    proc = Proc(name, argv, extra_env)
    time.sleep(settle)
    return proc


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(PG_ADMIN) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, "
            f"PostgreSQL {pg}, {platform.system()} {platform.release()}")
