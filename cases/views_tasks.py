"""Pages for case tasks and templates: the case page's Tasks panel (add, one-click status,
assign, required), the "My tasks" page and "New case from template" on the queue. Reads start
from cases.selectors / cases.task_selectors (404 for other teams' cases), writes go through
cases.tasks and cases.services; refusals become a flash message (ApplicationErrorMiddleware)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cases import roles, selectors, services, task_selectors
from cases import tasks as task_services
from cases.models import Case, CaseTask
from soar.errors import InvalidInput


def _changeable_case(request: HttpRequest, pk: int) -> Case:
    case = selectors.get_visible_case(request.user, pk)
    if not selectors.can_change_case(request.user, case):
        raise PermissionDenied("You may not change this case.")
    return case


def _back_to_tasks(case: Case) -> HttpResponse:
    return redirect(reverse("cases:detail", args=[case.pk]) + "#tasks")


def _assignee_from(request: HttpRequest, raw: str):
    if raw == "me":
        return request.user
    if raw in ("", "none"):
        return None
    user = services.find_user(raw)
    if user is None:
        raise InvalidInput("No such user.", field="assignee")
    return user


@require_POST
@login_required
def add_task(request: HttpRequest, pk: int) -> HttpResponse:
    case = _changeable_case(request, pk)
    task = task_services.add_task(
        case, actor=request.user, title=request.POST.get("title", ""),
        description=request.POST.get("description", ""), group=request.POST.get("group", ""),
        required=request.POST.get("required") == "on", sla_minutes=request.POST.get("sla_minutes") or None,
        assignee=_assignee_from(request, request.POST.get("assignee", "")))
    messages.success(request, f"Task \u201c{task.title}\u201d added.")
    return _back_to_tasks(case)


@require_POST
@login_required
def change_task(request: HttpRequest, pk: int, task_id: int) -> HttpResponse:
    """The one-click ``status`` buttons, or the edit form's ``assignee``, ``required``, ``notes``."""
    case = _changeable_case(request, pk)
    task = get_object_or_404(CaseTask, pk=task_id, case=case)
    changes: dict[str, Any] = {}
    if "status" in request.POST:
        changes["status"] = request.POST["status"]
    if "assignee" in request.POST:
        assignee = _assignee_from(request, request.POST["assignee"])
        # The panel's edit form always sends the assignee: an unchanged one is not a change
        # (and is not re-checked, so notes can be saved on a task of a user who left the team).
        if (assignee.pk if assignee else None) != task.assignee_id:
            changes["assignee"] = assignee
    if "required" in request.POST:
        changes["required"] = request.POST["required"] == "1"
    if "notes" in request.POST:
        changes["notes"] = request.POST["notes"]
    if not changes:
        raise InvalidInput("Nothing to change.")
    task = task_services.update_task(task, actor=request.user, **changes)
    messages.success(request, f"Task \u201c{task.title}\u201d: {task.get_status_display().lower()}.")
    return _back_to_tasks(case)


@require_GET
@login_required
def my_tasks(request: HttpRequest) -> HttpResponse:
    tasks = list(task_selectors.my_open_tasks(request.user)[:500])
    return render(request, "cases/my_tasks.html", {"tasks": tasks})


@require_POST
@login_required
def new_case(request: HttpRequest) -> HttpResponse:
    """"New case from template" on the queue page: opened for one of the user's teams."""
    if roles.is_auditor(request.user):
        raise PermissionDenied("Auditors have read-only access.")
    template = task_selectors.find_template(request.POST.get("template", ""))
    if template is None:
        raise InvalidInput("Choose a case template.", field="template")
    title = request.POST.get("title", "").strip()
    if not title:
        raise InvalidInput("Give the case a title.", field="title")
    teams = selectors.teams_for(request.user)
    team_id = request.POST.get("team", "")
    team = teams.filter(pk=int(team_id)).first() if team_id.isdigit() else teams.first()
    if team is None and not roles.is_admin(request.user):
        raise InvalidInput("Choose one of your teams.", field="team")
    case = services.open_case(title=title[:500], severity=template.severity or "medium",
                              description=request.POST.get("description", "")[:20_000], team=team,
                              actor=request.user, actor_label="", template_id=template.pk)
    messages.success(request, f"Case #{case.pk} opened from template {template.name}.")
    return redirect(reverse("cases:detail", args=[case.pk]))
