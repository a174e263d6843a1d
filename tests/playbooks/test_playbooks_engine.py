"""Runs in embedded mode: steps in order, conditions, outputs feeding later steps, retries,
failures, approvals (granted, denied, expired), resuming an interrupted run, dry runs."""

import pytest
from django.utils import timezone

from cases.models import AuditLog, CaseEvent, Note
from enrichment.models import BlocklistEntry
from playbooks import engine
from playbooks.models import ApprovalRequest, PlaybookRun, StepRun
from playbooks.services import approvals
from playbooks.services.runs import RunRefused, resume_stale_runs, start_run
from tests.support.fake_servers import FakeServer
from tests.support.playbooks_helpers import action, make_playbook, manual

pytestmark = pytest.mark.django_db
ISSUE = {"id": "10001", "key": "SEC-1", "self": "http://jira/rest/api/2/issue/10001"}


@pytest.fixture
def fake():
    server = FakeServer().start()
    yield server
    server.stop()


def run_playbook(definition, case, capture, *, dry_run=False, user=None):
    playbook = make_playbook(definition)
    with capture(execute=True):
        run = start_run(playbook, case, trigger="manual", started_by=user, dry_run=dry_run)
    run.refresh_from_db()
    return run


def steps_of(run):
    return {s.step_id: s for s in run.steps.all()}


def test_steps_run_in_order_and_outputs_feed_later_steps(world, fake, connector_for,
                                                         django_capture_on_commit_callbacks):
    fake.add("POST", "/rest/api/2/issue", status=201, json=ISSUE)
    connector_for("jira", fake.url, options={"project": "SEC"})
    definition = manual([
        action("ticket", "create_ticket", summary="Case {{ case.id }}: {{ case.title }}"),
        action("note", "add_note", body="Ticket {{ steps.ticket.output.key }} opened"),
        action("sev", "set_severity", severity="high"),
    ])
    run = run_playbook(definition, world["case"], django_capture_on_commit_callbacks)
    assert run.status == "succeeded" and run.finished_at and run.version == 1
    steps = steps_of(run)
    assert [s.status for s in steps.values()] == ["succeeded"] * 3
    assert steps["ticket"].outputs["key"] == "SEC-1" and steps["ticket"].attempts == 1
    assert Note.objects.get(case=world["case"]).body == "Ticket SEC-1 opened"
    world["case"].refresh_from_db()
    assert world["case"].severity == "high"
    body = fake.received[0]
    assert body.headers["idempotency-key"] == steps["ticket"].idempotency_key
    # The run's own timeline entries carry the playbook label (and so never re-trigger playbooks).
    labels = set(CaseEvent.objects.filter(case=world["case"], kind__in=["playbook", "note", "severity_changed"])
                 .values_list("actor_label", flat=True))
    assert labels == {"playbook:Test playbook"}


def test_condition_takes_the_else_branch(world, django_capture_on_commit_callbacks):
    definition = manual([
        {"id": "check", "type": "condition", "if": {"left": "{{ case.severity_rank }}", "op": "gte", "right": 3},
         "then": [action("hi", "tag", tags=["was-high"])],
         "else": [action("lo", "tag", tags=["was-not-high"]), action("lo2", "add_note", body="low")]},
        action("after", "tag", tags=["after"]),
    ])
    run = run_playbook(definition, world["case"], django_capture_on_commit_callbacks)
    steps = steps_of(run)
    assert set(steps) == {"check", "lo", "lo2", "after"}
    assert steps["check"].outputs == {"result": False, "branch": "else"}
    assert set(world["case"].tags.values_list("name", flat=True)) == {"was-not-high", "after"}


def test_transient_errors_are_retried_with_the_same_idempotency_key(world, fake, connector_for,
                                                                    django_capture_on_commit_callbacks):
    fake.add("POST", "/hook", status=503, json={"error": "busy"}, times=1)
    fake.add("POST", "/hook", status=429, headers={"Retry-After": "0"}, json={}, times=1)
    fake.add("POST", "/hook", status=200, json={"ticket": "T-9"})
    connector_for("webhook", f"{fake.url}/hook")
    run = run_playbook(manual([action("ticket", "create_ticket", summary="x")]), world["case"],
                       django_capture_on_commit_callbacks)
    step = steps_of(run)["ticket"]
    assert run.status == "succeeded" and step.attempts == 3
    assert step.outputs["response"] == {"ticket": "T-9"}
    assert {r.headers["idempotency-key"] for r in fake.received} == {step.idempotency_key}


