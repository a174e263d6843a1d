"""Observable types extensible in the admin: the built-in eight seeded by migration, admin-defined
types accepted or refused by their regex when observables are added by hand, built-in
normalisation kept, inactive types refused, and the admin (audit, built-ins not deletable)."""

import pytest

from alerts import observable_services
from alerts.models import Observable, ObservableType
from alerts.normalization import ENTITY_TYPES
from cases.models import AuditLog, CaseEvent
from soar import errors
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


@pytest.fixture
def cve(db):
    return ObservableType.objects.create(key="cve", label="CVE", validation_regex=r"CVE-\d{4}-\d{4,}")


def test_the_built_in_eight_are_seeded(db):
    built_in = ObservableType.objects.filter(built_in=True)
    assert sorted(built_in.values_list("key", flat=True)) == sorted(ENTITY_TYPES)
    assert dict(observable_services.observable_type_choices())["ip"] == "IP address"


def test_an_admin_defined_type_is_accepted_when_its_regex_matches(w, cve):
    observable = observable_services.add_case_observable(w.blue_case, "cve", "  CVE-2024-3094 ", actor=w.analyst)
    assert (observable.type, observable.value) == ("cve", "CVE-2024-3094")
    assert Observable.objects.filter(type="cve", cases=w.blue_case).count() == 1
    assert CaseEvent.objects.filter(case=w.blue_case, message="Observable cve CVE-2024-3094 added").exists()
    assert AuditLog.objects.filter(action="case.observable_added", object_id=str(w.blue_case.pk)).exists()
    assert ("cve", "CVE") in observable_services.observable_type_choices()


def test_an_admin_defined_type_refuses_a_value_its_regex_does_not_match(w, cve):
    with pytest.raises(errors.InvalidInput) as refused:
        observable_services.add_case_observable(w.blue_case, "cve", "CVE-2024-3094 and more", actor=w.analyst)
    assert refused.value.errors == {"value": ["Does not look like a CVE value."]}
    assert not Observable.objects.filter(type="cve").exists()


def test_unknown_and_inactive_types_are_refused_with_a_type_error(w, cve):
    with pytest.raises(errors.InvalidInput) as refused:
        observable_services.add_observables_to_case(w.blue_case, [("registry_key", "HKLM\\Run")])
    assert list(refused.value.errors) == ["type"]
    cve.active = False
    cve.save()
    with pytest.raises(errors.InvalidInput):
        observable_services.add_observables_to_case(w.blue_case, [("cve", "CVE-2024-3094")])
    ObservableType.objects.filter(key="process").update(active=False)
    with pytest.raises(errors.InvalidInput):
        observable_services.add_observables_to_case(w.blue_case, [("process", "evil.exe")])


def test_a_type_without_regex_takes_any_text_but_not_empty_or_too_long(w):
    ObservableType.objects.create(key="registry_key", label="Registry key")
    found = observable_services.clean_observable("registry_key", "HKLM\\Software\\Run\\x")
    assert found.value == "HKLM\\Software\\Run\\x"
    for bad in ("   ", "x" * 3000, ["list"], True):
        with pytest.raises(errors.InvalidInput) as refused:
            observable_services.clean_observable("registry_key", bad)
        assert list(refused.value.errors) == ["value"]


def test_built_in_types_keep_their_normalisation_and_may_get_a_stricter_regex(w):
    assert observable_services.clean_observable("domain", "Evil[.]Example.COM.").value == "evil.example.com"
    with pytest.raises(errors.InvalidInput):
        observable_services.clean_observable("ip", "not-an-ip")
    ObservableType.objects.filter(key="domain").update(validation_regex=r".*\.example\.com")
    assert observable_services.clean_observable("domain", "a.example.com").value == "a.example.com"
    with pytest.raises(errors.InvalidInput):
        observable_services.clean_observable("domain", "a.example.org")


def test_a_built_in_type_without_its_row_is_still_accepted(w):
    ObservableType.objects.filter(key="hash").delete()
    digest = "d41d8cd98f00b204e9800998ecf8427e"
    assert observable_services.clean_observable("hash", digest.upper()).value == digest


def test_another_teams_analyst_may_not_add_observables(w, cve):
    with pytest.raises(errors.NotAllowed):
        observable_services.add_case_observable(w.blue_case, "cve", "CVE-2024-3094", actor=w.red_analyst)
    assert not Observable.objects.filter(type="cve").exists()


