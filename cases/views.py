"""Analyst pages. Reads start from cases.selectors (404 for other teams' cases); writes are
POST-only, CSRF-protected and go through cases.services. The queue and the preferences page
are in cases/views_queue.py. A refusal of the services is left to
soar.middleware.ApplicationErrorMiddleware: a flash message on the page the analyst came from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cases import roles, selectors, services
from cases.lifecycle import action_label, is_reopen, needs_verdict
from cases.models import Case, Note
from cases.services_bulk import bulk_message, bulk_update_cases, merge_cases
from cases.timeline import TIMELINE_PAGE, case_notes_page, case_timeline, notes_page_of
from cases.vocabulary import EventKind
from soar.live import conditional_fragment, wants_fragment

DETAIL_LIMIT = 200


@require_GET
@login_required
@conditional_fragment
def detail(request, pk):
    user = request.user
    case = selectors.get_visible_case(user, pk)
    # One page of the timeline (?events=N, "show older"): a case with thousands of events
    # renders as fast as a small one.
    timeline = case_timeline(case, order=request.GET.get("timeline", ""), kinds=request.GET.getlist("kind"),
                             page=selectors.parse_page(request.GET.get("events")), per_page=TIMELINE_PAGE)
    if wants_fragment(request) == "timeline":
        # The live refresh of the timeline (static/js/live.js).
        return render(request, "cases/_timeline.html", {"timeline": timeline})
    can_change = selectors.can_change_case(user, case) and not case.merged_into_id
    transitions = [
        {"status": target, "label": action_label(case.status, target), "reopen": is_reopen(case.status, target),
         "verdict": needs_verdict(target)}
        for target in (selectors.allowed_transitions(user, case) if can_change else ())
    ]
    alerts = case.alerts.select_related("source").order_by("-received_at", "-id")
    context = {
        "case": case,
        "can_change": can_change,
        "is_lead": roles.is_lead(user),
        "transitions": transitions,
        "resolutions": list(services.active_resolutions()) if any(t["verdict"] for t in transitions) else [],
        "tags": list(case.tags.all()),
        "alerts": list(alerts[:DETAIL_LIMIT]),
        "alert_count": case.alerts.count(),
        # The newest notes (?notes=N pages back): every note is also on the timeline.
        "notes_page": case_notes_page(case, selectors.parse_page(request.GET.get("notes"))),
        "timeline": timeline,
        "event_kinds": EventKind.choices,
        "assignable": list(selectors.assignable_users(case)[:200]) if can_change else [],
        "shared_with": list(selectors.shared_users(case)),
        "teams": list(selectors.teams_for(user)) if can_change and roles.is_lead(user) else [],
        "merged_from": list(case.merged.values_list("pk", flat=True)),
    }
    return render(request, "cases/detail.html", context)


def _changeable_case(request, pk) -> Case:
    case = selectors.get_visible_case(request.user, pk)
    if not selectors.can_change_case(request.user, case):
        raise PermissionDenied("You may not change this case.")
    return case


def _back_to(case):
    return redirect(reverse("cases:detail", args=[case.pk]))


@require_POST
@login_required
def transition(request, pk):
    case = _changeable_case(request, pk)
    target = request.POST.get("status", "")
    case = services.transition_case(case, target, actor=request.user, reason=request.POST.get("reason", ""),
                                    resolution=request.POST.get("resolution", ""),
                                    summary=request.POST.get("summary", ""))
    verdict = f" ({case.resolution.name})" if case.resolution_id and case.resolution else ""
    messages.success(request, f"Case #{case.pk} is now {Case.Status(target).label}{verdict}.")
    return _back_to(case)


@require_POST
@login_required
def resolve(request, pk):
    """The "Resolve…" form: from any open status, with a resolution and a summary."""
    case = _changeable_case(request, pk)
    case = services.resolve_case(case, resolution=request.POST.get("resolution", ""),
                                 summary=request.POST.get("summary", ""), actor=request.user)
    messages.success(request, f"Case #{case.pk} resolved as {case.resolution.name if case.resolution else '—'}.")
    return _back_to(case)


@require_POST
@login_required
def edit_note(request, pk, note_id):
    """Its author rewrites a note (404 for a case or note out of sight, 403 for someone else's)."""
    case = _changeable_case(request, pk)
    note = get_object_or_404(Note, pk=note_id, case=case)
    if note.author_id != request.user.pk:
        raise PermissionDenied("Only the author of a note may edit it.")
    services.edit_note(note, request.POST.get("body", ""), actor=request.user)
    messages.success(request, "Note updated.")
    page = notes_page_of(note)
    return redirect(reverse("cases:detail", args=[case.pk]) + (f"?notes={page}" if page > 1 else "")
                    + f"#note-{note.pk}")


@require_POST
@login_required
def assign(request, pk):
    case = _changeable_case(request, pk)
    raw = request.POST.get("assignee", "")
    if raw == "me":
        assignee = request.user
    elif raw in ("", "none"):
        assignee = None
    else:
        assignee = services.find_user(raw)
        if assignee is None:
            messages.error(request, "No such user.")
            return _back_to(case)
    services.assign_case(case, assignee, actor=request.user)
    messages.success(request, f"Assigned to {assignee.username}." if assignee else "Unassigned.")
    return _back_to(case)


@require_POST
@login_required
def tags(request, pk):
    case = _changeable_case(request, pk)
    add = [t for t in request.POST.get("add", "").split(",") if t.strip()]
    remove = request.POST.getlist("remove")
    services.change_tags(case, add=add, remove=remove, actor=request.user)
    messages.success(request, "Tags updated.")
    return _back_to(case)


@require_POST
@login_required
def note(request, pk):
    case = _changeable_case(request, pk)
    services.add_note(case, request.POST.get("body", ""), actor=request.user)
    messages.success(request, "Note added.")
    return redirect(reverse("cases:detail", args=[case.pk]) + "#notes")


@require_POST
@login_required
def share(request, pk):
    case = _changeable_case(request, pk)
    user = services.find_user(request.POST.get("user", ""))
    if user is None:
        messages.error(request, "No such user.")
    elif request.POST.get("revoke"):
        services.unshare_case(case, user, actor=request.user)
        messages.success(request, f"No longer shared with {user.username}.")
    else:
        services.share_case(case, user, actor=request.user, can_change=request.POST.get("can_change") == "on")
        messages.success(request, f"Shared with {user.username}.")
    return _back_to(case)


@require_POST
@login_required
def update(request, pk):
    """Severity and (leads) team."""
    case = _changeable_case(request, pk)
    severity = request.POST.get("severity")
    if severity and severity != case.severity:
        case = services.update_case(case, actor=request.user, severity=severity)
        messages.success(request, "Severity updated.")
    team_id = request.POST.get("team")
    if team_id and str(case.team_id) != team_id:
        team = selectors.teams_for(request.user).filter(pk=team_id).first() if team_id.isdigit() else None
        if team is None:
            messages.error(request, "Choose one of your teams.")
        else:
            services.set_case_team(case, team, actor=request.user)
            messages.success(request, f"Moved to {team}.")
    return _back_to(case)


@require_POST
@login_required
def merge(request, pk):
    case = _changeable_case(request, pk)
    target_id = request.POST.get("target", "").strip().lstrip("#")
    target = selectors.visible_cases(request.user).filter(pk=target_id).first() if target_id.isdigit() else None
    if target is None or not selectors.can_change_case(request.user, target):
        messages.error(request, "No such case that you can change.")
        return _back_to(case)
    merge_cases(case, target, actor=request.user)
    messages.success(request, f"Case #{case.pk} merged into #{target.pk}.")
    return _back_to(target)


@require_POST
@login_required
def bulk(request):
    if roles.is_auditor(request.user):
        raise PermissionDenied("Auditors have read-only access.")
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    action = request.POST.get("action", "")
    assignee = None
    if action == "assign":
        raw = request.POST.get("assignee", "")
        assignee = request.user if raw == "me" else services.find_user(raw) if raw not in ("", "none") else None
    tags_given = [t for t in request.POST.get("tags", "").split(",") if t.strip()]
    results = bulk_update_cases(request.user, ids, action, assignee=assignee, status=request.POST.get("status", ""),
                                reason=request.POST.get("reason", ""), tags=tags_given,
                                resolution=request.POST.get("resolution", ""),
                                summary=request.POST.get("summary", ""))
    # One message for the batch: what was done, and what was skipped and why.
    done = any(value == "ok" for value in results.values())
    (messages.success if done else messages.warning)(request, bulk_message(action, results))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("cases:queue")
    return redirect(target)
