"""Pages: the approvals inbox, the case page's run form and live panel, the blocklist feeds and
the playbook editor's validation (the editor itself is the admin's playbook form).

A refused decision or run (soar/errors.py) becomes a message on the page the analyst came from."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from alerts.normalization import ENTITY_TYPES
from cases.selectors import can_change_case, get_visible_case
from enrichment.selectors import active_blocklist_entries
from playbooks import editor, feeds, selectors
from playbooks.actions.blocklist import valid_list_name
from playbooks.models import Playbook
from playbooks.panel import panel_context
from playbooks.services import approvals as approval_services
from playbooks.services.runs import start_run
from soar.errors import ApplicationError
from soar.live import conditional_fragment


def _back(request, fallback: str):
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(fallback)


@login_required
def approvals(request):
    pending = list(selectors.answerable_approvals(request.user)[:200])
    recent = list(selectors.visible_approvals(request.user).exclude(status="pending").order_by("-decided_at")[:20])
    return render(request, "playbooks/approvals.html", {"pending": pending, "recent": recent, "now": timezone.now()})


@login_required
@require_POST
def decide(request, pk: int):
    if not selectors.visible_approvals(request.user).filter(pk=pk).exists():
        raise Http404("No such approval request.")
    decision = request.POST.get("decision")
    if decision not in ("approve", "deny"):
        messages.error(request, "Choose approve or deny.")
        return _back(request, "playbooks:approvals")
    try:
        approval = approval_services.decide(pk, request.user, approve=decision == "approve",
                                            comment=request.POST.get("comment", ""))
    except ApplicationError as exc:
        messages.error(request, str(exc))
        return _back(request, "playbooks:approvals")
    messages.success(request, f"Approval #{approval.pk} {approval.status}.")
    return _back(request, "playbooks:approvals")


@login_required
@require_POST
def run_on_case(request, case_id: int):
    case = get_visible_case(request.user, case_id)
    fallback = reverse("cases:detail", args=[case.pk]) + "#playbook-panel"
    if not can_change_case(request.user, case):
        messages.error(request, "You may not change this case.")
        return redirect(fallback)
    playbook_id = request.POST.get("playbook", "")
    playbook = Playbook.objects.filter(pk=int(playbook_id)).first() if playbook_id.isdigit() else None
    if playbook is None:
        messages.error(request, "Choose a playbook.")
        return redirect(fallback)
    dry_run = request.POST.get("dry_run") in ("1", "on", "true")
    try:
        run = start_run(playbook, case, trigger="manual", started_by=request.user, dry_run=dry_run)
    except ApplicationError as exc:
        messages.error(request, str(exc))
        return redirect(fallback)
    kind = "Dry run" if dry_run else "Run"
    messages.success(request, f"{kind} #{run.pk} of '{playbook.name}' {'done' if dry_run else 'queued'}.")
    return redirect(fallback)


@login_required
@require_GET
@conditional_fragment
def case_panel(request, case_id: int):
    """The panel's HTML for the live refresh, and whether it should keep polling."""
    case = get_visible_case(request.user, case_id)
    context = panel_context(request, case)
    html = render_to_string("playbooks/_panel_body.html", context, request=request)
    return JsonResponse({"active": context["active"], "html": html})


def _feed_entries(request, list_name: str):
    if not valid_list_name(list_name):
        raise Http404("No such feed.")
    tokens = feeds.tokens_for(list_name)
    if not tokens:
        raise Http404("No such feed (no feed token is configured).")
    if not feeds.token_matches(request, tokens):
        return None, HttpResponse("A valid feed token is required.\n", status=401, content_type="text/plain",
                                  headers={"WWW-Authenticate": 'Bearer realm="blocklist-feed"'})
    entries = active_blocklist_entries(list_name)
    obs_type = request.GET.get("type")
    if obs_type:
        if obs_type not in ENTITY_TYPES:
            return None, HttpResponse(f"type must be one of {', '.join(ENTITY_TYPES)}\n", status=400,
                                      content_type="text/plain")
        entries = entries.filter(obs_type=obs_type)
    return list(entries[:100_000]), None


@require_GET
def feed_text(request, list_name: str):
    entries, error = _feed_entries(request, list_name)
    if error:
        return error
    body = "".join(f"{entry.value}\n" for entry in entries)
    return HttpResponse(body, content_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"})


@require_GET
def feed_json(request, list_name: str):
    entries, error = _feed_entries(request, list_name)
    if error:
        return error
    payload = {"list": list_name, "generated_at": timezone.now().isoformat(), "count": len(entries),
               "entries": feeds.entry_rows(entries)}
    return HttpResponse(json.dumps(payload), content_type="application/json", headers={"Cache-Control": "no-store"})


@login_required
@require_POST
def validate_definition(request):
    """POST definition=<YAML or JSON> -> {"valid": bool, "problems": [{"line", "message"}]}, for the
    editor to mark lines as one types. Saving validates again: this endpoint only informs."""
    if not (request.user.has_perm("playbooks.change_playbook") or request.user.has_perm("playbooks.add_playbook")):
        raise PermissionDenied("Only those who may edit playbooks can validate them.")
    problems = editor.check_definition(request.POST.get("definition", ""))
    return JsonResponse({"valid": not problems, "problems": problems})
