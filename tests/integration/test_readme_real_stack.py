"""The README's "The real stack without Docker" section, followed literally on a throw-away
database: its ```sh block is read from the README (so the two cannot drift apart) and run by
bash, then the stack it starts must answer /healthz, accept an alert from the source the
README creates, and process it in the Celery worker.

Only these substitutions are made, each needed to run beside other test runs on one machine:
- the database name (``soar``) -> ``soar_readme_<pid>``, dropped at the end;
- the Redis URLs (broker and cache) -> the test run's broker URL (its own Redis DB number),
  plus ``SOAR_CELERY_QUEUE`` -> a queue of this run's own (the README does not set it);
- gunicorn's ``127.0.0.1:8000`` -> a free loopback port;
- ``.venv/`` -> the virtualenv these tests run in (the project's .venv on CI, so usually the same);
- ``make install`` is not run (it would install into that venv; the venv running this test is
  its result), only checked to have left the programs the commands call;
- the long-running commands (celery worker, celery beat, gunicorn) start in the background,
  their output kept under tests/artifacts/logs/, and are stopped at the end;
- the password that ``read`` asks for is given on bash's standard input.
The environment starts without the test run's DATABASE_URL, CELERY_BROKER_URL and SOAR_*
variables: only what the README exports reaches the commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import requests
from django.conf import settings

from tests.integration.conftest import ROOT, Service, _http_ok, free_port, wait_until

pytestmark = pytest.mark.integration

SECTION = "### The real stack without Docker"
SHELL_FENCES = ("```sh", "```bash", "```shell")
VENV = Path(sys.executable).parent.parent  # not resolved: a venv's python is a symlink to the base interpreter
RUN_ID = os.getpid()
DB_NAME = f"soar_readme_{RUN_ID}"
PASSWORD = f"readme-{RUN_ID}-correct-horse"
# (what marks the command, service name, log line or check that says it is ready)
LONG_RUNNING = [
    (re.compile(r"\bcelery\b.*\bworker\b"), "worker"),
    (re.compile(r"\bcelery\b.*\bbeat\b"), "beat"),
    (re.compile(r"\bgunicorn\b"), "web"),
]


# --- reading the README -----------------------------------------------------------------

def section_blocks(text: str) -> list[str]:
    """The shell code blocks of the README section, in order; fails if there are none."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    if start is None:
        pytest.fail(f"README.md has no section {SECTION!r}: this test runs its commands; "
                    "rename it here too if it moved")
    level = len(SECTION) - len(SECTION.lstrip("#"))
    blocks, current, fence = [], None, None
    for line in lines[start + 1:]:
        stripped = line.strip()
        if fence is None:
            heading = re.match(r"(#+)\s", stripped)
            if heading and len(heading.group(1)) <= level:
                break  # the next section
            if stripped.startswith("```"):
                fence = stripped
                current = [] if stripped in SHELL_FENCES else None
        elif stripped == "```":
            if current is not None:
                blocks.append("\n".join(current))
            fence, current = None, None
        elif current is not None:
            current.append(line)
    if not blocks:
        pytest.fail(f"README.md section {SECTION!r} has no ```sh block: this test runs its commands")
    return blocks


