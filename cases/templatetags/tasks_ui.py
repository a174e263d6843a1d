"""The case page's Tasks panel and the queue's "New case from template" form, as inclusion
tags: they read what they show themselves, so the pages that include them stay unchanged."""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.urls import reverse

from cases import roles, selectors, task_selectors
from cases.models import Case, TaskStatus

register = template.Library()

# The one-click buttons of a task, per current status: (target status, label).
NEXT_STEPS: dict[str, list[tuple[str, str]]] = {
    TaskStatus.TODO: [(TaskStatus.IN_PROGRESS, "Start"), (TaskStatus.DONE, "Done"), (TaskStatus.CANCELLED, "Cancel")],
    TaskStatus.IN_PROGRESS: [(TaskStatus.DONE, "Done"), (TaskStatus.TODO, "Back to to-do"),
                             (TaskStatus.CANCELLED, "Cancel")],
    TaskStatus.DONE: [(TaskStatus.TODO, "Reopen")],
    TaskStatus.CANCELLED: [(TaskStatus.TODO, "Reopen")],
}


def _csrf(context: template.Context) -> str:
    request = context.get("request")
    return context.get("csrf_token") or (get_token(request) if request is not None else "")


@register.inclusion_tag("cases/_tasks.html", takes_context=True)
def case_tasks_panel(context: template.Context, case: Case) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    # The case page has worked out the change right and the assignable users already.
    can_change = context.get("can_change")
    if can_change is None:
        can_change = bool(user) and not case.merged_into_id and selectors.can_change_case(user, case)
    assignable = context.get("assignable")
    if assignable is None or (can_change and not assignable):
        assignable = list(selectors.assignable_users(case)[:200]) if can_change else []
    tasks = list(task_selectors.case_tasks(case))
    # Every task's form posts to the same URL shape: reverse it once, not once per task.
    tasks_url = reverse("cases:add_task", args=[case.pk])
    counted = [task for task in tasks if task.status != TaskStatus.CANCELLED]
    return {
        "csrf_token": _csrf(context),
        "request": request,
        "user": user,
        "case": case,
        "tasks": [(task, NEXT_STEPS.get(task.status, []), f"{tasks_url}/{task.pk}") for task in tasks],
        "done": sum(1 for task in counted if task.status == TaskStatus.DONE),
        "total": len(counted),
        "missing_required": sum(1 for task in tasks if task.required and task.status != TaskStatus.DONE),
        "can_change": can_change,
        "assignable": assignable,
    }


@register.inclusion_tag("cases/_new_case_form.html", takes_context=True)
def new_case_from_template(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    writable = user is not None and user.is_authenticated and not roles.is_auditor(user)
    return {
        "csrf_token": _csrf(context),
        "templates": list(task_selectors.active_templates()) if writable else [],
        # The queue page has read the user's teams already.
        "teams": (context.get("teams") or list(selectors.teams_for(user))) if writable else [],
    }
