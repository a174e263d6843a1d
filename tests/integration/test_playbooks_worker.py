"""Playbooks on the real stack: PostgreSQL, Redis and `celery worker` processes, with local
HTTP servers standing in for Jira and the EDR.

The worker-kill test shows the recovery path: the run's step is persisted as running with
its idempotency key before the EDR call; after SIGKILL the heartbeat stops, the beat's
stale-run sweep re-queues the run, a new worker repeats the step with the *same*
Idempotency-Key, and the fake EDR — like EDR APIs that support idempotency keys — answers
the original result without acting again. So the EDR receives the request twice but
isolates once (one effective call), and the steps before it are not repeated."""

from __future__ import annotations

import json
import signal

import pytest

from alerts.services import ingest
from cases.models import Note, Team
from cases.services import open_case
from playbooks.models import ApprovalRequest, Connector, PlaybookRun
from playbooks.services import approvals
from playbooks.services.definitions import save_playbook
from playbooks.services.runs import start_run
from tests.support.fake_servers import FakeServer
from tests.support.playbooks_helpers import observable

pytestmark = pytest.mark.django_db(transaction=True)
WORKER_ENV = {
    "SOAR_SSRF_ALLOWLIST": "127.0.0.1",
    "SOAR_ENRICHMENT_AUTO": "0",
    # A running step renews its heartbeat every quarter of this: a loaded machine must not make a
    # live run look abandoned to the kill test's stale-run sweep.
    "SOAR_PLAYBOOK_HEARTBEAT_TIMEOUT_SECONDS": "4",
    "SOAR_PLAYBOOK_RETRY_BACKOFF_SECONDS": "0.2",
    "SOAR_PLAYBOOK_SWEEP_INTERVAL_SECONDS": "1",
    "SOAR_PLAYBOOK_APPROVAL_EXPIRY_INTERVAL_SECONDS": "1",
}
ISOLATE = "/api/v1/hosts/isolate"


@pytest.fixture
def playbook_worker(service_factory):
    """The test's own worker (on the test's own queues, which this process publishes to), with
    the SSRF allowlist for the local fakes."""
    return service_factory("worker", name="worker-playbooks", concurrency=2, **WORKER_ENV)


