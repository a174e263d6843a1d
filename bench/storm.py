"""Alert storms on PostgreSQL with real Celery workers: correlation throughput (a backlog
ingested by batch with the workers stopped, then drained), the storm scenario (alerts sent
through the webhook while the workers run: time to every case, duplicate cases, webhook p99
at 16 clients meanwhile) and the throughput with 1, 2 and 4 worker processes, with where the
time goes (CPU per process group, PostgreSQL wait events, Redis).

    .venv/bin/python -m bench.run --only storm [--quick]
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter

import redis
import requests

from bench import common

PORT = int(os.environ.get("BENCH_STORM_PORT", "8721"))
ENTITIES = 1000
BATCH = 1000  # alerts per request (SOAR_MAX_BATCH_ITEMS)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def storm_alert(i: int, phase: int) -> dict:
    """Alert ``i`` of a storm over ENTITIES entities: every tenth pass over the entities is
    high severity with confidence 90 (10 % of the alerts, and every entity gets some), the
    others low with confidence 30. The default rule (severity >= high and confidence >= 45)
    opens one case per entity."""
    entity = i % ENTITIES
    high = (i // ENTITIES) % 10 == 0
    return {"title": f"Storm {phase} alert {i}", "severity": "high" if high else "low",
            "confidence": 90 if high else 30, "source_ref": f"s{phase}-{i}",
            "entity": {"type": "ip", "value": f"10.{phase}.{entity // 250}.{entity % 250}"},
            "observables": [{"type": "user", "value": f"user{i % 50}"}]}


def bodies(total: int, phase: int, size: int = BATCH) -> list[str]:
    return [json.dumps([storm_alert(i, phase) for i in range(start, min(start + size, total))])
            for start in range(0, total, size)]


def send(token: str, payloads: list[str], senders: int = 1) -> dict:
    """POST the batches from ``senders`` threads; the time of the last 202."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    last = [0.0]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def sender(n: int) -> None:
        session = requests.Session()
        for body in payloads[n::senders]:
            response = session.post(f"http://127.0.0.1:{PORT}/api/v1/alerts/batch", data=body, headers=headers)
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 202:
                    last[0] = max(last[0], time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.monotonic() - started, "last_202": last[0], "statuses": dict(statuses)}


def queued_messages() -> int:
    client = redis.Redis.from_url(common.BROKER_URL)
    return sum(client.llen(name) for name in (common.QUEUE, f"{common.QUEUE}-bulk"))


def wait_published(expected: int, timeout: float = 60) -> int:
    """Until the web processes' outbox relays have published the backlog (no worker runs)."""
    deadline = time.monotonic() + timeout
    seen, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = queued_messages()
        if n != seen:
            seen, stable_since = n, time.monotonic()
        if n >= expected or (n and time.monotonic() - stable_since > 2):
            return n
        time.sleep(0.1)
    return seen


