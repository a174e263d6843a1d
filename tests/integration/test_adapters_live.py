"""Each adapter's sample payloads, posted to a running gunicorn + Celery worker, become
normalized alerts; above the threshold they open one case per entity."""

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from alerts.models import Alert
from cases.models import Case

pytestmark = pytest.mark.django_db(transaction=True)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"


def post(url, token, payload):
    request = urllib.request.Request(f"{url}/api/v1/alerts", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_every_adapter_sample_is_ingested_and_correlated(make_source, live_server_url, celery_worker, wait_until):
    from alerts.adapters import ADAPTER_MODULES

    stored_ids = []
    for kind in ADAPTER_MODULES:
        samples = sorted((FIXTURES / kind).glob("*.json"))
        assert samples, f"no sample payload for adapter {kind}"
        _, token = make_source(name=f"src-{kind}", kind=kind)
        for sample in samples:
            status, body = post(live_server_url, token, json.loads(sample.read_text()))
            assert status == 202, (sample.name, body)
            stored_ids += [item["id"] for item in body["alerts"]]
    wait_until(lambda: not Alert.objects.filter(pk__in=stored_ids, processing="pending").exists(), timeout=120,
               message="the worker to process every sample")
    alerts = Alert.objects.filter(pk__in=stored_ids).select_related("source")
    assert {a.source.kind for a in alerts} == set(ADAPTER_MODULES)
    for alert in alerts:
        assert alert.processing == "done", alert
        assert alert.title and alert.severity in {"info", "low", "medium", "high", "critical"}
        assert alert.raw, "raw payload kept"
        assert alert.fingerprint
    # Above the default threshold (high, confidence >= 70): in a case; one open case per entity.
    for alert in alerts:
        if alert.severity in ("high", "critical") and alert.confidence >= 70 and alert.entity_value:
            assert alert.case_id is not None, f"{alert.source.kind}: {alert.title} should have opened a case"
    entity_cases = {}
    for entity, case_id in alerts.exclude(case=None).values_list("entity_value", "case_id"):
        entity_cases.setdefault(entity, set()).add(case_id)
    assert all(len(ids) == 1 for ids in entity_cases.values()), entity_cases
    assert entity_cases, "no sample was above the threshold"
    assert Case.objects.count() == len({c for ids in entity_cases.values() for c in ids})
