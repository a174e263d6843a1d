"""Reads of the playbooks app. Everything case-related starts from the cases the user may see."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Prefetch, Q, QuerySet

from cases import roles
from cases.selectors import visible_cases
from playbooks.models import ApprovalRequest, Playbook, PlaybookRun, StepRun

if TYPE_CHECKING:
    from cases.models import Case

PANEL_RUNS = 10
AnyUser = User | AnonymousUser


def _active_user(user: AnyUser | None) -> TypeGuard[User]:
    return user is not None and user.is_authenticated and user.is_active


def may_answer_as_approver(user: AnyUser | None, approval: ApprovalRequest) -> bool:
    """Named as the approver (user, or member of the group); superusers always; auditors never
    (they read everything and change nothing, even when also in an approver group)."""
    if not _active_user(user):
        return False
    if user.is_superuser:
        return True
    if roles.is_auditor(user):
        return False
    if approval.approver_user_id and approval.approver_user_id == user.pk:
        return True
    return bool(approval.approver_group_id) and user.groups.filter(pk=approval.approver_group_id).exists()


def can_answer(user: AnyUser, approval: ApprovalRequest) -> bool:
    """An approver who can also see the case."""
    return may_answer_as_approver(user, approval) and visible_cases(user).filter(pk=approval.case_id).exists()


def visible_approvals(user: AnyUser) -> QuerySet[ApprovalRequest]:
    return (ApprovalRequest.objects.filter(case__in=visible_cases(user).values("pk"))
            .select_related("case", "run", "step", "approver_group", "approver_user", "decided_by"))


def answerable_approvals(user: AnyUser) -> QuerySet[ApprovalRequest]:
    """Pending requests this user may answer (the approvals page)."""
    approvals = visible_approvals(user).filter(status=ApprovalRequest.Status.PENDING)
    if not _active_user(user):
        return approvals.none()
    if user.is_superuser:
        return approvals.order_by("expires_at", "id")
    mine = Q(approver_user=user) | Q(approver_group__in=user.groups.all())
    return approvals.filter(mine).order_by("expires_at", "id")


def visible_runs(user: AnyUser) -> QuerySet[PlaybookRun]:
    return PlaybookRun.objects.filter(case__in=visible_cases(user).values("pk"))


# --- counts for the reporting app's /metrics (every row, no visibility rule) ---

def run_status_counts() -> dict[str, int]:
    """Playbook runs per status."""
    return dict(PlaybookRun.objects.order_by().values_list("status").annotate(n=Count("pk"))
                .values_list("status", "n"))


def step_status_counts() -> dict[str, int]:
    """Playbook steps per status."""
    return dict(StepRun.objects.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))


def pending_approval_count() -> int:
    return ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING).count()


def runs_with_steps(queryset: QuerySet[PlaybookRun]) -> QuerySet[PlaybookRun]:
    return queryset.prefetch_related(
        Prefetch("steps", queryset=StepRun.objects.order_by("index", "id")),
        Prefetch("approvals", queryset=ApprovalRequest.objects.select_related("approver_group", "approver_user",
                                                                              "decided_by")),
    )


def case_runs(case: Case, limit: int = PANEL_RUNS) -> list[PlaybookRun]:
    return list(runs_with_steps(PlaybookRun.objects.filter(case=case)).order_by("-created_at", "-id")[:limit])


def case_has_active_run(case: Case) -> bool:
    return PlaybookRun.objects.filter(case=case, status__in=PlaybookRun.ACTIVE).exists()


def runnable_playbooks() -> QuerySet[Playbook]:
    """What the case page offers: every playbook (disabled ones for dry runs only)."""
    return Playbook.objects.order_by("-enabled", "name")


def enabled_playbooks(trigger_type: str) -> list[Playbook]:
    return list(Playbook.objects.filter(enabled=True, trigger_type=trigger_type))


def enabled_trigger_types() -> set[str]:
    """The trigger types of the enabled playbooks (one query)."""
    return set(Playbook.objects.filter(enabled=True).values_list("trigger_type", flat=True).distinct())
