"""The on-demand entry points: API, the case-page action, the panel and the admin."""

import pytest
from django.contrib.auth.models import Group, User
from django.template import Context, Template
from django.test import Client, RequestFactory

from alerts.models import Observable
from cases.models import Team
from cases.services import open_case
from enrichment.models import EnrichmentResult, ProviderConfig
from enrichment.services import add_to_blocklist

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    team = Team.objects.create(name="Blue", slug="blue")
    member = User.objects.create_user("member", password=None)
    team.members.add(member)
    outsider = User.objects.create_user("outsider", password=None)
    auditor = User.objects.create_user("auditor", password=None)
    auditor.groups.add(Group.objects.get_or_create(name="auditor")[0])
    ip = Observable.objects.create(type="ip", value="1.2.3.4", value_hash=Observable.digest("1.2.3.4"))
    other = Observable.objects.create(type="domain", value="x.example", value_hash=Observable.digest("x.example"))
    case = open_case(title="Beaconing", severity="low", team=team)
    case.observables.add(ip)
    add_to_blocklist("firewall", "ip", "1.2.3.4", reason="C2", actor_label="t")
    return {"case": case, "member": member, "outsider": outsider, "auditor": auditor, "ip": ip, "other": other}


def api(user):
    client = Client()
    client.force_login(user)
    return client


def test_run_case_enrichment_api(world):
    case = world["case"]
    path = f"/api/v1/enrichment/cases/{case.pk}/run"
    response = api(world["member"]).post(path, {}, content_type="application/json")
    assert response.status_code == 202 and response.json() == {"case": case.pk, "queued": True, "observables": 1}
    result = EnrichmentResult.objects.get(case=case, provider="blocklist")
    assert result.verdict == "malicious"
    case.refresh_from_db()
    assert case.severity == "high"  # shipped rule: known-malicious IP raises to high


def test_run_alias_path_and_provider_subset(world):
    case = world["case"]
    response = api(world["member"]).post(f"/api/v1/cases/{case.pk}/enrich", {"providers": ["ip_classification"]},
                                         content_type="application/json")
    assert response.status_code == 202
    assert set(EnrichmentResult.objects.filter(case=case).values_list("provider", flat=True)) == {"ip_classification"}


@pytest.mark.parametrize("body, field", [
    ({"providers": ["nope"]}, "providers"),
    ({"providers": "blocklist"}, "providers"),
    ({"observable_ids": ["x"]}, "observable_ids"),
])
def test_run_bad_input_is_400(world, body, field):
    response = api(world["member"]).post(f"/api/v1/enrichment/cases/{world['case'].pk}/run", body,
                                         content_type="application/json")
    assert response.status_code == 400 and field in response.json()


def test_run_with_observable_of_another_case_is_400(world):
    response = api(world["member"]).post(f"/api/v1/enrichment/cases/{world['case'].pk}/run",
                                         {"observable_ids": [world["other"].pk]}, content_type="application/json")
    assert response.status_code == 400 and "observable_ids" in response.json()
    assert not EnrichmentResult.objects.exists()


def test_run_permissions(world):
    path = f"/api/v1/enrichment/cases/{world['case'].pk}/run"
    assert api(world["outsider"]).post(path, {}, content_type="application/json").status_code == 404
    assert api(world["auditor"]).post(path, {}, content_type="application/json").status_code == 403
    assert Client().post(path, {}, content_type="application/json").status_code in (401, 403)
    assert api(world["member"]).post("/api/v1/enrichment/cases/999999/run", {},
                                     content_type="application/json").status_code == 404
    assert not EnrichmentResult.objects.exists()


def test_results_list_is_limited_to_visible_cases(world):
    api(world["member"]).post(f"/api/v1/enrichment/cases/{world['case'].pk}/run", {}, content_type="application/json")
    body = api(world["member"]).get(f"/api/v1/enrichment/results?case={world['case'].pk}&provider=blocklist").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["observable"] == {"id": world["ip"].pk, "type": "ip", "value": "1.2.3.4"}
    assert item["verdict"] == "malicious" and item["failed"] is False
    assert item["raw"]["entries"][0]["list"] == "firewall"
    assert api(world["outsider"]).get("/api/v1/enrichment/results").json()["count"] == 0
    assert api(world["outsider"]).get(f"/api/v1/enrichment/results?case={world['case'].pk}").status_code == 404
    assert api(world["member"]).get("/api/v1/enrichment/results?case=abc").status_code == 400


def test_observable_endpoint(world):
    path = f"/api/v1/enrichment/observables/{world['ip'].pk}"
    response = api(world["member"]).post(path, {"providers": ["blocklist"]}, content_type="application/json")
    assert response.status_code == 200 and response.json()[0]["verdict"] == "malicious"
    assert response.json()[0]["case"] is None
    assert api(world["auditor"]).post(path, {}, content_type="application/json").status_code == 403
    assert api(world["outsider"]).get(path).status_code == 404
    assert api(world["member"]).get(f"/api/v1/enrichment/observables/{world['other'].pk}").status_code == 404
    assert api(world["member"]).get(path).status_code == 200


