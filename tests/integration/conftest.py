"""Real services for integration tests: PostgreSQL (the pytest-django test database),
Redis, `celery worker` / `celery beat` / gunicorn subprocesses pointed at that database.

Tests that let a subprocess see their rows must commit them:
``@pytest.mark.django_db(transaction=True)``."""

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
from pathlib import Path

import pytest
from django.conf import settings

from tests.integration.browser import browser  # noqa: F401 - the shared Chromium fixture

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


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    """Poll ``predicate`` until truthy; returns its value or fails the test with ``message``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@pytest.fixture(autouse=True)
def _quiet_database_before_flush(request):
    """Transactional tests end with a TRUNCATE of every table; a worker still busy with the
    test's follow-up tasks (enrichment, playbook triggers) would deadlock with it. After each
    test, wait until the broker queue is empty and no other session runs a query."""
    yield
    if "django_db" not in {mark.name for mark in request.node.iter_markers()}:
        return
    import redis
    from django.db import connection

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    database = settings.DATABASES["default"]["NAME"]
    quiet_checks = 0
    deadline = time.monotonic() + 60
    while quiet_checks < 3 and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                "AND state NOT IN ('idle') AND backend_type = 'client backend'", [database])
            busy = cursor.fetchone()[0]
        queued = broker.llen(queue) + broker.llen(f"{queue}-sweep")
        quiet_checks = quiet_checks + 1 if not busy and not queued else 0
        time.sleep(0.2)


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    return wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    """A subprocess of ours with its log kept under tests/artifacts/logs/."""

    def __init__(self, name: str, argv: list[str], env: dict, ready, timeout: float = 40.0):
        ARTIFACTS.joinpath("logs").mkdir(parents=True, exist_ok=True)
        self.name, self.argv, self.env, self.ready, self.timeout = name, argv, env, ready, timeout
        self.log_path = ARTIFACTS / "logs" / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self):
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while not self.ready(self):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not ready after {self.timeout}s; see {self.log_path}")
            time.sleep(0.2)
        return self

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig=signal.SIGKILL):
        """Signal the whole process group (a prefork worker's children too)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=20)

    def stop(self):
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                self.kill()


def service_env(broker_url: str, queue: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "SOAR_CELERY_QUEUE": queue,
        "SOAR_DB_CONN_MAX_AGE": "0",
        # The fake third-party APIs of the tests listen on loopback, which the SSRF guard refuses by default.
        "SOAR_SSRF_ALLOWLIST": "127.0.0.1",
        "PYTHONPATH": str(ROOT),
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture(scope="session")
def service_factory(django_db_setup, django_db_blocker):
    """``start(kind, broker_url=None, queue=None, **env)`` -> a started Service; all stopped at the end.
    kind: "worker", "beat" or "web" (gunicorn; ``service.url`` is its base URL).
    ``scheduler`` (beat only): e.g. "django_celery_beat.schedulers:DatabaseScheduler"."""
    started: list[Service] = []

    def start(kind: str, broker_url: str | None = None, queue: str | None = None, name: str | None = None,
              concurrency: int = 2, scheduler: str = "celery.beat:PersistentScheduler", **extra_env) -> Service:
        broker_url = broker_url or settings.CELERY_BROKER_URL
        queue = queue or settings.CELERY_TASK_DEFAULT_QUEUE
        env = service_env(broker_url, queue, **extra_env)
        name = name or f"{kind}-{uuid.uuid4().hex[:6]}"
        if kind == "worker":
            argv = [str(VENV_BIN / "celery"), "-A", "soar", "worker", "-l", "info", "-P", "prefork",
                    "-c", str(concurrency), "-Q", f"{queue},{queue}-sweep", "-n", f"{name}@%h",
                    "--without-gossip", "--without-mingle", "--without-heartbeat"]
            service = Service(name, argv, env, ready=lambda s: " ready." in s.log_text())
        elif kind == "beat":
            schedule = ARTIFACTS / f"{name}-schedule"
            argv = [str(VENV_BIN / "celery"), "-A", "soar", "beat", "-l", "info",
                    "-S", scheduler, "-s", str(schedule)]
            service = Service(name, argv, env, ready=lambda s: "beat: Starting" in s.log_text())
        elif kind == "web":
            port = free_port()
            argv = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                    "soar.wsgi:application", "-b", f"127.0.0.1:{port}",
                    "-w", str(concurrency), "--threads", "4", "--timeout", "60"]
            service = Service(name, argv, env, ready=lambda s: _http_ok(f"http://127.0.0.1:{port}/healthz"))
            service.url = f"http://127.0.0.1:{port}"
        else:
            raise ValueError(kind)
        started.append(service.start())
        return service

    yield start
    for service in reversed(started):
        service.stop()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def celery_worker(service_factory):
    """One real prefork worker on the session's Redis queue, shared by the tests."""
    # Processing waits on database round trips more than on CPU: 4 processes on 2 cores.
    return service_factory("worker", name="worker-main", concurrency=4)


@pytest.fixture(scope="session")
def live_server_url(service_factory):
    """A real gunicorn serving the app on the test database (and the session's broker queue)."""
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
        wait_until(lambda: port_open(self.port), timeout=10, message="redis-server to listen")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        wait_until(lambda: not port_open(self.port), timeout=10, message="redis-server to stop")


@pytest.fixture
def private_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()
