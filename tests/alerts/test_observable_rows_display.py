"""The case page's observable rows are worked out in Python (observable_intel.observable_rows_display):
the URLs built from one reversal each match Django's own, values are defanged and truncated,
the TLP preselected is the analysts' or AMBER, and "seen in" links only visible cases."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts import observable_intel
from alerts.models import CaseObservable, Observable
from cases import services as case_services
from tests.factories import build_world

pytestmark = pytest.mark.django_db


def test_display_urls_values_and_tlp_match_the_template_helpers():
    w = build_world()
    url = Observable.objects.create(type="url", value="http://evil.example/" + "a" * 200,
                                    value_hash=Observable.digest("long-url"))
    ip = Observable.objects.create(type="ip", value="198.51.100.7", value_hash=Observable.digest("ip-7"))
    other = case_services.open_case(title="Other blue", severity="low", team=w.blue)
    for observable in (url, ip):
        w.blue_case.observables.add(observable)
        other.observables.add(observable)
        w.red_case.observables.add(observable)
    CaseObservable.objects.create(case=w.blue_case, observable=ip, tlp="red", updated_by=w.analyst)
    rows = observable_intel.case_observable_rows(w.analyst, w.blue_case)
    shown = {d.row.observable.pk: d for d in observable_intel.observable_rows_display(rows, w.blue_case.pk)}
    assert shown[ip.pk].detail_url == reverse("observables:detail", args=[ip.pk])
    assert shown[ip.pk].update_url == reverse("observables:update", args=[ip.pk, w.blue_case.pk])
    assert shown[ip.pk].tlp == "red" and shown[url.pk].tlp == "amber"
    assert shown[url.pk].shown_value.startswith("hxxp://evil[.]example/") and len(shown[url.pk].shown_value) == 80
    assert shown[ip.pk].seen_links == [(other.pk, reverse("cases:detail", args=[other.pk]))]


def test_the_page_links_rows_and_never_names_another_teams_case(client):
    w = build_world()
    ip = Observable.objects.create(type="ip", value="198.51.100.8", value_hash=Observable.digest("ip-8"))
    other = case_services.open_case(title="Other blue", severity="low", team=w.blue)
    for case in (w.blue_case, other, w.red_case):
        case.observables.add(ip)
    client.force_login(w.analyst)
    page = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert f'href="/observables/{ip.pk}/"' in page
    assert f'action="/observables/{ip.pk}/cases/{w.blue_case.pk}/"' in page
    assert f'href="/cases/{other.pk}/">#{other.pk}</a>' in page
    assert f'href="/cases/{w.red_case.pk}/"' not in page
    assert '<option value="amber" selected>' in page
    client.force_login(w.red_analyst)
    assert client.get(f"/cases/{w.blue_case.pk}/").status_code == 404
