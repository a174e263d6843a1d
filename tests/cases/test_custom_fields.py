"""Custom fields of cases: validation of every type, the edit service (timeline, audit, required),
the API's read/write with field errors, the case page's Fields panel and form, and RBAC."""

import pytest

from cases import custom_fields
from cases.models import AuditLog, Case, CaseEvent, CustomFieldDefinition
from tests.factories import build_world, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


@pytest.fixture
def defs():
    kinds = CustomFieldDefinition.Type
    made = [
        CustomFieldDefinition.objects.create(key="vendor", label="Vendor", type=kinds.STRING, order=1),
        CustomFieldDefinition.objects.create(key="loss", label="Loss (EUR)", type=kinds.NUMBER, order=2),
        CustomFieldDefinition.objects.create(key="reported", label="Reported to CERT", type=kinds.BOOLEAN, order=3),
        CustomFieldDefinition.objects.create(key="detected_on", label="Detected on", type=kinds.DATE, order=4),
        CustomFieldDefinition.objects.create(key="impact", label="Impact", type=kinds.CHOICE, order=5,
                                             choices=["low", "high"]),
        CustomFieldDefinition.objects.create(key="owner", label="Business owner", type=kinds.USER, order=6),
    ]
    return {d.key: d for d in made}


def clean(values, team_id=None):
    return custom_fields.clean_values(values, custom_fields.active_definitions(), team_id=team_id)


# --- validation -------------------------------------------------------------------------------------

def test_every_type_is_parsed_to_its_stored_form(w, defs):
    cleaned = clean({"vendor": "  Acme ", "loss": "1500", "reported": "yes", "detected_on": "2026-11-30",
                     "impact": "high", "owner": "analyst"}, team_id=w.blue.pk)
    assert cleaned == {"vendor": "Acme", "loss": 1500, "reported": True, "detected_on": "2026-11-30",
                       "impact": "high", "owner": "analyst"}
    assert clean({"loss": 12.5, "reported": False})["loss"] == 12.5
    assert clean({"loss": "2.50"})["loss"] == 2.5 and clean({"loss": "3.0"})["loss"] == 3
    assert clean({"reported": "0"})["reported"] is False
    # Empty values mean "clear the field".
    assert clean({"vendor": "", "loss": None}) == {"vendor": None, "loss": None}


@pytest.mark.parametrize(("key", "value", "message"), [
    ("loss", "a lot", "Not a number."),
    ("loss", True, "Not a number."),
    ("loss", "NaN", "Not a finite number below 10^15."),
    ("loss", "1e20", "Not a finite number below 10^15."),
    ("reported", "maybe", "Not a yes/no value (true or false)."),
    ("detected_on", "30/11/2026", "Not a date (YYYY-MM-DD)."),
    ("detected_on", 20261130, "Not a date (YYYY-MM-DD)."),
    ("impact", "medium", "Must be one of: low, high."),
    ("vendor", 42, "Must be text."),
    ("vendor", "x" * 1001, "At most 1000 characters."),
    ("owner", "nobody", "No active user of the case's team has this username."),
    ("owner", "redanalyst", "No active user of the case's team has this username."),  # another team
])
def test_bad_values_are_refused_with_the_fields_error(w, defs, key, value, message):
    with pytest.raises(custom_fields.CustomFieldError) as refused:
        clean({key: value}, team_id=w.blue.pk)
    assert refused.value.errors == {"custom_fields": {key: [message]}}


def test_unknown_and_inactive_keys_are_refused_all_errors_together(w, defs):
    CustomFieldDefinition.objects.filter(key="vendor").update(active=False)
    with pytest.raises(custom_fields.CustomFieldError) as refused:
        clean({"nope": "x", "vendor": "Acme", "loss": "many"})
    assert refused.value.field_errors == {"nope": ["Unknown custom field."], "vendor": ["Unknown custom field."],
                                          "loss": ["Not a number."]}
    with pytest.raises(custom_fields.CustomFieldError):
        clean(["not", "a", "mapping"])


def test_user_field_of_a_case_without_team_accepts_any_active_user(w, defs):
    assert clean({"owner": "redanalyst"}, team_id=None) == {"owner": "redanalyst"}
    gone = make_user("gone", roles=["analyst"], teams=[w.blue])
    gone.is_active = False
    gone.save()
    with pytest.raises(custom_fields.CustomFieldError):
        clean({"owner": "gone"}, team_id=None)


