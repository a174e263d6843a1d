"""The ATT&CK matrix page (/reports/attack/): the dashboard's range parameters (days, or
from/to, and team); bad parameters answer 400 with the field errors on the page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reporting.attack_matrix import attack_matrix
from reporting.params import range_page


@require_GET
@login_required
def attack_matrix_page(request: HttpRequest) -> HttpResponse:
    scope, context = range_page(request.user, request.GET)
    context["matrix"] = attack_matrix(request.user, scope)
    return render(request, "reporting/attack_matrix.html", context, status=400 if context["errors"] else 200)
