"""Alert retention: how fast the purge deletes (alerts/s, export on) and what it costs the write
path of ingestion while it runs. The reference is the same ingestion measured alone in the same
run. In-process (one Python process, two threads, two database connections) on the bench
PostgreSQL database, loaded by bench/loader.py.

    .venv/bin/python -m bench.retention [--alerts 200000] [--seconds 15]

Prints a Markdown section for bench/results.md."""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from datetime import timedelta

from bench import common, loader


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the reference ingestion")
    args = parser.parse_args(argv)

    common.reset_database()
    loaded = loader.load(args.cases, args.alerts)
    os.environ.update({k: v for k, v in common.env().items() if k in ("DATABASE_URL", "CELERY_BROKER_URL")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soar.settings")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from alerts import retention, services
    from alerts.models import Alert, AlertSource

    services.dispatch_processing = lambda ids, **kwargs: None  # the write path only, no broker
    source = AlertSource.objects.filter(kind="generic").first() or AlertSource.objects.first()
    counter = iter(range(10**9))

    def ingest_for(seconds: float | None, until: threading.Event | None = None) -> tuple[int, float]:
        started, stored = time.perf_counter(), 0
        while (seconds is not None and time.perf_counter() - started < seconds) or (until and not until.is_set()):
            items = [{"title": f"retention bench {next(counter)}", "severity": "high"} for _ in range(1000)]
            stored += len(services.ingest(source, items, batch=True))
        return stored, time.perf_counter() - started

    now = timezone.now()
    out = tempfile.mkdtemp(prefix="soar-retention-bench-")
    # The loader spreads alerts one a second back from now. Alone: the oldest 40 %; together
    # with ingestion: the next 40 % (cutoffs as `now` minus one retention day).
    span = timedelta(seconds=args.alerts)
    day = timedelta(days=1)
    started = time.perf_counter()
    alone = retention.purge_expired_alerts(1, export_dir=out, now=now - span * 0.6 + day)
    alone_seconds = time.perf_counter() - started
    reference, reference_seconds = ingest_for(args.seconds)

    # Together: the purge in a thread while this one ingests.
    done = threading.Event()
    together: dict = {}

    def purge() -> None:
        begun = time.perf_counter()
        try:
            together["result"] = retention.purge_expired_alerts(1, export_dir=out, now=now - span * 0.2 + day)
        finally:
            together["seconds"] = time.perf_counter() - begun
            connection.close()
            done.set()

    thread = threading.Thread(target=purge)
    thread.start()
    during, during_seconds = ingest_for(None, until=done)
    thread.join()
    load_average = os.getloadavg()[0]

    def rate(n: int, s: float) -> str:
        return f"{n / s:,.0f}/s ({n:,} in {s:.1f} s)"

    kept = Alert.objects.filter(received_at__lt=now - span * 0.2).count()
    lines = [
        f"### Retention purge ({time.strftime('%Y-%m-%d')}, `python -m bench.retention`)",
        "",
        f"Machine: {common.machine()}. Busy: other work (a CI run under stress) shared it; "
        f"load average (1 min) at the end {load_average:.1f} on {os.cpu_count()} cores.",
        f"Data: {loaded['alerts']:,} alerts and {loaded['cases']:,} cases (bench/loader.py), batches of "
        f"{retention.settings.SOAR_RETENTION_BATCH}, export to a gzip JSON Lines file on.",
        "",
        "| measurement | figure |",
        "| --- | --- |",
        f"| purge alone (alerts deleted) | {rate(alone.alerts, alone_seconds)} |",
        f"| purge while ingesting | {rate(together['result'].alerts, together['seconds'])} |",
        f"| reference: ingestion alone, batches of 1,000 through `services.ingest` | "
        f"{rate(reference, reference_seconds)} |",
        f"| ingestion while the purge runs | {rate(during, during_seconds)}: "
        f"{(during / during_seconds) / (reference / reference_seconds):.2f} × the reference |",
        f"| kept: alerts of open cases older than the cutoff | {kept:,} |",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
