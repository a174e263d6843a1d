"""Page actions of the enrichment app (the panel itself is the ``case_enrichment_panel`` tag)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from cases.selectors import can_change_case, get_visible_case
from enrichment import services, tasks


def case_page_url(request, case) -> str:
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                                    require_https=request.is_secure()):
        return next_url
    try:
        return reverse("cases:detail", args=[case.pk])
    except NoReverseMatch:
        return f"/cases/{case.pk}/"


@login_required
@require_POST
def run_case_enrichment(request, case_id: int):
    case = get_visible_case(request.user, case_id)
    if not can_change_case(request.user, case):
        raise PermissionDenied("You may not change this case.")
    services.ensure_enrichable(case)  # a merged case: a message on the case page, nothing queued
    tasks.enrich_case.delay(case.pk, force=True, actor_id=request.user.pk)
    messages.success(request, "Enrichment started; results appear in the Enrichment panel and on the timeline.")
    return redirect(case_page_url(request, case))
