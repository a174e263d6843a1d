"""Signal glue: turn alert and case events into playbook runs. Alerts put in cases are
recorded durably inside their transaction (services.pending); timeline events are evaluated
after the transaction that produced them commits, and a failure there is logged and never
breaks the caller."""

from __future__ import annotations

import logging

from django.db import transaction

from cases.vocabulary import EventKind
from playbooks.services import pending, triggers
from soar import queue

logger = logging.getLogger(__name__)
PLAYBOOK_ACTOR_PREFIX = "playbook:"
TRIGGERING_KINDS = {"created", "status_changed", "tagged", "severity_changed", "alert_attached"}


def _safely(function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except Exception:  # noqa: BLE001 - triggers must not break alert processing or case edits
        logger.exception("playbook trigger %s failed", getattr(function, "__name__", function))


def on_case_alerts_added(sender, case_id, alert_ids=None, opened=False, promoted=False, **kwargs):
    """Inside the transaction that put the alerts in the case: record the trigger evaluation
    (durable; evaluated after the commit, swept if left open). Errors propagate: the record
    commits with the case or neither does. Alerts promoted from the queue by an analyst were
    ingested earlier: they open the case but do not fire ``alert_ingested``."""
    pending.record(case_id, [] if promoted else list(alert_ids or []), opened=opened)


def on_cases_alerts_added(sender, cases, **kwargs):
    """The same for the cases of a chunk: one look-up of the triggers, one INSERT."""
    pending.record_many([(case.case_id, list(case.alert_ids), case.opened) for case in cases])


def on_case_event_saved(sender, instance, created, raw=False, **kwargs):
    if not created or raw or instance.kind not in TRIGGERING_KINDS:
        return
    if (instance.actor_label or "").startswith(PLAYBOOK_ACTOR_PREFIX):
        return  # a run's own changes never start runs (no loops)
    if instance.kind == "alert_attached" and not instance.actor_id:
        return  # the pipeline's attachments arrive through case_alerts_added (services.pending)
    if instance.kind == EventKind.CREATED:
        _created_after_commit(instance.case_id)
        return
    kind, case_id, data, by_user = instance.kind, instance.case_id, dict(instance.data or {}), bool(instance.actor_id)
    transaction.on_commit(lambda: queue.run_follow_up(
        lambda: _safely(triggers.case_event, kind, case_id, data, by_user=by_user),
        what=f"playbook triggers of the {kind} event of case {case_id}"))


class _CreatedCases:
    """The cases whose "created" entry one transaction wrote, evaluated together after its
    commit: one look-up of the enabled trigger types for all of them (a correlation chunk opens
    hundreds of cases), then each case on its own, a failure logged and the next one tried."""

    def __init__(self) -> None:
        self.case_ids: list[int] = []

    def __call__(self) -> None:
        case_ids = self.case_ids
        queue.run_follow_up(lambda: _evaluate_created(case_ids),
                            what=f"playbook triggers of {len(case_ids)} case(s) created")


def _evaluate_created(case_ids: list[int]) -> None:
    try:
        enabled_types = triggers.enabled_trigger_types()
    except Exception:  # noqa: BLE001 - as _safely: never breaks the caller
        logger.exception("playbook triggers of %d created case(s) failed", len(case_ids))
        return
    for case_id in case_ids:
        _safely(triggers.case_created, case_id, enabled_types=enabled_types)


def _created_after_commit(case_id: int) -> None:
    """Add the case to this transaction's ``_CreatedCases``, registered with on_commit at its
    first case. A batch whose callback is gone (committed, or dropped with a rolled-back
    savepoint: its position no longer holds it) is not reused."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:  # autocommit: the entry is committed already
        batch = _CreatedCases()
        batch.case_ids.append(case_id)
        batch()
        return
    registered = getattr(conn, "soar_created_cases", None)
    if registered is not None:
        batch, position = registered
        hooks = conn.run_on_commit
        if position < len(hooks) and hooks[position][1] is batch:
            batch.case_ids.append(case_id)
            return
    batch = _CreatedCases()
    batch.case_ids.append(case_id)
    transaction.on_commit(batch)
    setattr(conn, "soar_created_cases", (batch, len(conn.run_on_commit) - 1))  # noqa: B010 - no such attribute in the stubs
