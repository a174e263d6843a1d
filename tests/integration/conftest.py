"""Real services for integration tests: PostgreSQL (the pytest-django test database),
Redis, `celery worker` / `celery beat` / gunicorn subprocesses pointed at that database.

Tests that let a subprocess see their rows must commit them:
``@pytest.mark.django_db(transaction=True)``.

Every test owns its Celery queues (``celery_queues``: a main and a sweep queue named for that
test alone), and this process publishes to them for the test's duration: a worker started by
the test (``service_factory``, ``celery_worker``) consumes them and nothing else, and no other
worker can take the test's messages. Every service a test starts is stopped at the end of that
test, failed or not, before the database is flushed; then the test's queues are purged."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.integration.browser import browser  # noqa: F401 - the shared Chromium fixture
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True, scope="session")
def _require_real_services():
    if not settings.IS_POSTGRES or settings.CELERY_TASK_ALWAYS_EAGER:
        message = "integration tests need DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis); run `make test`"
        if os.environ.get("SOAR_REQUIRE_INTEGRATION"):
            pytest.fail(message)
        pytest.skip(message)


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.1, message: str = "condition"):
    """Poll ``predicate`` until truthy; returns its value or fails the test with ``message``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@dataclass(frozen=True)
class Queues:
    """A test's own Celery queues: ``main`` (SOAR_CELERY_QUEUE) and ``sweep`` (SOAR_CELERY_SWEEP_QUEUE),
    and the bulk queue, which the settings name after the main one (``<main>-bulk``)."""

    main: str
    sweep: str

    @property
    def bulk(self) -> str:
        return f"{self.main}-bulk"

    @classmethod
    def new(cls, label: str = "t") -> Queues:
        main = f"{SESSION_QUEUES.main}-{label}-{uuid.uuid4().hex[:10]}"
        return cls(main, f"{main}-sweep")

    def env(self) -> dict:
        return {"SOAR_CELERY_QUEUE": self.main, "SOAR_CELERY_SWEEP_QUEUE": self.sweep}


# `make test` runs the tests in two pytest-xdist processes (PYTEST_XDIST_WORKER gw0, gw1). Each
# has its own queue names and service logs: a process that purges its run's queues at the end,
# or waits for a worker's "ready." line, never touches or reads the other's.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_RUN_SUFFIX = f"-{XDIST_WORKER}" if XDIST_WORKER else ""

# The run's queues from the settings (SOAR_CELERY_QUEUE, set per run by `make test`), one pair per
# xdist process: between tests this process publishes there, and no worker ever consumes them.
# Every test's own queues are named after them (Queues.new), so a purge by prefix stays inside
# this process's queues.
SESSION_QUEUES = Queues(f"{settings.CELERY_TASK_DEFAULT_QUEUE}{_RUN_SUFFIX}",
                        f"{settings.CELERY_TASK_DEFAULT_QUEUE}{_RUN_SUFFIX}-sweep")


def publish_to(queues: Queues) -> None:
    """Point this process's Celery publisher at ``queues``: the default queue, the task routes
    of the sweep tasks (settings.SOAR_SWEEP_TASKS) and the declared queues, as the settings
    would have made them with SOAR_CELERY_QUEUE/SOAR_CELERY_SWEEP_QUEUE set to these names.
    The app caches its router and queue declarations: they are rebuilt at the next publish."""
    from kombu import Queue

    from soar.celery import app

    app.conf.task_default_queue = queues.main
    app.conf.task_queues = (Queue(queues.main), Queue(queues.sweep), Queue(queues.bulk))
    app.conf.task_routes = {name: {"queue": queues.sweep} for name in settings.SOAR_SWEEP_TASKS}
    amqp = app.amqp
    amqp._rtable = None
    for cached in ("queues", "default_queue", "router", "send_task_message"):
        amqp.__dict__.pop(cached, None)
    settings.CELERY_TASK_DEFAULT_QUEUE, settings.SOAR_CELERY_SWEEP_QUEUE = queues.main, queues.sweep
    settings.SOAR_CELERY_BULK_QUEUE = queues.bulk


