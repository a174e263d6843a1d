"""Analysts add and remove ATT&CK techniques on a case (page and API): timeline and audit
entries, who and when, the panel grouped by tactic with links to attack.mitre.org, and the
visibility rules (an analyst of another team gets 404)."""

from __future__ import annotations

import pytest

from attack import selectors as attack_selectors
from cases import techniques as case_techniques
from cases.models import AuditLog, CaseEvent, CaseTechnique
from cases.services import InvalidInput
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(catalogue):
    return build_world()


def test_add_records_who_when_timeline_and_audit(w):
    link = case_techniques.add_technique(w.blue_case, "t1059.001", actor=w.analyst)
    assert (link.source, link.added_by, link.technique.external_id) == ("manual", w.analyst, "T1059.001")
    event = CaseEvent.objects.filter(case=w.blue_case, kind=CaseEvent.Kind.UPDATED).latest("id")
    assert "T1059.001 PowerShell added" in event.message and event.actor == w.analyst
    assert AuditLog.objects.filter(action="case.attack.add", object_id=str(w.blue_case.pk),
                                   after={"technique": "T1059.001"}).exists()
    # Adding it again changes nothing.
    case_techniques.add_technique(w.blue_case, "T1059.001", actor=w.analyst)
    assert CaseTechnique.objects.filter(case=w.blue_case).count() == 1
    assert AuditLog.objects.filter(action="case.attack.add").count() == 1


def test_remove_records_timeline_and_audit(w):
    case_techniques.add_technique(w.blue_case, "T1110", actor=w.analyst)
    assert case_techniques.remove_technique(w.blue_case, "T1110", actor=w.mate) is True
    assert not w.blue_case.techniques.exists()
    assert AuditLog.objects.filter(action="case.attack.remove", before={"technique": "T1110", "source": "manual"},
                                   actor=w.mate).exists()
    assert case_techniques.remove_technique(w.blue_case, "T1110", actor=w.mate) is False


def test_unknown_and_revoked_ids_are_refused_with_the_field(w):
    with pytest.raises(InvalidInput) as unknown:
        case_techniques.add_technique(w.blue_case, "T9999", actor=w.analyst)
    assert unknown.value.field == "technique"
    with pytest.raises(InvalidInput, match="revoked"):
        case_techniques.add_technique(w.blue_case, "T1086", actor=w.analyst)
    assert not CaseTechnique.objects.exists()


def test_grouped_by_tactic_in_matrix_order(w):
    for ext in ("T1110.001", "T1190", "T1059"):
        case_techniques.add_technique(w.blue_case, ext, actor=w.analyst)
    groups = attack_selectors.techniques_for_case(w.blue_case)
    assert [(g.tactic.external_id, [t.external_id for t in g.techniques]) for g in groups] == [
        ("TA0001", ["T1190"]), ("TA0002", ["T1059"]), ("TA0006", ["T1110.001"])]
    assert groups[0].techniques[0].case_link.added_by == w.analyst


def test_case_page_panel_and_forms(client, w):
    case_techniques.add_technique(w.blue_case, "T1059.001", actor=w.analyst)
    client.force_login(w.analyst)
    page = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert 'id="attack"' in page and "Execution" in page
    assert 'href="https://attack.mitre.org/techniques/T1059/001"' in page
    assert "added by analyst" in page
    response = client.post(f"/cases/{w.blue_case.pk}/techniques/add", {"technique": "T1190"})
    assert response.status_code == 302 and response["Location"].endswith("#attack")
    assert set(w.blue_case.techniques.values_list("external_id", flat=True)) == {"T1059.001", "T1190"}
    client.post(f"/cases/{w.blue_case.pk}/techniques/remove", {"technique": "T1059.001"})
    assert set(w.blue_case.techniques.values_list("external_id", flat=True)) == {"T1190"}


def test_another_team_gets_404_on_page_and_api(client, w):
    client.force_login(w.red_analyst)
    for url in (f"/cases/{w.blue_case.pk}/techniques/add", f"/cases/{w.blue_case.pk}/techniques/remove"):
        assert client.post(url, {"technique": "T1190"}).status_code == 404
    assert client.post(f"/api/v1/cases/{w.blue_case.pk}/techniques/", {"technique": "T1190"},
                       content_type="application/json").status_code == 404
    assert not CaseTechnique.objects.exists()


def test_auditor_may_not_change(client, w):
    client.force_login(w.auditor)
    response = client.post(f"/cases/{w.blue_case.pk}/techniques/add", {"technique": "T1190"})
    assert response.status_code in (403, 404)
    assert not CaseTechnique.objects.exists()


def test_api_add_remove_and_detail_field(client, w):
    client.force_login(w.analyst)
    url = f"/api/v1/cases/{w.blue_case.pk}/techniques/"
    added = client.post(url, {"technique": "T1110.001"}, content_type="application/json")
    assert added.status_code == 200
    [technique] = added.json()["techniques"]
    assert technique["id"] == "T1110.001" and technique["name"] == "Password Guessing"
    assert technique["tactics"] == ["credential-access"] and technique["source"] == "manual"
    assert technique["added_by"] == "analyst"
    bad = client.post(url, {"technique": "T9999"}, content_type="application/json")
    assert bad.status_code == 400 and "technique" in bad.json()
    missing = client.post(url, {}, content_type="application/json")
    assert missing.status_code == 400 and "technique" in missing.json()
    removed = client.delete(url, {"technique": "T1110.001"}, content_type="application/json")
    assert removed.status_code == 200 and removed.json()["techniques"] == []