def pending(conn, source_id: int) -> bool:
    """Some alert of the source still waits. Polled every 0.2 s while the workers drain: one
    row from the outbox's partial index, not a count (a count of 100,000 pending rows took a
    PostgreSQL backend ~15 % of a core away from the system being measured)."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM alerts_alert WHERE processing = 'pending' AND source_id = %s)",
                        [source_id]).fetchone()[0]


def source_id(name: str) -> int:
    with common.db() as conn:
        return conn.execute("SELECT id FROM alerts_alertsource WHERE name = %s", [name]).fetchone()[0]


class Sampler:
    """During a run: the PostgreSQL wait events of the bench database's active backends
    (pg_stat_activity every 100 ms), the CPU time per process group (from /proc, every 500 ms:
    a process living less than that is missed) and the machine's busy CPU share. "other" is
    every process outside the web, the worker, PostgreSQL and Redis: the load generators,
    this script, and whatever else runs on the machine."""

    def __init__(self, groups: dict[str, int]):
        self.groups = groups  # label -> process group id (gunicorn, the worker)
        self.waits: Counter[str] = Counter()
        self.samples = 0
        self._stop = threading.Event()

    def start(self) -> Sampler:
        self.cpu0, self.ticks0, self.t0 = _cpu_busy(), _ticks(), time.monotonic()
        self.stat0 = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        self.seen = dict(self.ticks0)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        with common.db() as conn:
            rounds = 0
            while not self._stop.is_set():
                rounds += 1
                if rounds % 5 == 0:
                    # Processes that end before the run does keep the CPU time last seen here.
                    self.seen.update(_ticks())
                rows = conn.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1",
                    [common.BENCH_DB]).fetchall()
                self.samples += 1
                for event, n in rows:
                    self.waits[event] += n
                time.sleep(0.1)

    def stop(self) -> None:
        """Before the measured processes stop (their CPU time leaves /proc with them)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        elapsed = time.monotonic() - self.t0
        busy1 = _cpu_busy()
        ticks1 = {**self.seen, **_ticks()}
        self.machine_busy = (busy1[0] - self.cpu0[0]) / max(1, busy1[1] - self.cpu0[1])
        by_group: Counter[str] = Counter()
        others: Counter[str] = Counter()
        pgids = {pgid: label for label, pgid in self.groups.items()}
        for pid, (comm, pgid, ticks) in ticks1.items():
            before = self.ticks0.get(pid)
            spent = ticks - (before[2] if before and before[0] == comm else 0)
            label = pgids.get(pgid) or ("postgres" if comm == "postgres" else "redis" if comm.startswith("redis")
                                        else "other")
            by_group[label] += spent
            if label == "other":
                others[comm] += spent
        self.others = {comm: ticks / CLK_TCK / elapsed for comm, ticks in others.most_common(4) if ticks}
        self.cores = {label: ticks / CLK_TCK / elapsed for label, ticks in by_group.items()}
        # Busy CPU no process is charged with: processes that lived less than a sampling
        # interval, interrupts, kernel threads.
        self.cores["unattributed"] = max(0.0, self.machine_busy * (os.cpu_count() or 1) - sum(self.cores.values()))
        values = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        # user nice system idle iowait irq softirq steal: the kernel's share of all CPU time.
        spent = [b - a for a, b in zip(self.stat0, values, strict=False)]
        total = max(1, sum(spent))
        self.kernel = {"system": spent[2] / total, "softirq": spent[6] / total, "steal": spent[7] / total,
                       "iowait": spent[4] / total}

    def summary(self) -> dict:
        active = sum(self.waits.values())
        return {"cores": {k: round(v, 2) for k, v in sorted(self.cores.items(), key=lambda kv: -kv[1])},
                "machine_busy": self.machine_busy, "others": self.others, "kernel": self.kernel,
                "active_backends": active / max(1, self.samples),
                "waits": {event: n / active for event, n in self.waits.most_common(5)} if active else {}}


