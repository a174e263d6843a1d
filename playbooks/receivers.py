"""Signal glue: turn alert and case events into playbook runs, after the transaction that
produced them commits. A failure here is logged and never breaks the caller."""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)
PLAYBOOK_ACTOR_PREFIX = "playbook:"
TRIGGERING_KINDS = {"created", "status_changed", "tagged", "severity_changed", "alert_attached"}


def _safely(function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except Exception:  # noqa: BLE001 - triggers must not break alert processing or case edits
        logger.exception("playbook trigger %s failed", getattr(function, "__name__", function))


def on_alerts_processed(sender, alert_ids, **kwargs):
    from playbooks.services import triggers

    if alert_ids:
        _safely(triggers.alerts_processed, list(alert_ids))


def on_case_opened(sender, case_id, alert_ids=None, **kwargs):
    from playbooks.services import triggers

    _safely(triggers.case_created, case_id)


def on_case_event_saved(sender, instance, created, raw=False, **kwargs):
    if not created or raw or instance.kind not in TRIGGERING_KINDS:
        return
    if (instance.actor_label or "").startswith(PLAYBOOK_ACTOR_PREFIX):
        return  # a run's own changes never start runs (no loops)
    if instance.kind == "alert_attached" and not instance.actor_id:
        return  # the pipeline's attachments arrive through alerts_processed, once per batch
    from playbooks.services import triggers

    kind, case_id, data, by_user = instance.kind, instance.case_id, dict(instance.data or {}), bool(instance.actor_id)
    transaction.on_commit(lambda: _safely(triggers.case_event, kind, case_id, data, by_user=by_user))
