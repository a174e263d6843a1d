"""The alert queue page and the alert page: alerts visible to the analyst, promote to a case,
attach to a case, dismiss with a reason (one or in bulk) and restore to the queue."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from alerts import queue_actions
from alerts import selectors as alert_selectors
from alerts.models import SEVERITY_CHOICES, Alert, AlertSource
from alerts.raw_event import pretty_json
from cases import roles, selectors
from cases.paging import paginate
from cases.vocabulary import OPEN_STATUSES
from soar.live import conditional_fragment, wants_fragment


@require_GET
@login_required
@conditional_fragment
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
    if wants_fragment(request) == "alert-rows":
        # The live refresh of the rows (static/js/live.js): only what the rows need.
        return render(request, "alerts/_queue_rows.html", {"page": page, "can_write": not roles.is_auditor(user)})
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
    return [int(i) for i in request.POST.getlist("ids") if i.isdigit() and len(i) < 18]


def _back(request, default: str):
    """Where an alert action returns: the alert page it came from (``next``), else ``default``."""
    target = request.POST.get("next", "")
    if target.startswith("/alerts/") and "//" not in target:
        return redirect(target)
    return redirect(default)


@require_GET
@login_required
def detail(request, alert_id: int):
    user = request.user
    alert = alert_selectors.get_visible_alert(user, alert_id)
    can_write = not roles.is_auditor(user)
    context = {
        "alert": alert,
        "observables": alert_selectors.alert_observables(alert),
        "techniques": alert_selectors.alert_techniques(alert),
        "neighbours": alert_selectors.group_neighbours(user, alert),
        "raw_json": pretty_json(alert.raw),
        "can_write": can_write,
        "is_queued": alert.status == Alert.Status.QUEUED and alert.case_id is None,
        "is_dismissed": alert.status == Alert.Status.DISMISSED,
        "teams": list(selectors.teams_for(user)) if can_write else [],
        "open_cases": (list(selectors.changeable_cases(user).filter(status__in=list(OPEN_STATUSES),
                                                                    merged_into__isnull=True)
                            .order_by("-created_at").values("pk", "title")[:50]) if can_write else []),
        "reason_max": queue_actions.DISMISS_REASON_MAX,
    }
    return render(request, "alerts/detail.html", context)


def _refuse_auditors(request) -> None:
    """Auditors read; every alert action answers them 403 (the pages show them no buttons)."""
    if roles.is_auditor(request.user):
        raise PermissionDenied("Auditors have read-only access.")


@require_POST
@login_required
def dismiss(request):
    _refuse_auditors(request)
    try:
        count = queue_actions.dismiss(request.user, _ids(request), request.POST.get("reason", ""))
    except queue_actions.QueueActionError as exc:
        messages.error(request, str(exc))
        return _back(request, reverse("alerts:queue"))
    messages.success(request, f"{count} alert(s) dismissed.")
    return _back(request, reverse("alerts:queue"))


@require_POST
@login_required
def restore(request):
    _refuse_auditors(request)
    try:
        count = queue_actions.restore(request.user, _ids(request))
    except queue_actions.QueueActionError as exc:
        messages.error(request, str(exc))
        return _back(request, reverse("alerts:queue"))
    messages.success(request, f"{count} alert(s) back in the queue.")
    return _back(request, reverse("alerts:queue"))


@require_POST
@login_required
def promote(request):
    _refuse_auditors(request)
    team = request.POST.get("team", "")
    team_id = int(team) if team.isdigit() else None
    try:
        case_id, count = queue_actions.promote(request.user, _ids(request), team_id=team_id,
                                               title=request.POST.get("title", ""))
    except queue_actions.QueueActionError as exc:
        messages.error(request, str(exc))
        return _back(request, reverse("alerts:queue"))
    messages.success(request, f"Case #{case_id} opened from {count} alert(s).")
    return redirect(reverse("cases:detail", args=[case_id]))


@require_POST
@login_required
def attach(request):
    _refuse_auditors(request)
    raw_case = request.POST.get("case_id", "").strip().lstrip("#")
    try:
        if not raw_case.isdigit():
            raise queue_actions.InvalidSelection("Choose a case.", field="case_id")
        case_id, count = queue_actions.attach(request.user, _ids(request), int(raw_case))
    except queue_actions.QueueActionError as exc:
        messages.error(request, str(exc))
        return _back(request, reverse("alerts:queue"))
    messages.success(request, f"{count} alert(s) attached to case #{case_id}.")
    return redirect(reverse("cases:detail", args=[case_id]))