def test_long_type_keys_fit_the_observable_column(w):
    key = "x" * 32
    ObservableType.objects.create(key=key, label="Long")
    observable = observable_services.add_case_observable(w.blue_case, key, "value", actor=w.analyst)
    assert Observable.objects.get(pk=observable.pk).type == key


def test_admin_adds_types_with_audit_checks_the_regex_and_keeps_the_built_ins(client, w):
    client.force_login(w.admin)
    response = client.post("/admin/alerts/observabletype/add/", {
        "key": "cve", "label": "CVE", "validation_regex": r"CVE-\d{4}-\d{4,}", "description": "", "active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuditLog.objects.filter(action="observabletype.create", object_repr="CVE").exists()
    broken = client.post("/admin/alerts/observabletype/add/", {
        "key": "bad", "label": "Bad", "validation_regex": "([a-z", "description": "", "active": "on"})
    assert broken.status_code == 200 and "Not a valid regular expression" in broken.content.decode()
    assert not ObservableType.objects.filter(key="bad").exists()
    ip = ObservableType.objects.get(key="ip")
    assert client.post(f"/admin/alerts/observabletype/{ip.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ObservableType.objects.filter(key="ip").exists()
    assert client.get("/admin/alerts/observabletype/").status_code == 200


# --- adding by hand: the API and the case page --------------------------------------------------------

def test_api_adds_an_observable_of_an_admin_defined_type(client, w, cve):
    client.force_login(w.analyst)
    url = f"/api/v1/cases/{w.blue_case.pk}/observables"
    response = client.post(url, {"type": "cve", "value": "CVE-2024-3094"}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert (response.json()["type"], response.json()["value"]) == ("cve", "CVE-2024-3094")
    assert [row["value"] for row in client.get(url).json()] == ["CVE-2024-3094"]
    bad = client.post(url, {"type": "cve", "value": "not a cve"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json() == {"value": ["Does not look like a CVE value."]}
    unknown = client.post(url, {"type": "cwe", "value": "CWE-79"}, content_type="application/json")
    assert unknown.status_code == 400 and list(unknown.json()) == ["type"]
    assert Observable.objects.filter(cases=w.blue_case).count() == 1


def test_api_add_is_404_for_another_teams_case_and_403_for_readers(client, w, cve):
    client.force_login(w.red_analyst)
    url = f"/api/v1/cases/{w.blue_case.pk}/observables"
    assert client.post(url, {"type": "cve", "value": "CVE-2024-3094"},
                       content_type="application/json").status_code == 404
    client.force_login(w.auditor)
    assert client.post(url, {"type": "cve", "value": "CVE-2024-3094"},
                       content_type="application/json").status_code == 403
    assert not Observable.objects.filter(type="cve").exists()


def test_case_page_form_lists_the_types_from_the_table_and_adds(client, w, cve):
    ObservableType.objects.filter(key="process").update(active=False)
    client.force_login(w.analyst)
    page = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert '<option value="cve">CVE</option>' in page and '<option value="ip">IP address</option>' in page
    assert '<option value="process">' not in page
    response = client.post(f"/observables/cases/{w.blue_case.pk}/add", {"type": "cve", "value": "CVE-2021-44228"})
    observable = Observable.objects.get(type="cve", value="CVE-2021-44228")
    assert response.status_code == 302 and response.url.endswith(f"#observable-{observable.pk}")
    refused = client.post(f"/observables/cases/{w.blue_case.pk}/add", {"type": "cve", "value": "log4shell"},
                          HTTP_REFERER=f"http://testserver/cases/{w.blue_case.pk}/", follow=True)
    assert "Not a valid observable: value: Does not look like a CVE value." in refused.content.decode()
    assert Observable.objects.filter(type="cve").count() == 1


def test_case_page_form_is_not_offered_to_readers_nor_reachable_by_other_teams(client, w, cve):
    client.force_login(w.auditor)
    assert 'id="add-observable"' not in client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    client.force_login(w.red_analyst)
    response = client.post(f"/observables/cases/{w.blue_case.pk}/add", {"type": "cve", "value": "CVE-2024-3094"})
    assert response.status_code == 404
    assert not Observable.objects.filter(type="cve").exists()