def purge(queues: Queues, broker_url: str | None = None) -> None:
    """Delete what is left of ``queues`` in the broker: the lists (and kombu's priority lists,
    named after them), their bindings, and messages a stopped worker left unacknowledged."""
    import json

    import redis

    client = redis.Redis.from_url(broker_url or settings.CELERY_BROKER_URL)
    names = {queues.main, queues.sweep, queues.bulk}
    for key in client.scan_iter(f"{queues.main}*", count=1000):  # the sweep and bulk queues too
        client.delete(key)
    # kombu's bindings: sets named after an exchange (one named after each queue here), whose
    # members name the queues bound to it.
    for key in client.scan_iter("_kombu.binding*", count=1000):
        if key.decode(errors="replace").split(".", 2)[-1] in names:
            client.delete(key)
        elif client.type(key) == b"set":
            stale = [m for m in client.smembers(key) if any(n.encode() in m for n in names)]
            if stale:
                client.srem(key, *stale)
    for tag, value in client.hscan_iter("unacked", count=1000):
        try:
            routing_key = json.loads(value)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key in names:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@pytest.fixture(autouse=True)
def celery_queues(request):
    """This test's own queues, which this process publishes to during the test.

    At the end (after the test's services were stopped: ``service_factory`` depends on this
    fixture, so it is torn down first) the outbox relay thread of this process has published
    what the test handed it, the publisher goes back to the run's queues and the test's are
    purged. Transactional tests then end with a TRUNCATE of every table, which would deadlock
    with a session still working in the test database: with the test's own workers stopped,
    there is none, which is checked (a cheap query) rather than waited for."""
    from alerts import outbox

    queues = Queues.new()
    publish_to(queues)
    yield queues
    outbox.relay.wait_idle(60)
    with outbox.relay._lock:  # ids held for a retry by a test whose broker was down are that test's
        outbox.relay._held.clear()
    publish_to(SESSION_QUEUES)
    purge(queues)
    if "django_db" in {mark.name for mark in request.node.iter_markers()}:
        wait_until(_database_quiet, timeout=60, interval=0.05,
                   message="the sessions still working in the test database to finish before the flush")


def _database_quiet() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state <> 'idle' AND backend_type = 'client backend'")
        return cursor.fetchone()[0] == 0