def strip_comment(line: str) -> str:
    """The line without its shell comment (a ``#`` starting a word outside quotes)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def commands(block: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", block)  # continuation lines
    return [command for command in (strip_comment(line).strip() for line in joined.splitlines()) if command]


def long_running_kind(command: str) -> str | None:
    return next((kind for pattern, kind in LONG_RUNNING if pattern.search(command)), None)


# --- the substitutions --------------------------------------------------------------------

def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def substitute(command: str, readme_db: str, web_port: int) -> str:
    # .venv/ -> the venv of this interpreter.
    command = re.sub(r"(?<![\w./-])\.venv/", f"{VENV}/", command)
    # Redis (broker and cache) -> this run's broker URL, its own DB number.
    command = re.sub(r"redis://[^\s'\"]+", settings.CELERY_BROKER_URL, command)
    # The database name: in DATABASE_URL, and as a word of createdb/psql/dropdb.
    command = re.sub(r"(DATABASE_URL=)(postgres(?:ql)?://[^\s'\"]+)",
                     lambda m: m.group(1) + with_database(m.group(2), DB_NAME), command)
    if re.match(r"(createdb|psql|dropdb)\b", command):
        command = re.sub(rf"(?<![\w./:@-]){re.escape(readme_db)}(?![\w./:@-])", DB_NAME, command)
    # gunicorn's port -> a free one.
    if long_running_kind(command) == "web":
        command = re.sub(r"\b127\.0\.0\.1:\d+", f"127.0.0.1:{web_port}", command)
    return command


def clean_environment() -> dict:
    """This process's environment without the test run's configuration of the app."""
    dropped = ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR")
    env = {key: value for key, value in os.environ.items()
           if key not in dropped and not key.startswith(("SOAR_", "PYTEST", "DJANGO_SUPERUSER_"))}
    # The README does not name a queue ("celery"); other runs share this Redis DB.
    env["SOAR_CELERY_QUEUE"] = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-readme-{RUN_ID}"
    return env


def psql(database_url: str, sql: str, env: dict) -> str:
    result = subprocess.run(["psql", database_url, "-v", "ON_ERROR_STOP=1", "-Atc", sql], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"psql {sql!r}: {result.stderr}"
    return result.stdout.strip()


def drop_database(admin_url: str, env: dict) -> None:
    subprocess.run(["psql", admin_url, "-c", f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'], env=env,
                   capture_output=True, timeout=60)


def log_tail(service: Service, lines: int = 40) -> str:
    return "\n".join(service.log_text().splitlines()[-lines:])


# --- the test -------------------------------------------------------------------------------

def test_readme_real_stack_followed_literally(tmp_path):
    all_commands = [command for block in section_blocks((ROOT / "README.md").read_text())
                    for command in commands(block)]
    exports = dict(re.findall(r"^export\s+(\w+)=(\S+)", "\n".join(all_commands), re.M))
    assert "DATABASE_URL" in exports and "CELERY_BROKER_URL" in exports, (
        f"the README section should export DATABASE_URL and CELERY_BROKER_URL: {all_commands}")
    readme_db = urlparse(exports["DATABASE_URL"]).path.lstrip("/")

    # make install: the venv this test runs in is its product; check it has what the commands call.
    assert "make install" in all_commands, "the section should start from `make install`"
    for program in ("python", "celery", "gunicorn"):
        assert (VENV / "bin" / program).exists(), f"{VENV}/bin/{program} missing: run `make install`"
    setup, long_running = [], []
    for command in all_commands:
        if command == "make install":
            continue
        if long_running_kind(command):
            long_running.append(command)
        else:
            assert not long_running, (f"README: {command!r} comes after a long-running command; "
                                      "this test runs those last")
            setup.append(command)
    assert {long_running_kind(c) for c in long_running} == {"worker", "beat", "web"}, (
        f"the section should start a celery worker, celery beat and gunicorn: {long_running}")

    web_port = free_port()
    setup = [substitute(command, readme_db, web_port) for command in setup]
    long_running = [substitute(command, readme_db, web_port) for command in long_running]
    database_url = with_database(exports["DATABASE_URL"], DB_NAME)
    admin_url = with_database(exports["DATABASE_URL"], "postgres")
    env = clean_environment()
    services: list[Service] = []
    drop_database(admin_url, env)  # a leftover of a crashed run with the same pid
    try:
        # 1. Everything up to the long-running commands, in one bash as a reader's shell, stopping
        #    at the first failure; the exported environment and $TOKEN are kept for what follows.
        env_file, token_file = tmp_path / "env", tmp_path / "token"
        script = "\n".join(["PS4='+ $EPOCHREALTIME '", "set -eo pipefail -x", *setup,
                            f'printf %s "${{TOKEN:?the README section should set TOKEN}}" > {token_file}',
                            f"env -0 > {env_file}"])
        result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, input=f"{PASSWORD}\n",
                                capture_output=True, text=True, timeout=240)
        if result.returncode != 0:
            traced = [line for line in result.stderr.splitlines() if line.startswith("+")]
            pytest.fail(f"the README's command failed with {result.returncode}: {traced[-1] if traced else '?'}\n"
                        f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        stack_env = dict(item.split("=", 1) for item in env_file.read_text().split("\0") if "=" in item)
        token = token_file.read_text().strip()
        assert stack_env["DATABASE_URL"] == database_url
        assert token.startswith("soar_"), f"TOKEN is not a source token: {token!r}"

        # 2. worker, beat and gunicorn in the background, with the same environment.
        for command in long_running:
            kind = long_running_kind(command)
            ready = {"worker": lambda s: " ready." in s.log_text(),
                     "beat": lambda s: "beat: Starting" in s.log_text(),
                     "web": lambda s: _http_ok(f"http://127.0.0.1:{web_port}/healthz")}[kind]
            service = Service(f"readme-{kind}-{RUN_ID}", ["bash", "-c", f"exec {command.rstrip('&').strip()}"],
                              stack_env, ready=ready, timeout=90)
            services.append(service)
            try:
                service.start()
            except RuntimeError as exc:
                pytest.fail(f"README: {command!r}: {exc}\n{log_tail(service)}")

        # 3. What the README promises: /healthz, the admin log-in, an alert processed by the worker.
        base = f"http://127.0.0.1:{web_port}"
        with urllib.request.urlopen(f"{base}/healthz", timeout=30) as response:
            assert json.load(response) == {"status": "ok", "database": True}

        session = requests.Session()
        page = session.get(f"{base}/admin/login/", timeout=30)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        login = session.post(f"{base}/admin/login/?next=/admin/", timeout=30, allow_redirects=False,
                             data={"username": "soar-admin", "password": PASSWORD, "csrfmiddlewaretoken": csrf,
                                   "next": "/admin/"}, headers={"Referer": f"{base}/admin/login/"})
        assert login.status_code == 302 and login.headers["Location"] == "/admin/", (
            f"soar-admin cannot log in to the admin console: {login.status_code}")

        body = {"title": "README real stack", "severity": "high", "confidence": 90,
                "entity": {"type": "ip", "value": "203.0.113.7"}}
        response = requests.post(f"{base}/api/v1/alerts", json=body, timeout=30,
                                  headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 202, response.text
        alert_id = int(response.json()["alerts"][0]["id"])

        def processing() -> str | None:
            state = psql(database_url, f"SELECT processing FROM alerts_alert WHERE id = {alert_id}", stack_env)
            return state if state in ("done", "failed") else None

        worker = services[[long_running_kind(c) for c in long_running].index("worker")]
        state = wait_until(processing, timeout=60, interval=0.5, message=f"alert {alert_id} processed by the worker")
        assert state == "done", f"alert {alert_id} failed in the worker:\n{log_tail(worker)}"
        assert "alerts.tasks" in worker.log_text(), "the worker did not log receiving the alert's task"
    finally:
        for service in reversed(services):
            service.stop()
        drop_database(admin_url, env)
        import redis

        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        for key in broker.scan_iter(f"*{env['SOAR_CELERY_QUEUE']}*"):  # the queue and its kombu bindings
            broker.delete(key)
