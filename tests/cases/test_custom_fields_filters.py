"""Custom fields beyond the case page: cf_<key> filters in the queue and the API (typed, exact,
never beyond visibility), case template defaults, the case exports' columns and the admin."""

import csv
import io
import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cases import custom_fields, services
from cases.models import AuditLog, Case, CaseTemplate, CustomFieldDefinition
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    w = build_world()
    kinds = CustomFieldDefinition.Type
    CustomFieldDefinition.objects.create(key="vendor", label="Vendor", type=kinds.STRING, order=1)
    CustomFieldDefinition.objects.create(key="loss", label="Loss", type=kinds.NUMBER, order=2)
    CustomFieldDefinition.objects.create(key="reported", label="Reported", type=kinds.BOOLEAN, order=3)
    CustomFieldDefinition.objects.create(key="detected_on", label="Detected on", type=kinds.DATE, order=4)
    CustomFieldDefinition.objects.create(key="impact", label="Impact", type=kinds.CHOICE, order=5,
                                         choices=["low", "high"])
    w.acme = services.open_case(title="Acme breach", severity="high", team=w.blue)
    w.globex = services.open_case(title="Globex breach", severity="high", team=w.blue)
    custom_fields.set_custom_fields(w.acme, {"vendor": "Acme", "loss": "1500", "reported": True,
                                             "detected_on": "2026-11-30", "impact": "high"}, actor=None)
    custom_fields.set_custom_fields(w.globex, {"vendor": "Globex", "loss": "15.5", "reported": False}, actor=None)
    custom_fields.set_custom_fields(w.red_case, {"vendor": "Acme", "loss": 1500}, actor=None)
    return w


