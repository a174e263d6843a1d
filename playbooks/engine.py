"""Executes a run step by step, resumable at any point.

Each step is *claimed* under a row lock on the run: the step row is marked running (with its
idempotency key and inputs, both kept across retries) and the run's heartbeat lease is taken
before any side effect. Steps that only write the database (conditions, case actions, the
blocklist) run inside that same transaction together with "step done, cursor moved", so a
crash leaves either all of it or none. Steps that call out (enrichment, HTTP actions) run
outside the transaction while a heartbeat thread keeps the lease fresh; their result is
committed with the cursor move afterwards. A worker killed mid-step leaves the step
"running" with a stale lease: the stale-run sweep (or a redelivered message) re-queues the
run, and the next claim repeats the step with the same idempotency key."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cases.selectors import require_case
from cases.services import add_case_event, record_audit
from cases.vocabulary import EventKind
from enrichment import services as enrichment_services
from playbooks import scheduling
from playbooks.actions.base import ActionContext, ActionError, TransientActionError
from playbooks.actions.registry import get_action, require_action
from playbooks.context import enrichment_outputs, run_context
from playbooks.models import ApprovalRequest, PlaybookRun, StepRun
from playbooks.schema import Node, compile_steps, needs_approval
from playbooks.services.approvals import request_approval
from playbooks.services.lifecycle import actor_label, finish
from playbooks.templating import evaluate, render

if TYPE_CHECKING:
    from cases.models import Case

logger = logging.getLogger(__name__)
RunStatus, StepStatus = PlaybookRun.Status, StepRun.Status
MAX_ITERATIONS = 500


@dataclass
class Claimed:
    """A step claimed for execution outside the transaction."""

    run_id: int
    step_pk: int
    attempt: int
    node: Node
    inputs: dict
    idempotency_key: str
    actor_label: str
    case_id: int


def max_attempts(node: Node) -> int:
    return int(node.step.get("retries", settings.SOAR_PLAYBOOK_MAX_RETRIES)) + 1


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    delay = settings.SOAR_PLAYBOOK_RETRY_BACKOFF_SECONDS * (2 ** max(0, attempt - 1))
    delay = min(delay, settings.SOAR_PLAYBOOK_RETRY_BACKOFF_MAX_SECONDS)
    return max(delay, retry_after or 0.0)


# --- the loop ----------------------------------------------------------------------------

def execute_run(run_id: int) -> None:
    """Run steps from the first unfinished one until the run ends, pauses or waits to retry."""
    for _ in range(MAX_ITERATIONS):
        outcome = advance(run_id)
        if outcome is None:
            return
        if isinstance(outcome, Claimed) and not perform(outcome):
            return


def advance(run_id: int):
    """Claim the next step. Returns None (nothing to do now), True (a step completed inside
    the transaction; go on) or a Claimed step to perform."""
    with transaction.atomic():
        run = PlaybookRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING) or run.dry_run:
            return None
        now = timezone.now()
        if run.cursor is None:
            finish(run, RunStatus.SUCCEEDED)
            return None
        node = compile_steps(run.definition["steps"])[run.cursor]
        step = _step_row(run, node)
        lease_fresh = run.heartbeat_at and run.heartbeat_at > now - timedelta(
            seconds=settings.SOAR_PLAYBOOK_HEARTBEAT_TIMEOUT_SECONDS)
        if step.status == StepStatus.RUNNING and lease_fresh and run.status == RunStatus.RUNNING:
            return None  # another worker holds this step
        if step.status == StepStatus.RETRYING and run.heartbeat_at and run.heartbeat_at > now:
            return None  # its retry is scheduled for later
        if run.status == RunStatus.QUEUED:
            _mark_started(run, now)
        run.heartbeat_at = now
        case = require_case(run.case_id)
        context = run_context(run, case)
        if node.type == "condition":
            return _decide_condition(run, node, step, context)
        if not step.inputs:
            step.inputs = render(node.step.get("with") or {}, context)
        if needs_approval(node) and not _approved(step):
            request_approval(run, node, step, context, actor_label=actor_label(run))
            return None
        if step.status == StepStatus.RUNNING and step.attempts >= max_attempts(node):
            fail_step(run, node, step, ActionError(f"the worker running this step was lost {step.attempts} times"))
            return True
        step.status, step.attempts, step.error = StepStatus.RUNNING, step.attempts + 1, ""
        step.started_at = step.started_at or now
        action = get_action(node.step.get("action", "")) if node.type == "action" else None
        if action is not None and action.transactional:
            try:
                with transaction.atomic():
                    outputs = action.run(_action_context(run, step, case))
            except ActionError as exc:
                fail_step(run, node, step, exc)
            except Exception as exc:  # noqa: BLE001 - rolled back to the savepoint; the step fails
                logger.exception("playbook step %s of run %s crashed", node.id, run.pk)
                fail_step(run, node, step, ActionError(f"unexpected error: {exc.__class__.__name__}: {exc}"[:400]))
            else:
                complete_step(run, node, step, outputs)
            return True
        step.save()
        run.save(update_fields=["status", "started_at", "heartbeat_at"])
        return Claimed(run.pk, step.pk, step.attempts, node, step.inputs, step.idempotency_key,
                       actor_label(run), run.case_id)


def perform(claimed: Claimed) -> bool:
    """Execute a claimed step outside the transaction, then commit its result. Returns
    whether the loop should go on."""
    try:
        with Heartbeat(claimed.run_id):
            outputs, error = _execute(claimed), None
    except ActionError as exc:
        outputs, error = None, exc
    except Exception as exc:  # noqa: BLE001 - a bug in one step must end the step, not the worker
        logger.exception("playbook step %s of run %s crashed", claimed.node.id, claimed.run_id)
        outputs, error = None, ActionError(f"unexpected error: {exc.__class__.__name__}: {str(exc)[:300]}")
    with transaction.atomic():
        run = PlaybookRun.objects.select_for_update().get(pk=claimed.run_id)
        step = StepRun.objects.get(pk=claimed.step_pk)
        if run.status != RunStatus.RUNNING or step.status != StepStatus.RUNNING or step.attempts != claimed.attempt:
            logger.warning("run %s step %s was taken over; result of attempt %s dropped",
                           run.pk, step.step_id, claimed.attempt)
            return False
        if error is None:
            complete_step(run, claimed.node, step, outputs)
            return True
        return fail_step(run, claimed.node, step, error)


def _execute(claimed: Claimed) -> dict:
    case = require_case(claimed.case_id)
    if claimed.node.type == "enrich":
        return _enrich(case, claimed.inputs, claimed.actor_label)
    action = require_action(claimed.node.step["action"])
    return action.run(ActionContext(case=case, params=claimed.inputs, idempotency_key=claimed.idempotency_key,
                                    attempt=claimed.attempt, actor_label=claimed.actor_label,
                                    run_id=claimed.run_id, step_id=claimed.node.id))


def _enrich(case: Case, params: dict, label: str) -> dict:
    types = params.get("observable_types") or None
    observable_ids = None
    if types:
        observable_ids = list(case.observables.filter(type__in=types).values_list("id", flat=True))
    try:
        enrichment_services.enrich_case(case.pk, observable_ids=observable_ids, provider_keys=params.get("providers"),
                                        force=bool(params.get("force")), actor_label=label)
    except (ValueError, enrichment_services.CaseReadOnly) as exc:
        raise ActionError(f"enrichment refused: {exc}")
    return enrichment_outputs(case, params)


# --- step and run transitions (called with the run row locked) ------------------------

def _step_row(run: PlaybookRun, node: Node) -> StepRun:
    step = StepRun.objects.select_for_update().filter(run=run, step_id=node.id).first()
    if step is None:
        key = f"soar-{run.pk}-{node.id}-{timezone.now().strftime('%Y%m%d%H%M%S%f')}"
        step = StepRun.objects.create(run=run, index=node.index, step_id=node.id, type=node.type,
                                      action=node.step.get("action", ""), idempotency_key=key[:100])
    return step


def _approved(step: StepRun) -> bool:
    return ApprovalRequest.objects.filter(step=step, status=ApprovalRequest.Status.APPROVED).exists()


def _action_context(run: PlaybookRun, step: StepRun, case: Case) -> ActionContext:
    return ActionContext(case=case, params=step.inputs, idempotency_key=step.idempotency_key, attempt=step.attempts,
                         actor_label=actor_label(run), run_id=run.pk, step_id=step.step_id)


def _mark_started(run: PlaybookRun, now) -> None:
    run.status = RunStatus.RUNNING
    run.started_at = run.started_at or now
    if not run.steps.exclude(status=StepStatus.PENDING).exists():
        add_case_event(run.case, EventKind.PLAYBOOK,
                       f"Playbook '{run.playbook_name}' v{run.version} started ({run.trigger})",
                       actor_label=actor_label(run), data={"run_id": run.pk, "trigger": run.trigger})


def _decide_condition(run: PlaybookRun, node: Node, step: StepRun, context: dict) -> bool:
    step.attempts += 1
    step.started_at = step.started_at or timezone.now()
    step.inputs = {"if": node.step.get("if")}
    result = evaluate(node.step["if"], context)
    complete_step(run, node, step, {"result": result, "branch": "then" if result else "else"},
                  next_index=node.on_true if result else node.on_false)
    return True


def complete_step(run: PlaybookRun, node: Node, step: StepRun, outputs, next_index: int | None | bool = False):
    step.status, step.outputs, step.error = StepStatus.SUCCEEDED, outputs or {}, ""
    step.finished_at = timezone.now()
    step.save()
    action = get_action(node.step.get("action", "")) if node.type == "action" else None
    if action is not None and action.destructive:
        message = f"Playbook '{run.playbook_name}': {action.label} done ({action.describe(step.inputs)[:300]})"
        add_case_event(run.case, EventKind.PLAYBOOK, message, actor_label=actor_label(run),
                       data={"run_id": run.pk, "step": step.step_id, "action": action.name})
        record_audit("playbook.destructive_action", step, actor_label=actor_label(run),
                     after={"action": action.name, "inputs": step.inputs, "idempotency_key": step.idempotency_key})
    run.cursor = node.next if next_index is False else next_index
    if run.cursor is None:
        finish(run, RunStatus.SUCCEEDED)
    else:
        run.save(update_fields=["cursor", "status", "started_at", "heartbeat_at"])


def fail_step(run: PlaybookRun, node: Node, step: StepRun, error: ActionError) -> bool:
    """Record a failure: schedule a retry (returns False: stop the loop), go on past it
    (``on_error: continue``) or end the run as failed."""
    now = timezone.now()
    if isinstance(error, TransientActionError) and step.attempts < max_attempts(node):
        delay = backoff_seconds(step.attempts, error.retry_after)
        step.status, step.error = StepStatus.RETRYING, f"attempt {step.attempts}: {error}"[:4000]
        step.save()
        run.heartbeat_at = now + timedelta(seconds=delay)
        run.save(update_fields=["status", "started_at", "heartbeat_at"])
        scheduling.queue_run(run.pk, countdown=delay)
        return False
    step.status, step.error, step.finished_at = StepStatus.FAILED, str(error)[:4000], now
    step.save()
    if node.step.get("on_error") == "continue":
        run.cursor = node.next
        if run.cursor is None:
            finish(run, RunStatus.SUCCEEDED)
        else:
            run.save(update_fields=["cursor", "status", "started_at", "heartbeat_at"])
        return True
    finish(run, RunStatus.FAILED, error=f"step {step.step_id} failed: {error}")
    return False


class Heartbeat:
    """Keeps the run's lease fresh from a side thread while a slow step runs in a worker
    (not in embedded mode, where there is no other worker to take over)."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self):
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            self.interval = max(0.2, settings.SOAR_PLAYBOOK_HEARTBEAT_TIMEOUT_SECONDS / 4)
            self.thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-run-{self.run_id}")
            self.thread.start()
        return self

    def _beat(self):
        try:
            while not self.stop.wait(self.interval):
                PlaybookRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
                    heartbeat_at=timezone.now())
        except Exception:  # noqa: BLE001 - a missed beat only risks an early takeover
            logger.warning("heartbeat of run %s failed", self.run_id, exc_info=True)
        finally:
            connection.close()

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        return False