def _ticks() -> dict[int, tuple[str, int, int]]:
    """pid -> (command, process group, user + system ticks of it and of its ended children) of
    every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            raw = open(f"/proc/{name}/stat").read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        # utime + stime, and cutime + cstime: the CPU of its children that ended (a
        # short-lived PostgreSQL backend is charged to the postmaster when it exits).
        out[int(name)] = (comm, int(fields[2]), int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14]))
    return out


def _cpu_busy() -> tuple[int, int]:
    values = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _control():
    """A Celery app on the bench's broker, for remote control of the bench's workers."""
    from celery import Celery  # noqa: PLC0415 - the bench's own process has no Django settings

    return Celery("bench-control", broker=common.BROKER_URL)


def _wait_ready(control, hostname: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not control.control.ping(destination=[hostname], timeout=0.5):
        if time.monotonic() > deadline:
            raise RuntimeError(f"worker {hostname} did not answer a ping within {timeout:.0f} s")


def throughput(web: common.Proc, concurrency: int, total: int, phase: int) -> dict:
    """Ingest ``total`` alerts by batch with no worker consuming (the batch-ingest rate, the
    reference), then hand the queued backlog to a running, idle worker of ``concurrency``
    processes and time until none is pending. A storm lands on workers that are already up:
    the worker is started on a queue of its own and, once it answers a ping, told to consume
    the product's queues (Celery's ``add_consumer``); its start-up is timed apart."""
    common.clean_slate()
    name = f"storm-tp{phase}"
    token = common.create_source(name)
    src = source_id(name)
    payloads = bodies(total, phase)
    sent = send(token, payloads)
    assert sent["statuses"] == {202: len(payloads)}, sent["statuses"]
    messages = wait_published(total // 100)
    control = _control()
    hostname = f"storm-c{concurrency}-{phase}@bench"
    booted = time.monotonic()
    worker = common.celery_worker(f"storm-worker-c{concurrency}", concurrency=concurrency, settle=0,
                                  queues=f"{common.QUEUE}-hold-{phase}", hostname=hostname)
    sampler = Sampler({"web": web.process.pid}).start()
    try:
        _wait_ready(control, hostname)
        boot = time.monotonic() - booted
        sampler.stop()
        sampler = Sampler({"web": web.process.pid, "worker": worker.process.pid}).start()
        with common.db() as conn:
            started = time.monotonic()
            for queue in (common.QUEUE, f"{common.QUEUE}-bulk", f"{common.QUEUE}-sweep"):
                control.control.add_consumer(queue, destination=[hostname])
            deadline = started + 900
            while pending(conn, src):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: alerts still pending after 15 minutes")
                time.sleep(0.2)
            elapsed = time.monotonic() - started
    finally:
        sampler.stop()
        worker_mb = worker.peak_rss_kb / 1024
        worker.stop()
    with common.db() as conn:
        first, last, failed = conn.execute(
            "SELECT min(processed_at), max(processed_at), count(*) FILTER (WHERE processing <> 'done') "
            "FROM alerts_alert WHERE source_id = %s", [src]).fetchone()
    steady = (last - first).total_seconds()
    return {"concurrency": concurrency, "alerts": total, "ingest_rate": total / sent["seconds"],
            "messages": messages, "seconds": elapsed, "rate": total / elapsed,
            "steady_rate": total / steady if steady else float("nan"), "boot_seconds": boot,
            "cold_rate": total / (boot + elapsed), "failed": failed, "worker_peak_mb": worker_mb,
            **sampler.summary()}


def storm(web: common.Proc, total: int, wrk_seconds: int, phase: int) -> dict:
    """``total`` alerts over ENTITIES entities through the webhook (batches of 500 from 4
    senders) while a 2-process worker runs; then, while it correlates, 16 wrk clients send
    single alerts. The reference p99: the same wrk run before the storm, same worker idle."""
    from bench import ingest  # noqa: PLC0415

    common.clean_slate()
    name = f"storm-s{phase}"
    token = common.create_source(name)
    single_token = common.create_source(f"storm-single{phase}")
    src = source_id(name)
    url = f"http://127.0.0.1:{PORT}/api/v1/alerts"
    worker = common.celery_worker("storm-worker-storm", concurrency=2)
    sampler = None
    try:
        ingest.wrk(url, 64, 2, single_token)  # warm every gunicorn thread
        quiet = ingest.wrk(url, 16, wrk_seconds, single_token)
        with common.db() as conn:
            deadline = time.monotonic() + 60
            while conn.execute("SELECT count(*) FROM alerts_alert WHERE processing = 'pending'").fetchone()[0]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        sampler = Sampler({"web": web.process.pid, "worker": worker.process.pid}).start()
        started = time.monotonic()
        sent = send(token, bodies(total, phase, size=500), senders=4)
        loaded: dict = {}
        during = threading.Thread(target=lambda: loaded.update(ingest.wrk(url, 16, wrk_seconds, single_token)))
        during.start()
        cases_at = processed_at = None
        with common.db() as conn:
            deadline = time.monotonic() + 900
            while processed_at is None or cases_at is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: storm not correlated after 15 minutes")
                # The storm's entities whose group has a case (a few thousand group rows, not a
                # scan of the storm's alerts); one case per entity is checked after the storm.
                if cases_at is None and conn.execute(
                        "SELECT count(DISTINCT key) FROM alerts_alertgroup WHERE case_id IS NOT NULL AND key LIKE %s",
                        [f"ip:10.{phase}.%"]).fetchone()[0] >= ENTITIES:
                    cases_at = time.monotonic()
                if processed_at is None and not pending(conn, src):
                    processed_at = time.monotonic()
                time.sleep(0.2)
        during.join()
    finally:
        if sampler is not None:
            sampler.stop()
        worker_mb = worker.peak_rss_kb / 1024
        worker.stop()
    with common.db() as conn:
        split, cases, failed = conn.execute(
            "SELECT count(*) FILTER (WHERE n > 1), sum(n), sum(failed) FROM (SELECT entity_value, "
            "count(DISTINCT case_id) AS n, count(*) FILTER (WHERE processing <> 'done') AS failed "
            "FROM alerts_alert WHERE source_id = %s GROUP BY entity_value) x", [src]).fetchone()
    return {"alerts": total, "statuses": sent["statuses"], "send_seconds": sent["seconds"],
            "send_rate": total / sent["seconds"], "cases_after_last_202": cases_at - sent["last_202"],
            "processed_after_last_202": processed_at - sent["last_202"],
            "processed_seconds": processed_at - started, "duplicate_entities": split, "cases": cases,
            "failed": failed, "wrk_quiet": quiet, "wrk_storm": loaded, "worker_peak_mb": worker_mb,
            **sampler.summary()}


def run(quick: bool) -> dict:
    total = 20_000 if quick else 100_000
    scale_total = 10_000 if quick else 50_000
    web = common.gunicorn("web-storm", "soar.wsgi:application", PORT)
    try:
        headline = throughput(web, 2, total, phase=1)
        scaling = [throughput(web, c, scale_total, phase=10 + c) for c in (1, 2, 4)]
        scenario = storm(web, total, 5 if quick else 10, phase=2)
    finally:
        web_mb = web.peak_rss_kb / 1024
        web.stop()
    return {"quick": quick, "headline": headline, "scaling": scaling, "storm": scenario, "web_peak_mb": web_mb}


def yes(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _where(row: dict) -> str:
    cores = ", ".join(f"{k} {v:.2f}" for k, v in row["cores"].items() if v >= 0.05)
    waits = ", ".join(f"{k} {v:.0%}" for k, v in row["waits"].items())
    others = ", ".join(f"{k} {v:.2f}" for k, v in row.get("others", {}).items() if v >= 0.02)
    kernel = ", ".join(f"{k} {v:.0%}" for k, v in row.get("kernel", {}).items())
    return (f"machine CPU {row['machine_busy']:.0%} busy; cores used: {cores}"
            + (f" (other: {others})" if others else "") + f"; of all CPU time: {kernel}; "
            f"{row['active_backends']:.1f} active backends on average, wait events: {waits or 'none'}")


def report(result: dict) -> list[str]:
    h, s = result["headline"], result["storm"]
    ratio = h["rate"] / h["ingest_rate"]
    lines = [f"storm: {h['rate']:.0f} alerts/s correlated", "",
             "### Alert storm: correlation throughput, storm scenario, worker scale-out "
             "(PostgreSQL, Redis, Celery)", "",
             f"Alerts over {ENTITIES:,} entities, 10 % high severity with confidence 90 (the default rule opens one "
             "case per entity), one `user` observable each; batches of 1,000 through `POST /api/v1/alerts/batch`; "
             "gunicorn 4 workers x 4 threads; the outbox relay publishes 100 ids a message, a correlation chunk "
             "(500) on the bulk queue.", "",
             f"- Correlation throughput, worker `--concurrency 2`: {h['alerts']:,} alerts ingested with the workers "
             f"stopped ({h['messages']} messages queued), then handed to a running, idle worker (started on a "
             f"queue of its own, told to consume the product's queues once it answered a ping) and drained in "
             f"{h['seconds']:.1f} s: **{h['rate']:.0f} alerts/s** ({h['steady_rate']:.0f} alerts/s from the first "
             f"alert processed to the last; the worker's start-up, {h['boot_seconds']:.1f} s, timed apart: "
             f"{h['cold_rate']:.0f} alerts/s counting it). Batch-ingest rate in the same run: "
             f"{h['ingest_rate']:.0f} alerts/s; ratio {ratio:.2f}. Not processed: {h['failed']}.",
             f"- Target ≥ 2,000 alerts/s: {yes(h['rate'] >= 2000)}; target ≥ 0.25 × batch ingest: "
             f"{yes(ratio >= 0.25)}.",
             f"- Where the time went: {_where(h)}.", "",
             "| worker processes | alerts | drained in s | alerts/s | steady alerts/s | batch ingest alerts/s (ref) | "
             "ratio | machine CPU | worker / postgres / web / redis cores | top PostgreSQL waits (share of active) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in result["scaling"]:
        c = row["cores"]
        waits = ", ".join(f"{k} {v:.0%}" for k, v in list(row["waits"].items())[:3])
        lines.append(f"| {row['concurrency']} | {row['alerts']:,} | {row['seconds']:.1f} | {row['rate']:.0f} | "
                     f"{row['steady_rate']:.0f} | {row['ingest_rate']:.0f} | {row['rate'] / row['ingest_rate']:.2f} | "
                     f"{row['machine_busy']:.0%} | {c.get('worker', 0):.2f} / {c.get('postgres', 0):.2f} / "
                     f"{c.get('web', 0):.2f} / {c.get('redis', 0):.2f} | {waits} |")
    q, w = s["wrk_quiet"], s["wrk_storm"]
    lines += ["",
              f"- Storm: {s['alerts']:,} alerts over {ENTITIES:,} entities through the webhook (batches of 500 from 4 "
              f"senders, statuses {s['statuses']}) in {s['send_seconds']:.1f} s ({s['send_rate']:.0f} alerts/s) "
              "while a "
              f"2-process worker correlated. Every case open **{s['cases_after_last_202']:.1f} s after the last 202** "
              f"(target < 60 s: {yes(s['cases_after_last_202'] < 60)}); every alert processed "
              f"{s['processed_after_last_202']:.1f} s after it. Cases: {s['cases']}; entities in more than one case: "
              f"**{s['duplicate_entities']}** (target 0: {yes(s['duplicate_entities'] == 0)}); not processed: "
              f"{s['failed']}.",
              f"- Webhook (single alert, 16 wrk clients) while the storm was correlated: p50 {w.get('p50', 0):.1f} ms, "
              f"**p99 {w.get('p99', 0):.1f} ms**, {w.get('rps', 0):.0f} req/s, {w.get('errors', 0)} non-2xx; reference "
              f"before the storm, workers idle: p50 {q['p50']:.1f} ms, p99 {q['p99']:.1f} ms, {q['rps']:.0f} req/s. "
              f"Target p99 < 250 ms: {yes(w.get('p99', 1e9) < 250)}.",
              f"- Where the time went during the storm: {_where(s)}.",
              f"- Peak memory: web {result['web_peak_mb']:.0f} MB, worker (storm) {s['worker_peak_mb']:.0f} MB.", ""]
    return lines
