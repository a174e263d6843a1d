"""The case page's enrichment panel shows 25 results a page, the worst verdicts first, with
?enrichment=N pages for the rest; the totals still count every result; other teams get 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Observable
from enrichment.models import EnrichmentResult
from enrichment.templatetags.enrichment_ui import ENRICHMENT_PAGE
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    w = build_world()
    now = timezone.now()
    observables = Observable.objects.bulk_create(
        [Observable(type="ip", value=f"203.0.113.{i}", value_hash=Observable.digest(f"ep-{i}")) for i in range(60)])
    # The malicious ones are the oldest: they must still come first.
    verdicts = ["benign"] * 40 + ["unknown"] * 10 + ["malicious"] * 5 + ["suspicious"] * 3
    results = [EnrichmentResult(case=w.blue_case, observable=o, provider="fake", verdict=verdict,
                                summary=f"summary-{o.pk}", fetched_at=now - timedelta(minutes=i))
               for i, (o, verdict) in enumerate(zip(observables, verdicts, strict=False))]
    results += [EnrichmentResult(case=w.blue_case, observable=o, provider="fake", error=f"timeout-{o.pk}",
                                 fetched_at=now) for o in observables[58:]]
    EnrichmentResult.objects.bulk_create(results)
    return w


def panel(client, case, query: str = "") -> str:
    response = client.get(f"/cases/{case.pk}/{query}")
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('id="enrichment-panel"')
    return html[start:html.index("</section>", start)]


def verdicts_in(html: str) -> list[str]:
    body = html[html.index("<tbody>"):]
    return [part.split("</span>", 1)[0].rsplit(">", 1)[1] for part in body.split('<span class="badge ')[1:]]


def test_first_page_is_capped_and_worst_first(client, world):
    client.force_login(world.analyst)
    html = panel(client, world.blue_case)
    shown = verdicts_in(html)
    assert len(shown) == ENRICHMENT_PAGE == 25
    assert shown[:10] == ["malicious"] * 5 + ["suspicious"] * 3 + ["error"] * 2
    assert shown[10:] == ["unknown"] * 10 + ["benign"] * 5
    assert "60 results, 8 findings" in html
    assert 'data-enrichment-page="2"' in html and "Page 1 of 3" in html


def test_later_pages_reach_every_result(client, world):
    client.force_login(world.analyst)
    seen = []
    for number in (1, 2, 3):
        html = panel(client, world.blue_case, f"?enrichment={number}")
        seen += verdicts_in(html)
    assert len(seen) == 60 and seen.count("benign") == 40
    last = panel(client, world.blue_case, "?enrichment=3")
    assert 'data-enrichment-page="2"' in last and 'data-enrichment-page="4"' not in last


@pytest.mark.parametrize("query", ["?enrichment=99", "?enrichment=-1", "?enrichment=abc", "?enrichment=9999999"])
def test_bad_or_out_of_range_pages_are_not_errors(client, world, query):
    client.force_login(world.analyst)
    html = panel(client, world.blue_case, query)
    assert len(verdicts_in(html)) in (ENRICHMENT_PAGE, 10)


def test_another_team_cannot_see_the_panel(client, world):
    client.force_login(world.red_analyst)
    assert client.get(f"/cases/{world.blue_case.pk}/?enrichment=2").status_code == 404