def api_ids(client, **params) -> set[int]:
    response = client.get("/api/v1/cases", params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- filters -------------------------------------------------------------------------------------------

def test_api_filters_by_each_type_exactly(client, w):
    client.force_login(w.analyst)
    assert api_ids(client, cf_vendor="Acme") == {w.acme.pk}  # the red team's Acme case stays invisible
    assert api_ids(client, cf_vendor="acm") == set()  # exact, not contains
    assert api_ids(client, cf_loss="1500") == {w.acme.pk}
    assert api_ids(client, cf_loss="1500.0") == {w.acme.pk}
    assert api_ids(client, cf_loss="15.5") == {w.globex.pk}
    assert api_ids(client, cf_reported="true") == {w.acme.pk}
    assert api_ids(client, cf_reported="false") == {w.globex.pk}
    assert api_ids(client, cf_detected_on="2026-11-30") == {w.acme.pk}
    assert api_ids(client, cf_impact="high") == {w.acme.pk}
    assert api_ids(client, cf_vendor="Globex", cf_reported="false") == {w.globex.pk}
    assert w.blue_case.pk in api_ids(client, cf_unknown="x")  # not a field: ignored like other unknown params


def test_api_bad_filter_values_are_a_400_with_field_errors(client, w):
    client.force_login(w.analyst)
    response = client.get("/api/v1/cases", {"cf_loss": "lots", "cf_detected_on": "yesterday", "cf_impact": "mid",
                                            "cf_reported": "maybe"})
    assert response.status_code == 400
    assert set(response.json()) == {"cf_loss", "cf_detected_on", "cf_impact", "cf_reported"}


def test_queue_page_filters_by_custom_field(client, w):
    client.force_login(w.analyst)
    page = client.get("/", {"cf_vendor": "Acme"}).content.decode()
    assert "Acme breach" in page and "Globex breach" not in page and "Blue phishing wave" not in page
    page = client.get("/", {"cf_loss": "15.5"}).content.decode()
    assert "Globex breach" in page and "Acme breach" not in page
    client.force_login(w.red_analyst)
    page = client.get("/", {"cf_vendor": "Acme"}).content.decode()
    assert "Red lateral movement" in page and "Acme breach" not in page


def test_queue_filter_form_has_a_typed_input_per_active_definition_keeping_the_value(client, w):
    CustomFieldDefinition.objects.create(key="retired", label="Retired", active=False)
    client.force_login(w.analyst)
    page = client.get("/").content.decode()
    assert 'id="more-filters" open' not in page  # no filter given: the section stays closed
    assert 'name="cf_vendor" value="" type="text"' in page and 'name="cf_loss" value="" type="number"' in page
    assert 'name="cf_detected_on" value="" type="date"' in page and 'name="cf_reported"' in page
    assert '<option value="high" >high</option>' in page and "cf_retired" not in page
    page = client.get("/", {"cf_impact": "high", "cf_vendor": "Acme"}).content.decode()
    assert 'id="more-filters" open' in page
    assert '<option value="high" selected>high</option>' in page and 'name="cf_vendor" value="Acme"' in page
    assert "Acme breach" in page and "Globex breach" not in page


def test_inactive_definitions_are_not_filters(client, w):
    CustomFieldDefinition.objects.filter(key="vendor").update(active=False)
    client.force_login(w.analyst)
    assert w.globex.pk in api_ids(client, cf_vendor="Acme")


def test_custom_field_q_uses_containment_on_postgresql():
    query = custom_fields.custom_field_q("vendor", "Acme")
    if connection.vendor == "postgresql":
        assert query.children == [("custom_fields__contains", {"vendor": "Acme"})]
    else:
        assert query.children == [("custom_fields__vendor", "Acme")]


# --- template defaults ------------------------------------------------------------------------------

def test_template_defaults_apply_when_a_case_is_opened(client, w):
    template = CaseTemplate.objects.create(name="Vendor breach", custom_fields={"vendor": "Initech", "impact": "low",
                                                                                "gone": "x", "loss": "n/a"})
    case = services.open_case(title="From template", severity="low", team=w.blue, template_id=template.pk)
    # Keys no longer defined or no longer valid are skipped, never a reason to refuse the case.
    assert case.custom_fields == {"vendor": "Initech", "impact": "low"}
    assert Case.objects.get(pk=case.pk).custom_fields == {"vendor": "Initech", "impact": "low"}
    client.force_login(w.analyst)
    response = client.post("/api/v1/cases", {"title": "By API", "template": "Vendor breach"},
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["custom_fields"] == {"vendor": "Initech",
                                                                                 "impact": "low"}


def test_template_defaults_in_bulk_cost_a_constant_number_of_queries(w):
    template = CaseTemplate.objects.create(name="Bulk", custom_fields={"vendor": "Initech"})
    specs = [{"title": f"x{n}", "severity": "low", "team_id": w.blue.pk, "template_id": template.pk}
             for n in range(12)]
    counts = []
    for batch in (specs[:2], specs):
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
            ids = services.open_cases_bulk(batch)
        counts.append(len(ctx.captured_queries))
        assert {c.custom_fields["vendor"] for c in Case.objects.filter(pk__in=ids)} == {"Initech"}
    assert counts[0] == counts[1]


def test_admin_refuses_bad_template_defaults_and_saves_good_ones(client, w):
    client.force_login(w.admin)
    form = {"name": "T", "active": "on", "title_prefix": "", "description": "", "severity": "", "tlp": "AMBER",
            "pap": "AMBER", "tasks-TOTAL_FORMS": "0", "tasks-INITIAL_FORMS": "0", "tasks-MIN_NUM_FORMS": "0",
            "tasks-MAX_NUM_FORMS": "1000"}
    bad = client.post("/admin/cases/casetemplate/add/", form | {"custom_fields": json.dumps({"loss": "lots"})})
    assert bad.status_code == 200 and "loss: Not a number." in bad.content.decode()
    assert not CaseTemplate.objects.filter(name="T").exists()
    good = client.post("/admin/cases/casetemplate/add/", form | {"custom_fields": json.dumps({"loss": "12"})})
    assert good.status_code == 302, good.content.decode()[:2000]
    assert CaseTemplate.objects.get(name="T").custom_fields == {"loss": 12}


def test_admin_manages_definitions_with_audit(client, w):
    client.force_login(w.admin)
    response = client.post("/admin/cases/customfielddefinition/add/", {
        "key": "region", "label": "Region", "type": "choice", "choices": json.dumps(["emea", "apac"]),
        "help_text": "", "order": "10", "active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert CustomFieldDefinition.objects.get(key="region").choices == ["emea", "apac"]
    assert AuditLog.objects.filter(action="customfielddefinition.create").exists()
    refused = client.post("/admin/cases/customfielddefinition/add/", {
        "key": "size", "label": "Size", "type": "choice", "choices": "[]", "help_text": "", "order": "10"})
    assert refused.status_code == 200 and not CustomFieldDefinition.objects.filter(key="size").exists()


# --- exports ----------------------------------------------------------------------------------------

def export_rows(client, fmt="csv", **params):
    response = client.get(f"/reports/export/cases.{fmt}", params)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text))) if fmt == "csv" else json.loads(text)


def test_exports_have_one_column_per_active_definition(client, w):
    CustomFieldDefinition.objects.filter(key="impact").update(active=False)
    client.force_login(w.analyst)
    rows = export_rows(client)
    assert [name for name in rows[0] if name.startswith("cf_")] == ["cf_vendor", "cf_loss", "cf_reported",
                                                                     "cf_detected_on"]
    by_id = {row["id"]: row for row in rows}
    acme = by_id[str(w.acme.pk)]
    assert (acme["cf_vendor"], acme["cf_loss"], acme["cf_reported"], acme["cf_detected_on"]) == (
        "Acme", "1500", "true", "2026-11-30")
    assert by_id[str(w.blue_case.pk)]["cf_vendor"] == ""
    assert str(w.red_case.pk) not in by_id
    objects = {row["id"]: row for row in export_rows(client, "json")}
    assert objects[w.globex.pk]["cf_loss"] == 15.5 and objects[w.globex.pk]["cf_reported"] is False
    assert objects[w.blue_case.pk]["cf_vendor"] is None
    assert [row["id"] for row in export_rows(client, cf_vendor="Globex")] == [str(w.globex.pk)]


def test_saved_views_keep_custom_field_filters_and_refuse_bad_ones(w):
    from cases import saved_views
    from soar.errors import InvalidInput

    view = saved_views.save_view(w.analyst, name="Acme", query="cf_vendor=Acme&severity=high")
    assert view.query == "cf_vendor=Acme&severity=high"
    for bad in ("cf_loss=lots", "cf_nothing=x"):
        with pytest.raises(InvalidInput):
            saved_views.save_view(w.analyst, name="Bad", query=bad)


def test_template_applied_to_an_open_case_adds_its_defaults_under_the_cases_values(w):
    from cases import tasks as task_services

    template = CaseTemplate.objects.create(name="Later", custom_fields={"vendor": "Initech", "impact": "low"})
    task_services.apply_template(w.acme, template, actor=None, actor_label="playbook:test")
    # The case's own values stay; the template fills only the fields the case has no value for.
    acme = Case.objects.get(pk=w.acme.pk).custom_fields
    assert (acme["vendor"], acme["impact"]) == ("Acme", "high")
    task_services.apply_template(w.blue_case, template, actor=None, actor_label="playbook:test")
    assert Case.objects.get(pk=w.blue_case.pk).custom_fields == {"vendor": "Initech", "impact": "low"}
