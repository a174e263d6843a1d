"""ATT&CK on real PostgreSQL: a batch of Wazuh alerts stored with COPY (50 or more) keeps the
tools' technique ids, correlation links them to the catalogue in bulk and gives the cases their
techniques; the matrix counts them; a re-import keeps the links."""

from __future__ import annotations

import copy
import json

import pytest
from django.db import connection

from alerts import bulk, correlation, services
from alerts.models import Alert
from cases.models import Case
from enrichment.importers import import_attack_bundle
from reporting.attack_matrix import attack_matrix
from reporting.selectors import ReportScope
from tests.attack.conftest import SUBSET
from tests.conftest import FIXTURES
from tests.factories import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_copy_batch_keeps_ids_links_techniques_and_cases(make_source, monkeypatch, settings):
    assert connection.vendor == "postgresql"
    settings.SOAR_ENRICHMENT_AUTO = False
    import_attack_bundle(SUBSET.read_text())
    w = build_world()
    source, _ = make_source(kind="wazuh", team=w.blue)
    monkeypatch.setattr(services, "dispatch_processing", lambda ids, **kwargs: None)
    template = json.loads((FIXTURES / "real/wazuh/05-doc-ar-shellshock-level15-srcip-url.json").read_text())
    docs = []
    for i in range(60):
        doc = copy.deepcopy(template)
        doc["id"] = f"copy-{i}"
        doc["data"]["srcip"] = f"203.0.113.{i}"
        doc["rule"]["mitre"]["id"] = ["T1190", "T9999"] if i % 2 else ["T1068"]
        docs.append(doc)
    assert bulk.can_copy(len(docs))
    ids = [s.id for s in services.ingest(source, docs, batch=True)]
    assert Alert.objects.get(pk=ids[1]).attack_ids == ["T1190", "T9999"]
    correlation.process_alerts(ids)
    assert Alert.techniques.through.objects.filter(alert_id__in=ids).count() == 60
    cases = Case.objects.filter(alerts__pk__in=ids).distinct()
    assert cases.count() == 60
    assert set(Case.techniques.through.objects.filter(case__in=cases).values_list("technique__external_id",
                                                                                  flat=True)) == {"T1068", "T1190"}
    matrix = attack_matrix(w.analyst, ReportScope.last_days(1))
    cells = {cell.technique.external_id: (cell.cases, cell.alerts) for col in matrix.columns for cell in col.cells}
    assert cells == {"T1068": (30, 30), "T1190": (30, 30)}
    assert attack_matrix(w.red_analyst, ReportScope.last_days(1)).techniques_seen == 0
    import_attack_bundle(SUBSET.read_text())  # a re-import keeps every link
    assert Alert.techniques.through.objects.filter(alert_id__in=ids).count() == 60
