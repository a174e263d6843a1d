"""`manage.py load_demo_data` builds a usable demo and is safe to run twice: dated in the past,
with the example playbooks running end to end through demo connectors."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Alert, AlertGroup, AlertSource
from cases.models import AuditLog, Case, CaseEvent, Note
from playbooks.models import ApprovalRequest, Connector, PlaybookRun, StepRun

pytestmark = pytest.mark.django_db(transaction=True)

# Every timestamp the demo writes or backdates (SLA due times are deadlines: they may lie ahead).
STAMPED = {
    Alert: ("received_at", "last_seen_at", "occurred_at", "processed_at"),
    Case: ("created_at", "updated_at", "triaged_at", "in_progress_at", "resolved_at", "closed_at"),
    CaseEvent: ("created_at",), Note: ("created_at",), AuditLog: ("created_at",),
    AlertGroup: ("first_seen", "last_seen"),
    PlaybookRun: ("created_at", "started_at", "finished_at"), StepRun: ("started_at", "finished_at"),
}


def test_demo_data_covers_every_status_and_is_idempotent():
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    text = out.getvalue()
    assert "analyst1 / soar-demo-123" in text and "demo-suricata" in text
    assert set(Case.objects.values_list("status", flat=True)) == {s for s, _ in Case.Status.choices}
    assert set(AlertSource.objects.values_list("kind", flat=True)) >= {
        "generic", "elastic", "splunk", "wazuh", "suricata", "alertmanager", "email"}
    assert Alert.objects.count() >= 200 and Alert.objects.filter(processing="done").count() == Alert.objects.count()
    assert set(Case.objects.values_list("team__name", flat=True)) == {"Blue Team", "Red Team"}
    User = get_user_model()
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="analyst1").check_password("soar-demo-123")
    counts = (Case.objects.count(), Alert.objects.count(), User.objects.count(), PlaybookRun.objects.count())

    _assert_dated_in_the_past(timezone.now())
    _assert_playbooks_ran_with_demo_connectors()

    again = io.StringIO()
    call_command("load_demo_data", stdout=again)
    assert "already loaded" in again.getvalue()
    assert (Case.objects.count(), Alert.objects.count(), User.objects.count(), PlaybookRun.objects.count()) == counts


def _assert_dated_in_the_past(now):
    for model, fields in STAMPED.items():
        for field in fields:
            future = model.objects.filter(**{f"{field}__gt": now}).count()
            assert future == 0, f"{model.__name__}.{field}: {future} rows in the future"
    # Spread over the fortnight, not piled up at load time.
    assert Alert.objects.filter(received_at__lt=now - timedelta(days=1)).count() > 50


def _assert_playbooks_ran_with_demo_connectors():
    assert set(Connector.objects.filter(base_url__startswith="demo://").values_list("kind", flat=True)) >= {
        "edr", "webhook", "slack", "smtp"}
    contained = PlaybookRun.objects.filter(playbook_name="Contain compromised host", status="succeeded").first()
    assert contained is not None, list(PlaybookRun.objects.values_list("playbook_name", "status", "error"))
    isolate = contained.steps.get(step_id="isolate")
    assert isolate.status == "succeeded" and isolate.outputs["response"]["demo"] is True
    assert "nothing was sent" in isolate.outputs["response"]["note"]
    assert ApprovalRequest.objects.filter(status="pending").count() >= 1  # the approvals page is not empty
    escalated = PlaybookRun.objects.get(playbook_name="Escalate to incident response")
    assert escalated.status == "succeeded", escalated.error
