"""Faults under load: the whole stack (gunicorn, a Celery worker, celery beat) on a private
PostgreSQL and a private Redis, senders posting alerts (with re-sends) all along, and one fault
after another: Redis killed, the worker SIGKILLed, PostgreSQL restarted, beat stopped.

Figures: per fault, the recovery time (from the component's return until the backlog of work
received before the return has drained); at the end, accepted alerts lost, entities with more
than one open case, cases without enrichment evidence, alerts whose processing failed.

    .venv/bin/python -m bench.faults [--quick]

Only 127.0.0.1: its own PostgreSQL (initdb in a temporary directory, run as the `postgres`
user through runuser) and its own redis-server, both on free ports; the shared servers on
5432 and 6379 are never touched. Logs go to bench/out/faults-*.log.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import requests

from bench import common

QUEUE = "faults"
PLAYBOOK = """
name: Faults bench tag new cases
trigger: {type: case_created}
steps:
  - {id: tag, type: action, action: tag, with: {tags: [faults-bench]}}
"""
SHORT_SWEEPS = {
    "SOAR_SWEEP_AFTER_SECONDS": 5, "SOAR_SWEEP_INTERVAL_SECONDS": 3,
    "SOAR_FOLLOW_UP_SWEEP_AFTER_SECONDS": 5, "SOAR_FOLLOW_UP_SWEEP_INTERVAL_SECONDS": 3,
    "SOAR_PLAYBOOK_SWEEP_INTERVAL_SECONDS": 5,
}
RECOVERY_TARGET_S = 15.0
RECOVERY_TIMEOUT_S = 120.0
ENTITY_WINDOW = 50  # entities receiving alerts at any moment
ENTITY_LIFETIME_S = 60.0  # an entity gets alerts for about this long (then a new one takes its place)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def shell(code: str, env: dict) -> str:
    return common.manage("shell", "-c", code, **env).strip().splitlines()[-1]


# --- private servers -----------------------------------------------------------------------

def pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL server binaries not found ({name})")
    return str(found[-1])


class PrivatePostgres:
    """A throw-away cluster (trust auth, fsync off) owned by the `postgres` user."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="soar-faults-pg-"))
        shutil.chown(self.dir, "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/soar"
        self.conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname=soar"

    def _as_postgres(self, *argv):
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True)

    def init(self):
        self._as_postgres(pg_bin("initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres")
        self.start()
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE soar")

    def start(self):
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=200")
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-o", options, "-w", "-l",
                          str(self.dir / "log"), "start")
        wait_for(lambda: port_open(self.port), 20, "private PostgreSQL")

    def stop(self):
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=3)


