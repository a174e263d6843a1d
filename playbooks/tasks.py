"""Celery entry points; the work is in the engine and services."""

from celery import shared_task

from playbooks import engine
from playbooks.services import approvals, pending, runs


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def execute_run(run_id: int) -> None:
    engine.execute_run(run_id)


@shared_task(ignore_result=True)
def resume_stale_runs() -> int:
    return len(runs.resume_stale_runs())


@shared_task(ignore_result=True)
def expire_approvals() -> int:
    return approvals.expire_due()


@shared_task(ignore_result=True)
def sweep_playbook_triggers() -> int:
    return pending.sweep()
