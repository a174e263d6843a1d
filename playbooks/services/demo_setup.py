"""What ``manage.py load_demo_data`` needs from the playbooks app: connectors that send nothing
(``demo://``, see playbooks.actions.http.demo_answer) and a few runs of the example playbooks, so
that a first look shows a run that went end to end and an approval waiting for a SOC lead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import User

from playbooks.actions.http import DEMO_URL_PREFIX
from playbooks.models import ApprovalRequest, Connector, Playbook, PlaybookRun
from playbooks.services.approvals import decide
from playbooks.services.runs import start_run

if TYPE_CHECKING:
    from cases.models import Case

# name, kind: one per kind the example playbooks use (Jira is left out: tickets go to the webhook).
DEMO_CONNECTORS = (("demo-edr", "edr"), ("demo-tickets", "webhook"), ("demo-chat", "slack"),
                   ("demo-mail", "smtp"), ("demo-directory", "directory"), ("demo-firewall", "firewall"))
CONTAIN = "Contain compromised host"
ESCALATE = "Escalate to incident response"


def ensure_demo_connectors() -> list[Connector]:
    """Create the demo connectors (idempotent; an existing connector of that name is left alone)."""
    connectors = []
    for name, kind in DEMO_CONNECTORS:
        options = {"from": "mini-soar-demo@example.com"} if kind == "smtp" else {}
        connector, _ = Connector.objects.get_or_create(name=name, defaults={
            "kind": kind, "base_url": f"{DEMO_URL_PREFIX}{kind}", "options": options})
        connectors.append(connector)
    return connectors


def run_demo_playbooks(*, contain: list[Case], escalate: Case | None, approver: User) -> list[PlaybookRun]:
    """Run "Contain compromised host" on each of ``contain``: the first one's approval is granted
    by ``approver`` (the host is "isolated" through demo-edr and the run succeeds), the others
    stay pending on the approvals page. Run "Escalate to incident response" on ``escalate``.
    With a broker the runs go to the workers; an approval not yet requested is left to them."""
    runs = []
    playbook = Playbook.objects.filter(name=CONTAIN, enabled=True).first()
    for index, case in enumerate(contain):
        if playbook is None:
            break
        run = start_run(playbook, case, trigger="manual", started_by=approver)
        runs.append(run)
        pending = ApprovalRequest.objects.filter(run=run, status=ApprovalRequest.Status.PENDING).first()
        if index == 0 and pending is not None:
            decide(pending.pk, approver, approve=True, comment="Demo: approved while loading the demo data.")
    escalation = Playbook.objects.filter(name=ESCALATE, enabled=True).first()
    if escalation is not None and escalate is not None:
        runs.append(start_run(escalation, escalate, trigger="manual", started_by=approver))
    return runs
