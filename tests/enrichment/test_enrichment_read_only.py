"""A merged case is read-only: no "Run enrichment" button, and the enrichment service refuses it
(page, API, playbook step, queued task and automatic follow-up alike)."""

import pytest

from alerts.models import Observable
from cases.models import Case
from cases.services_bulk import merge_cases
from enrichment import services, tasks
from enrichment.models import EnrichmentResult
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def merged():
    w = build_world()
    services.add_to_blocklist("firewall", "ip", "1.2.3.4", reason="C2", actor_label="t")
    ip = Observable.objects.create(type="ip", value="1.2.3.4", value_hash=Observable.digest("1.2.3.4"))
    w.blue_case.observables.add(ip)
    target = Case.objects.create(title="Blue target", severity="high", team=w.blue)
    merge_cases(w.blue_case, target, actor=w.lead)
    w.blue_case.refresh_from_db()
    w.target = target
    return w


def test_the_service_refuses_a_merged_case(merged):
    with pytest.raises(services.CaseReadOnly) as refused:
        services.enrich_case(merged.blue_case.pk, force=True)
    assert refused.value.code == "case_read_only" and f"#{merged.target.pk}" in str(refused.value)
    assert not EnrichmentResult.objects.filter(case=merged.blue_case).exists()
    # The queued task (merged after it was queued) ends quietly without evidence.
    assert tasks.enrich_case(merged.blue_case.pk, force=True) == 0
    # The target is enrichable.
    assert services.enrich_case(merged.target.pk, force=True)


def test_the_page_hides_the_button_and_refuses_the_post(client, merged):
    client.force_login(merged.analyst)
    page = client.get(f"/cases/{merged.blue_case.pk}/").content.decode()
    assert 'id="run-enrichment"' not in page
    assert 'id="run-enrichment"' in client.get(f"/cases/{merged.target.pk}/").content.decode()
    url = f"/enrichment/cases/{merged.blue_case.pk}/run"
    response = client.post(url, HTTP_REFERER=f"http://testserver/cases/{merged.blue_case.pk}/")
    assert response.status_code == 302
    follow = client.get(response["Location"]).content.decode()
    assert "read-only" in follow
    assert client.post(url).status_code == 409  # no referrer: the error page with the refusal's status
    assert not EnrichmentResult.objects.filter(case=merged.blue_case).exists()


def test_the_api_answers_409(client, merged):
    client.force_login(merged.analyst)
    response = client.post(f"/api/v1/enrichment/cases/{merged.blue_case.pk}/run", {}, content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "case_read_only"


def test_other_teams_and_auditors_still_get_404_and_403(client, merged):
    client.force_login(merged.red_analyst)
    assert client.post(f"/enrichment/cases/{merged.target.pk}/run").status_code == 404
    client.force_login(merged.auditor)
    assert client.post(f"/enrichment/cases/{merged.target.pk}/run").status_code == 403
