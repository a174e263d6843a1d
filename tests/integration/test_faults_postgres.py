"""PostgreSQL restarted under a running gunicorn: a clear 503 while it is down, and the app
recovers by itself (no restart) once it is back. Uses a private PostgreSQL instance so the
shared server and the other tests are untouched."""

import json
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from tests.integration.conftest import ROOT, VENV_BIN, free_port, port_open, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL server binaries not found ({name})")
    return str(found[-1])


class PrivatePostgres:
    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="soar-pg-"))
        shutil.chown(self.dir, "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/soar"

    def _as_postgres(self, *argv):
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True)

    def init(self):
        self._as_postgres(pg_bin("initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres")
        self.start()
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE soar")

    def start(self):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-o", options, "-w", "-l",
                          str(self.dir / "log"), "start")
        wait_until(lambda: port_open(self.port), timeout=60, message="private PostgreSQL")

    def stop(self):
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def count_alerts(self) -> int:
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=soar") as conn:
            return conn.execute("SELECT count(*) FROM alerts_alert").fetchone()[0]


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    server.init()
    yield server
    try:
        server.stop()
    except subprocess.CalledProcessError:
        pass
    shutil.rmtree(server.dir, ignore_errors=True)


def post(url, token):
    body = json.dumps({"title": "DB fault probe", "severity": "low", "entity": {"type": "ip", "value": "192.0.2.1"}})
    request = urllib.request.Request(f"{url}/api/v1/alerts", data=body.encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_postgres_restart_gives_503_then_recovers(private_postgres, service_factory):
    env = {"DATABASE_URL": private_postgres.url, "SOAR_DB_CONN_MAX_AGE": "60"}
    manage = [str(VENV_BIN / "python"), "manage.py"]
    base_env = {**__import__("os").environ, **env}
    base_env.pop("PYTEST_DB_SUFFIX", None)
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=base_env, check=True, capture_output=True)
    token = subprocess.run(
        [*manage, "shell", "-c",
         "from alerts.models import AlertSource; s = AlertSource(name='probe', kind='generic'); "
         "t = s.rotate_token(); s.save(); print(t)"],
        cwd=ROOT, env=base_env, check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    web = service_factory("web", name="web-pgfault", **env)

    assert post(web.url, token)[0] == 202
    private_postgres.stop()
    status, headers, body = post(web.url, token)
    assert status == 503, body
    assert headers.get("Retry-After") == "5" and b"temporarily unavailable" in body
    with pytest.raises(urllib.error.HTTPError) as health:
        urllib.request.urlopen(f"{web.url}/healthz", timeout=60)
    assert health.value.code == 503

    private_postgres.start()
    wait_until(lambda: post(web.url, token)[0] == 202, timeout=120, message="web to recover without a restart")
    assert web.process.poll() is None
    assert private_postgres.count_alerts() == 2
    assert "Traceback" not in web.log_text()
