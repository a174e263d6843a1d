"""The cases REST API: filters, ordering, cursor pagination, actions, schema."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertSource
from cases import services
from cases.models import Case, Tag
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_filters_by_status_severity_assignee_team_tag_text_and_dates(client, w):
    client.force_login(w.lead)
    other = services.open_case(title="VPN brute force", severity="critical", team=w.blue)
    services.transition_case(other, "TRIAGED", actor=w.lead)
    services.assign_case(other, w.mate, actor=w.lead)
    services.change_tags(other, add=["vpn"], actor=w.lead)
    Case.objects.filter(pk=w.blue_case.pk).update(created_at=timezone.now() - timedelta(days=5))
    assert ids(client.get("/api/v1/cases?status=TRIAGED")) == [other.pk]
    assert set(ids(client.get("/api/v1/cases?status=TRIAGED&status=NEW"))) == {other.pk, w.blue_case.pk}
    assert ids(client.get("/api/v1/cases?severity=critical")) == [other.pk]
    assert ids(client.get("/api/v1/cases?assignee=mate")) == [other.pk]
    assert ids(client.get(f"/api/v1/cases?assignee={w.mate.pk}")) == [other.pk]
    assert ids(client.get("/api/v1/cases?assignee=none")) == [w.blue_case.pk]
    assert ids(client.get(f"/api/v1/cases?team={w.blue.pk}&tag=vpn")) == [other.pk]
    assert ids(client.get("/api/v1/cases?q=brute")) == [other.pk]
    assert ids(client.get(f"/api/v1/cases?q=%23{w.blue_case.pk}")) == [w.blue_case.pk]
    assert ids(client.get("/api/v1/cases?search=phishing")) == [w.blue_case.pk]
    today = timezone.now().date()
    assert ids(client.get(f"/api/v1/cases?created_after={today}")) == [other.pk]
    assert ids(client.get(f"/api/v1/cases?created_before={today - timedelta(days=1)}")) == [w.blue_case.pk]
    assert ids(client.get("/api/v1/cases?is_open=true&severity=high")) == [w.blue_case.pk]
    bad = client.get("/api/v1/cases?created_after=yesterday&status=NOPE")
    assert bad.status_code == 400 and "created_after" in bad.json() and "status" in bad.json()


def test_ordering_and_cursor_pagination_walk_every_case_once(client, w):
    client.force_login(w.admin)
    for n in range(7):
        services.open_case(title=f"Case {n}", severity=["low", "critical", "medium"][n % 3], team=w.blue)
    seen, url = [], "/api/v1/cases?page_size=3"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        assert "count" not in body  # keyset pagination: no COUNT(*) at 100k rows
    assert sorted(seen) == sorted(Case.objects.values_list("pk", flat=True)) and len(seen) == len(set(seen))
    by_severity = client.get("/api/v1/cases?ordering=-severity_rank&page_size=50").json()["results"]
    ranks = ["info", "low", "medium", "high", "critical"]
    assert [ranks.index(r["severity"]) for r in by_severity] == sorted(
        (ranks.index(r["severity"]) for r in by_severity), reverse=True)


def test_detail_create_and_patch(client, w):
    client.force_login(w.analyst)
    created = post(client, "/api/v1/cases", {"title": "Manual case", "severity": "low"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["team"] == w.blue.pk and body["status"] == "NEW"
    assert body["allowed_transitions"] == ["TRIAGED", "RESOLVED"]
    assert body["sla_resolve_due"] and body["can_change"] is True
    refused = post(client, "/api/v1/cases", {"title": "x", "team": w.red.pk})
    assert refused.status_code == 400 and "team" in refused.json()
    assert post(client, "/api/v1/cases", {"severity": "apocalyptic"}).status_code == 400
    patched = client.patch(f"/api/v1/cases/{body['id']}", {"severity": "critical", "title": "Renamed"},
                           content_type="application/json")
    assert patched.status_code == 200 and patched.json()["severity"] == "critical"
    team_move = client.patch(f"/api/v1/cases/{body['id']}", {"team": w.red.pk}, content_type="application/json")
    assert team_move.status_code == 403  # analysts do not move cases between teams


def test_notes_tags_timeline_share_and_merge_endpoints(client, w):
    client.force_login(w.analyst)
    case = w.blue_case.pk
    note = post(client, f"/api/v1/cases/{case}/notes", {"body": "# Heading\n<script>x()</script>"})
    assert note.status_code == 201
    assert "<h1>Heading</h1>" in note.json()["body_html"] and "<script" not in note.json()["body_html"]
    assert post(client, f"/api/v1/cases/{case}/notes", {"body": ""}).status_code == 400
    tagged = post(client, f"/api/v1/cases/{case}/tags", {"add": ["ioc", "vip"], "remove": []})
    assert sorted(tagged.json()["tags"]) == ["ioc", "vip"]
    assert post(client, f"/api/v1/cases/{case}/tags", {"add": ["bad<tag>"]}).status_code == 400
    timeline = client.get(f"/api/v1/cases/{case}/timeline").json()
    assert [e["kind"] for e in timeline] == ["created", "note", "tagged"]
    assert post(client, f"/api/v1/cases/{case}/share", {"user": "nobody"}).status_code == 400
    assert post(client, f"/api/v1/cases/{case}/share", {"user": "redanalyst"}).status_code == 200
    target = services.open_case(title="Target", severity="low", team=w.blue)
    merged = post(client, f"/api/v1/cases/{case}/merge", {"target": target.pk})
    assert merged.status_code == 200 and merged.json()["id"] == target.pk
    assert Case.objects.get(pk=case).merged_into_id == target.pk
    again = post(client, f"/api/v1/cases/{case}/transition", {"status": "IN_PROGRESS", "reason": "x"})
    assert again.status_code == 409 and "merged" in again.json()["detail"]
    assert post(client, f"/api/v1/cases/{target.pk}/merge", {"target": w.red_case.pk}).status_code == 404


def test_bulk_endpoint_validates_and_reports(client, w):
    client.force_login(w.lead)
    assert post(client, "/api/v1/cases/bulk", {"ids": [], "action": "tag"}).status_code == 400
    assert post(client, "/api/v1/cases/bulk", {"ids": [w.blue_case.pk], "action": "nope"}).status_code == 400
    response = post(client, "/api/v1/cases/bulk", {"ids": [w.blue_case.pk], "action": "status", "status": "TRIAGED"})
    assert response.json() == {"results": {str(w.blue_case.pk): "ok"}, "ok": 1, "failed": 0,
                               "message": "Updated 1 case"}
    assert post(client, "/api/v1/cases/bulk", {"ids": [w.blue_case.pk], "action": "tag"}).status_code == 400


def test_tags_and_observables_endpoints(client, w):
    client.force_login(w.analyst)
    created = post(client, "/api/v1/tags", {"name": "campaign-x"})
    assert created.status_code == 201 and Tag.objects.filter(name="campaign-x").exists()
    assert post(client, "/api/v1/tags", {"name": "campaign-x"}).status_code == 400
    assert [t["name"] for t in client.get("/api/v1/tags?search=campaign").json()["results"]] == ["campaign-x"]
    assert client.get("/api/v1/observables?type=ip").status_code == 200


def test_alert_api_list_promote_and_attach(client, w):
    source = AlertSource.objects.create(name="siem", kind="generic", token_hash="1" * 64, default_team=w.blue)
    a1 = Alert.objects.create(source=source, title="Queued one", severity="high", fingerprint="1")
    a2 = Alert.objects.create(source=source, title="Queued two", severity="low", fingerprint="2")
    client.force_login(w.analyst)
    listing = client.get("/api/v1/alerts?status=queued&severity=high").json()["results"]
    assert [a["id"] for a in listing] == [a1.pk]
    promoted = post(client, "/api/v1/alerts/promote", {"alert_ids": [a1.pk], "title": "From the queue"})
    assert promoted.status_code == 201, promoted.content
    case = Case.objects.get(pk=promoted.json()["case_id"])
    assert case.team == w.blue and case.title == "From the queue" and case.alerts.get() == a1
    attached = post(client, "/api/v1/alerts/attach", {"alert_ids": [a2.pk], "case_id": case.pk})
    assert attached.status_code == 200 and attached.json()["alerts"] == 1
    assert Alert.objects.get(pk=a2.pk).case == case
    assert post(client, "/api/v1/alerts/attach", {"alert_ids": [a2.pk], "case_id": w.red_case.pk}).status_code == 404
    assert post(client, "/api/v1/alerts/promote", {"alert_ids": [a1.pk]}).status_code == 400  # not queued
    assert post(client, "/api/v1/alerts/promote", {"alert_ids": "x"}).status_code == 400
    detail = client.get(f"/api/v1/alerts/{a1.pk}").json()
    assert detail["case"] == case.pk and "observables" in detail


def test_openapi_schema_and_docs_are_served(client, w):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/cases/{id}/transition/", "/api/v1/cases/bulk/", "/api/v1/audit-log/", "/api/v1/alerts"):
        assert path in text
    assert client.get("/api/docs/").status_code == 200
