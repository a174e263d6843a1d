"""Case templates, applied by each path: by hand (API, the queue's form, the admin), by a
correlation rule (the chunked path with bulk_create and the per-alert path) and by the
playbook action ``apply_template``."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from alerts import correlation
from alerts import services as alert_services
from alerts.models import Alert, CorrelationRule
from cases import services
from cases.models import AuditLog, Case, CaseEvent, CaseTask, CaseTemplate, Tag, TemplateTask
from playbooks.actions.base import ActionContext, ActionError
from playbooks.actions.registry import get_action
from tests.factories import build_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def w():
    return build_world()


@pytest.fixture
def template():
    template = CaseTemplate.objects.create(name="Phishing", title_prefix="[Phishing]", severity="high",
                                           description="Follow the phishing runbook.", tlp="AMBER+STRICT",
                                           pap="GREEN")
    template.tags.add(Tag.objects.create(name="phishing"))
    TemplateTask.objects.create(template=template, position=0, title="Collect the mail", group="Triage",
                                required=True, sla_minutes=30)
    TemplateTask.objects.create(template=template, position=1, title="Purge the mailboxes", group="Containment")
    return template


def assert_shaped(case: Case, template: CaseTemplate) -> None:
    assert case.title.startswith("[Phishing] ") and case.template_id == template.pk
    assert case.tlp == "AMBER+STRICT" and case.pap == "GREEN"
    assert "Follow the phishing runbook." in case.description
    assert list(case.tags.values_list("name", flat=True)) == ["phishing"]
    tasks = list(CaseTask.objects.filter(case=case).order_by("position"))
    assert [(t.title, t.group, t.required) for t in tasks] == [("Collect the mail", "Triage", True),
                                                             ("Purge the mailboxes", "Containment", False)]
    assert tasks[0].due_at is not None and tasks[1].due_at is None
    assert (tasks[0].due_at - case.created_at).total_seconds() == pytest.approx(30 * 60, abs=5)
    assert CaseEvent.objects.filter(case=case, kind="task", message__contains="Template Phishing").count() == 1
    assert AuditLog.objects.filter(action="case.template", object_id=str(case.pk)).count() == 1


def test_api_opens_a_case_from_a_template(client, w, template):
    client.force_login(w.analyst)
    response = client.post("/api/v1/cases", {"title": "Invoice lure", "severity": "low", "template": "Phishing"},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["severity"] == "high" and body["tlp"] == "AMBER+STRICT" and body["template"] == template.pk
    assert_shaped(Case.objects.get(pk=body["id"]), template)
    unknown = client.post("/api/v1/cases", {"title": "x", "template": "Nope"}, content_type="application/json")
    assert unknown.status_code == 400 and "template" in unknown.json()
    template.active = False
    template.save()
    retired = client.post("/api/v1/cases", {"title": "x", "template": str(template.pk)},
                          content_type="application/json")
    assert retired.status_code == 400


def test_queue_form_opens_a_case_from_a_template(client, w, template):
    client.force_login(w.analyst)
    assert "New case from template" in client.get("/").content.decode()
    response = client.post("/cases/new", {"template": template.pk, "title": "CEO fraud"})
    case = Case.objects.get(title="[Phishing] CEO fraud")
    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    assert case.team == w.blue
    assert_shaped(case, template)
    # Only for one's own teams; auditors never.
    client.force_login(w.red_analyst)
    client.post("/cases/new", {"template": template.pk, "title": "Sneaky", "team": w.blue.pk},
                HTTP_REFERER="/")
    assert not Case.objects.filter(title__contains="Sneaky", team=w.blue).exists()
    client.force_login(w.auditor)
    assert "New case from template" not in client.get("/").content.decode()
    assert client.post("/cases/new", {"template": template.pk, "title": "Audit"}).status_code == 403
    assert not Case.objects.filter(title__contains="Audit").exists()


def test_admin_edits_templates_with_inline_tasks_and_opens_cases_from_them(client, w, template):
    client.force_login(w.admin)
    response = client.post("/admin/cases/casetemplate/add/", {
        "name": "Ransomware", "active": "on", "title_prefix": "[Ransomware]", "description": "", "severity": "critical",
        "tlp": "RED", "pap": "RED",
        "tasks-TOTAL_FORMS": "1", "tasks-INITIAL_FORMS": "0", "tasks-MIN_NUM_FORMS": "0", "tasks-MAX_NUM_FORMS": "1000",
        "tasks-0-position": "0", "tasks-0-title": "Isolate the hosts", "tasks-0-group": "Containment",
        "tasks-0-required": "on", "tasks-0-sla_minutes": "15", "tasks-0-description": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    created = CaseTemplate.objects.get(name="Ransomware")
    assert list(created.tasks.values_list("title", "required", "sla_minutes")) == [("Isolate the hosts", True, 15)]
    assert AuditLog.objects.filter(action="casetemplate.create", object_id=str(created.pk)).exists()
    assert AuditLog.objects.filter(action="casetemplate.tasks", object_id=str(created.pk)).exists()
    response = client.post("/admin/cases/case/add/", {
        "title": "Admin case", "description": "", "severity": "low", "team": w.blue.pk, "template": template.pk,
        "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0", "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_shaped(Case.objects.get(title="[Phishing] Admin case"), template)


def test_correlation_rule_template_applies_in_bulk_with_a_constant_number_of_queries(make_source, template, w):
    CorrelationRule.objects.all().delete()
    CorrelationRule.objects.create(name="rule", key="entity", min_severity="low", min_confidence=0, template=template)
    source = make_source()[0]
    payloads = [{"title": f"Mail {n}", "severity": "medium", "confidence": 90,
                 "entity": {"type": "email", "value": f"user{n}@example.org"}} for n in range(3)]
    alert_services.ingest(source, payloads)
    cases = list(Case.objects.filter(title__startswith="[Phishing] Mail").order_by("pk"))
    assert len(cases) == 3
    for case in cases:
        assert_shaped(case, template)
        assert case.severity == "high"  # the template's minimum, above the alerts' medium
    # open_cases_bulk: the same statements for 2 cases or 12, template or not.
    specs = [{"title": f"x{n}", "severity": "low", "team_id": w.blue.pk, "template_id": template.pk}
             for n in range(12)]
    counts = []
    for batch in (specs[:2], specs):
        # Inside a transaction: the other apps' after-commit work per opened case is not counted.
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
            services.open_cases_bulk(batch)
        counts.append(len(ctx))
    assert counts[0] == counts[1]
    assert CaseTask.objects.filter(case__title="[Phishing] x11").count() == 2


def test_correlation_rule_template_applies_on_the_per_alert_path(make_source, template, monkeypatch):
    CorrelationRule.objects.all().delete()
    CorrelationRule.objects.create(name="rule", key="entity", min_severity="low", min_confidence=0, template=template)

    def chunk_fails(*args, **kwargs):
        raise RuntimeError("force the alert-by-alert path")

    monkeypatch.setattr(correlation, "process_chunk", chunk_fails)
    source = make_source()[0]
    alert_services.ingest(source, [{"title": "Lure", "severity": "critical", "confidence": 90,
                                    "entity": {"type": "email", "value": "bob@example.org"}}])
    case = Alert.objects.get(title="Lure").case
    assert case is not None and case.severity == "critical"  # a minimum, never a downgrade
    assert_shaped(case, template)


def run_apply_template(case, name):
    ctx = ActionContext(case=case, params={"template": name}, idempotency_key="k", attempt=1,
                        actor_label="playbook:test", run_id=1, step_id="step")
    return get_action("apply_template").run(ctx)


def test_playbook_action_applies_a_template_to_an_open_case_once(w, template):
    case = w.blue_case  # high already; the template keeps it
    out = run_apply_template(case, "Phishing")
    assert out == {"template": "Phishing", "tasks_added": 2}
    case.refresh_from_db()
    assert case.title == "[Phishing] Blue phishing wave" and case.tlp == "AMBER+STRICT"
    assert CaseTask.objects.filter(case=case).count() == 2
    assert CaseEvent.objects.filter(case=case, kind="task", actor_label="playbook:test").exists()
    assert AuditLog.objects.filter(action="case.template", object_id=str(case.pk)).count() == 1
    assert run_apply_template(case, "Phishing")["tasks_added"] == 0  # already applied
    with pytest.raises(ActionError, match="No active case template"):
        run_apply_template(case, "Nope")
    Case.objects.filter(pk=w.red_case.pk).update(status="CLOSED")
    with pytest.raises(ActionError, match="reopen"):
        run_apply_template(Case.objects.get(pk=w.red_case.pk), "Phishing")
