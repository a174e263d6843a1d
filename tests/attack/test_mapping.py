"""Alerts mapped to ATT&CK techniques from what their tools send: Wazuh ``rule.mitre.id``,
Elastic ``kibana.alert.rule.threat`` / ECS ``threat``, Suricata ``alert.metadata.mitre_technique_id``;
linked in bulk when processed (a constant number of statements per chunk), the case getting
its alerts' techniques; ids the catalogue does not know are kept and linked after an import."""

from __future__ import annotations

import copy
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts import correlation, services
from alerts.adapters import parse_payload
from alerts.models import Alert
from cases.models import Case, CaseTechnique
from enrichment.importers import import_attack_bundle
from tests.attack.conftest import SUBSET
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db


def real(relative: str) -> dict:
    return json.loads((FIXTURES / "real" / relative).read_text())


# Elastic's ECS threat block in the shape Kibana copies from the rule into every alert
# (kibana.alert.rule.threat): the genuine alert document below had an empty one.
ELASTIC_THREAT = [{
    "framework": "MITRE ATT&CK",
    "tactic": {"id": "TA0002", "name": "Execution", "reference": "https://attack.mitre.org/tactics/TA0002/"},
    "technique": [{"id": "T1059", "name": "Command and Scripting Interpreter",
                   "reference": "https://attack.mitre.org/techniques/T1059/",
                   "subtechnique": [{"id": "T1059.001", "name": "PowerShell",
                                     "reference": "https://attack.mitre.org/techniques/T1059/001/"}]}],
}]


def test_wazuh_rule_mitre_ids_from_genuine_alerts():
    [brute] = parse_payload("wazuh", real("wazuh/01-4x-sshd-brute-force-srcip.json"))
    assert brute.attack_ids == ["T1110"]
    [shellshock] = parse_payload("wazuh", real("wazuh/05-doc-ar-shellshock-level15-srcip-url.json"))
    assert shellshock.attack_ids == ["T1068", "T1190"]


def test_elastic_threat_from_the_rule_and_from_ecs():
    genuine = real("elastic/04-8x-endpoint-promotion-rule-user-hashes.json")
    [plain] = parse_payload("elastic", genuine)
    assert plain.attack_ids == []  # its kibana.alert.rule.threat is []
    mapped = copy.deepcopy(genuine)
    mapped["_source"]["kibana.alert.rule.threat"] = ELASTIC_THREAT
    [alert] = parse_payload("elastic", mapped)
    assert alert.attack_ids == ["T1059", "T1059.001"]
    ecs = copy.deepcopy(genuine)
    ecs["_source"]["threat"] = {"framework": "MITRE ATT&CK", "technique": {"id": ["T1110"], "name": ["Brute Force"]}}
    [event] = parse_payload("elastic", ecs)
    assert event.attack_ids == ["T1110"]


def test_suricata_rule_metadata():
    genuine = real("suricata/02-doc-lefthook-stealer-to-client.json")
    [plain] = parse_payload("suricata", genuine)
    assert plain.attack_ids == []
    mapped = copy.deepcopy(genuine)
    # An ET Open rule's "metadata: ..., mitre_technique_id T1190, ..." as EVE logs it (lists).
    mapped["alert"]["metadata"].update({"mitre_tactic_id": ["TA0001"], "mitre_tactic_name": ["Initial_Access"],
                                        "mitre_technique_id": ["T1190"],
                                        "mitre_technique_name": ["Exploit_Public_Facing_Application"]})
    [alert] = parse_payload("suricata", mapped)
    assert alert.attack_ids == ["T1190"]


def test_ids_are_cleaned_not_trusted():
    payload = real("wazuh/01-4x-sshd-brute-force-srcip.json")
    payload["rule"]["mitre"]["id"] = ["t1110.001 ", "TA0006", "Brute Force", "T1110.001", 7, None]
    [alert] = parse_payload("wazuh", payload)
    assert alert.attack_ids == ["T1110.001"]


def test_processing_links_alert_and_case_techniques(catalogue, make_source):
    source, _ = make_source(kind="wazuh")
    [stored] = services.ingest(source, [real("wazuh/05-doc-ar-shellshock-level15-srcip-url.json")])
    correlation.process_alerts([stored.id])
    alert = Alert.objects.get(pk=stored.id)
    assert alert.attack_ids == ["T1068", "T1190"]
    assert set(alert.techniques.values_list("external_id", flat=True)) == {"T1068", "T1190"}
    assert alert.case_id is not None
    links = CaseTechnique.objects.filter(case_id=alert.case_id)
    assert {(link.technique.external_id, link.source, link.added_by_id) for link in links} == {
        ("T1068", "alert", None), ("T1190", "alert", None)}


def test_unknown_ids_are_kept_and_linked_once_the_catalogue_knows_them(make_source):
    source, _ = make_source(kind="wazuh")
    [stored] = services.ingest(source, [real("wazuh/05-doc-ar-shellshock-level15-srcip-url.json")])
    correlation.process_alerts([stored.id])
    alert = Alert.objects.get(pk=stored.id)
    assert alert.attack_ids == ["T1068", "T1190"] and not alert.techniques.exists()
    result, _, relinked = import_attack_bundle(SUBSET.read_text())
    assert relinked == 1 and "T1190" in result.new_external_ids
    assert set(alert.techniques.values_list("external_id", flat=True)) == {"T1068", "T1190"}
    case = Case.objects.get(pk=alert.case_id)
    assert set(case.techniques.values_list("external_id", flat=True)) == {"T1068", "T1190"}


@pytest.mark.django_db(transaction=True)
def test_a_chunk_maps_techniques_in_a_constant_number_of_statements(catalogue, make_source, settings):
    settings.SOAR_ENRICHMENT_AUTO = False
    source, _ = make_source(kind="wazuh")
    template = real("wazuh/05-doc-ar-shellshock-level15-srcip-url.json")
    counts = []
    for size in (5, 60):
        docs = []
        for i in range(size):
            doc = copy.deepcopy(template)
            doc["id"] = f"{size}-{i}"
            doc["data"]["srcip"] = f"203.0.113.{i}"
            doc["rule"]["mitre"]["id"] = ["T1190", "T1068", "T9999"][: 1 + i % 3]
            docs.append(doc)
        with _no_processing():
            ids = [s.id for s in services.ingest(source, docs, batch=True)]
        with CaptureQueriesContext(connection) as queries:
            assert correlation.process_chunk(ids, correlation.load_rules()) == ids
        sqls = [q["sql"] for q in queries.captured_queries]
        sqls = sqls[:next(i for i, sql in enumerate(sqls) if sql == "COMMIT")]
        counts.append(len([sql for sql in sqls if "technique" in sql]))
        assert Alert.techniques.through.objects.filter(alert_id__in=ids).count() == sum(
            min(1 + i % 3, 2) for i in range(size))
        assert Alert.objects.get(pk=ids[2]).attack_ids == ["T1190", "T1068", "T9999"]  # the unknown id is kept
    # One look-up and one insert for the alerts, one read and one insert for the cases: per chunk.
    assert counts[0] == counts[1] == 4, counts


class _no_processing:
    """Store only: the test processes the chunk itself, under a query counter."""

    def __enter__(self):
        self._dispatch = services.dispatch_processing
        services.dispatch_processing = lambda ids, **kwargs: None

    def __exit__(self, *exc):
        services.dispatch_processing = self._dispatch
