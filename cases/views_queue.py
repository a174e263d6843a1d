"""The case queue (open cases by default, sortable columns, saved views) and the analyst's
preferences page. Reads start from cases.selectors; the queue's query-string rules live in
cases/saved_views.py, the preference writes in cases/preferences.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import custom_fields, preferences, roles, saved_views, selectors, task_selectors
from cases.filtersets import CaseFilter
from cases.models import SEVERITY_CHOICES, Case, Tag, UserPreference
from cases.paging import paginate
from cases.services_bulk import BULK_ACTIONS
from soar.errors import InvalidInput
from soar.live import conditional_fragment, wants_fragment

# Column header -> (the sort it asks for, the aria-sort it shows when active); Age toggles.
SORTABLE_COLUMNS = {
    "severity": [("severity", "descending")],
    "sla": [("sla", "ascending")],
    "age": [("newest", "ascending"), ("oldest", "descending")],
}


def _sort_headers(params: QueryDict, sort: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the link (the other filters kept, back to page 1), its aria-sort and arrow."""
    headers = {}
    for column, orders in SORTABLE_COLUMNS.items():
        keys = [key for key, _ in orders]
        active = sort in keys
        if active:
            aria = dict(orders)[sort]
            target = keys[(keys.index(sort) + 1) % len(keys)]
        else:
            aria, target = "none", keys[0]
        query = params.copy()
        query.pop("page", None)
        query["sort"] = target
        headers[column] = {"href": "?" + query.urlencode(), "aria_sort": aria,
                           "arrow": ("▲" if aria == "ascending" else "▼") if active else ""}
    return headers


@require_GET
@login_required
@conditional_fragment
def queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    case_filter = CaseFilter(saved_views.filter_params(request.GET), queryset=selectors.visible_cases(user),
                             request=request)
    sort = saved_views.sort_of(request.GET)
    rows = task_selectors.with_task_progress(selectors.queue_rows(case_filter.qs)).order_by(
        *saved_views.QUEUE_SORTS[sort])
    page = paginate(rows, request.GET.get("page"))
    if wants_fragment(request) == "queue-rows":
        # The live refresh of the rows (static/js/live.js): only what the rows need.
        return render(request, "cases/_queue_rows.html", {
            "page": page, "can_write": not roles.is_auditor(user),
            "open_only": saved_views.shows_open_only(request.GET),
            "all_statuses": saved_views.ALL_STATUSES, "current_query": saved_views.canonical_query(request.GET)})
    teams = list(selectors.teams_for(user))
    current = saved_views.canonical_query(request.GET)
    given = saved_views.without_empty_values(request.GET)
    context = {
        "page": page,
        "filter_errors": case_filter.errors,
        "params": request.GET,
        "sort": sort,
        "sorts": saved_views.SORT_LABELS,
        "sort_headers": _sort_headers(request.GET, sort),
        "open_only": saved_views.shows_open_only(request.GET),
        "all_statuses": saved_views.ALL_STATUSES,
        "filters_active": any(key in given for key in saved_views.FILTER_KEYS - {"q"})
        and given.get("status") != saved_views.ALL_STATUSES or bool(case_filter.errors)
        or any(key.startswith(saved_views.CUSTOM_FIELD_PREFIX) for key in given),
        "custom_field_filters": custom_fields.queue_filter_inputs(request.GET),
        "views": saved_views.queue_views(user),
        "current_query": current,
        "my_teams": list(saved_views.member_teams(user)),
        "statuses": Case.Status.choices,
        "severities": SEVERITY_CHOICES,
        "teams": teams,
        "tags": Tag.objects.order_by("name")[:200],
        "members": get_user_model().objects.filter(soc_teams__in=[t.pk for t in teams], is_active=True)
        .distinct().order_by("username")[:200],
        "can_write": not roles.is_auditor(user),
        "bulk_actions": BULK_ACTIONS,
    }
    return render(request, "cases/queue.html", context)


@require_POST
@login_required
def save_view(request: HttpRequest) -> HttpResponse:
    view = saved_views.save_view(request.user, name=request.POST.get("name", ""),
                                 query=request.POST.get("query", ""), team_id=request.POST.get("team") or None)
    messages.success(request, f"View \u201c{view.name}\u201d saved.")
    return redirect(reverse("cases:queue") + (f"?{view.query}" if view.query else ""))


@require_POST
@login_required
def delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    saved_views.delete_view(request.user, pk)
    messages.success(request, "View deleted.")
    return redirect(reverse("cases:queue"))


@require_http_methods(["GET", "POST"])
@login_required
def preferences_page(request: HttpRequest) -> HttpResponse:
    current = preferences.preferences_of(request.user)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            preferences.save_preferences(request.user, time_zone=request.POST.get("time_zone", ""),
                                         theme=request.POST.get("theme", ""))
        except InvalidInput as exc:
            errors[exc.field or "form"] = exc.message
            current = UserPreference(time_zone=request.POST.get("time_zone", "")[:64],
                                     theme=request.POST.get("theme", ""))
            status = 400
        else:
            messages.success(request, "Preferences saved.")
            return redirect(reverse("cases:preferences"))
    context = {"preference": current, "zones": preferences.time_zone_choices(),
               "themes": UserPreference.Theme.choices, "errors": errors, "now_time": timezone.now()}
    return render(request, "cases/preferences.html", context, status=status)
