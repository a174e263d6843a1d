"""Dry run: walk the playbook against a case and record what each step would do, changing
nothing outside the run's own record (no timeline entries, no HTTP, no case writes).

Enrichment is simulated from the evidence the case already has, so conditions on its output
take the branch a real run would most likely take."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases.selectors import require_case
from playbooks.actions.registry import require_action
from playbooks.context import enrichment_outputs, run_context
from playbooks.models import PlaybookRun, StepRun
from playbooks.schema import compile_steps, needs_approval
from playbooks.templating import evaluate, render


def _approver(step: dict, context: dict) -> str:
    spec = render(step.get("approval") or {}, context)
    parts = []
    if spec.get("user"):
        parts.append(f"user {spec['user']}")
    group = spec.get("group") or (None if spec.get("user") else settings.SOAR_PLAYBOOK_DEFAULT_APPROVER_GROUP)
    if group:
        parts.append(f"group {group}")
    return " or ".join(parts)


@transaction.atomic
def simulate(run: PlaybookRun) -> PlaybookRun:
    case = require_case(run.case_id)
    program = compile_steps(run.definition["steps"])
    outputs: dict[str, dict] = {}
    cursor: int | None = 0
    now = timezone.now()
    run.status, run.started_at = PlaybookRun.Status.RUNNING, now
    while cursor is not None:
        node = program[cursor]
        context = run_context(run, case, outputs)
        step = StepRun(run=run, index=node.index, step_id=node.id, type=node.type, action=node.step.get("action", ""),
                       idempotency_key=f"dry-{run.pk}-{node.id}"[:100], started_at=now, finished_at=now)
        if node.type == "condition":
            result = evaluate(node.step["if"], context)
            step.status, step.inputs = StepRun.Status.SUCCEEDED, {"if": node.step.get("if")}
            step.outputs = {"result": result, "branch": "then" if result else "else"}
            cursor = node.on_true if result else node.on_false
        else:
            step.inputs = render(node.step.get("with") or {}, context)
            step.status = StepRun.Status.WOULD_RUN
            if node.type == "enrich":
                summary = enrichment_outputs(case, step.inputs)
                providers = step.inputs.get("providers")
                step.outputs = {**summary, "would": "Enrich the case's observables"
                                + (f" with {', '.join(providers)}" if providers else ""),
                                "simulated_from_existing_evidence": True}
            else:
                action = require_action(node.step["action"])
                would = action.describe(step.inputs)
                if needs_approval(node):
                    would = f"Ask {_approver(node.step, context) or 'a superuser'} for approval, then: {would}"
                step.outputs = {"would": would, "destructive": action.destructive}
            cursor = node.next
        step.save()
        outputs[node.id] = {"status": "succeeded", "output": step.outputs}
    run.status, run.finished_at, run.cursor = PlaybookRun.Status.DRY_RUN, timezone.now(), None
    run.save()
    return run
