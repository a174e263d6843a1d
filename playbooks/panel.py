"""What the case page's playbook panel shows, for the template tag and its JSON refresh."""

from __future__ import annotations

from cases.selectors import can_change_case
from playbooks import selectors
from playbooks.models import ApprovalRequest, PlaybookRun

POLL_SECONDS = 3


def panel_context(request, case) -> dict:
    user = getattr(request, "user", None)
    runs = selectors.case_runs(case)
    for run in runs:
        run.pending_approvals = [a for a in run.approvals.all() if a.status == ApprovalRequest.Status.PENDING]
        for approval in run.pending_approvals:
            approval.user_may_answer = selectors.may_answer_as_approver(user, approval)
    can_run = bool(user) and can_change_case(user, case)
    active = any(run.status in (PlaybookRun.Status.QUEUED, PlaybookRun.Status.RUNNING) for run in runs) or any(
        run.pending_approvals for run in runs)
    return {
        "case": case,
        "request": request,
        "runs": runs,
        "can_run": can_run,
        "playbooks": list(selectors.runnable_playbooks()) if can_run else [],
        "active": active,
        "poll_seconds": POLL_SECONDS,
    }