def test_permanent_error_fails_the_run_and_on_error_continue_goes_on(world, fake, connector_for,
                                                                     django_capture_on_commit_callbacks):
    fake.add("POST", "/hook", status=400, json={"error": "bad field"})
    connector_for("webhook", f"{fake.url}/hook")
    run = run_playbook(manual([action("ticket", "create_ticket", summary="x"), action("t", "tag", tags=["x"])]),
                       world["case"], django_capture_on_commit_callbacks)
    assert run.status == "failed" and "HTTP 400" in run.error
    assert steps_of(run)["ticket"].attempts == 1 and "t" not in steps_of(run)
    lenient = manual([{**action("ticket", "create_ticket", summary="x"), "on_error": "continue"},
                      action("t", "tag", tags=["went-on"])], name="Lenient")
    run = run_playbook(lenient, world["case"], django_capture_on_commit_callbacks)
    assert run.status == "succeeded" and steps_of(run)["ticket"].status == "failed"
    assert world["case"].tags.filter(name="went-on").exists()


def test_retries_are_bounded(world, fake, connector_for, django_capture_on_commit_callbacks):
    fake.add("POST", "/hook", status=502, json={})
    connector_for("webhook", f"{fake.url}/hook")
    run = run_playbook(manual([{**action("ticket", "create_ticket", summary="x"), "retries": 1}]), world["case"],
                       django_capture_on_commit_callbacks)
    assert run.status == "failed" and steps_of(run)["ticket"].attempts == 2 and fake.count("/hook") == 2


def isolate_definition(**approval):
    step = action("isolate", "isolate_host", hostname="{{ case.observables_by_type.hostname.0 }}")
    if approval:
        step["approval"] = approval
    return manual([action("before", "tag", tags=["seen"]), step, action("after", "tag", tags=["isolated"])],
                  name="Contain")


def test_destructive_step_waits_for_approval_then_runs(world, fake, connector_for,
                                                       django_capture_on_commit_callbacks):
    fake.add("POST", "/api/v1/hosts/isolate", json={"status": "isolated"})
    connector_for("edr", fake.url)
    run = run_playbook(isolate_definition(reason="Confirm compromise", expires_in_minutes=30), world["case"],
                       django_capture_on_commit_callbacks)
    assert run.status == "waiting_approval" and fake.count() == 0
    approval = ApprovalRequest.objects.get(run=run)
    assert approval.approver_group.name == "lead" and approval.reason == "Confirm compromise"
    assert "ws-042" in approval.summary and approval.step.inputs == {"hostname": "ws-042"}
    assert 29 <= (approval.expires_at - timezone.now()).total_seconds() / 60 <= 30
    with pytest.raises(approvals.ApprovalNotAllowed):
        approvals.decide(approval.pk, world["member"], approve=True)
    with pytest.raises(approvals.ApprovalNotAllowed):  # a lead who cannot see the case
        approvals.decide(approval.pk, world["other_lead"], approve=True)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.decide(approval.pk, world["lead"], approve=True, comment="confirmed by EDR console")
    run.refresh_from_db()
    assert run.status == "succeeded" and fake.count("/api/v1/hosts/isolate") == 1
    sent = fake.received[0]
    assert sent.headers["idempotency-key"] == steps_of(run)["isolate"].idempotency_key
    assert b'"hostname": "ws-042"' in sent.body
    assert steps_of(run)["before"].attempts == 1  # the run resumed after the approval, not from the start
    kinds = list(CaseEvent.objects.filter(case=world["case"], kind="approval").values_list("message", flat=True))
    assert len(kinds) == 2 and "approved by lead" in kinds[1] and "confirmed by EDR console" in kinds[1]
    assert AuditLog.objects.filter(action="approval.approve", actor=world["lead"]).exists()
    with pytest.raises(approvals.ApprovalClosed):
        approvals.decide(approval.pk, world["lead"], approve=False)