@pytest.fixture
def fake():
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def lead(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("lead-1", password=None)
    user.groups.add(Group.objects.get_or_create(name="lead")[0])
    return user


def playbook(definition: dict):
    return save_playbook(definition_text=json.dumps(definition), enabled=True)


def contain_definition(name="Contain host"):
    return {"name": name, "trigger": {"type": "manual"}, "steps": [
        {"id": "note", "type": "action", "action": "add_note", "with": {"body": "Containment started"}},
        {"id": "isolate", "type": "action", "action": "isolate_host",
         "with": {"hostname": "{{ case.observables_by_type.hostname.0 }}"},
         "approval": {"group": "lead", "reason": "Host beaconing to C2"}},
        {"id": "tag", "type": "action", "action": "tag", "with": {"tags": ["contained"]}},
    ]}


def case_with_host(lead):
    team = Team.objects.create(name="IR", slug="ir")
    team.members.add(lead)
    case = open_case(title="C2 beacon from ws-042", severity="high", team=team)
    case.observables.add(observable("hostname", "ws-042"))
    return case


def run_status(run_id):
    return PlaybookRun.objects.get(pk=run_id).status


def test_alert_ingested_to_jira_ticket(make_source, playbook_worker, fake, wait_until):
    fake.add("POST", "/rest/api/2/issue", status=201,
             json={"id": "10042", "key": "SOC-42", "self": f"{fake.url}/rest/api/2/issue/10042"})
    Connector.objects.create(name="jira", kind="jira", base_url=fake.url, username="soar", secret="token",
                             options={"project": "SOC"})
    pb = playbook({"name": "Ticket high alerts", "trigger": {"type": "alert_ingested", "min_severity": "high"},
                   "steps": [{"id": "ticket", "type": "action", "action": "create_ticket",
                              "with": {"summary": "[{{ case.severity }}] {{ trigger.alert.title }}",
                                       "description": "Case #{{ case.id }}"}}]})
    source, _ = make_source()
    [stored] = ingest(source, [{"title": "Mimikatz on ws-042", "severity": "high", "confidence": 90,
                                "entity": {"type": "hostname", "value": "ws-042"}}])
    run = wait_until(lambda: PlaybookRun.objects.filter(playbook=pb, status="succeeded").first(), timeout=120,
                     message="the triggered run to finish")
    step = run.steps.get()
    assert step.outputs["key"] == "SOC-42" and step.attempts == 1
    assert run.trigger == "alert_ingested" and run.trigger_data["alert_ids"] == [stored.id]
    [request] = fake.received
    fields = json.loads(request.body)["fields"]
    assert fields["summary"] == "[high] Mimikatz on ws-042" and fields["project"] == {"key": "SOC"}
    assert request.headers["idempotency-key"] == step.idempotency_key


def test_approval_granted_then_edr_isolates(playbook_worker, fake, lead, wait_until):
    fake.add("POST", ISOLATE, json={"status": "isolated"})
    Connector.objects.create(name="edr", kind="edr", base_url=fake.url, secret="edr-token")
    case = case_with_host(lead)
    run = start_run(playbook(contain_definition()), case, trigger="manual")
    approval = wait_until(lambda: ApprovalRequest.objects.filter(run=run).first(), timeout=120,
                          message="the approval request")
    assert run_status(run.pk) == "waiting_approval" and fake.count() == 0
    approvals.decide(approval.pk, lead, approve=True, comment="confirmed")
    wait_until(lambda: run_status(run.pk) == "succeeded", timeout=120, message="the run to finish")
    assert fake.count(ISOLATE) == 1 and json.loads(fake.received[0].body)["hostname"] == "ws-042"
    assert case.tags.filter(name="contained").exists()


def test_audit_rows_written_by_the_worker_carry_the_request_id(playbook_worker, lead, wait_until):
    """The request id travels with the task (message headers, soar/task_context.py): the
    blocklist.add audit row, written inside the worker process, carries it."""
    from cases.models import AuditLog
    from soar.middleware import _request_context, bind_request_context

    case = case_with_host(lead)
    definition = {"name": "Block", "trigger": {"type": "manual"}, "steps": [
        {"id": "block", "type": "action", "action": "add_to_blocklist",
         "with": {"list": "edge", "type": "ip", "value": "203.0.113.77"}}]}
    token = bind_request_context(request_id="req-worker-1", client_ip="192.0.2.77")
    try:
        run = start_run(playbook(definition), case, trigger="manual", started_by=lead)
    finally:
        _request_context.reset(token)
    wait_until(lambda: run_status(run.pk) == "succeeded", timeout=120, message="the run to finish")
    row = AuditLog.objects.get(action="blocklist.add")
    assert (row.request_id, row.client_ip) == ("req-worker-1", "192.0.2.77")


def test_approval_denied_means_no_edr_call(playbook_worker, fake, lead, wait_until):
    fake.add("POST", ISOLATE, json={"status": "isolated"})
    Connector.objects.create(name="edr", kind="edr", base_url=fake.url)
    case = case_with_host(lead)
    run = start_run(playbook(contain_definition()), case, trigger="manual")
    approval = wait_until(lambda: ApprovalRequest.objects.filter(run=run).first(), timeout=120,
                          message="the approval request")
    approvals.decide(approval.pk, lead, approve=False, comment="false positive")
    assert run_status(run.pk) == "denied"
    assert fake.count() == 0 and not case.tags.filter(name="contained").exists()


def test_worker_killed_mid_isolation_resumes_and_isolates_once(service_factory, fake, lead,
                                                               wait_until):
    # The first isolate call hangs long enough to kill the worker while it waits for the answer,
    # however slowly this process gets to the kill on a loaded machine.
    fake.add("POST", ISOLATE, json={"status": "isolated", "action_id": "A-1"}, delay=60.0)
    fake.idempotent("POST", ISOLATE)
    Connector.objects.create(name="edr", kind="edr", base_url=fake.url, timeout_seconds=30)
    first = service_factory("worker", name="worker-pb-kill-1", concurrency=1, **WORKER_ENV)
    service_factory("beat", name="beat-pb-kill", **WORKER_ENV)
    case = case_with_host(lead)
    run = start_run(playbook(contain_definition("Contain host (kill test)")), case, trigger="manual")
    approval = wait_until(lambda: ApprovalRequest.objects.filter(run=run).first(), timeout=120,
                          message="the approval request")
    approvals.decide(approval.pk, lead, approve=True)
    wait_until(lambda: fake.count(ISOLATE) == 1, timeout=120, message="the isolate request to reach the EDR")
    first.kill(signal.SIGKILL)
    step = run.steps.get(step_id="isolate")
    assert step.status == "running" and step.attempts == 1  # killed mid-step, the key already persisted
    service_factory("worker", name="worker-pb-kill-2", concurrency=1, **WORKER_ENV)
    wait_until(lambda: run_status(run.pk) == "succeeded", timeout=120, message="the run to resume and finish")
    step.refresh_from_db()
    assert step.attempts == 2 and step.outputs["response"] == {"status": "isolated", "action_id": "A-1"}
    assert fake.count(ISOLATE) == 2 and fake.effective_count(ISOLATE) == 1
    assert {r.headers["idempotency-key"] for r in fake.received} == {step.idempotency_key}
    assert Note.objects.filter(case=case, body="Containment started").count() == 1  # finished steps not repeated
    assert run.steps.get(step_id="note").attempts == 1 and case.tags.filter(name="contained").exists()
