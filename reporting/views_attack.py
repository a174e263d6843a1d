"""The ATT&CK matrix page (/reports/attack/): the dashboard's range parameters (days, or
from/to, and team); bad parameters answer 400 with the field errors on the page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cases.selectors import teams_for
from reporting.attack_matrix import attack_matrix
from reporting.params import PRESET_DAYS, ReportParamsSerializer


@require_GET
@login_required
def attack_matrix_page(request: HttpRequest) -> HttpResponse:
    params = ReportParamsSerializer(data=request.GET, context={"user": request.user})
    errors = {} if params.is_valid() else params.errors
    if errors:
        params = ReportParamsSerializer(data={})
        params.is_valid()
    scope = params.scope()
    chosen = params.validated_data
    context = {
        "matrix": attack_matrix(request.user, scope),
        "scope": scope,
        "errors": errors,
        "presets": PRESET_DAYS,
        "days": None if chosen.get("from") else chosen["days"],
        "date_from": chosen.get("from"),
        "date_to": chosen.get("to"),
        "team_param": chosen.get("team", ""),
        "teams": list(teams_for(request.user)),
    }
    return render(request, "reporting/attack_matrix.html", context, status=400 if errors else 200)
