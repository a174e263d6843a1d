"""Each built-in action against local stand-ins: HTTP fakes for Jira, webhooks, chat, EDR,
directory and firewall, and a real SMTP server for e-mail."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import CaseEvent, Note
from enrichment.models import BlocklistEntry
from playbooks.actions.base import ActionContext, ActionError, TransientActionError
from playbooks.actions.registry import get_action
from tests.support.fake_servers import FakeServer
from tests.support.smtp_server import LocalSMTPServer

pytestmark = pytest.mark.django_db
KEY = "soar-1-step-abc"


@pytest.fixture
def fake():
    server = FakeServer().start()
    yield server
    server.stop()


def run_action(name, case, attempt=1, **params):
    ctx = ActionContext(case=case, params=params, idempotency_key=KEY, attempt=attempt,
                        actor_label="playbook:test", run_id=1, step_id="step")
    return get_action(name).run(ctx)


def test_jira_ticket(world, fake, connector_for):
    fake.add("POST", "/rest/api/2/issue", status=201, json={"id": "10001", "key": "SEC-12",
                                                            "self": f"{fake.url}/rest/api/2/issue/10001"})
    connector_for("jira", fake.url, username="bot@example.org", secret="tok", options={"project": "SEC"})
    out = run_action("create_ticket", world["case"], summary="Malware", description="details", labels=["a b"],
                     priority="High")
    assert out["key"] == "SEC-12" and out["url"] == f"{fake.url}/browse/SEC-12"
    request = fake.received[0]
    fields = json.loads(request.body)["fields"]
    assert fields["project"] == {"key": "SEC"} and fields["issuetype"] == {"name": "Task"}
    assert fields["labels"] == ["a-b", f"soar-{KEY}"] and fields["priority"] == {"name": "High"}
    assert request.headers["authorization"].startswith("Basic ") and request.headers["idempotency-key"] == KEY


def test_jira_retry_reuses_the_issue_of_an_earlier_attempt(world, fake, connector_for):
    fake.add("GET", "/rest/api/2/search", json={"issues": [{"id": "7", "key": "SEC-7", "self": "s"}]})
    connector_for("jira", fake.url, options={"project": "SEC"})
    out = run_action("create_ticket", world["case"], attempt=2, summary="Malware")
    assert out["key"] == "SEC-7" and out["reused"] is True
    assert fake.count("/rest/api/2/issue") == 0
    assert fake.received[0].query["jql"] == f'labels = "soar-{KEY}"'


def test_jira_without_project_is_a_clear_error(world, fake, connector_for):
    connector_for("jira", fake.url)
    with pytest.raises(ActionError, match="No Jira project"):
        run_action("create_ticket", world["case"], summary="x")


def test_webhook_ticket_and_missing_connector(world, fake, connector_for):
    with pytest.raises(ActionError, match="No enabled connector"):
        run_action("create_ticket", world["case"], summary="x")
    fake.add("POST", "/tickets", status=201, json={"ticket_id": 5})
    connector_for("webhook", f"{fake.url}/tickets", secret="s3cret")
    out = run_action("create_ticket", world["case"], summary="Case {{ x }}")
    body = json.loads(fake.received[0].body)
    assert out["response"] == {"ticket_id": 5} and body["case"]["id"] == world["case"].pk
    assert body["idempotency_key"] == KEY and fake.received[0].headers["authorization"] == "Bearer s3cret"


def test_slack_notification(world, fake, connector_for):
    fake.add("POST", "/services/T/B/X", body=b"ok")
    connector_for("slack", f"{fake.url}/services/T/B/X", secret="not-sent")
    out = run_action("notify", world["case"], channel="slack", text="Case 1 is critical")
    assert out["status"] == 200 and json.loads(fake.received[0].body) == {"text": "Case 1 is critical"}
    assert "authorization" not in fake.received[0].headers  # the webhook URL is the secret


def test_email_notification_over_smtp(world, connector_for):
    server = LocalSMTPServer().start()
    try:
        connector_for("smtp", server.url, options={"from": "soar@example.org"})
        out = run_action("notify", world["case"], channel="email", to=["a@example.org", "not-an-address"],
                         subject="Case escalated", text="Please look.")
        [message] = server.wait_for(1)
        assert message["Subject"] == "Case escalated" and message["From"] == "soar@example.org"
        assert message["Message-ID"] == f"<{KEY}@mini-soar>" and "Please look." in message.get_content()
        assert server.envelopes[0]["to"] == ["a@example.org"] and out["to"] == ["a@example.org"]
        server.reply_code = "451 Try again later"
        with pytest.raises(TransientActionError):
            run_action("notify", world["case"], channel="email", to="a@example.org", subject="s", text="t")
        server.reply_code = "554 Rejected"
        with pytest.raises(ActionError) as refused:
            run_action("notify", world["case"], channel="email", to="a@example.org", subject="s", text="t")
        assert not isinstance(refused.value, TransientActionError)
    finally:
        server.stop()


def test_email_falls_back_to_the_project_mail_settings(world, settings):
    server = LocalSMTPServer().start()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        run_action("notify", world["case"], channel="email", to="ir@example.org", subject="s", text="t")
        assert server.wait_for(1)[0]["To"] == "ir@example.org"
    finally:
        server.stop()


def test_email_to_the_configured_mail_server_passes_the_ssrf_guard(world, settings, connector_for):
    """SOAR_SMTP_HOST is set by an administrator: trusted even on loopback, with no SSRF allowlist."""
    settings.SOAR_SSRF_ALLOWLIST = []
    server = LocalSMTPServer().start()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        run_action("notify", world["case"], channel="email", to="ir@example.org", subject="s", text="t")
        assert server.wait_for(1)[0]["To"] == "ir@example.org"
        # A connector to the configured host and port is trusted too...
        trusted = connector_for("smtp", server.url)
        run_action("notify", world["case"], channel="email", to="ir@example.org", subject="s2", text="t")
        assert server.wait_for(2)[1]["Subject"] == "s2"
        # ...but another port of that host is not the configured server: still refused.
        trusted.delete()
        connector_for("smtp", f"smtp://127.0.0.1:{server.port + 1}")
        with pytest.raises(ActionError, match="SOAR_SSRF_ALLOWLIST"):
            run_action("notify", world["case"], channel="email", to="ir@example.org", subject="s3", text="t")
    finally:
        server.stop()


@pytest.mark.parametrize("name, kind, params, path, sent", [
    ("isolate_host", "edr", {"hostname": "ws-042"}, "/api/v1/hosts/isolate", {"hostname": "ws-042"}),
    ("disable_user", "directory", {"username": "alice"}, "/api/v1/users/disable", {"username": "alice"}),
    ("block_at_firewall", "firewall", {"value": ["203.0.113.7"], "type": "ip", "duration_minutes": 60},
     "/api/v1/blocks", {"type": "ip", "values": ["203.0.113.7"], "duration_minutes": 60}),
])
def test_destructive_actions_call_their_api_with_the_key(world, fake, connector_for, name, kind, params, path, sent):
    fake.add("POST", path, json={"accepted": True})
    connector_for(kind, fake.url, secret="edr-token")
    out = run_action(name, world["case"], **params, reason="case 1")
    request = fake.received[0]
    assert request.path == path and request.headers["idempotency-key"] == KEY
    assert json.loads(request.body) == {**sent, "case_id": world["case"].pk, "reason": "case 1"}
    assert out["response"] == {"accepted": True} and get_action(name).destructive


def test_connector_options_override_the_api_path(world, fake, connector_for):
    fake.add("POST", "/v2/contain", json={"ok": 1})
    connector_for("edr", fake.url, options={"isolate_path": "/v2/contain"})
    assert run_action("isolate_host", world["case"], hostname="h")["response"] == {"ok": 1}


def test_http_failures_are_classified(world, fake, connector_for, settings):
    connector = connector_for("edr", fake.url, timeout_seconds=0.3)
    fake.add("POST", "/api/v1/hosts/isolate", status=404, json={"error": "no such host"}, times=1)
    fake.add("POST", "/api/v1/hosts/isolate", status=500, json={}, times=1)
    fake.add("POST", "/api/v1/hosts/isolate", status=302, headers={"Location": "http://169.254.169.254/"}, times=1)
    fake.add("POST", "/api/v1/hosts/isolate", delay=1.0, json={})
    with pytest.raises(ActionError, match="HTTP 404") as permanent:
        run_action("isolate_host", world["case"], hostname="h")
    assert not isinstance(permanent.value, TransientActionError)
    with pytest.raises(TransientActionError, match="HTTP 500"):
        run_action("isolate_host", world["case"], hostname="h")
    with pytest.raises(ActionError, match="redirect"):
        run_action("isolate_host", world["case"], hostname="h")
    with pytest.raises(TransientActionError, match="no answer"):
        run_action("isolate_host", world["case"], hostname="h")
    connector.base_url = "http://127.0.0.1:1"
    connector.save()
    with pytest.raises(TransientActionError, match="connection failed"):
        run_action("isolate_host", world["case"], hostname="h")


def test_ssrf_guard_refuses_internal_endpoints(world, fake, connector_for, settings):
    settings.SOAR_SSRF_ALLOWLIST = []
    connector_for("edr", fake.url)
    with pytest.raises(ActionError, match="not a public address"):
        run_action("isolate_host", world["case"], hostname="h")
    assert fake.count() == 0


def test_case_actions(world):
    case = world["case"]
    assert run_action("set_severity", case, severity="critical") == {"before": "medium", "severity": "critical",
                                                                      "changed": True}
    run_action("tag", case, tags="phishing, contained")
    run_action("assign", case, user="member")
    note = run_action("add_note", case, body="Automatic triage done")
    case.refresh_from_db()
    assert case.severity == "critical" and case.assignee == world["member"]
    assert set(case.tags.values_list("name", flat=True)) == {"phishing", "contained"}
    assert Note.objects.get(pk=note["note_id"]).body == "Automatic triage done"
    labels = set(CaseEvent.objects.filter(case=case).exclude(kind="created").values_list("actor_label", flat=True))
    assert labels == {"playbook:test"}
    with pytest.raises(ActionError, match="No active user"):
        run_action("assign", case, user="ghost")
    with pytest.raises(ActionError, match="Unknown severity"):
        run_action("set_severity", case, severity="urgent")
    with pytest.raises(ActionError, match="Invalid tag"):
        run_action("tag", case, tags=["<script>"])


def test_blocklist_action(world):
    case = world["case"]
    out = run_action("add_to_blocklist", case, list="fw", observables=[{"type": "ip", "value": "203.0.113.7"},
                                                                       {"type": "url", "value": "http://x.example/"}],
                     types=["ip"], expires_in_hours=2)
    assert out["added"] == [{"type": "ip", "value": "203.0.113.7"}]
    entry = BlocklistEntry.objects.get(list_name="fw")
    assert entry.added_by == "playbook:test" and entry.reason == f"case #{case.pk}"
    assert timedelta(hours=1.9) < entry.expires_at - timezone.now() <= timedelta(hours=2)
    out = run_action("add_to_blocklist", case, list="fw", type="ip", values=["203.0.113.7", "not-an-ip"])
    assert len(out["refused"]) == 1 and BlocklistEntry.objects.filter(list_name="fw").count() == 1
    assert BlocklistEntry.objects.get(list_name="fw").expires_at is None  # a second add refreshes the expiry
    with pytest.raises(ActionError, match="No valid value"):
        run_action("add_to_blocklist", case, list="fw", type="ip", value="999.1.1.1")
