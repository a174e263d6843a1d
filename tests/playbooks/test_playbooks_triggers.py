"""Triggers on the embedded stack: events commit, playbooks start, and a run's own changes
never start another run."""

import json

import pytest

from cases import services as case_services
from cases.models import Case
from playbooks.models import PlaybookRun
from tests.support.fake_servers import FakeServer
from tests.support.playbooks_helpers import action, make_playbook, observable

pytestmark = pytest.mark.django_db(transaction=True)
ALERT = {"title": "Beacon to evil.example", "severity": "high", "confidence": 90,
         "entity": {"type": "hostname", "value": "ws-042"},
         "observables": [{"type": "domain", "value": "evil.example"}], "source_ref": "edr-1"}


def playbook(trigger: dict, steps: list, name: str = "Auto"):
    return make_playbook({"name": name, "trigger": trigger, "steps": steps})


def runs(pb, **filters):
    return list(PlaybookRun.objects.filter(playbook=pb, **filters))


def test_alert_ingested_runs_the_playbook_on_the_alerts_case(client, make_source, pb_settings, connector_for):
    fake = FakeServer().start()
    try:
        fake.add("POST", "/rest/api/2/issue", status=201, json={"id": "1", "key": "SOC-7", "self": "x"})
        connector_for("jira", fake.url, options={"project": "SOC"})
        pb = playbook({"type": "alert_ingested", "min_severity": "medium", "source": "edr"},
                      [action("ticket", "create_ticket",
                              summary="{{ trigger.alert.title }} on {{ trigger.alert.entity_value }}")])
        ignored = playbook({"type": "alert_ingested", "source": "other"}, [action("t", "tag", tags=["x"])],
                           name="Other")
        _, token = make_source(name="edr")
        response = client.post("/api/v1/alerts", data=json.dumps(ALERT), content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 202
        [run] = runs(pb)
        assert run.status == "succeeded" and run.trigger == "alert_ingested"
        assert run.trigger_data["alert"]["title"] == ALERT["title"]
        assert json.loads(fake.received[0].body)["fields"]["summary"] == "Beacon to evil.example on ws-042"
        assert runs(ignored) == []
    finally:
        fake.stop()


def test_case_created_and_observable_type_present(world):
    created = playbook({"type": "case_created", "min_severity": "high"}, [action("t", "tag", tags=["new-high"])],
                       name="Created")
    has_domain = playbook({"type": "observable_type_present", "observable_type": "domain"},
                          [action("t", "tag", tags=["{{ trigger.values.0 }}"])], name="Domain")
    case = case_services.open_case(title="x", severity="critical")
    assert [r.status for r in runs(created)] == ["succeeded"]
    assert runs(has_domain) == []
    low = case_services.open_case(title="y", severity="low")
    assert runs(created, case=low) == []
    # observables arrive with alerts (the alerts pipeline sends case_alerts_added in its transaction)
    from django.db import transaction

    from alerts.signals import case_alerts_added

    case.observables.add(observable("domain", "evil.example"))
    for _ in range(2):
        with transaction.atomic():
            case_alerts_added.send(sender=None, case_id=case.pk, alert_ids=[], opened=True)
    assert [r.status for r in runs(has_domain)] == ["succeeded"]  # once per case
    assert set(case.tags.values_list("name", flat=True)) == {"new-high", "evil.example"}
    assert len(runs(created)) == 1


def test_status_changed_and_tag_added(world):
    to_progress = playbook({"type": "status_changed", "to": "IN_PROGRESS"}, [action("n", "add_note", body="started")],
                           name="Status")
    tagged = playbook({"type": "tag_added", "tag": "phishing"}, [action("t", "tag", tags=["triaged-by-soar"])],
                      name="Tag")
    case = world["case"]
    case_services.transition_case(case, "TRIAGED", actor=world["member"])
    assert runs(to_progress) == []
    case_services.transition_case(case, "IN_PROGRESS", actor=world["member"])
    assert [r.trigger_data for r in runs(to_progress)] == [{"from": "TRIAGED", "to": "IN_PROGRESS"}]
    case_services.change_tags(case, add=["phishing"], actor=world["member"])
    assert [r.status for r in runs(tagged)] == ["succeeded"]


def test_severity_at_least_fires_when_crossing(world):
    pb = playbook({"type": "severity_at_least", "severity": "high"}, [action("n", "add_note", body="escalate")])
    case = world["case"]
    case_services.update_case(case, severity="low", actor=world["member"])
    assert runs(pb) == []
    case_services.update_case(case, severity="critical", actor=world["member"])
    assert [r.trigger_data["before"] for r in runs(pb)] == ["low"]
    case_services.update_case(case, severity="high", actor=world["member"])
    assert len(runs(pb)) == 1


def test_a_runs_own_changes_do_not_trigger_playbooks(world):
    """Playbook A tags the case; playbook B listens for that tag and raises severity; C listens
    for the severity. None of the run-made changes may start another run."""
    a = playbook({"type": "status_changed"}, [action("t", "tag", tags=["loop"]),
                                               action("s", "set_severity", severity="critical")], name="A")
    b = playbook({"type": "tag_added", "tag": "loop"}, [action("t", "tag", tags=["b"])], name="B")
    c = playbook({"type": "severity_at_least", "severity": "critical"}, [action("t", "tag", tags=["c"])], name="C")
    case_services.transition_case(world["case"], "TRIAGED", actor=world["member"])
    assert len(runs(a)) == 1 and runs(b) == [] and runs(c) == []
    assert Case.objects.get(pk=world["case"].pk).severity == "critical"


def test_disabled_playbooks_do_not_start(world):
    pb = playbook({"type": "tag_added", "tag": "x"}, [action("t", "tag", tags=["y"])])
    pb.enabled = False
    pb.save()
    case_services.change_tags(world["case"], add=["x"], actor=world["member"])
    assert runs(pb) == []