def test_a_choice_definition_needs_choices(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        CustomFieldDefinition(key="impact", label="Impact", type="choice", choices=[]).full_clean()
    with pytest.raises(ValidationError):
        CustomFieldDefinition(key="bad__key", label="Bad", type="string").full_clean()
    with pytest.raises(ValidationError):  # a lookup of the JSON column, not a key
        CustomFieldDefinition(key="exact", label="Exact", type="string").full_clean()
    with pytest.raises(ValidationError):
        CustomFieldDefinition(key="vendor", label="Vendor", type="string", choices=["a"]).full_clean()
    CustomFieldDefinition(key="ok_key", label="Ok", type="choice", choices=["a"]).full_clean()


# --- the edit service -------------------------------------------------------------------------------

def test_set_custom_fields_records_timeline_and_audit(w, defs):
    case = custom_fields.set_custom_fields(w.blue_case, {"vendor": "Acme", "loss": "10"}, actor=w.analyst)
    assert Case.objects.get(pk=case.pk).custom_fields == {"vendor": "Acme", "loss": 10}
    case = custom_fields.set_custom_fields(case, {"vendor": "Globex", "loss": "10"}, actor=w.analyst)
    messages = list(CaseEvent.objects.filter(case=case, data__has_key="custom_field").values_list("message", flat=True))
    assert messages == ["Custom field Vendor changed from (empty) to Acme",
                        "Custom field Loss (EUR) changed from (empty) to 10",
                        "Custom field Vendor changed from Acme to Globex"]
    audits = AuditLog.objects.filter(action="case.custom_fields", object_id=str(case.pk)).order_by("id")
    assert [(a.before, a.after) for a in audits] == [
        ({"vendor": None, "loss": None}, {"vendor": "Acme", "loss": 10}),
        ({"vendor": "Acme"}, {"vendor": "Globex"}),
    ]
    assert audits[0].actor == w.analyst
    # Clearing removes the key; an unchanged value writes nothing.
    custom_fields.set_custom_fields(case, {"vendor": ""}, actor=w.analyst)
    assert Case.objects.get(pk=case.pk).custom_fields == {"loss": 10}
    before = CaseEvent.objects.count()
    custom_fields.set_custom_fields(case, {"loss": 10}, actor=w.analyst)
    assert CaseEvent.objects.count() == before


def test_required_fields_are_enforced_on_edit_and_nothing_is_lost(w, defs):
    CustomFieldDefinition.objects.filter(key="impact").update(required=True)
    with pytest.raises(custom_fields.CustomFieldError) as refused:
        custom_fields.set_custom_fields(w.blue_case, {"vendor": "Acme"}, actor=w.analyst)
    assert refused.value.field_errors == {"impact": ["This field is required."]}
    custom_fields.set_custom_fields(w.blue_case, {"vendor": "Acme", "impact": "low"}, actor=w.analyst)
    with pytest.raises(custom_fields.CustomFieldError):
        custom_fields.set_custom_fields(w.blue_case, {"impact": ""}, actor=w.analyst)
    assert Case.objects.get(pk=w.blue_case.pk).custom_fields == {"vendor": "Acme", "impact": "low"}


def test_a_user_who_may_not_change_the_case_is_refused(w, defs):
    from soar.errors import NotAllowed

    with pytest.raises(NotAllowed):
        custom_fields.set_custom_fields(w.blue_case, {"vendor": "Acme"}, actor=w.red_analyst)
    with pytest.raises(NotAllowed):
        custom_fields.set_custom_fields(w.blue_case, {"vendor": "Acme"}, actor=w.auditor)
    assert Case.objects.get(pk=w.blue_case.pk).custom_fields == {}


# --- API --------------------------------------------------------------------------------------------

def test_api_reads_and_writes_custom_fields(client, w, defs):
    client.force_login(w.analyst)
    url = f"/api/v1/cases/{w.blue_case.pk}"
    response = client.patch(url, {"custom_fields": {"loss": "99.5", "reported": True, "owner": "mate"}},
                            content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["custom_fields"] == {"loss": 99.5, "reported": True, "owner": "mate"}
    assert client.get(url).json()["custom_fields"] == {"loss": 99.5, "reported": True, "owner": "mate"}
    listed = {row["id"]: row for row in client.get("/api/v1/cases").json()["results"]}
    assert listed[w.blue_case.pk]["custom_fields"]["owner"] == "mate"


def test_api_bad_values_are_a_400_with_field_errors_and_change_nothing(client, w, defs):
    client.force_login(w.analyst)
    url = f"/api/v1/cases/{w.blue_case.pk}"
    response = client.patch(url, {"title": "Renamed", "custom_fields": {"loss": "lots", "colour": "red"}},
                            content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"custom_fields": {"loss": ["Not a number."], "colour": ["Unknown custom field."]}}
    case = Case.objects.get(pk=w.blue_case.pk)
    assert case.title == "Blue phishing wave" and case.custom_fields == {}
    not_a_dict = client.patch(url, {"custom_fields": ["x"]}, content_type="application/json")
    assert not_a_dict.status_code == 400 and "custom_fields" in not_a_dict.json()


def test_api_opens_a_case_with_custom_fields_or_opens_none_when_they_are_refused(client, w, defs):
    client.force_login(w.analyst)
    created = client.post("/api/v1/cases", {"title": "Vendor breach", "severity": "high",
                                            "custom_fields": {"vendor": "Acme", "loss": "12"}},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["custom_fields"] == {"vendor": "Acme", "loss": 12}
    assert Case.objects.get(pk=created.json()["id"]).custom_fields == {"vendor": "Acme", "loss": 12}
    before = Case.objects.count()
    refused = client.post("/api/v1/cases", {"title": "Bad fields", "custom_fields": {"loss": "lots"}},
                          content_type="application/json")
    assert refused.status_code == 400 and refused.json() == {"custom_fields": {"loss": ["Not a number."]}}
    assert Case.objects.count() == before and not Case.objects.filter(title="Bad fields").exists()


def test_api_another_teams_analyst_gets_404(client, w, defs):
    client.force_login(w.red_analyst)
    response = client.patch(f"/api/v1/cases/{w.blue_case.pk}", {"custom_fields": {"vendor": "Evil"}},
                            content_type="application/json")
    assert response.status_code == 404
    assert Case.objects.get(pk=w.blue_case.pk).custom_fields == {}


# --- the case page ----------------------------------------------------------------------------------

def test_case_page_shows_the_fields_panel_and_saves_the_form(client, w, defs):
    client.force_login(w.analyst)
    page = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert 'id="fields"' in page and "Business owner" in page and 'name="cf_impact"' in page
    response = client.post(f"/cases/{w.blue_case.pk}/fields",
                           {"cf_vendor": "Acme", "cf_loss": "7", "cf_reported": "true", "cf_detected_on": "2026-11-30",
                            "cf_impact": "high", "cf_owner": "mate"})
    assert response.status_code == 302 and response.url.endswith("#fields")
    assert Case.objects.get(pk=w.blue_case.pk).custom_fields == {
        "vendor": "Acme", "loss": 7, "reported": True, "detected_on": "2026-11-30", "impact": "high",
        "owner": "mate"}
    page = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert "Custom field Impact changed from (empty) to high" in page
    assert '<option value="high" selected>' in page


def test_case_page_form_refusal_is_a_message_and_keeps_the_values(client, w, defs):
    client.force_login(w.analyst)
    case_url = f"/cases/{w.blue_case.pk}/"
    client.post(f"/cases/{w.blue_case.pk}/fields", {"cf_vendor": "Acme"})
    response = client.post(f"/cases/{w.blue_case.pk}/fields", {"cf_vendor": "Globex", "cf_loss": "lots"},
                           HTTP_REFERER=f"http://testserver{case_url}", follow=True)
    assert response.status_code == 200
    assert "loss: Not a number." in response.content.decode()
    assert Case.objects.get(pk=w.blue_case.pk).custom_fields == {"vendor": "Acme"}


def test_case_page_form_of_another_teams_case_is_404(client, w, defs):
    client.force_login(w.red_analyst)
    assert client.post(f"/cases/{w.blue_case.pk}/fields", {"cf_vendor": "Evil"}).status_code == 404
    client.force_login(w.auditor)
    assert client.post(f"/cases/{w.blue_case.pk}/fields", {"cf_vendor": "Evil"}).status_code == 403
    assert Case.objects.get(pk=w.blue_case.pk).custom_fields == {}


def test_reader_sees_values_but_no_form(client, w, defs):
    custom_fields.set_custom_fields(w.blue_case, {"vendor": "Acme"}, actor=None)
    client.force_login(w.auditor)
    page = client.get(f"/cases/{w.blue_case.pk}/").content.decode()
    assert "Acme" in page and 'id="custom-fields-form"' not in page
