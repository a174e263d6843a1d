"""CPU per correlated alert, in one process, independent of the machine's load as far as
possible: the worker's Python (``time.process_time``) and its PostgreSQL backend
(utime + stime from ``/proc/<backend pid>/stat``), per 1,000 alerts, and the statements sent
per message; optionally a cProfile of the run.

    .venv/bin/python -m bench.correlation_profile [--alerts 5000] [--message 100] [--profile]
        [--statements] [--drop-index NAME ...] [--sql STATEMENTS|@file ...]

Each run starts from a fresh copy of a migrated template database (``<db>_tpl``, made on the
first run), stores ``--alerts`` storm alerts (bench/storm.py's stream, phase 1: 1,000
entities, the first pass opens one case per entity, the others join them) with the batch
ingest path, then runs ``alerts.correlation.process_alerts`` over them in id order,
``--message`` ids a call (what a worker gets from one message), as a worker draining the
backlog would. Wall-clock figures are printed too, but on a shared machine compare the CPU
figures. To compare two versions of the code, run this script from each checkout against
the same database name, one after the other (it resets the database each time; the template
is migrated again when this checkout has a migration it lacks). To compare two versions of
the schema, ``--drop-index`` / ``--sql`` change the fresh copy before the alerts are stored
(e.g. the trigger of an older migration). The batch ingest that stores the alerts is measured
too (worker and backend CPU, like the correlation): what an index or trigger costs ingest.

Environment: ``PROFILE_DB`` (default soar_perf), ``PROFILE_BROKER_URL`` (default
redis://127.0.0.1:6379/5; the follow-ups' publishes go to a queue of this run's own, deleted
at the end), ``SOAR_CORRELATION_CHUNK`` as for a worker."""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DB = os.environ.get("PROFILE_DB", "soar_perf")
BROKER_URL = os.environ.get("PROFILE_BROKER_URL", "redis://127.0.0.1:6379/5")
QUEUE = f"profile-{os.getpid()}"
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def migration_files() -> set[tuple[str, str]]:
    """(app, migration name) of every migration of this checkout."""
    return {(path.parent.parent.name, path.stem) for path in ROOT.glob("*/migrations/0*.py")}


def template_is_current(template: str) -> bool:
    """The template has every migration of this checkout applied (a new migration, or a run
    from another checkout, makes it stale)."""
    try:
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={template}") as conn:
            applied = set(conn.execute("SELECT app, name FROM django_migrations").fetchall())
    except psycopg.Error:
        return False
    return migration_files() <= applied


def fresh_database(drop_indexes: list[str], statements: list[str]) -> None:
    """Drop ``DB`` and copy it from its template (created and migrated on the first run, and
    again when this checkout has a migration the template lacks); then drop ``drop_indexes``
    and run ``statements`` in the copy (to measure what an index or a trigger costs)."""
    template = f"{DB}_tpl"
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{template}",
           "CELERY_BROKER_URL": BROKER_URL, "SOAR_LOG_LEVEL": "WARNING"}
    current = template_is_current(template)
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        if not current:
            conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{template}"')
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
                           check=True)
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}" TEMPLATE "{template}"')
    if drop_indexes or statements:
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={DB}", autocommit=True) as conn:
            for name in drop_indexes:
                conn.execute(f'DROP INDEX "{name}"')
            for sql in statements:
                conn.execute(sql)


def backend_clock(pid: int) -> int:
    """The CPU-time clock of another process (clock_getcpuclockid): nanosecond precision,
    unlike the 10 ms ticks of /proc/<pid>/stat."""
    return ((~pid) << 3) | 2


