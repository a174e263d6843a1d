"""Each role against each endpoint and page. A case of another team answers 404 (no IDOR)."""

import json

import pytest
from rest_framework.authtoken.models import Token

from alerts.models import Alert, AlertSource, Observable
from cases import services
from cases.models import Case
from cases.roles_setup import ensure_roles
from tests.factories import build_world

pytestmark = pytest.mark.django_db

ROLES = ["admin", "lead", "analyst", "red_analyst", "auditor", "anonymous"]
# Expected status per role for reading the Blue team's case.
READ = {"admin": 200, "lead": 200, "analyst": 200, "red_analyst": 404, "auditor": 200}
# The API answers anonymous requests 401 (token authentication is listed first: WWW-Authenticate).
API_ANONYMOUS = 401
# ... and for changing it.
WRITE_API = {"admin": 200, "lead": 200, "analyst": 200, "red_analyst": 404, "auditor": 403}
WRITE_PAGE = {"admin": 302, "lead": 302, "analyst": 302, "red_analyst": 404, "auditor": 403}


@pytest.fixture
def w():
    world = build_world()
    source = AlertSource.objects.create(name="siem", kind="generic", token_hash="0" * 64, default_team=world.blue)
    world.source_token = source.rotate_token()
    source.save()
    world.blue_alert = Alert.objects.create(source=source, title="Blue alert", severity="high", fingerprint="b",
                                            case=world.blue_case, status=Alert.Status.IN_CASE)
    world.queued_alert = Alert.objects.create(source=source, title="Queued", severity="low", fingerprint="q")
    obs = Observable.objects.create(type="ip", value="192.0.2.1", value_hash=Observable.digest("192.0.2.1"))
    world.blue_case.observables.add(obs)
    services.add_note(world.blue_case, "blue secret note", actor=world.analyst)
    return world


def login(client, w, role):
    if role != "anonymous":
        client.force_login(getattr(w, role))
    return client


