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


def expected_attack_ids() -> list[tuple[str, str, list[str]]]:
    """(kind, fixture, ATT&CK ids) of every genuine sample whose expectations name its ids: what
    the document itself carries (written down when the sample was gathered), in the order sent."""
    found = []
    for expect in sorted((FIXTURES / "real").glob("*/*.expect.json")):
        for wanted in json.loads(expect.read_text())["expect"].get("alerts", []):
            if "attack_ids" in wanted:
                sample = f"{expect.parent.name}/{expect.name.removesuffix('.expect.json')}.json"
                found.append((expect.parent.name, sample, wanted["attack_ids"]))
    return found


def test_wazuh_rule_mitre_ids_from_genuine_alerts():
    [brute] = parse_payload("wazuh", real("wazuh/01-4x-sshd-brute-force-srcip.json"))
    assert brute.attack_ids == ["T1110"]
    [shellshock] = parse_payload("wazuh", real("wazuh/05-doc-ar-shellshock-level15-srcip-url.json"))
    assert shellshock.attack_ids == ["T1068", "T1190"]


@pytest.mark.parametrize(("kind", "fixture", "ids"), expected_attack_ids(), ids=lambda v: str(v))
def test_genuine_samples_carry_their_attack_ids(kind, fixture, ids):
    [alert] = parse_payload(kind, real(fixture))
    assert alert.attack_ids == ids


def test_the_genuine_elastic_samples_cover_the_rule_mapping_and_ecs_threat():
    """Kibana copies the rule's mapping into kibana.alert.rule.threat (elastic/06, T1098 with an
    empty subtechnique list); an Elastic Defend alert promoted by the Endpoint Security rule
    carries the endpoint rule's mapping in ECS ``threat`` instead, a list of two tactics with
    sub-techniques (elastic/07), while its kibana.alert.rule.threat is []."""
    assert {fixture for _, fixture, _ in expected_attack_ids()} >= {
        "elastic/06-8x-custom-query-critical-dmsa-t1098.json",
        "elastic/07-8x-endpoint-behavior-ecs-threat-subtechniques.json"}
    rule_mapped = real("elastic/06-8x-custom-query-critical-dmsa-t1098.json")
    assert rule_mapped["_source"]["kibana.alert.rule.threat"][0]["technique"][0]["id"] == "T1098"
    promoted = real("elastic/07-8x-endpoint-behavior-ecs-threat-subtechniques.json")
    assert promoted["kibana.alert.rule.threat"] == [] and len(promoted["threat"]) == 2
    [plain] = parse_payload("elastic", real("elastic/04-8x-endpoint-promotion-rule-user-hashes.json"))
    assert plain.attack_ids == []  # its kibana.alert.rule.threat is [] and it has no ECS threat


def test_elastic_ecs_threat_as_an_object_of_arrays():
    """ECS also allows ``threat`` as one object whose technique.id is an array (the shape ECS
    documents for events). NOT a genuine sample: none carrying it was found (tests/fixtures/real/
    README.md); this keeps the adapter's branch for it tested until one is."""
    ecs = real("elastic/04-8x-endpoint-promotion-rule-user-hashes.json")
    ecs["_source"]["threat"] = {"framework": "MITRE ATT&CK", "technique": {"id": ["T1110"], "name": ["Brute Force"]}}
    [event] = parse_payload("elastic", ecs)
    assert event.attack_ids == ["T1110"]


def test_suricata_rule_metadata():
    """NOT a genuine ATT&CK-carrying sample: no published Suricata EVE alert whose
    alert.metadata has mitre_technique_id was found with a pinnable source (tests/fixtures/real/
    README.md). The genuine LeftHook alert gets the block an ET Open rule's ``metadata:`` keyword
    produces (EVE logs each metadata key as a list of strings)."""
    genuine = real("suricata/02-doc-lefthook-stealer-to-client.json")
    [plain] = parse_payload("suricata", genuine)
    assert plain.attack_ids == []
    mapped = copy.deepcopy(genuine)
    mapped["alert"]["metadata"].update({"mitre_tactic_id": ["TA0001"], "mitre_tactic_name": ["Initial_Access"],
                                        "mitre_technique_id": ["T1190"],
                                        "mitre_technique_name": ["Exploit_Public_Facing_Application"]})
    [alert] = parse_payload("suricata", mapped)
    assert alert.attack_ids == ["T1190"]


@pytest.mark.django_db(transaction=True)
def test_genuine_elastic_alerts_posted_to_the_webhook_are_mapped(client, catalogue, make_source):
    """Through the real path: the sender's body on /api/v1/alerts, processed (inline in tests),
    the known ids linked to the catalogue's techniques and to the alert's case; the ids the
    shipped subset does not know (T1059.004, T1098...) kept as sent."""
    _, token = make_source(name="kibana", kind="elastic")
    stored = {}
    for name in ("06-8x-custom-query-critical-dmsa-t1098", "07-8x-endpoint-behavior-ecs-threat-subtechniques"):
        body = (FIXTURES / "real" / "elastic" / f"{name}.json").read_text()
        answer = client.post("/api/v1/alerts", data=body, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {token}")
        assert answer.status_code == 202, answer.content
        [sent] = answer.json()["alerts"]
        stored[name[:2]] = Alert.objects.get(pk=sent["id"])
    assert stored["06"].attack_ids == ["T1098"] and not stored["06"].techniques.exists()
    promoted = stored["07"]
    assert promoted.attack_ids == ["T1059", "T1059.004", "T1059.006", "T1132", "T1132.001"]
    assert set(promoted.techniques.values_list("external_id", flat=True)) == {"T1059"}
    assert promoted.case_id is not None  # a high alert opens a case
    assert set(Case.objects.get(pk=promoted.case_id).techniques.values_list("external_id", flat=True)) == {"T1059"}


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
