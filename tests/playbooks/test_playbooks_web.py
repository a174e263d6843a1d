"""API, pages, the live panel, blocklist feeds and the admin of the playbooks app."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from enrichment.services import add_to_blocklist
from playbooks.models import ApprovalRequest, Playbook, PlaybookRun
from tests.support.fake_servers import FakeServer
from tests.support.playbooks_helpers import action, make_playbook, manual

pytestmark = pytest.mark.django_db


def login(user):
    client = Client()
    client.force_login(user)
    return client


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def tag_playbook(world):
    return make_playbook(manual([action("t", "tag", tags=["via-api"])], name="Tagger"))


@pytest.fixture
def isolate_playbook(world, connector_for):
    fake = FakeServer().start()
    fake.add("POST", "/api/v1/hosts/isolate", json={"status": "isolated"})
    connector_for("edr", fake.url)
    playbook = make_playbook(manual([action("isolate", "isolate_host", hostname="ws-042")], name="Isolate"))
    yield playbook, fake
    fake.stop()


def test_manual_run_through_the_api(world, tag_playbook, django_capture_on_commit_callbacks):
    case = world["case"]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(login(world["member"]), f"/api/v1/cases/{case.pk}/playbooks/run",
                             {"playbook": tag_playbook.pk})
    assert response.status_code == 202, response.content
    run = PlaybookRun.objects.get(pk=response.json()["id"])
    assert run.trigger == "manual" and run.started_by == world["member"]
    detail = login(world["member"]).get(f"/api/v1/playbook-runs/{run.pk}").json()
    assert detail["status"] == "succeeded" and detail["steps"][0]["status"] == "succeeded"
    dry = post_json(login(world["member"]), f"/api/v1/playbooks/{tag_playbook.pk}/run", {"case": case.pk,
                                                                                         "dry_run": True})
    assert dry.status_code == 202 and dry.json()["status"] == "dry_run"
    assert dry.json()["steps"][0]["outputs"]["would"] == "Add tag(s) via-api"
    listed = login(world["member"]).get(f"/api/v1/playbook-runs?case={case.pk}").json()
    assert listed["count"] == 2


@pytest.mark.parametrize("url, body, field", [
    ("/api/v1/cases/{case}/playbooks/run", {}, "playbook"),
    ("/api/v1/cases/{case}/playbooks/run", {"playbook": "x"}, "playbook"),
    ("/api/v1/cases/{case}/playbooks/run", {"playbook": 999999}, "playbook"),
    ("/api/v1/cases/{case}/playbooks/run", {"playbook": "{pb}", "dry_run": "perhaps"}, "dry_run"),
    ("/api/v1/playbooks/{pb}/run", {"case": -1}, "case"),
    ("/api/v1/playbooks/validate", {"definition": 12}, "definition"),
    ("/api/v1/playbooks/validate", {"definition": "name: x\ntrigger: {type: nope}\nsteps: []"}, "definition"),
])
def test_api_bad_input_is_400_with_field_errors(world, tag_playbook, url, body, field):
    url = url.format(case=world["case"].pk, pb=tag_playbook.pk)
    body = {k: (tag_playbook.pk if v == "{pb}" else v) for k, v in body.items()}
    response = post_json(login(world["member"]), url, body)
    assert response.status_code == 400 and field in response.json(), response.content


def test_validate_endpoint_accepts_objects(world):
    definition = manual([action("t", "tag", tags=["x"])])
    response = post_json(login(world["member"]), "/api/v1/playbooks/validate", {"definition": definition})
    assert response.status_code == 200 and response.json()["definition"] == definition


def test_case_visibility_and_write_access(world, tag_playbook):
    case = world["case"]
    outsider = post_json(login(world["outsider"]), f"/api/v1/cases/{case.pk}/playbooks/run",
                         {"playbook": tag_playbook.pk})
    assert outsider.status_code == 404
    from django.contrib.auth.models import Group, User

    auditor = User.objects.create_user("auditor", password=None)
    auditor.groups.add(Group.objects.get_or_create(name="auditor")[0])
    read_only = post_json(login(auditor), f"/api/v1/cases/{case.pk}/playbooks/run", {"playbook": tag_playbook.pk})
    assert read_only.status_code == 403
    assert login(world["outsider"]).get(f"/api/v1/playbook-runs?case={case.pk}").status_code == 404
    assert not PlaybookRun.objects.exists()


def test_disabled_playbook_is_a_400_unless_dry(world, tag_playbook):
    tag_playbook.enabled = False
    tag_playbook.save()
    url = f"/api/v1/cases/{world['case'].pk}/playbooks/run"
    refused = post_json(login(world["member"]), url, {"playbook": tag_playbook.pk})
    assert refused.status_code == 400 and refused.json()["code"] == "run_refused"
    assert "disabled" in refused.json()["playbook"][0] and refused.json()["detail"] == refused.json()["playbook"][0]
    assert post_json(login(world["member"]), url, {"playbook": tag_playbook.pk, "dry_run": True}).status_code == 202


def test_approvals_api(world, isolate_playbook, django_capture_on_commit_callbacks):
    playbook, fake = isolate_playbook
    with django_capture_on_commit_callbacks(execute=True):
        post_json(login(world["member"]), f"/api/v1/cases/{world['case'].pk}/playbooks/run", {"playbook": playbook.pk})
    approval = ApprovalRequest.objects.get()
    mine = login(world["lead"]).get("/api/v1/approvals?mine=1").json()
    assert [a["id"] for a in mine["results"]] == [approval.pk] and mine["results"][0]["can_answer"] is True
    assert login(world["member"]).get("/api/v1/approvals?mine=1").json()["count"] == 0
    assert login(world["outsider"]).get(f"/api/v1/approvals/{approval.pk}").status_code == 404
    forbidden = post_json(login(world["member"]), f"/api/v1/approvals/{approval.pk}/approve", {})
    assert forbidden.status_code == 403 and "group lead" in forbidden.json()["detail"]
    assert forbidden.json()["code"] == "approval_not_allowed"
    too_long = post_json(login(world["lead"]), f"/api/v1/approvals/{approval.pk}/approve", {"comment": "x" * 3000})
    assert too_long.status_code == 400 and "comment" in too_long.json()
    with django_capture_on_commit_callbacks(execute=True):
        ok = post_json(login(world["lead"]), f"/api/v1/approvals/{approval.pk}/approve", {"comment": "go"})
    assert ok.status_code == 200 and ok.json()["status"] == "approved" and ok.json()["decided_by"] == "lead"
    assert fake.count("/api/v1/hosts/isolate") == 1
    again = post_json(login(world["lead"]), f"/api/v1/approvals/{approval.pk}/deny", {})
    assert again.status_code == 409 and again.json()["code"] == "approval_closed"


def test_playbook_write_api_needs_model_permissions(world):
    from django.contrib.auth.models import Permission

    body = {"definition": manual([action("t", "tag", tags=["x"])], name="Via API")}
    assert post_json(login(world["member"]), "/api/v1/playbooks", body).status_code == 403
    world["lead"].user_permissions.add(*Permission.objects.filter(codename__in=["add_playbook", "change_playbook"]))
    created = post_json(login(world["lead"]), "/api/v1/playbooks", body)
    assert created.status_code == 201 and created.json()["version"] == 1
    pk = created.json()["id"]
    bad = login(world["lead"]).patch(f"/api/v1/playbooks/{pk}", data=json.dumps({"definition": "steps: 1"}),
                                     content_type="application/json")
    assert bad.status_code == 400 and any("trigger" in e for e in bad.json()["definition"])
    assert bad.json()["code"] == "invalid_definition" and len(bad.json()["definition"]) > 1  # one entry per problem
    toggled = login(world["lead"]).patch(f"/api/v1/playbooks/{pk}", data=json.dumps({"enabled": False}),
                                         content_type="application/json")
    assert toggled.status_code == 200 and toggled.json()["enabled"] is False and toggled.json()["version"] == 1
    assert login(world["member"]).get(f"/api/v1/playbooks/{pk}/versions").json()["count"] == 1


def test_case_page_panel_run_form_and_live_json(world, isolate_playbook, django_capture_on_commit_callbacks):
    playbook, _ = isolate_playbook
    case = world["case"]
    page = login(world["member"]).get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="playbook-run-form"' in html and "js/playbooks.js" in html and 'data-active="0"' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world["member"]).post(f"/playbooks/cases/{case.pk}/run", {"playbook": playbook.pk})
    assert response.status_code == 302 and response["Location"].endswith(f"/cases/{case.pk}/#playbook-panel")
    panel = login(world["member"]).get(f"/playbooks/cases/{case.pk}/panel").json()
    assert panel["active"] is True and "Waiting for approval" in panel["html"]
    assert "Approve" not in panel["html"]  # the member is not an approver
    lead_panel = login(world["lead"]).get(f"/playbooks/cases/{case.pk}/panel").json()
    assert 'value="approve"' in lead_panel["html"] and 'value="deny"' in lead_panel["html"]
    assert login(world["outsider"]).get(f"/playbooks/cases/{case.pk}/panel").status_code == 404
    dry = login(world["member"]).post(f"/playbooks/cases/{case.pk}/run", {"playbook": playbook.pk, "dry_run": "1"})
    assert dry.status_code == 302 and PlaybookRun.objects.filter(dry_run=True, status="dry_run").count() == 1
    outsider = login(world["outsider"]).post(f"/playbooks/cases/{case.pk}/run", {"playbook": playbook.pk})
    assert outsider.status_code == 404


def test_approvals_page_and_decision_form(world, isolate_playbook, django_capture_on_commit_callbacks):
    playbook, fake = isolate_playbook
    with django_capture_on_commit_callbacks(execute=True):
        login(world["member"]).post(f"/playbooks/cases/{world['case'].pk}/run", {"playbook": playbook.pk})
    approval = ApprovalRequest.objects.get()
    page = login(world["lead"]).get("/playbooks/approvals/").content.decode()
    assert f'id="approval-row-{approval.pk}"' in page and "Isolate host ws-042" in page
    assert f"approval-row-{approval.pk}" not in login(world["member"]).get("/playbooks/approvals/").content.decode()
    refused = login(world["member"]).post(f"/playbooks/approvals/{approval.pk}/decide", {"decision": "approve"},
                                          follow=True)
    assert "may answer" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        denied = login(world["lead"]).post(f"/playbooks/approvals/{approval.pk}/decide",
                                           {"decision": "deny", "comment": "not now", "next": "https://evil.example/"})
    assert denied.status_code == 302 and denied["Location"] == "/playbooks/approvals/"
    assert PlaybookRun.objects.get().status == "denied" and fake.count() == 0


@pytest.fixture
def feed_entries(db, settings):
    settings.SOAR_BLOCKLIST_FEED_TOKEN = "global-token"
    settings.SOAR_BLOCKLIST_FEED_TOKENS = {"proxy": "proxy-token"}
    add_to_blocklist("fw", "ip", "203.0.113.7", reason="C2", actor_label="t")
    add_to_blocklist("fw", "domain", "evil.example", reason="phish", actor_label="t",
                     expires_at=timezone.now() + timezone.timedelta(hours=1))
    add_to_blocklist("fw", "ip", "198.51.100.1", reason="old", actor_label="t",
                     expires_at=timezone.now() - timezone.timedelta(minutes=1))
    add_to_blocklist("proxy", "url", "http://evil.example/x", actor_label="t")


def test_text_and_json_feeds_leave_out_expired_entries(client, feed_entries):
    text = client.get("/playbooks/feeds/fw.txt", HTTP_AUTHORIZATION="Bearer global-token")
    assert text.status_code == 200 and text["Content-Type"].startswith("text/plain")
    assert text.content.decode().splitlines() == ["evil.example", "203.0.113.7"]
    only_ips = client.get("/playbooks/feeds/fw.txt?type=ip&token=global-token")
    assert only_ips.content == b"203.0.113.7\n"
    data = client.get("/playbooks/feeds/fw.json?token=global-token").json()
    assert data["list"] == "fw" and data["count"] == 2
    assert {(e["type"], e["value"], e["expires_at"] is None) for e in data["entries"]} == {
        ("domain", "evil.example", False), ("ip", "203.0.113.7", True)}
    assert client.get("/playbooks/feeds/fw.txt?type=bogus&token=global-token").status_code == 400


def test_feed_tokens(client, feed_entries, settings):
    assert client.get("/playbooks/feeds/fw.txt").status_code == 401
    assert client.get("/playbooks/feeds/fw.txt?token=wrong").status_code == 401
    assert client.get("/playbooks/feeds/fw.txt?token=proxy-token").status_code == 401  # per-list token
    assert client.get("/playbooks/feeds/proxy.txt?token=proxy-token").content == b"http://evil.example/x\n"
    import base64
    basic = base64.b64encode(b"firewall:global-token").decode()
    assert client.get("/playbooks/feeds/proxy.json", HTTP_AUTHORIZATION=f"Basic {basic}").status_code == 200
    assert client.get("/playbooks/feeds/Bad%20Name.txt?token=global-token").status_code == 404
    settings.SOAR_BLOCKLIST_FEED_TOKEN = ""
    settings.SOAR_BLOCKLIST_FEED_TOKENS = {}
    assert client.get("/playbooks/feeds/fw.txt?token=global-token").status_code == 404


def test_admin_validates_and_versions(world):
    from django.contrib.auth.models import User

    admin = User.objects.create_superuser("root", password=None)
    client = login(admin)
    bad = client.post("/admin/playbooks/playbook/add/", {"definition_text": "name: x\ntrigger: {type: nope}\n",
                                                         "enabled": "on"})
    assert bad.status_code == 200 and "trigger.type: must be one of" in bad.content.decode()
    good_text = json.dumps(manual([action("t", "tag", tags=["x"])], name="From admin"))
    created = client.post("/admin/playbooks/playbook/add/", {"definition_text": good_text, "enabled": "on",
                                                             "versions-TOTAL_FORMS": "0",
                                                             "versions-INITIAL_FORMS": "0"})
    assert created.status_code == 302, created.content.decode()[:2000]
    playbook = Playbook.objects.get(name="From admin")
    assert playbook.version == 1 and playbook.trigger_type == "manual"
    changed = good_text.replace('"x"', '"y"')
    client.post(f"/admin/playbooks/playbook/{playbook.pk}/change/", {
        "definition_text": changed, "enabled": "on", "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "1",
        "versions-0-id": playbook.versions.get().pk, "versions-0-playbook": playbook.pk})
    playbook.refresh_from_db()
    assert playbook.version == 2 and list(playbook.versions.values_list("version", flat=True)) == [2, 1]
    assert client.get(f"/admin/playbooks/playbook/{playbook.pk}/change/").status_code == 200


def test_an_auditor_in_the_approver_group_cannot_approve(world, isolate_playbook, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    playbook, fake = isolate_playbook
    with django_capture_on_commit_callbacks(execute=True):
        post_json(login(world["member"]), f"/api/v1/cases/{world['case'].pk}/playbooks/run", {"playbook": playbook.pk})
    approval = ApprovalRequest.objects.get()
    from django.contrib.auth import get_user_model

    auditor = get_user_model().objects.create_user("aud", password=None)
    auditor.groups.add(world["lead_group"], Group.objects.get_or_create(name="auditor")[0])
    world["team"].members.add(auditor)
    refused = post_json(login(auditor), f"/api/v1/approvals/{approval.pk}/approve", {})
    assert refused.status_code == 403
    assert ApprovalRequest.objects.get().status == "pending" and fake.count("/api/v1/hosts/isolate") == 0


@pytest.mark.parametrize("definition", [
    "[" * 10_000 + "]" * 10_000,
    "name: x\ntrigger: {type: manual}\nsteps: " + "[" * 10_000 + "]" * 10_000,
    '{"name": "x", "steps": ' + "[" * 10_000 + "]" * 10_000 + "}",
], ids=["yaml", "yaml-in-steps", "json"])
def test_validate_refuses_deep_nesting_with_400(world, definition):
    response = post_json(login(world["member"]), "/api/v1/playbooks/validate", {"definition": definition})
    assert response.status_code == 400, response.status_code
    assert "nested deeper than" in json.dumps(response.json())
