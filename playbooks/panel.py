"""What the case page's playbook panel shows, for the template tag and its JSON refresh."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from cases.selectors import can_change_case
from playbooks import selectors
from playbooks.models import ApprovalRequest, PlaybookRun

if TYPE_CHECKING:
    from cases.models import Case

POLL_SECONDS = 3


@dataclass
class PendingApproval:
    approval: ApprovalRequest
    may_answer: bool


@dataclass
class PanelRun:
    """A run with its pending approvals, each with whether the viewer may answer it."""

    run: PlaybookRun
    pending: list[PendingApproval] = field(default_factory=list)


def panel_context(request: HttpRequest | None, case: Case) -> dict[str, Any]:
    user = getattr(request, "user", None)
    runs = [PanelRun(run, [PendingApproval(a, selectors.may_answer_as_approver(user, a)) for a in run.approvals.all()
                           if a.status == ApprovalRequest.Status.PENDING])
            for run in selectors.case_runs(case)]
    can_run = bool(user) and can_change_case(user, case)
    active = any(item.run.status in (PlaybookRun.Status.QUEUED, PlaybookRun.Status.RUNNING) for item in runs) or any(
        item.pending for item in runs)
    return {
        "case": case,
        "request": request,
        "runs": runs,
        "can_run": can_run,
        "playbooks": list(selectors.runnable_playbooks()) if can_run else [],
        "active": active,
        "poll_seconds": POLL_SECONDS,
    }