def test_denied_approval_ends_the_run_without_the_action(world, fake, connector_for,
                                                         django_capture_on_commit_callbacks):
    fake.add("POST", "/api/v1/hosts/isolate", json={"status": "isolated"})
    connector_for("edr", fake.url)
    run = run_playbook(isolate_definition(user="member"), world["case"], django_capture_on_commit_callbacks)
    approval = ApprovalRequest.objects.get(run=run)
    assert approval.approver_user == world["member"] and approval.approver_group is None
    with django_capture_on_commit_callbacks(execute=True):
        approvals.decide(approval.pk, world["member"], approve=False, comment="false positive")
    run.refresh_from_db()
    assert run.status == "denied" and "false positive" in run.error and fake.count() == 0
    assert steps_of(run)["isolate"].status == "denied" and "after" not in steps_of(run)
    assert AuditLog.objects.filter(action="approval.deny").exists()


def test_expired_approval_counts_as_denied(world, fake, connector_for, django_capture_on_commit_callbacks):
    connector_for("edr", fake.url)
    run = run_playbook(isolate_definition(), world["case"], django_capture_on_commit_callbacks)
    approval = ApprovalRequest.objects.get(run=run)
    ApprovalRequest.objects.filter(pk=approval.pk).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    with pytest.raises(approvals.ApprovalClosed):  # answering too late does not run it either
        approvals.decide(approval.pk, world["lead"], approve=True)
    run.refresh_from_db()
    assert run.status == "denied" and fake.count() == 0
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "expired"


def test_expire_due_sweeps_pending_requests(world, fake, connector_for, django_capture_on_commit_callbacks):
    connector_for("edr", fake.url)
    run = run_playbook(isolate_definition(), world["case"], django_capture_on_commit_callbacks)
    assert approvals.expire_due() == 0
    assert approvals.expire_due(now=timezone.now() + timezone.timedelta(days=1)) == 1
    run.refresh_from_db()
    assert run.status == "denied" and "expired" in run.error
    assert AuditLog.objects.filter(action="approval.expire").exists()


