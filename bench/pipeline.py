"""Alert -> case -> enrichment -> one-step playbook, end to end through gunicorn and a real
Celery worker. Latencies come from the rows' own timestamps (received_at, case created_at,
evidence fetched_at, step finished_at), so polling does not blur them."""

from __future__ import annotations

import time

import requests

from bench import common

PORT = 8714
PLAYBOOK = """
name: Bench tag new cases
trigger: {type: case_created}
steps:
  - {id: tag, type: action, action: tag, with: {tags: [bench]}}
"""


def run(quick: bool) -> dict:
    alerts = 20 if quick else 60
    common.clean_slate()
    token = common.create_source("bench-pipeline")
    common.shell(
        "from playbooks.services.definitions import save_playbook; "
        f"save_playbook(definition_text='''{PLAYBOOK}''', enabled=True); print('ok')"
    )
    web = common.gunicorn("web-pipeline", "soar.wsgi:application", PORT)
    worker = common.celery_worker("worker-pipeline", concurrency=2)
    session = requests.Session()
    try:
        ids = []
        for n in range(alerts):
            response = session.post(
                f"http://127.0.0.1:{PORT}/api/v1/alerts",
                json={"title": f"Pipeline {n}", "severity": "critical", "confidence": 95,
                      "entity": {"type": "ip", "value": f"8.8.{n // 250}.{n % 250}"}},
                headers={"Authorization": f"Bearer {token}"},
            )
            ids.append(response.json()["alerts"][0]["id"])
            time.sleep(0.3)  # one alert at a time: latency, not throughput
        rows = _wait_for_rows(ids)
    finally:
        web_mb, worker_mb = web.peak_rss_kb / 1024, worker.peak_rss_kb / 1024
        web.stop()
        worker.stop()
    to_case = [r[1] for r in rows]
    to_enriched = [r[2] for r in rows if r[2] is not None]
    to_done = [r[3] for r in rows if r[3] is not None]
    trigger_to_action = [r[4] for r in rows if r[4] is not None]
    return {"alerts": alerts, "complete": len(to_done), "to_case": to_case, "to_enriched": to_enriched,
            "to_done": to_done, "trigger_to_action": trigger_to_action, "web_peak_mb": web_mb,
            "worker_peak_mb": worker_mb}


QUERY = """
SELECT a.id,
       extract(epoch FROM c.created_at - a.received_at) * 1000,
       (SELECT extract(epoch FROM max(e.fetched_at) - a.received_at) * 1000
          FROM enrichment_enrichmentresult e WHERE e.case_id = c.id),
       (SELECT extract(epoch FROM max(s.finished_at) - a.received_at) * 1000
          FROM playbooks_steprun s JOIN playbooks_playbookrun r ON r.id = s.run_id
         WHERE r.case_id = c.id AND s.status = 'succeeded'),
       (SELECT extract(epoch FROM max(s.finished_at) - c.created_at) * 1000
          FROM playbooks_steprun s JOIN playbooks_playbookrun r ON r.id = s.run_id
         WHERE r.case_id = c.id AND s.status = 'succeeded')
FROM alerts_alert a JOIN cases_case c ON c.id = a.case_id
WHERE a.id = ANY(%s)
"""


def _wait_for_rows(ids: list[int]) -> list[tuple]:
    deadline = time.time() + 120
    with common.db() as conn:
        while True:
            rows = conn.execute(QUERY, [ids]).fetchall()
            if (len(rows) == len(ids) and all(r[3] is not None for r in rows)) or time.time() > deadline:
                return rows
            time.sleep(0.5)


def report(result: dict) -> list[str]:
    def stats(values):
        return f"median {common.median(values):.0f} ms, p95 {common.percentile(values, 95):.0f} ms"

    median_done = common.median(result["to_done"])
    median_action = common.median(result["trigger_to_action"])
    return ["### Alert → case → enrichment → one-step playbook (gunicorn + 2-process Celery worker)", "",
            f"- {result['alerts']} alerts, one at a time; {result['complete']} complete.",
            f"- Alert received → case opened: {stats(result['to_case'])}.",
            f"- Alert received → last enrichment evidence: {stats(result['to_enriched'])}.",
            f"- Alert received → playbook action done: {stats(result['to_done'])}. "
            f"Target median < 1 s: {'met' if median_done < 1000 else 'NOT met'}.",
            f"- Case opened (trigger) → playbook action done: {stats(result['trigger_to_action'])}. "
            f"Target < 200 ms: {'met' if median_action < 200 else 'NOT met'} (median).",
            f"- Peak memory: web {result['web_peak_mb']:.0f} MB, worker {result['worker_peak_mb']:.0f} MB.", ""]
