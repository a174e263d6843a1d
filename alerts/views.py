"""The alert queue page: alerts visible to the analyst, promote to a case, attach to a case."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from alerts import queue_actions
from alerts import selectors as alert_selectors
from alerts.models import SEVERITY_CHOICES, Alert, AlertSource
from cases import roles, selectors
from cases.paging import paginate
from cases.vocabulary import OPEN_STATUSES


@require_GET
@login_required
def queue(request):
    params = request.GET
    status = params.get("status", "queued")
    if status == Alert.Status.QUEUED:
        alerts = alert_selectors.visible_queued_alerts(request.user).filter(status=status)
    else:
        alerts = alert_selectors.visible_alerts(request.user)
        if status in Alert.Status.values:
            alerts = alerts.filter(status=status)
    # The raw payload can be large and the list never shows it.
    alerts = alerts.select_related("source", "case").defer("raw", "description")
    if params.get("severity") in dict(SEVERITY_CHOICES):
        alerts = alerts.filter(severity=params["severity"])
    if params.get("source"):
        alerts = alerts.filter(source__name=params["source"])
    text = params.get("q", "").strip()
    if text:
        alerts = alerts.filter(Q(title__icontains=text) | Q(entity_value__icontains=text))
    page = paginate(alerts.order_by("-received_at", "-id"), params.get("page"))
    user = request.user
    context = {
        "page": page,
        "params": params,
        "status": status,
        "statuses": Alert.Status.choices,
        "severities": SEVERITY_CHOICES,
        "sources": AlertSource.objects.order_by("name").values_list("name", flat=True),
        "teams": list(selectors.teams_for(user)),
        "can_write": not roles.is_auditor(user),
        "open_cases": list(selectors.changeable_cases(user).filter(status__in=list(OPEN_STATUSES),
                                                                   merged_into__isnull=True)
                           .order_by("-created_at").values("pk", "title")[:50]),
    }
    return render(request, "alerts/queue.html", context)


def _ids(request) -> list[int]:
    return [int(i) for i in request.POST.getlist("ids") if i.isdigit()]


@require_POST
@login_required
def promote(request):
    team = request.POST.get("team", "")
    team_id = int(team) if team.isdigit() else None
    try:
        case_id, count = queue_actions.promote(request.user, _ids(request), team_id=team_id,
                                               title=request.POST.get("title", ""))
    except queue_actions.QueueActionError as exc:
        messages.error(request, str(exc))
        return redirect("alerts:queue")
    messages.success(request, f"Case #{case_id} opened from {count} alert(s).")
    return redirect(reverse("cases:detail", args=[case_id]))


@require_POST
@login_required
def attach(request):
    raw_case = request.POST.get("case_id", "").strip().lstrip("#")
    try:
        if not raw_case.isdigit():
            raise queue_actions.InvalidSelection("Choose a case.", field="case_id")
        case_id, count = queue_actions.attach(request.user, _ids(request), int(raw_case))
    except queue_actions.QueueActionError as exc:
        messages.error(request, str(exc))
        return redirect("alerts:queue")
    messages.success(request, f"{count} alert(s) attached to case #{case_id}.")
    return redirect(reverse("cases:detail", args=[case_id]))
