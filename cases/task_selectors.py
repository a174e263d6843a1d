"""Reads on case tasks and templates: a case's checklist, the required tasks still open (the
lifecycle refuses RESOLVED while there are some), the queue's progress counts and the "My
tasks" page. Visibility always starts from ``cases.selectors.visible_cases``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from cases.models import OPEN_TASK_STATUSES, Case, CaseTask, CaseTemplate, TaskStatus
from cases.selectors import visible_cases

if TYPE_CHECKING:
    from cases.roles import Actor


def case_tasks(case: Case) -> QuerySet[CaseTask]:
    return CaseTask.objects.filter(case=case).select_related("assignee", "completed_by").order_by("position", "id")


def missing_required_tasks(case: Case) -> list[CaseTask]:
    """Required tasks of ``case`` not done yet (a cancelled required task still blocks: untick
    "required" to waive it, which is audited)."""
    return list(CaseTask.objects.filter(case=case, required=True).exclude(status=TaskStatus.DONE)
                .order_by("position", "id").only("id", "title", "status"))


def missing_tasks_refusal(case: Case, missing: list[CaseTask]) -> tuple[str, dict[str, object]]:
    """The message and the API body of the refusal to resolve ``case`` (409)."""
    titles = ", ".join(f"\u201c{task.title}\u201d" for task in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    message = (f"Case #{case.pk} has {len(missing)} required task{'' if len(missing) == 1 else 's'} "
               f"not done: {titles}{more}.")
    return message, {"detail": message, "code": "required_tasks_open",
                     "missing_tasks": [{"id": task.pk, "title": task.title, "status": task.status}
                                       for task in missing]}


def with_task_progress(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate ``task_done`` and ``task_total`` (cancelled tasks do not count) with one
    correlated subquery each: evaluated for the rows of the page only, no N+1, no GROUP BY over
    the whole queue."""
    counted = CaseTask.objects.filter(case=OuterRef("pk")).exclude(status=TaskStatus.CANCELLED).order_by()
    total = counted.values("case").annotate(n=Count("pk")).values("n")
    done = counted.filter(status=TaskStatus.DONE).values("case").annotate(n=Count("pk")).values("n")
    return cases.annotate(task_total=Coalesce(Subquery(total, output_field=IntegerField()), 0),
                          task_done=Coalesce(Subquery(done, output_field=IntegerField()), 0))


def visible_tasks(user: Actor) -> QuerySet[CaseTask]:
    """Tasks of the cases ``user`` may see."""
    return CaseTask.objects.filter(case__in=visible_cases(user).values("pk"))


def my_open_tasks(user: Actor) -> QuerySet[CaseTask]:
    """Open tasks assigned to ``user`` on cases they can see (merged cases left out), the most
    urgent first: overdue and due soonest, then those without a due time."""
    if user is None or not user.is_authenticated:
        return CaseTask.objects.none()
    return (visible_tasks(user).filter(assignee_id=user.pk, status__in=OPEN_TASK_STATUSES,
                                       case__merged_into__isnull=True)
            .select_related("case")
            .order_by(F("due_at").asc(nulls_last=True), "case_id", "position", "id"))


def active_templates() -> QuerySet[CaseTemplate]:
    return CaseTemplate.objects.filter(active=True).order_by("name")


def find_template(value: object) -> CaseTemplate | None:
    """An active template by instance, id or exact name (None when empty or unknown)."""
    if isinstance(value, CaseTemplate):
        return value if value.active else None
    text = str(value or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) < 18:
        return active_templates().filter(pk=int(text)).first()
    return active_templates().filter(name=text).first()


def open_required_count(case: Case) -> int:
    return CaseTask.objects.filter(case=case, required=True).exclude(status=TaskStatus.DONE).count()


def task_counts(case: Case) -> dict[str, int]:
    """Done / total (without cancelled) of one case, in one query."""
    counts = CaseTask.objects.filter(case=case).aggregate(
        total=Count("pk", filter=~Q(status=TaskStatus.CANCELLED)), done=Count("pk", filter=Q(status=TaskStatus.DONE)))
    return {"total": counts["total"] or 0, "done": counts["done"] or 0}
