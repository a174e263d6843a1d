"""A provider outage end to end: the threat-intel API answers 503 to every try, the retries
are spent, and the analyst sees the failure on the case page (error panel and evidence row)
while the other providers' evidence is still there. The API key never appears on the page."""

from __future__ import annotations

import pytest

from alerts.models import Observable
from enrichment import services
from enrichment.models import ProviderConfig
from tests.factories import build_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_localhost")]


def test_provider_outage_is_retried_and_visible_on_the_case_page(client, fake_server):
    fake_server.add("GET", "/api/v3/ip_addresses/8.8.4.4", status=503, json={"error": "maintenance"})
    ProviderConfig.objects.create(provider="virustotal", base_url=fake_server.url, api_key="vt-key-not-for-pages",
                                  timeout_seconds=2, max_retries=2, rate_limit_per_minute=0)
    world = build_world()
    ip = Observable.objects.create(type="ip", value="8.8.4.4", value_hash=Observable.digest("8.8.4.4"))
    world.blue_case.observables.add(ip)

    results = {r.provider: r for r in services.enrich_case(world.blue_case.pk)}
    assert fake_server.count("/api/v3/ip_addresses/8.8.4.4") == 3  # first try + max_retries
    assert results["virustotal"].error and "503" in results["virustotal"].error
    assert not results["ip_classification"].error

    client.force_login(world.analyst)
    html = client.get(f"/cases/{world.blue_case.pk}/").content.decode()
    assert 'id="enrichment-errors"' in html and "1 provider error" in html
    assert results["virustotal"].error.replace("'", "&#x27;") in html
    assert "vt-key-not-for-pages" not in html
