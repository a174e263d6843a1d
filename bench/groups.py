"""Alert groups in the embedded mode (SQLite, tasks in-process): how long the sender waits
for one Alertmanager notification of N alerts.

    .venv/bin/python -m bench.groups [--sizes 100,500] [--runs 3]

Two payloads per size, timed in the same run: N *info* alerts (stored and correlated, no case:
the reference) and N *critical* alerts on N distinct hosts (every one opens a case, which is
enriched and offered to playbooks). Three figures each: when the sender has its answer
(Alertmanager re-sends after its 10 s timeout), when the last alert is processed, every case
existing (the embedded mode processes webhook alerts in a background thread,
SOAR_EMBEDDED_PROCESSING), and when the cases' follow-ups are done (enrichment and playbook
triggers, run by the embedded follow-up thread, soar.queue.follow_ups).
Runs on a throw-away SQLite database under a temporary SOAR_VAR_DIR, with the embedded beat
running (its sweeps every 5 s), as in the web process."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time


def setup() -> None:
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ["SOAR_VAR_DIR"] = tempfile.mkdtemp(prefix="soar-bench-groups-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soar.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # As in the product's web process (soar/wsgi.py): the embedded beat's sweeps run beside the group.
    from soar.embedded_beat import beat

    assert beat.start()


def group(size: int, severity: str, run: str) -> dict:
    alerts = [{
        "status": "firing",
        "labels": {"alertname": "NodeDown", "severity": severity, "instance": f"node-{run}-{i}.example.com:9100"},
        "annotations": {"summary": "node exporter unreachable"},
        "startsAt": "2026-11-30T10:00:00Z", "fingerprint": f"{run}{i:08x}",
    } for i in range(size)]
    return {"version": "4", "status": "firing", "receiver": "soar", "groupKey": "{}:{}", "truncatedAlerts": 0,
            "alerts": alerts}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,500")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    setup()
    from django.test import Client

    from alerts.models import AlertSource
    from cases.models import Case

    source = AlertSource(name="bench-am", kind="alertmanager")
    token = source.rotate_token()
    source.save()
    client = Client()
    from alerts import outbox
    from enrichment.models import EnrichmentRequest
    from soar import queue

    print(f"{'alerts':>6}  {'answer: info s':>14}  {'critical s':>10}  {'processed: info s':>17}  {'critical s':>10}"
          f"  {'follow-ups done: info s':>23}  {'critical s':>10}")
    for size in (int(s) for s in args.sizes.split(",")):
        answer: dict[str, list[float]] = {"info": [], "critical": []}
        done: dict[str, list[float]] = {"info": [], "critical": []}
        followed: dict[str, list[float]] = {"info": [], "critical": []}
        for run in range(args.runs):
            for severity in ("info", "critical"):
                body = json.dumps(group(size, severity, f"{severity[0]}{size}r{run}x"))
                start = time.perf_counter()
                response = client.post("/api/v1/alerts", data=body, content_type="application/json",
                                       HTTP_AUTHORIZATION=f"Bearer {token}")
                answer[severity].append(time.perf_counter() - start)
                assert response.status_code == 202, response.content[:300]
                assert outbox.embedded_relay.wait_idle(timeout=600)
                done[severity].append(time.perf_counter() - start)
                assert queue.follow_ups.wait_idle(timeout=600)
                followed[severity].append(time.perf_counter() - start)
        med = {k: statistics.median(v) for k, v in answer.items()}
        fin = {k: statistics.median(v) for k, v in done.items()}
        fol = {k: statistics.median(v) for k, v in followed.items()}
        print(f"{size:>6}  {med['info']:>14.2f}  {med['critical']:>10.2f}  "
              f"{fin['info']:>17.2f}  {fin['critical']:>10.2f}  {fol['info']:>23.2f}  {fol['critical']:>10.2f}")
    print(f"cases opened: {Case.objects.count()}, enrichment requests still open: "
          f"{EnrichmentRequest.objects.filter(done_at__isnull=True).count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
