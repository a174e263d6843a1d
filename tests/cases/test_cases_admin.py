"""The admin console: case edits go through the services; the audit log cannot be edited."""

import pytest

from cases import services
from cases.models import AuditLog, Case, CaseEvent, SlaTarget, Tag
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


def change_form(case, **overrides):
    data = {"title": case.title, "description": case.description, "severity": case.severity,
            "team": case.team_id or "", "assignee": case.assignee_id or "", "tags": [],
            "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0", "events-MIN_NUM_FORMS": "0",
            "events-MAX_NUM_FORMS": "1000"}
    data.update(overrides)
    return data


def test_admin_edit_of_a_case_writes_timeline_and_audit(client, w):
    client.force_login(w.admin)
    url = f"/admin/cases/case/{w.blue_case.pk}/change/"
    response = client.post(url, change_form(w.blue_case, severity="critical", assignee=w.analyst.pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get(pk=w.blue_case.pk)
    assert case.severity == "critical" and case.assignee == w.analyst
    kinds = set(case.events.values_list("kind", flat=True))
    assert {CaseEvent.Kind.SEVERITY_CHANGED, CaseEvent.Kind.ASSIGNED} <= kinds
    assert AuditLog.objects.filter(action="case.assign", actor=w.admin).exists()


def test_admin_refuses_an_assignee_outside_the_team(client, w):
    client.force_login(w.admin)
    url = f"/admin/cases/case/{w.blue_case.pk}/change/"
    response = client.post(url, change_form(w.blue_case, assignee=w.red_analyst.pk), follow=True)
    assert "not a member of team" in response.content.decode()
    assert Case.objects.get(pk=w.blue_case.pk).assignee is None


def test_audit_log_is_read_only_in_the_admin(client, w):
    entry = AuditLog.objects.first()
    client.force_login(w.admin)
    assert client.get("/admin/cases/auditlog/").status_code == 200
    assert client.get("/admin/cases/auditlog/add/").status_code == 403
    page = client.get(f"/admin/cases/auditlog/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="action"' not in page.content.decode()
    assert client.post(f"/admin/cases/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


def test_sla_targets_are_editable_and_audited(client, w):
    client.force_login(w.admin)
    target = SlaTarget.objects.get(severity="critical")
    response = client.post(f"/admin/cases/slatarget/{target.pk}/change/",
                           {"severity": "critical", "ack_minutes": 5, "resolve_minutes": 120})
    assert response.status_code == 302
    assert SlaTarget.objects.get(pk=target.pk).ack_minutes == 5
    assert AuditLog.objects.filter(action="slatarget.update", before__ack_minutes=15, after__ack_minutes=5).exists()
    assert services.open_case(title="x", severity="critical").sla_ack_due is not None


def test_team_and_tag_admin_changes_are_audited(client, w):
    client.force_login(w.admin)
    assert client.get("/admin/auth/user/?groups__id__exact=1").status_code == 200
    response = client.post(f"/admin/cases/team/{w.blue.pk}/change/",
                           {"name": "Blue", "slug": "blue", "members": [w.lead.pk, w.red_analyst.pk]})
    assert response.status_code == 302
    entry = AuditLog.objects.get(action="team.members")
    assert "redanalyst" in entry.after["members"] and "analyst" in entry.before["members"]
    tag = Tag.objects.create(name="old")
    client.post(f"/admin/cases/tag/{tag.pk}/delete/", {"post": "yes"})
    assert AuditLog.objects.filter(action="tag.delete", object_repr="old").exists()
