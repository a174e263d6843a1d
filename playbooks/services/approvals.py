"""Approval requests: a destructive step pauses its run until someone allowed answers.
Expiry counts as a denial. Every step is on the case timeline and in the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from cases.services import add_case_event, record_audit
from cases.vocabulary import EventKind
from playbooks import scheduling
from playbooks.actions.registry import require_action
from playbooks.models import ApprovalRequest, PlaybookRun, StepRun
from playbooks.schema import Node
from playbooks.selectors import can_answer
from playbooks.services.lifecycle import actor_label, finish
from playbooks.templating import render
from soar import errors

MAX_COMMENT = 2000


class ApprovalError(errors.ApplicationError):
    """A decision on an approval request that was refused; each kind below says why."""

    code = "approval_refused"


class ApprovalNotFound(ApprovalError, errors.NotFound):
    code = "approval_not_found"


class ApprovalNotAllowed(ApprovalError, errors.NotAllowed):
    """The user is not the request's approver (or cannot see the case)."""

    code = "approval_not_allowed"


class ApprovalClosed(ApprovalError, errors.Conflict):
    """The request is no longer pending (answered, or expired)."""

    code = "approval_closed"


def request_approval(run: PlaybookRun, node: Node, step: StepRun, context: dict, *,
                     actor_label: str) -> ApprovalRequest:
    """Pause ``run`` at ``step`` (called by the engine with the run row locked)."""
    action = require_action(node.step["action"])
    spec = render(node.step.get("approval") or {}, context)
    user_name = spec.get("user") or None
    group_name = spec.get("group") or (None if user_name else settings.SOAR_PLAYBOOK_DEFAULT_APPROVER_GROUP)
    minutes = spec.get("expires_in_minutes") or settings.SOAR_PLAYBOOK_APPROVAL_TTL_MINUTES
    summary = action.describe(step.inputs)[:500]
    reason = str(spec.get("reason") or f"Playbook '{run.playbook_name}' wants to: {summary}")[:2000]
    approval, created = ApprovalRequest.objects.get_or_create(step=step, defaults={
        "run": run, "case_id": run.case_id, "action": action.name, "summary": summary, "reason": reason,
        "approver_group": Group.objects.filter(name=group_name).first() if group_name else None,
        "approver_user": get_user_model().objects.filter(username=user_name).first() if user_name else None,
        "expires_at": timezone.now() + timedelta(minutes=int(minutes)),
    })
    step.status = StepRun.Status.WAITING_APPROVAL
    step.save()
    run.status = PlaybookRun.Status.WAITING_APPROVAL
    run.save(update_fields=["status", "started_at", "heartbeat_at"])
    if created:
        add_case_event(run.case, EventKind.APPROVAL,
                       f"Approval requested from {approval.approver_label}: {summary} — {reason}",
                       actor_label=actor_label, data={"approval_id": approval.pk, "run_id": run.pk,
                                                      "expires_at": approval.expires_at.isoformat()})
        record_audit("approval.request", approval, actor_label=actor_label,
                     after={"run": run.pk, "step": step.step_id, "action": action.name, "inputs": step.inputs,
                            "approver": approval.approver_label, "expires_at": approval.expires_at.isoformat()})
    return approval


def decide(approval_id: int, user: User, *, approve: bool, comment: str = "") -> ApprovalRequest:
    """Approve (the run resumes) or deny (the run ends as denied). Raises ApprovalNotAllowed
    for someone who may not answer, ApprovalClosed when no longer pending."""
    comment = (comment or "").strip()[:MAX_COMMENT]
    run_id = ApprovalRequest.objects.filter(pk=approval_id).values_list("run_id", flat=True).first()
    if run_id is None:
        raise ApprovalNotFound("No such approval request.")
    expired = False
    with transaction.atomic():
        run = PlaybookRun.objects.select_for_update().get(pk=run_id)
        approval = ApprovalRequest.objects.select_for_update().select_related("step").get(pk=approval_id)
        if not can_answer(user, approval):
            raise ApprovalNotAllowed(f"Only {approval.approver_label} may answer this request.")
        if approval.status != ApprovalRequest.Status.PENDING:
            raise ApprovalClosed(f"This request was already {approval.status}.")
        if approval.expires_at <= timezone.now():
            _close(run, approval, ApprovalRequest.Status.EXPIRED, None, "")
            expired = True
        else:
            _close(run, approval, ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.DENIED,
                   user, comment)
    if expired:
        raise ApprovalClosed("This request expired before it was answered; the run was denied.")
    return approval


def expire_due(now: datetime | None = None) -> int:
    """Close every pending request past its expiry (beat task / `expire_approvals`)."""
    now = now or timezone.now()
    count = 0
    for approval_id, run_id in ApprovalRequest.objects.filter(
            status=ApprovalRequest.Status.PENDING, expires_at__lte=now).values_list("id", "run_id")[:1000]:
        with transaction.atomic():
            run = PlaybookRun.objects.select_for_update().get(pk=run_id)
            approval = ApprovalRequest.objects.select_for_update().select_related("step").get(pk=approval_id)
            if approval.status == ApprovalRequest.Status.PENDING:
                _close(run, approval, ApprovalRequest.Status.EXPIRED, None, "")
                count += 1
    return count


def _close(run: PlaybookRun, approval: ApprovalRequest, status: str, user: User | None, comment: str) -> None:
    now = timezone.now()
    approval.status, approval.decided_by, approval.decided_at, approval.comment = status, user, now, comment
    approval.save()
    verb = {"approved": "approved", "denied": "denied", "expired": "expired (counts as denied)"}[status]
    by = f" by {user.username}" if user else ""
    message = f"Approval #{approval.pk} {verb}{by}: {approval.summary}" + (f" — {comment}" if comment else "")
    label = "" if user else actor_label(run)
    add_case_event(run.case, EventKind.APPROVAL, message[:2000], actor=user, actor_label=label,
                   data={"approval_id": approval.pk, "run_id": run.pk, "status": status, "comment": comment})
    record_audit(f"approval.{'approve' if status == 'approved' else 'expire' if status == 'expired' else 'deny'}",
                 approval, actor=user, actor_label=label, before={"status": "pending"},
                 after={"status": status, "comment": comment, "run": run.pk})
    if run.status != PlaybookRun.Status.WAITING_APPROVAL:
        return
    if status == ApprovalRequest.Status.APPROVED:
        run.status, run.heartbeat_at = PlaybookRun.Status.QUEUED, now
        run.save(update_fields=["status", "heartbeat_at"])
        scheduling.queue_run(run.pk)
        return
    step = approval.step
    step.status, step.finished_at = StepRun.Status.DENIED, now
    step.error = f"approval {status}{by}" + (f": {comment}" if comment else "")
    step.save()
    finish(run, PlaybookRun.Status.DENIED, error=step.error, actor=user)