class PrivateRedis:
    """redis-server without persistence: a kill loses whatever was queued (the worst case)."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="soar-faults-redis-"))
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self):
        self.starts += 1
        log = open(common.OUT / f"faults-redis-{self.starts}.log", "w")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: port_open(self.port), 20, "private Redis")

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def remove(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the application's processes ------------------------------------------------------------

class Stack:
    """gunicorn (2 x 4 threads, deploy/gunicorn.conf.py), a worker (concurrency 2, both queues)
    and beat. A process that exits without being asked is noted and started again, as compose's
    `restart: unless-stopped` would."""

    def __init__(self, pg: PrivatePostgres, redis_server: PrivateRedis, default_sweeps: bool):
        self.pg, self.redis = pg, redis_server
        self.web_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            "DATABASE_URL": pg.url, "CELERY_BROKER_URL": redis_server.url(0), "SOAR_CACHE_URL": redis_server.url(1),
            "SOAR_CELERY_QUEUE": QUEUE, "SOAR_DB_CONN_MAX_AGE": 60, "SOAR_LOG_LEVEL": "WARNING",
        }
        if not default_sweeps:
            self.env.update(SHORT_SWEEPS)
        self.procs: dict[str, common.Proc] = {}
        self.starts: collections.Counter = collections.Counter()
        self.expected_down: set[str] = set()
        self.unexpected_exits: list[str] = []
        self.phase = "setup"
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def manage(self, *args: str) -> str:
        return common.manage(*args, **self.env)

    def _argv(self, name: str) -> tuple[list[str], str | None]:
        bin_ = common.BIN
        if name == "web":
            return ([str(bin_ / "gunicorn"), "-c", str(common.ROOT / "deploy" / "gunicorn.conf.py"),
                     "soar.wsgi:application", "-b", f"127.0.0.1:{self.web_port}", "-w", "2", "-k", "gthread",
                     "--threads", "4", "--timeout", "60"], f"{self.url}/healthz")
        if name == "worker":
            return ([str(bin_ / "celery"), "-A", "soar", "worker", "-l", "info", "-c", "2",
                     "-Q", f"{QUEUE},{QUEUE}-sweep,{QUEUE}-bulk", "-n", f"faults-{self.starts[name]}@%h",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"], None)
        if name == "beat":
            return [str(bin_ / "celery"), "-A", "soar", "beat", "-l", "info"], None
        raise ValueError(name)

    def start(self, name: str) -> None:
        self.starts[name] += 1
        argv, health = self._argv(name)
        proc = common.Proc(f"faults-{name}-{self.starts[name]}", argv, self.env, health=health)
        marker = {"worker": " ready.", "beat": "beat: Starting"}.get(name)
        if marker:
            log = Path(proc.log.name)
            wait_for(lambda: marker in log.read_text(errors="replace") or proc.process.poll() is not None, 60,
                     f"{name} to start")
        with self._lock:
            self.procs[name] = proc
            self.expected_down.discard(name)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        with self._lock:
            self.expected_down.add(name)
            proc = self.procs.pop(name)
        proc._stop.set()
        if proc.process.poll() is None:
            os.killpg(proc.process.pid, sig)
            try:
                proc.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.process.pid, signal.SIGKILL)
                proc.process.wait(timeout=10)

    def watch(self) -> None:
        def loop():
            while not self._stop.wait(1.0):
                with self._lock:
                    dead = [n for n, p in self.procs.items()
                            if p.process.poll() is not None and n not in self.expected_down]
                for name in dead:
                    code = self.procs[name].process.returncode
                    self.unexpected_exits.append(f"{name} exited ({code}) during {self.phase}")
                    with self._lock:
                        self.procs.pop(name, None)
                    try:
                        self.start(name)
                    except RuntimeError as exc:
                        self.unexpected_exits.append(f"{name} restart failed: {exc}")
        threading.Thread(target=loop, daemon=True).start()

    def shutdown(self) -> None:
        self._stop.set()
        for name in ("beat", "worker", "web"):
            if name in self.procs:
                self.stop(name)


# --- load -----------------------------------------------------------------------------------

class Load:
    """``senders`` threads, ``rate`` new alerts a second in all, every alert sent twice (the
    re-send a few alerts later, with the same source_ref). A request answered 5xx/429 or not
    answered is retried with backoff (Retry-After honoured), as Alertmanager retries; a 2xx
    marks the source_ref accepted."""

    def __init__(self, url: str, token: str, senders: int, rate: float, stack: Stack):
        self.url, self.token, self.senders, self.rate, self.stack = url, token, senders, rate, stack
        self.accepted: set[str] = set()
        self.sent = 0
        self.statuses: collections.Counter = collections.Counter()  # (phase, status or "conn")
        self.refused: list[str] = []
        self.gave_up: set[str] = set()
        self.first_ok: dict[str, float] = {}  # phase -> monotonic time of its first 2xx
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.give_up = threading.Event()
        self.t0 = time.monotonic()
        self.threads = [threading.Thread(target=self._sender, args=(i,), daemon=True) for i in range(senders)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self, grace: float = 90.0) -> None:
        """Stop new alerts; let the senders finish their retries (at most ``grace`` seconds)."""
        self.stopping.set()
        deadline = time.monotonic() + grace
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.give_up.set()
        for thread in self.threads:
            thread.join(15)

    def entity(self) -> str:
        """A sliding window of ENTITY_WINDOW entities: one new entity every ~1.2 s, so cases keep
        opening during every fault; each entity stays in the window about a minute."""
        base = int((time.monotonic() - self.t0) * ENTITY_WINDOW / ENTITY_LIFETIME_S)
        n = base + random.randrange(ENTITY_WINDOW)
        return f"198.18.{n // 250}.{n % 250 + 1}"

    def _sender(self, index: int) -> None:
        session = requests.Session()
        interval = self.senders / self.rate
        recent: collections.deque = collections.deque()
        n = 0
        next_at = time.monotonic()
        while not self.stopping.is_set():
            ref = f"faults-{index}-{n}"
            n += 1
            body = {"title": f"Faults bench {ref}", "severity": "high", "confidence": 90, "source_ref": ref,
                    "entity": {"type": "ip", "value": self.entity()}}
            self._send(session, body)
            recent.append(body)
            if len(recent) > 3:
                self._send(session, recent.popleft())
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        while recent:  # every alert is sent twice, even at the end
            self._send(session, recent.popleft())

    def _send(self, session: requests.Session, body: dict) -> None:
        ref = body["source_ref"]
        with self._lock:
            self.sent += 1
        backoff = 0.5
        while True:
            phase = self.stack.phase
            try:
                response = session.post(f"{self.url}/api/v1/alerts", json=body, timeout=15,
                                        headers={"Authorization": f"Bearer {self.token}"})
                status = response.status_code
            except requests.RequestException:
                status, response = "conn", None
            with self._lock:
                self.statuses[(phase, status)] += 1
            if status != "conn" and 200 <= status < 300:
                with self._lock:
                    self.accepted.add(ref)
                    self.first_ok.setdefault(phase, time.monotonic())
                return
            if status != "conn" and status < 500 and status != 429:
                with self._lock:
                    self.refused.append(f"{ref}: {status} {response.text[:200]}")
                return
            if self.give_up.is_set():
                with self._lock:
                    self.gave_up.add(ref)
                return
            wait = backoff
            if response is not None and response.headers.get("Retry-After", "").isdigit():
                wait = float(response.headers["Retry-After"])
            time.sleep(min(wait, 5.0))
            backoff = min(backoff * 2, 5.0)


# --- measurements ---------------------------------------------------------------------------

BACKLOG = """
SELECT (SELECT count(*) FROM alerts_alert WHERE processing = 'pending' AND received_at <= %(t)s),
       (SELECT count(*) FROM enrichment_enrichmentrequest WHERE done_at IS NULL AND created_at <= %(t)s),
       (SELECT count(*) FROM playbooks_pendingtrigger WHERE done_at IS NULL AND created_at <= %(t)s)
