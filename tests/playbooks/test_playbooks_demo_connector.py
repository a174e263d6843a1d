"""Demo connectors (base URL demo://...): the action is recorded in the step's output, clearly
labelled, and nothing is sent; refused in production."""

import pytest

from playbooks.actions.base import ActionContext, ActionError
from playbooks.actions.registry import get_action
from playbooks.models import Connector
from playbooks.services.demo_setup import DEMO_CONNECTORS, ensure_demo_connectors


def run_action(name, case, **params):
    ctx = ActionContext(case=case, params=params, idempotency_key="soar-demo-key", attempt=1,
                        actor_label="playbook:test", run_id=1, step_id="step")
    return get_action(name).run(ctx)


def test_isolate_host_through_a_demo_edr_sends_nothing(world, connector_for, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a demo connector must not send anything")

    monkeypatch.setattr("playbooks.actions.http.guarded_session", no_network)
    connector_for("edr", "demo://edr", name="demo-edr")
    out = run_action("isolate_host", world["case"], hostname="ws-alice.example.com")
    assert out["connector"] == "demo-edr" and out["status"] == 200
    assert out["response"]["demo"] is True and "nothing was sent" in out["response"]["note"]
    assert out["response"]["payload"]["hostname"] == "ws-alice.example.com"


def test_email_and_chat_through_demo_connectors(world, connector_for):
    connector_for("smtp", "demo://smtp", name="demo-mail")
    connector_for("slack", "DEMO://slack", name="demo-chat")
    mail = run_action("notify", world["case"], channel="email", to=["ir@example.org"], subject="Hi", text="body")
    assert mail["demo"] is True and mail["to"] == ["ir@example.org"]
    chat = run_action("notify", world["case"], channel="slack", text="hello")
    assert chat["connector"] == "demo-chat" and chat["status"] == 200


def test_demo_connectors_are_refused_in_production(world, connector_for, settings):
    settings.PRODUCTION = True
    connector_for("edr", "demo://edr", name="demo-edr")
    with pytest.raises(ActionError, match="refused when SOAR_ENV=production"):
        run_action("isolate_host", world["case"], hostname="ws-alice.example.com")


def test_ensure_demo_connectors_is_idempotent_and_keeps_existing_ones(db):
    Connector.objects.create(name="demo-edr", kind="edr", base_url="https://edr.example.org")
    ensure_demo_connectors()
    ensure_demo_connectors()
    assert Connector.objects.count() == len(DEMO_CONNECTORS)
    assert Connector.objects.get(name="demo-edr").base_url == "https://edr.example.org"
    assert Connector.objects.get(name="demo-tickets").base_url == "demo://webhook"
