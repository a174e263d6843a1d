"""The case observables API: attributes and seen-in of each observable, PATCH of the attributes;
another team 404, auditor 403, bad values 400."""

import pytest

from alerts.models import CaseObservable, Observable
from cases import services as case_services
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    w = build_world()
    w.ip = Observable.objects.create(type="ip", value="192.0.2.7", value_hash=Observable.digest("192.0.2.7"))
    w.blue_case.observables.add(w.ip)
    w.other = case_services.open_case(title="other blue", severity="low", team=w.blue)
    w.other.observables.add(w.ip)
    w.red_case.observables.add(w.ip)
    return w


def test_list_and_patch(client, world):
    client.force_login(world.analyst)
    url = f"/api/v1/cases/{world.blue_case.pk}/observables"
    listed = client.get(url).json()
    assert listed == [{"id": world.ip.pk, "type": "ip", "value": "192.0.2.7", "ioc": False, "sighted": False,
                       "sighted_at": None, "tlp": "amber", "tags": [], "description": "",
                       "seen_in_cases": [world.other.pk], "seen_in_count": 1, "hidden_count": None}]
    response = client.patch(f"{url}/{world.ip.pk}", {"ioc": True, "tlp": "green", "tags": ["c2"], "sighted": True},
                            content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ioc"] is True and body["tlp"] == "green" and body["tags"] == ["c2"] and body["sighted_at"]
    assert CaseObservable.objects.get(case_id=world.blue_case.pk).ioc is True
    bad = client.patch(f"{url}/{world.ip.pk}", {"tlp": "purple"}, content_type="application/json")
    assert bad.status_code == 400 and "tlp" in bad.json()
    missing = Observable.objects.create(type="ip", value="192.0.2.8", value_hash=Observable.digest("192.0.2.8"))
    assert client.patch(f"{url}/{missing.pk}", {"ioc": True}, content_type="application/json").status_code == 404


def test_another_team_gets_404_and_the_auditor_403(client, world):
    url = f"/api/v1/cases/{world.blue_case.pk}/observables"
    client.force_login(world.red_analyst)
    assert client.get(url).status_code == 404
    assert client.patch(f"{url}/{world.ip.pk}", {"ioc": True}, content_type="application/json").status_code == 404
    client.force_login(world.auditor)
    assert client.get(url).status_code == 200
    assert client.patch(f"{url}/{world.ip.pk}", {"ioc": True}, content_type="application/json").status_code == 403
    assert not CaseObservable.objects.exists()