"""


def backlog(pg: PrivatePostgres, since: dt.datetime) -> tuple[int, int, int] | None:
    try:
        with pg.connect() as conn:
            return tuple(conn.execute(BACKLOG, {"t": since}).fetchone())
    except psycopg.Error:
        return None


def measure_recovery(pg: PrivatePostgres, returned_at: dt.datetime, returned_mono: float) -> dict:
    """Poll until nothing received before the return is still waiting (alerts pending,
    enrichment requests open, playbook triggers not evaluated)."""
    first = None
    peak = (0, 0, 0)
    while True:
        counts = backlog(pg, returned_at)
        elapsed = time.monotonic() - returned_mono
        if counts is not None:
            first = first or counts
            peak = tuple(max(a, b) for a, b in zip(peak, counts, strict=True))
            if sum(counts) == 0:
                return {"recovery_s": elapsed, "at_return": first, "peak": peak, "left": (0, 0, 0)}
        if elapsed > RECOVERY_TIMEOUT_S:
            return {"recovery_s": None, "at_return": first, "peak": peak, "left": counts}
        time.sleep(0.25)


FINAL = {
    "accepted_in_db": "SELECT DISTINCT source_ref FROM alerts_alert WHERE source_ref LIKE 'faults-%%'",
    "duplicate_alert_rows": """
        SELECT count(*) FROM (SELECT source_ref FROM alerts_alert WHERE source_ref LIKE 'faults-%%'
                              GROUP BY source_id, source_ref HAVING count(*) > 1) d""",
    "duplicate_open_cases": """
        SELECT count(*) FROM (
            SELECT a.entity_value FROM alerts_alert a JOIN cases_case c ON c.id = a.case_id
             WHERE c.status IN ('NEW', 'TRIAGED', 'IN_PROGRESS')
             GROUP BY a.entity_value HAVING count(DISTINCT c.id) > 1) d""",
    "duplicate_examples": """
        SELECT a.entity_value, array_agg(DISTINCT c.id) FROM alerts_alert a JOIN cases_case c ON c.id = a.case_id
         WHERE c.status IN ('NEW', 'TRIAGED', 'IN_PROGRESS')
         GROUP BY a.entity_value HAVING count(DISTINCT c.id) > 1 LIMIT 5""",
    "cases": "SELECT count(*) FROM cases_case",
    "cases_without_enrichment": """
        SELECT count(*) FROM cases_case c
         WHERE NOT EXISTS (SELECT 1 FROM enrichment_enrichmentresult e WHERE e.case_id = c.id)""",
    "cases_without_playbook_run": """
        SELECT count(*) FROM cases_case c
         WHERE NOT EXISTS (SELECT 1 FROM playbooks_playbookrun r WHERE r.case_id = c.id)""",
    "alerts": "SELECT count(*) FROM alerts_alert",
    "processing_failed": "SELECT count(*) FROM alerts_alert WHERE processing = 'failed'",
    "still_pending": "SELECT count(*) FROM alerts_alert WHERE processing = 'pending'",
    "processed_without_case": "SELECT count(*) FROM alerts_alert WHERE processing = 'done' AND case_id IS NULL",
    "enrichment_open": "SELECT count(*) FROM enrichment_enrichmentrequest WHERE done_at IS NULL",
    "triggers_open": "SELECT count(*) FROM playbooks_pendingtrigger WHERE done_at IS NULL",
}


def final_figures(pg: PrivatePostgres, load: Load) -> dict:
    with pg.connect() as conn:
        values = {}
        for key, sql in FINAL.items():
            if key in ("accepted_in_db", "duplicate_examples"):
                values[key] = conn.execute(sql).fetchall()
            else:
                values[key] = conn.execute(sql).fetchone()[0]
    in_db = {row[0] for row in values.pop("accepted_in_db")}
    lost = sorted(load.accepted - in_db)
    values.update({"accepted": len(load.accepted), "lost": len(lost), "lost_examples": lost[:5],
                   "sent": load.sent, "gave_up": len(load.gave_up), "refused": len(load.refused)})
    return values


# --- the run --------------------------------------------------------------------------------

def run(quick: bool, default_sweeps: bool = False) -> tuple[list[dict], dict, Stack, Load]:
    common.OUT.mkdir(parents=True, exist_ok=True)
    steady = 10.0 if quick else 30.0
    pg, redis_server = PrivatePostgres(), PrivateRedis()
    stack = load = None
    faults: list[dict] = []
    try:
        pg.init()
        redis_server.start()
        stack = Stack(pg, redis_server, default_sweeps)
        stack.manage("migrate", "--noinput")
        token = shell(
            "from alerts.models import AlertSource; "
            "s = AlertSource(name='faults', kind='generic'); t = s.rotate_token(); s.save(); "
            "from playbooks.services.definitions import save_playbook; "
            f"save_playbook(definition_text='''{PLAYBOOK}''', enabled=True); print(t)", stack.env)
        for name in ("web", "worker", "beat"):
            stack.start(name)
        stack.watch()
        load = Load(stack.url, token, senders=8, rate=12.0 if quick else 20.0, stack=stack)
        stack.phase = "steady"
        load.start()
        time.sleep(steady)

        def fault(name: str, down: float, take_down, bring_back, component: str) -> None:
            stack.phase = f"{name} (down)"
            started = time.monotonic()
            take_down()
            time.sleep(down)
            bring_back()
            returned_mono, returned_at = time.monotonic(), now_utc()
            stack.phase = f"{name} (recovering)"
            result = measure_recovery(pg, returned_at, returned_mono)
            result.update({"fault": name, "component": component, "down_s": returned_mono - started,
                           "returned_mono": returned_mono, "load_avg": os.getloadavg()[0]})
            faults.append(result)
            print(f"{name}: {result}", flush=True)
            stack.phase = "steady"
            time.sleep(steady)

        fault("Redis killed (SIGKILL), restarted after 20 s", 20.0, redis_server.kill, redis_server.start, "redis")
        fault("worker SIGKILLed, restarted after 5 s", 5.0, lambda: stack.stop("worker", signal.SIGKILL),
              lambda: stack.start("worker"), "worker")
        fault("PostgreSQL restarted (fast stop, 10 s, start)", 10.0, pg.stop, pg.start, "postgres")
        fault("beat stopped for 20 s, restarted", 20.0, lambda: stack.stop("beat"), lambda: stack.start("beat"),
              "beat")

        stack.phase = "end"
        load.stop()
        drained_at = time.monotonic()
        end = measure_recovery(pg, now_utc(), drained_at)
        figures = final_figures(pg, load)
        figures["final_drain_s"] = end["recovery_s"]
        figures["web_peak_mb"] = stack.procs["web"].peak_rss_kb / 1024 if "web" in stack.procs else float("nan")
        common.PG_ADMIN = f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres"
        figures["machine"] = common.machine()
        return faults, figures, stack, load
    finally:
        if load is not None:
            load.stopping.set()
            load.give_up.set()
        if stack is not None:
            stack.shutdown()
        redis_server.remove()
        pg.remove()


def yes(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def report(faults: list[dict], figures: dict, stack: Stack, load: Load, quick: bool) -> list[str]:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sweeps = ("the default sweep settings (alerts swept 30 s after arrival every 15 s, follow-ups 30 s / 15 s)"
              if "SOAR_SWEEP_AFTER_SECONDS" not in stack.env else "sweeps every 3 s for work older than 5 s")
    lines = [f"## Faults under load ({'quick' if quick else 'full'} run, {when})", "",
             f"Machine: {figures['machine']}.", "",
             f"Private PostgreSQL and Redis; gunicorn 2 workers x 4 threads, a Celery worker (concurrency 2, "
             f"queues `{QUEUE}` and `{QUEUE}-sweep`), beat; {sweeps}. "
             f"{load.senders} senders, {load.rate:.0f} new alerts/s in all, each sent twice, over a sliding "
             f"window of {ENTITY_WINDOW} entities; a sender retries 5xx/429/connection errors with backoff.", "",
             "| fault | down | requests failed during the fault (5xx/429/conn, retried) | first 2xx after return "
             "| backlog at return (alerts / enrichment / triggers) | recovery | target < 15 s | load avg |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for f in faults:
        failed = sum(v for (phase, status), v in load.statuses.items()
                     if phase.startswith(f["fault"]) and (status == "conn" or status >= 500 or status == 429))
        at = f["at_return"] or ("?", "?", "?")
        ok = load.first_ok.get(f"{f['fault']} (recovering)")
        first_ok = f"{ok - f['returned_mono']:.1f} s" if ok else "-"
        rec = f["recovery_s"]
        rec_text = f"{rec:.1f} s" if rec is not None else f"> {RECOVERY_TIMEOUT_S:.0f} s (left {f['left']})"
        lines.append(f"| {f['fault']} | {f['down_s']:.0f} s | {failed} | {first_ok} | {at[0]} / {at[1]} / {at[2]} | "
                     f"{rec_text} | {yes(rec is not None and rec < RECOVERY_TARGET_S)} | {f['load_avg']:.1f} |")
    statuses = collections.Counter()
    for (_, status), v in load.statuses.items():
        statuses[str(status)] += v
    fd = figures["final_drain_s"]
    lines += ["", "| figure | value | target |", "| --- | --- | --- |",
              f"| alerts accepted (2xx) / requests sent (re-sends included) | {figures['accepted']} / "
              f"{figures['sent']} | |",
              f"| accepted alerts lost (source_ref missing in the database) | {figures['lost']} | 0: "
              f"{yes(figures['lost'] == 0)} |",
              f"| entities with more than one open case | {figures['duplicate_open_cases']} | 0: "
              f"{yes(figures['duplicate_open_cases'] == 0)} |",
              f"| cases without enrichment evidence | {figures['cases_without_enrichment']} of {figures['cases']} | "
              f"0: {yes(figures['cases_without_enrichment'] == 0)} |",
              f"| alerts with processing failed | {figures['processing_failed']} | 0: "
              f"{yes(figures['processing_failed'] == 0)} |",
              f"| source_refs stored twice | {figures['duplicate_alert_rows']} | 0 |",
              f"| cases without a playbook run (case_created trigger) | {figures['cases_without_playbook_run']} | 0 |",
              f"| alerts processed but in no case / still pending | {figures['processed_without_case']} / "
              f"{figures['still_pending']} | 0 |",
              f"| senders that gave up / requests refused 4xx | {figures['gave_up']} / {figures['refused']} | 0 |",
              f"| backlog drained after the load stopped | {f'{fd:.1f} s' if fd is not None else 'no'} | |",
              "", f"- HTTP statuses over the run: {dict(sorted(statuses.items()))}.",
              f"- Processes that exited unasked (restarted by the bench): "
              f"{'; '.join(stack.unexpected_exits) or 'none'}."]
    lines.append(f"- Load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
                 "(other work shares this machine; the recovery times move with it).")
    if figures["lost_examples"]:
        lines.append(f"- Lost, e.g.: {', '.join(figures['lost_examples'])}.")
    if figures["duplicate_examples"]:
        lines.append(f"- Entities with several open cases, e.g.: {figures['duplicate_examples']}.")
    return lines + [""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 s of steady load between faults instead of 30 s")
    parser.add_argument("--default-sweeps", action="store_true",
                        help="keep the settings' sweep delays (30 s) instead of 5 s / every 3 s")
    args = parser.parse_args(argv)
    faults, figures, stack, load = run(args.quick, args.default_sweeps)
    lines = report(faults, figures, stack, load, args.quick)
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    results = common.ROOT / "bench" / "results.md"
    with results.open("a") as handle:
        handle.write("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