@pytest.fixture(autouse=True, scope="session")
def _purge_the_run_queues():
    publish_to(SESSION_QUEUES)
    yield
    purge(SESSION_QUEUES)


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    return wait_until


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class Service:
    """A subprocess of ours with its log kept under tests/artifacts/logs/ (appended to: the
    logs of earlier starts stay there; ``log_text`` is this start's part only)."""

    def __init__(self, name: str, argv: list[str], env: dict, ready, timeout: float = 120.0):
        ARTIFACTS.joinpath("logs").mkdir(parents=True, exist_ok=True)
        self.name, self.argv, self.env, self.ready, self.timeout = name, argv, env, ready, timeout
        self.log_path = ARTIFACTS / "logs" / f"{name}{_RUN_SUFFIX}.log"
        self.log_offset = 0
        self.process: subprocess.Popen | None = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.log_offset = log.tell()
            self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while not self.ready(self):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not ready after {self.timeout}s; see {self.log_path}")
            time.sleep(0.1)
        return self

    def log_text(self) -> str:
        """What this start of the service logged (not an earlier run's "ready." line)."""
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def kill(self, sig=signal.SIGKILL):
        """Signal the whole process group (a prefork worker's children too)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=60)

    def stop(self):
        stop_all([self])


def stop_all(services: list[Service]) -> None:
    """SIGKILL to every service's whole process group: the test is over, nothing they still do
    is part of it, and a graceful shutdown (a worker finishing its tasks, gunicorn its requests)
    costs a second or two per service. Nothing of a group is left (a prefork child or a gunicorn
    worker outliving its parent would keep a database session); a task killed mid-way leaves
    its message unacknowledged, which ``purge`` removes, and its transaction rolled back."""
    for service in services:
        if service.process is None:
            continue
        try:
            os.killpg(service.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for service in services:
        if service.process is not None:
            service.process.wait(timeout=60)


def service_env(broker_url: str, queues: Queues, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": broker_url,
        **queues.env(),
        "SOAR_DB_CONN_MAX_AGE": "0",
        # The fake third-party APIs of the tests listen on loopback, which the SSRF guard refuses by default.
        "SOAR_SSRF_ALLOWLIST": "127.0.0.1",
        "PYTHONPATH": str(ROOT),
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def service_factory(django_db_setup, celery_queues, tmp_path_factory):
    """``start(kind, broker_url=None, queues=None, **env)`` -> a started Service, on the test's
    own queues unless ``queues`` says otherwise; every one is stopped when the test ends,
    failed or not (before its database flush). kind: "worker", "beat" or "web" (gunicorn;
    ``service.url`` is its base URL). ``scheduler`` (beat only): e.g.
    "django_celery_beat.schedulers:DatabaseScheduler"."""
    started: list[Service] = []

    def start(kind: str, broker_url: str | None = None, queues: Queues | None = None, name: str | None = None,
              concurrency: int = 2, scheduler: str = "celery.beat:PersistentScheduler", **extra_env) -> Service:
        broker_url = broker_url or settings.CELERY_BROKER_URL
        queues = queues or celery_queues
        env = service_env(broker_url, queues, **extra_env)
        name = name or f"{kind}-{uuid.uuid4().hex[:6]}"
        if kind == "worker":
            argv = [str(VENV_BIN / "celery"), "-A", "soar", "worker", "-l", "info", "-P", "prefork",
                    "-c", str(concurrency), "-Q", f"{queues.main},{queues.sweep},{queues.bulk}", "-n", f"{name}@%h",
                    "--without-gossip", "--without-mingle", "--without-heartbeat"]
            service = Service(name, argv, env, ready=lambda s: " ready." in s.log_text())
        elif kind == "beat":
            # A schedule file of its own: no last-run times from another test or run.
            schedule = tmp_path_factory.mktemp("beat") / f"{name}-schedule"
            argv = [str(VENV_BIN / "celery"), "-A", "soar", "beat", "-l", "info",
                    "-S", scheduler, "-s", str(schedule)]
            service = Service(name, argv, env, ready=lambda s: "beat: Starting" in s.log_text())
        elif kind == "web":
            port = free_port()
            # A directory of its own, which outlives the master (it is killed: no on_exit clean-up).
            if "PROMETHEUS_MULTIPROC_DIR" not in extra_env:
                env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path_factory.mktemp("prometheus"))
            argv = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                    "soar.wsgi:application", "-b", f"127.0.0.1:{port}",
                    "-w", str(concurrency), "--threads", "4", "--timeout", "60"]
            service = Service(name, argv, env, ready=lambda s: _http_ok(f"http://127.0.0.1:{port}/healthz"))
            service.url = f"http://127.0.0.1:{port}"
        else:
            raise ValueError(kind)
        started.append(service)
        return service.start()

    yield start
    stop_all(started)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def celery_worker(service_factory):
    """A real prefork worker of this test, on the test's own queues."""
    # Processing waits on database round trips more than on CPU: 4 processes on 2 cores.
    return service_factory("worker", name="worker-main", concurrency=4)


@pytest.fixture
def live_server_url(service_factory):
    """A real gunicorn of this test serving the app on the test database (publishing to the
    test's queues)."""
    return service_factory("web", name="web-main").url


class RedisServer:
    """A private redis-server on its own port, to stop and start without touching the shared one."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open(self.port), timeout=60, message="redis-server to listen")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        wait_until(lambda: not port_open(self.port), timeout=60, message="redis-server to stop")


@pytest.fixture
def private_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()