def statement_kind(sql: str) -> str:
    """A statement's first words, its values and placeholder lists folded."""
    words = re.sub(r"\((%s|\$\d+)(, (%s|\$\d+))*\)", "(...)", sql)
    words = re.sub(r"(\(\.\.\.\),? ?)+", "(...) ", words)
    words = re.sub(r"\"s\d+_x\d+\"", "s", words)
    return re.sub(r"\s+", " ", words)[:110]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--message", type=int, default=100, help="ids per process_alerts call")
    parser.add_argument("--profile", action="store_true", help="cProfile the run (CPU figures inflated)")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--statements", action="store_true",
                        help="PostgreSQL CPU and this process's CPU per kind of statement")
    parser.add_argument("--drop-index", action="append", default=[], metavar="NAME",
                        help="drop this index before ingesting (repeatable): what it costs ingest and correlation")
    parser.add_argument("--sql", action="append", default=[], metavar="STATEMENTS",
                        help="SQL run in the fresh database before ingesting (repeatable); @path reads a file")
    args = parser.parse_args()

    fresh_database(args.drop_index, [Path(sql[1:]).read_text() if sql.startswith("@") else sql for sql in args.sql])
    os.environ.update({"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}", "CELERY_BROKER_URL": BROKER_URL,
                       "SOAR_CELERY_QUEUE": QUEUE, "SOAR_LOG_LEVEL": "WARNING",
                       "DJANGO_SETTINGS_MODULE": "soar.settings"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.db import connection

    from alerts import correlation, services
    from alerts.models import Alert, AlertSource
    from bench.storm import storm_alert
    from cases.models import Case, CaseEvent
    from soar.celery import app as celery_app

    services.dispatch_processing = lambda ids, **kwargs: None  # stored, not queued: processed below
    source = AlertSource(name="profile", kind="generic")
    source.rotate_token()
    source.save()
    batches = [[storm_alert(i, 1) for i in range(start, min(start + 1000, args.alerts))]
               for start in range(0, args.alerts, 1000)]
    ingest_clock = backend_clock(connection.connection.info.backend_pid)
    wall0, cpu0, pg0 = time.perf_counter(), time.process_time(), time.clock_gettime(ingest_clock)
    for batch in batches:
        services.ingest(source, batch, batch=True)
    ingest = (time.perf_counter() - wall0, time.process_time() - cpu0, time.clock_gettime(ingest_clock) - pg0)
    ids = list(Alert.objects.filter(source=source).order_by("pk").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    correlation.load_rules()  # the connection is open from here on: its backend is measured
    # A worker imports its task modules (and runs Django's checks) once at start-up; here the
    # first publish would do it inside the measured run (~1 s of CPU, 0.1 s per 1,000 alerts).
    celery_app.loader.import_default_modules()

    backend = connection.connection.info.backend_pid
    clock = backend_clock(backend)
    statements = [0]
    kinds: dict[str, list[float]] = {}

    def count(execute, sql, params, many, context):
        statements[0] += 1
        if not args.statements:
            return execute(sql, params, many, context)
        pg, py = time.clock_gettime(clock), time.process_time()
        try:
            return execute(sql, params, many, context)
        finally:
            row = kinds.setdefault(statement_kind(sql), [0, 0.0, 0.0])
            row[0] += 1
            row[1] += time.clock_gettime(clock) - pg
            row[2] += time.process_time() - py

    messages = [ids[i:i + args.message] for i in range(0, len(ids), args.message)]
    profiler = cProfile.Profile() if args.profile else None
    gc.collect()
    if not os.environ.get("PROFILE_GC_NO_FREEZE"):
        gc.freeze()  # as a worker process does at start-up (soar.celery): collections skip what is loaded
    gc_time = [0.0, 0, 0.0]

    def gc_clock(phase, info):
        if phase == "start":
            gc_time[2] = time.process_time()
        else:
            gc_time[0] += time.process_time() - gc_time[2]
            gc_time[1] += 1

    gc.callbacks.append(gc_clock)
    wall0, cpu0, pg0 = time.perf_counter(), time.process_time(), time.clock_gettime(clock)
    with connection.execute_wrapper(count):
        if profiler:
            profiler.enable()
        for message in messages:
            correlation.process_alerts(message)
        if profiler:
            profiler.disable()
    wall, cpu, pg = time.perf_counter() - wall0, time.process_time() - cpu0, time.clock_gettime(clock) - pg0
    if backend != connection.connection.info.backend_pid:
        print("warning: the database connection was replaced during the run; PostgreSQL CPU is partial")

    pending = Alert.objects.filter(source=source).exclude(processing="done").count()
    cases = Case.objects.count()
    events = CaseEvent.objects.count()
    redis.Redis.from_url(BROKER_URL).delete(QUEUE, f"{QUEUE}-bulk", f"{QUEUE}-sweep")
    per_k = 1000 / len(ids)
    load = os.getloadavg()
    print(f"{len(ids)} alerts in {len(messages)} messages of {args.message} ids, chunk "
          f"{settings.SOAR_CORRELATION_CHUNK}; load average {load[0]:.2f} {load[1]:.2f}"
          + (" (cProfile on: CPU inflated)" if profiler else ""))
    print(f"per 1,000 alerts: worker CPU {cpu * per_k:.3f} s, PostgreSQL backend CPU {pg * per_k:.3f} s, "
          f"together {(cpu + pg) * per_k:.3f} s; wall {wall * per_k:.3f} s")
    print(f"batch ingest before (services.ingest, batches of 1,000, no HTTP), per 1,000 alerts: worker CPU "
          f"{ingest[1] * per_k:.3f} s, PostgreSQL backend CPU {ingest[2] * per_k:.3f} s, together "
          f"{(ingest[1] + ingest[2]) * per_k:.3f} s; wall {ingest[0] * per_k:.3f} s")
    print(f"statements: {statements[0]} ({statements[0] / len(messages):.1f} per message, "
          f"{statements[0] * per_k:.0f} per 1,000 alerts)")
    print(f"garbage collector: {gc_time[1]} collections, {gc_time[0]:.3f} s CPU "
          f"({gc_time[0] * per_k:.3f} s per 1,000 alerts)")
    print(f"check: not done {pending}, cases {cases}, case events {events}")
    print(f"RESULT cpu_s_per_k={cpu * per_k:.3f} pg_s_per_k={pg * per_k:.3f} wall_s_per_k={wall * per_k:.3f} "
          f"stmts_per_msg={statements[0] / len(messages):.1f} cases={cases} events={events} pending={pending} "
          f"ingest_cpu_s_per_k={ingest[1] * per_k:.3f} ingest_pg_s_per_k={ingest[2] * per_k:.3f}")
    if kinds:
        print("\nper kind of statement: count, PostgreSQL CPU s, this process's CPU s inside execute()")
        for kind, (n, pg_s, py_s) in sorted(kinds.items(), key=lambda kv: -kv[1][1] - kv[1][2]):
            print(f"{n:6d} {pg_s:7.3f} {py_s:7.3f}  {kind}")
        listed = sum(pg_s for _, pg_s, _ in kinds.values())
        print(f"{'':6} {pg - listed:7.3f} {'':7}  not in a statement: COMMIT (deferred foreign-key checks, WAL), "
              "connection set-up")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(os.environ.get("PROFILE_FILTER", ""), args.top)
        if os.environ.get("PROFILE_CALLERS"):
            stats.print_callers(os.environ["PROFILE_CALLERS"])
        if os.environ.get("PROFILE_CALLEES"):
            stats.print_callees(os.environ["PROFILE_CALLEES"])


if __name__ == "__main__":
    main()
