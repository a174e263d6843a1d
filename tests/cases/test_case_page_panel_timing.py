"""Per-panel timing of the heavy case page (issue 18): 200 observables each with an enrichment
result, 50 tasks, 20 files, 1,000 events. A measurement, not a regression test: it runs only
with SOAR_PANEL_TIMING=1 and prints the median milliseconds and the kilobytes of each panel
(every inclusion tag of the page) and of the whole page:

    SOAR_PANEL_TIMING=1 pytest -m "not integration" -s tests/cases/test_case_page_panel_timing.py
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
from django.template.library import InclusionNode
from django.utils import timezone

from alerts.models import Observable
from cases import services as case_services
from enrichment.models import EnrichmentResult
from tests.cases.test_case_page_queries import seed_case
from tests.factories import build_world

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not os.environ.get("SOAR_PANEL_TIMING"), reason="set SOAR_PANEL_TIMING=1")]
RUNS = 9


def test_time_each_panel_of_the_heavy_case_page(client, capsys, monkeypatch):
    w = build_world()
    heavy = case_services.open_case(title="heavy", severity="high", team=w.blue)
    seed_case(w, heavy, observables=200, tasks=50, files=20, events=1000, tag="h")
    enriched = set(EnrichmentResult.objects.filter(case=heavy).values_list("observable_id", flat=True))
    EnrichmentResult.objects.bulk_create([
        EnrichmentResult(case=heavy, observable=o, provider="fake", verdict="benign", summary="nothing known",
                         raw={"a": 1, "b": [1, 2, 3]}, fetched_at=timezone.now())
        for o in Observable.objects.filter(cases=heavy) if o.pk not in enriched])
    client.force_login(w.analyst)
    timings: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    render = InclusionNode.render

    def timed_render(node: InclusionNode, context) -> str:
        start = time.perf_counter()
        html = render(node, context)
        name = node.filename if isinstance(node.filename, str) else repr(node.filename)
        timings.setdefault(name, []).append((time.perf_counter() - start) * 1000)
        sizes[name] = len(html.encode())
        return html

    monkeypatch.setattr(InclusionNode, "render", timed_render)
    totals = []
    for _ in range(RUNS):
        start = time.perf_counter()
        response = client.get(f"/cases/{heavy.pk}/")
        totals.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    assert "cases/_tasks.html" in timings and "enrichment/_case_panel.html" in timings
    with capsys.disabled():
        print(f"\nwhole page: median {statistics.median(totals):.1f} ms, {len(response.content) / 1024:.1f} KB")
        for name, runs in sorted(timings.items(), key=lambda item: -statistics.median(item[1])):
            print(f"{name:40s} {statistics.median(runs):7.1f} ms {sizes[name] / 1024:7.1f} KB")
