"""Run the benchmarks and append the figures, each beside its reference from the same run,
to bench/results.md.

    .venv/bin/python -m bench.run [--quick] [--only single,batch,dups,pipeline,pages,search,storm]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from bench import common

SECTIONS = ("single", "batch", "dups", "pipeline", "pages", "search", "live", "storm")


def yes(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report_single(rows: list[dict]) -> list[str]:
    lines = ["### Single-alert ingestion (gunicorn 4 workers x 4 threads, PostgreSQL, Redis publish)", "",
             "| clients | product req/s | p50 ms | p99 ms | floor req/s (bare DRF) | floor p99 ms | ratio | "
             "durable floor req/s (one INSERT) | durable p99 ms | ratio to durable | errors |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        if "clients" not in row:
            continue
        p, f, d = row["product"], row["floor"], row["durable"]
        lines.append(f"| {row['clients']} | {p['rps']:.0f} | {p['p50']:.1f} | {p['p99']:.1f} | {f['rps']:.0f} | "
                     f"{f['p99']:.1f} | {row['ratio']:.2f} | {d['rps']:.0f} | {d['p99']:.1f} | "
                     f"{row['durable_ratio']:.2f} | {p['errors']} |")
    at16 = next(r for r in rows if r.get("clients") == 16)
    worst = min(r["ratio"] for r in rows if "clients" in r)
    worst_durable = min(r["durable_ratio"] for r in rows if "clients" in r)
    lines += ["", f"- Target ≥ 0.5 × floor: {yes(worst >= 0.5)} (lowest ratio {worst:.2f}).",
              f"- Target ≥ 0.8 × durable floor (bench/floor_durable.py: one prepared INSERT ... ON CONFLICT "
              f"per request): {yes(worst_durable >= 0.8)} (lowest ratio {worst_durable:.2f}).",
              f"- Target p99 < 100 ms at 16 clients: {yes(at16['product']['p99'] < 100)} "
              f"({at16['product']['p99']:.1f} ms).",
              f"- Peak web memory (all gunicorn processes): {rows[-1]['web_peak_mb']:.0f} MB.", ""]
    return lines


def report_batch(result: dict) -> list[str]:
    return ["### Batch ingestion (1,000 alerts a request)", "",
            f"- {result['alerts']} alerts: **{result['api_rate']:.0f} alerts/s** through the API; raw psycopg COPY of "
            f"the same normalized rows: {result['copy_rate']:.0f} rows/s; ratio {result['ratio']:.2f}.",
            f"- Target ≥ 5,000 alerts/s: {yes(result['api_rate'] >= 5000)}; target ≥ 0.25 × COPY: "
            f"{yes(result['ratio'] >= 0.25)}.",
            f"- Peak web memory: {result['web_peak_mb']:.0f} MB.", ""]


def report_dups(result: dict) -> list[str]:
    return ["### Duplicate cases under 32 concurrent senders", "",
            f"- {result['alerts']} alerts over 100 entities from 32 threads (batches of 50): HTTP statuses "
            f"{result['statuses']}; accepted in {result['accept_seconds']:.1f} s, all processed after "
            f"{result['processed_seconds']:.1f} s by a 2-process worker.",
            f"- Entities split over more than one case: **{result['duplicate_entities']}**; distinct cases: "
            f"{result['cases']}. Target 0: {yes(result['duplicate_entities'] == 0)}.",
            f"- Peak memory: web {result['web_peak_mb']:.0f} MB, worker {result['worker_peak_mb']:.0f} MB.", ""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs and smaller data sets")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")

    from bench import ingest  # noqa: PLC0415 - keep --help fast

    common.reset_database()
    results = common.ROOT / "bench" / "results.md"
    if not results.exists():
        results.write_text("# Benchmark results\n\nAppended by `python -m bench.run`; newest last.\n\n")

    def emit(lines: list[str]) -> None:
        """Print and append each section as soon as it is measured (a later failure keeps it)."""
        text = "\n".join(lines) + "\n"
        print(text, flush=True)
        with results.open("a") as handle:
            handle.write(text)

    emit([f"## Run of {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC{' (--quick)' if args.quick else ''}",
          "", f"Machine: {common.machine()}.", ""])
    if "single" in wanted:
        emit(report_single(ingest.single_alert(args.quick)))
    if "batch" in wanted:
        emit(report_batch(ingest.batch(args.quick)))
    if "dups" in wanted:
        emit(report_dups(ingest.duplicates(args.quick)))
    if "pipeline" in wanted:
        from bench import pipeline  # noqa: PLC0415

        emit(pipeline.report(pipeline.run(args.quick)))
    if "pages" in wanted:
        from bench import pages  # noqa: PLC0415

        emit(pages.report(pages.run(args.quick)))
    if "search" in wanted:
        from bench import search  # noqa: PLC0415

        emit(search.report(search.run(args.quick)))
    if "live" in wanted:
        from bench import live  # noqa: PLC0415

        emit(live.report(live.run(args.quick)))
    if "storm" in wanted:
        from bench import storm  # noqa: PLC0415

        emit(storm.report(storm.run(args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