def api_reads(case_id):
    return [f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/timeline", f"/api/v1/cases/{case_id}/notes"]


@pytest.mark.parametrize("role", ROLES)
def test_reading_a_case_page_and_api(client, w, role):
    login(client, w, role)
    for url in api_reads(w.blue_case.pk):
        expected = READ.get(role, API_ANONYMOUS)
        assert client.get(url).status_code == expected, (role, url)
    page = client.get(f"/cases/{w.blue_case.pk}/")
    if role == "anonymous":
        assert page.status_code == 302 and "/login" in page["Location"]
    else:
        assert page.status_code == READ[role], role


@pytest.mark.parametrize("role", ROLES)
def test_changing_a_case_through_the_api(client, w, role):
    login(client, w, role)
    case = w.blue_case.pk
    calls = [
        ("post", f"/api/v1/cases/{case}/tags", {"add": ["t1"]}),
        ("post", f"/api/v1/cases/{case}/notes", {"body": "n"}),
        ("post", f"/api/v1/cases/{case}/assign", {"assignee": w.lead.pk}),
        ("patch", f"/api/v1/cases/{case}", {"title": "new title"}),
        ("post", f"/api/v1/cases/{case}/share", {"user": "mate", "can_change": False}),
        ("post", f"/api/v1/cases/{case}/transition", {"status": "TRIAGED"}),
    ]
    for method, url, body in calls:
        response = getattr(client, method)(url, json.dumps(body), content_type="application/json")
        expected = WRITE_API.get(role, API_ANONYMOUS)
        if role == "analyst" and url.endswith("/assign"):
            expected = 403  # analysts cannot push an unowned case onto someone else
        if url.endswith("/notes") and expected == 200:
            expected = 201
        assert response.status_code == expected, (role, url, response.content[:200])
    changed = Case.objects.get(pk=case).status == "TRIAGED"
    assert changed == (WRITE_API.get(role) == 200)


@pytest.mark.parametrize("role", ROLES)
def test_changing_a_case_through_the_pages(client, w, role):
    login(client, w, role)
    case = w.blue_case.pk
    posts = [("transition", {"status": "TRIAGED"}), ("assign", {"assignee": "me"}), ("tags", {"add": "x"}),
             ("notes", {"body": "hello"}), ("share", {"user": "mate"}), ("update", {"severity": "low"}),
             ("merge", {"target": w.red_case.pk})]
    for action, data in posts:  # from the case page, as a browser sends them (same-origin Referer)
        response = client.post(f"/cases/{case}/{action}", data, HTTP_REFERER=f"http://testserver/cases/{case}/")
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response["Location"], action
        else:
            assert response.status_code == WRITE_PAGE[role], (role, action)
    # GET on an action endpoint is refused
    if role != "anonymous":
        assert client.get(f"/cases/{case}/transition").status_code == 405


def test_other_team_case_is_indistinguishable_from_a_missing_one(client, w):
    client.force_login(w.red_analyst)
    missing = client.get("/api/v1/cases/999999")
    hidden = client.get(f"/api/v1/cases/{w.blue_case.pk}")
    assert missing.status_code == hidden.status_code == 404
    assert missing.json() == hidden.json()
    assert client.get(f"/cases/{w.blue_case.pk}/").status_code == client.get("/cases/999999/").status_code == 404


@pytest.mark.parametrize("role, sees_blue, sees_red", [
    ("admin", True, True), ("auditor", True, True), ("lead", True, False), ("analyst", True, False),
    ("red_analyst", False, True),
])
def test_lists_only_show_visible_cases_and_related_data(client, w, role, sees_blue, sees_red):
    login(client, w, role)
    ids = {row["id"] for row in client.get("/api/v1/cases").json()["results"]}
    assert (w.blue_case.pk in ids, w.red_case.pk in ids) == (sees_blue, sees_red)
    queue = client.get("/").content.decode()
    assert ("Blue phishing wave" in queue, "Red lateral movement" in queue) == (sees_blue, sees_red)
    notes = client.get("/api/v1/notes").json()["results"]
    assert any(n["body"] == "blue secret note" for n in notes) == sees_blue
    timeline_cases = {e["case"] for e in client.get("/api/v1/timeline").json()["results"]}
    assert (w.blue_case.pk in timeline_cases) == sees_blue
    observables = [o["value"] for o in client.get("/api/v1/observables").json()["results"]]
    assert ("192.0.2.1" in observables) == sees_blue
    alerts = {a["id"] for a in client.get("/api/v1/alerts").json()["results"]}
    assert (w.blue_alert.pk in alerts) == sees_blue
    assert client.get(f"/api/v1/alerts/{w.blue_alert.pk}").status_code == (200 if sees_blue else 404)
    alert_page = client.get("/alerts/?status=all").content.decode()
    assert ("Blue alert" in alert_page) == sees_blue


@pytest.mark.parametrize("role, expected", [
    ("admin", 200), ("lead", 200), ("auditor", 200), ("analyst", 403), ("red_analyst", 403),
    ("anonymous", API_ANONYMOUS),
])
def test_audit_log_api_is_for_leads_auditors_and_admins(client, w, role, expected):
    login(client, w, role)
    assert client.get("/api/v1/audit-log").status_code == expected


def test_lead_reads_audit_entries_of_visible_cases_only(client, w):
    client.force_login(w.lead)
    entries = client.get("/api/v1/audit-log?page_size=200").json()["results"]
    objects = {(e["object_type"], e["object_id"]) for e in entries}
    assert ("cases.case", str(w.blue_case.pk)) in objects
    assert ("cases.case", str(w.red_case.pk)) not in objects


@pytest.mark.parametrize("role, expected", [
    ("admin", 200), ("lead", 302), ("analyst", 302), ("auditor", 302), ("anonymous", 302),
])
def test_admin_site_is_staff_only(client, w, role, expected):
    login(client, w, role)
    response = client.get("/admin/cases/case/")
    assert response.status_code == expected
    if expected == 302:
        assert "/admin/login" in response["Location"]


def test_auditor_cannot_do_bulk_or_alert_actions(client, w):
    client.force_login(w.auditor)
    body = {"ids": [w.blue_case.pk], "action": "tag", "tags": ["x"]}
    assert client.post("/api/v1/cases/bulk", body, content_type="application/json").status_code == 403
    assert client.post("/cases/bulk", {"ids": [w.blue_case.pk], "action": "tag", "tags": "x"}).status_code == 403
    promote = {"alert_ids": [w.queued_alert.pk]}
    assert client.post("/api/v1/alerts/promote", promote, content_type="application/json").status_code == 403
    attach = {"alert_ids": [w.queued_alert.pk], "case_id": w.blue_case.pk}
    assert client.post("/api/v1/alerts/attach", attach, content_type="application/json").status_code == 403
    assert client.post("/api/v1/tags", {"name": "x"}, content_type="application/json").status_code == 403
    assert not Case.objects.filter(tags__name="x").exists()


def test_bulk_does_not_touch_other_teams_cases(client, w):
    client.force_login(w.red_analyst)
    body = {"ids": [w.blue_case.pk, w.red_case.pk], "action": "tag", "tags": ["red-only"]}
    response = client.post("/api/v1/cases/bulk", body, content_type="application/json")
    assert response.json()["results"] == {str(w.blue_case.pk): "not found", str(w.red_case.pk): "ok"}
    assert not w.blue_case.tags.exists()


def test_ingestion_token_can_only_ingest(client, w):
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {w.source_token}"}
    assert client.get("/api/v1/cases", **bearer).status_code in (401, 403)
    assert client.get("/api/v1/alerts", **bearer).status_code in (401, 403)
    assert client.post(f"/api/v1/cases/{w.blue_case.pk}/transition", {"status": "TRIAGED"},
                       content_type="application/json", **bearer).status_code in (401, 403)
    assert client.get(f"/cases/{w.blue_case.pk}/", **bearer).status_code == 302
    ingest = client.post("/api/v1/alerts", {"title": "t", "severity": "low"}, content_type="application/json", **bearer)
    assert ingest.status_code == 202


def test_user_api_token_works_and_respects_visibility(client, w):
    token = Token.objects.create(user=w.red_analyst)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert client.get(f"/api/v1/cases/{w.red_case.pk}", **auth).status_code == 200
    assert client.get(f"/api/v1/cases/{w.blue_case.pk}", **auth).status_code == 404
    # a user token is not an ingestion credential
    assert client.post("/api/v1/alerts", {"title": "t", "severity": "low"}, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token.key}").status_code == 401


def test_setup_roles_is_idempotent_and_auditor_cannot_change(w):
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("setup_roles")
    call_command("setup_roles")
    assert set(Group.objects.values_list("name", flat=True)) >= {"admin", "lead", "analyst", "auditor"}
    auditor = Group.objects.get(name="auditor")
    assert auditor.permissions.filter(codename="view_case").exists()
    assert not auditor.permissions.exclude(codename__startswith="view_").exists()
    analyst = Group.objects.get(name="analyst")
    # analysts have no global case permission: guardian would read that as "every case"
    assert not analyst.permissions.filter(codename__in=["view_case", "change_case"]).exists()
    assert Group.objects.get(name="lead").permissions.filter(codename="reassign_case").exists()
    assert ensure_roles()["admin"] > 50


def test_only_changes_allowed_by_the_share_mode(client, w):
    services.share_case(w.blue_case, w.red_analyst, actor=w.analyst, can_change=False)
    client.force_login(w.red_analyst)
    assert client.get(f"/api/v1/cases/{w.blue_case.pk}").status_code == 200
    response = client.post(f"/api/v1/cases/{w.blue_case.pk}/notes", {"body": "x"}, content_type="application/json")
    assert response.status_code == 403
