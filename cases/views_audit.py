"""GET /audit/: the audit log for SOC leads, admins and auditors (cases.roles.can_read_audit_log),
filtered and paged, with export links (reporting's streamed CSV/JSON of the same filters)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cases import audit_selectors, roles
from cases.paging import paginate

PER_PAGE = 50
FILTER_PARAMS = ("actor", "action", "object_type", "object_id", "created_at__gte", "created_at__lte", "search")


@require_GET
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not roles.can_read_audit_log(request.user):
        raise PermissionDenied("Only SOC leads, admins and auditors may read the audit log.")
    rows, errors = audit_selectors.filtered_audit_log(request.user, request.GET)
    filters = request.GET.copy()
    for name in list(filters):
        if name not in FILTER_PARAMS or not filters.get(name):
            del filters[name]
    context = {
        "page": paginate(rows, request.GET.get("page"), per_page=PER_PAGE),
        "params": request.GET,
        "filter_errors": errors,
        "export_query": filters.urlencode(),
        "actors": audit_selectors.audit_actor_choices(),
        "object_types": audit_selectors.audit_object_types(request.user),
        "actions": audit_selectors.audit_actions(request.user),
        "leads_scope": not roles.sees_all_cases(request.user),
    }
    return render(request, "cases/audit.html", context)