def test_superuser_may_answer_any_request(world, fake, connector_for, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import User

    fake.add("POST", "/api/v1/hosts/isolate", json={"ok": True})
    connector_for("edr", fake.url)
    admin = User.objects.create_superuser("root", password=None)
    run = run_playbook(isolate_definition(user="member"), world["case"], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.decide(ApprovalRequest.objects.get(run=run).pk, admin, approve=True)
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_interrupted_step_resumes_with_the_same_key(world, fake, connector_for, settings,
                                                    django_capture_on_commit_callbacks):
    """A worker died after claiming the isolate step: the sweep re-queues the run, the step is
    sent again with the same key, and the earlier steps are not repeated."""
    fake.add("POST", "/api/v1/hosts/isolate", json={"status": "isolated"})
    fake.idempotent("POST", "/api/v1/hosts/isolate")
    connector_for("edr", fake.url)
    run = run_playbook(isolate_definition(), world["case"], django_capture_on_commit_callbacks)
    approval = ApprovalRequest.objects.get(run=run)
    approval.status = "approved"
    approval.save()
    PlaybookRun.objects.filter(pk=run.pk).update(status="queued")
    claimed = engine.advance(run.pk)  # the crashed worker's claim and its request...
    assert isinstance(claimed, engine.Claimed) and claimed.attempt == 1
    engine._execute(claimed)  # ...which reached the EDR before the worker died
    assert resume_stale_runs() == []  # the lease is still fresh
    PlaybookRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timezone.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert resume_stale_runs() == [run.pk]
    run.refresh_from_db()
    step = steps_of(run)["isolate"]
    assert run.status == "succeeded" and step.attempts == 2
    assert fake.count("/api/v1/hosts/isolate") == 2 and fake.effective_count("/api/v1/hosts/isolate") == 1
    assert {r.headers["idempotency-key"] for r in fake.received} == {step.idempotency_key}
    assert steps_of(run)["before"].attempts == 1


def test_a_fresh_lease_keeps_a_second_worker_off_the_step(world, fake, connector_for,
                                                          django_capture_on_commit_callbacks):
    connector_for("webhook", f"{fake.url}/hook")
    playbook = make_playbook(manual([action("ticket", "create_ticket", summary="x")]))
    run = start_run(playbook, world["case"], trigger="manual")  # not executed: no commit callbacks here
    first = engine.advance(run.pk)
    assert isinstance(first, engine.Claimed)
    assert engine.advance(run.pk) is None  # a duplicate message finds the step held
    assert StepRun.objects.get(run=run).attempts == 1


def test_dry_run_changes_nothing(world, fake, connector_for, django_capture_on_commit_callbacks):
    connector_for("edr", fake.url)
    events_before = CaseEvent.objects.filter(case=world["case"]).count()
    definition = manual([
        {"id": "enrich", "type": "enrich"},
        {"id": "bad", "type": "condition", "if": {"left": "{{ case.severity }}", "op": "in", "right": ["medium"]},
         "then": [action("block", "add_to_blocklist", list="fw", type="ip", value="{{ case.observables_by_type.ip }}"),
                  action("isolate", "isolate_host", hostname="{{ case.observables_by_type.hostname.0 }}")]},
        action("sev", "set_severity", severity="critical"),
    ])
    run = run_playbook(definition, world["case"], django_capture_on_commit_callbacks, dry_run=True)
    steps = steps_of(run)
    assert run.status == "dry_run" and set(steps) == {"enrich", "bad", "block", "isolate", "sev"}
    assert steps["block"].status == "would_run" and "203.0.113.7" in steps["block"].outputs["would"]
    assert steps["isolate"].outputs["would"].startswith("Ask group lead for approval, then: Isolate host ws-042")
    assert steps["enrich"].outputs["simulated_from_existing_evidence"] is True
    world["case"].refresh_from_db()
    assert world["case"].severity == "medium" and not BlocklistEntry.objects.exists() and fake.count() == 0
    assert not ApprovalRequest.objects.exists()
    assert CaseEvent.objects.filter(case=world["case"]).count() == events_before


def test_disabled_playbook_runs_only_dry(world, django_capture_on_commit_callbacks):
    playbook = make_playbook(manual([action("t", "tag", tags=["x"])]), enabled=False)
    with pytest.raises(RunRefused):
        start_run(playbook, world["case"], trigger="manual")
    run = start_run(playbook, world["case"], trigger="manual", dry_run=True)
    assert run.status == "dry_run"


def test_run_keeps_the_version_it_started_with(world, django_capture_on_commit_callbacks):
    from playbooks.services.definitions import save_playbook

    playbook = make_playbook(manual([action("t", "tag", tags=["v1"])]))
    run = start_run(playbook, world["case"], trigger="manual")  # queued, not yet executed
    import json
    save_playbook(definition_text=json.dumps(manual([action("t", "tag", tags=["v2"])])), playbook=playbook)
    assert playbook.version == 2 and playbook.versions.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        engine.execute_run(run.pk)
    run.refresh_from_db()
    assert run.version == 1 and run.status == "succeeded"
    assert list(world["case"].tags.values_list("name", flat=True)) == ["v1"]


def test_enrich_step_output_drives_a_condition(world, django_capture_on_commit_callbacks):
    from enrichment.services import add_to_blocklist

    add_to_blocklist("intel", "ip", "203.0.113.7", reason="known C2", actor_label="test")
    definition = manual([
        {"id": "enrich", "type": "enrich", "with": {"providers": ["blocklist"], "observable_types": ["ip"]}},
        {"id": "bad", "type": "condition", "if": {"left": "{{ steps.enrich.output.malicious }}", "op": "truthy"},
         "then": [action("t", "tag", tags=["known-bad"])], "else": [action("n", "add_note", body="clean")]},
    ])
    run = run_playbook(definition, world["case"], django_capture_on_commit_callbacks)
    output = steps_of(run)["enrich"].outputs
    assert run.status == "succeeded" and output["verdict"] == "malicious" and output["count"] == 1
    assert output["results"][0]["value"] == "203.0.113.7"
    assert world["case"].tags.filter(name="known-bad").exists()


def test_management_commands(world, fake, connector_for, django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("load_demo_playbooks", stdout=out)
    call_command("load_demo_playbooks", stdout=out)
    assert "created playbook 'Phishing triage' v1 (disabled)" in out.getvalue()
    assert "updated playbook 'Phishing triage' v1" in out.getvalue()
    connector_for("edr", fake.url)
    run = run_playbook(isolate_definition(expires_in_minutes=1), world["case"], django_capture_on_commit_callbacks)
    ApprovalRequest.objects.filter(run=run).update(expires_at=timezone.now())
    call_command("expire_approvals", stdout=out)
    assert "expired 1 approval request(s)" in out.getvalue()
    call_command("resume_stale_runs", stdout=out)
    assert "re-queued 0 run(s)" in out.getvalue()