def test_provider_list_never_shows_keys(world):
    ProviderConfig.objects.create(provider="virustotal", api_key="very-secret-key", base_url="https://vt.example")
    response = api(world["member"]).get("/api/v1/enrichment/providers")
    assert response.status_code == 200 and "very-secret-key" not in response.content.decode()
    providers = {p["key"]: p for p in response.json()}
    assert providers["virustotal"]["enabled"] is True and providers["abuseipdb"]["enabled"] is False
    assert providers["blocklist"]["enabled"] is True


# --- the case page ------------------------------------------------------------------------

def test_page_action_requires_csrf_and_permission(world):
    case = world["case"]
    path = f"/enrichment/cases/{case.pk}/run"
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world["member"])
    assert strict.post(path).status_code == 403  # no CSRF token
    assert not EnrichmentResult.objects.exists()
    member = api(world["member"])
    assert member.get(path).status_code == 405
    response = member.post(path, {"next": "https://evil.example/"})
    assert response.status_code == 302 and "evil.example" not in response["Location"]
    assert EnrichmentResult.objects.filter(case=case, provider="blocklist").exists()
    assert api(world["outsider"]).post(path).status_code == 404
    assert api(world["auditor"]).post(path).status_code == 403
    assert Client().post(path).status_code == 302  # to the login page


def render_panel(case, user):
    request = RequestFactory().get(f"/cases/{case.pk}/")
    request.user = user
    template = Template("{% load enrichment_ui %}{% case_enrichment_panel case %}")
    return template.render(Context({"case": case, "request": request}))


def test_panel_shows_badges_errors_and_button(world):
    case = world["case"]
    api(world["member"]).post(f"/api/v1/enrichment/cases/{case.pk}/run", {}, content_type="application/json")
    EnrichmentResult.objects.create(case=case, observable=world["ip"], provider="virustotal",
                                    error="VirusTotal: timed out after 10s (3 attempts).", fetched_at=case.created_at)
    html = render_panel(case, world["member"])
    assert 'badge badge-danger">malicious' in html and "On blocklist firewall: C2" in html
    assert "VirusTotal: timed out after 10s" in html and 'id="enrichment-errors"' in html
    assert "Run enrichment" in html and "csrfmiddlewaretoken" in html
    assert f'action="/enrichment/cases/{case.pk}/run"' in html
    assert "Run enrichment" not in render_panel(case, world["auditor"])


def test_panel_without_evidence(world):
    assert "No evidence yet." in render_panel(world["case"], world["member"])


# --- admin ------------------------------------------------------------------------------

def test_admin_never_displays_api_keys_and_keeps_them_on_blank_save(world):
    admin_user = User.objects.create_superuser("root", "root@example.com", None)
    config = ProviderConfig.objects.create(provider="virustotal", api_key="very-secret-key")
    client = api(admin_user)
    listing = client.get("/admin/enrichment/providerconfig/")
    assert listing.status_code == 200 and "very-secret-key" not in listing.content.decode()
    form = client.get(f"/admin/enrichment/providerconfig/{config.pk}/change/")
    assert form.status_code == 200 and "very-secret-key" not in form.content.decode()
    response = client.post(f"/admin/enrichment/providerconfig/{config.pk}/change/", {
        "provider": "virustotal", "enabled": "on", "api_key": "", "base_url": "https://vt.example",
        "timeout_seconds": "5", "rate_limit_per_minute": "4", "cache_ttl_seconds": "3600", "max_retries": "2",
        "options": "{}"})
    assert response.status_code == 302, response.content.decode()[:2000]
    config.refresh_from_db()
    assert config.api_key == "very-secret-key" and config.rate_limit_per_minute == 4
    bad = client.post(f"/admin/enrichment/providerconfig/{config.pk}/change/", {
        "provider": "virustotal", "timeout_seconds": "500", "rate_limit_per_minute": "4",
        "cache_ttl_seconds": "3600", "max_retries": "2", "options": "[]"})
    assert bad.status_code == 200 and "Between 0 and 120 seconds" in bad.content.decode()


def test_admin_asset_pages_load(world):
    admin_user = User.objects.create_superuser("root", "root@example.com", None)
    client = api(admin_user)
    for page in ("asset", "indicator", "blocklistentry", "enrichmentrule", "enrichmentresult"):
        assert client.get(f"/admin/enrichment/{page}/").status_code == 200
    assert client.get("/admin/enrichment/asset/add/").status_code == 200


def test_case_page_embeds_the_panel(world):
    case = world["case"]
    api(world["member"]).post(f"/enrichment/cases/{case.pk}/run")
    page = api(world["member"]).get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="enrichment-panel"' in html and "On blocklist firewall" in html and "Run enrichment" in html
