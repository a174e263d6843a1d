"""The case page's ATT&CK panel forms: add or remove a technique. Reads start from
cases.selectors (404 for other teams' cases), writes go through cases.techniques; refusals
(unknown id) become a flash message (ApplicationErrorMiddleware)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from cases import selectors
from cases import techniques as case_techniques
from cases.models import Case


def _changeable_case(request: HttpRequest, pk: int) -> Case:
    case = selectors.get_visible_case(request.user, pk)
    if not selectors.can_change_case(request.user, case):
        raise PermissionDenied("You may not change this case.")
    return case


def _back(case: Case) -> HttpResponse:
    return redirect(reverse("cases:detail", args=[case.pk]) + "#attack")


@require_POST
@login_required
def add_technique(request: HttpRequest, pk: int) -> HttpResponse:
    case = _changeable_case(request, pk)
    link = case_techniques.add_technique(case, request.POST.get("technique", ""), actor=request.user)
    messages.success(request, f"Technique {link.technique.external_id} is on the case.")
    return _back(case)


@require_POST
@login_required
def remove_technique(request: HttpRequest, pk: int) -> HttpResponse:
    case = _changeable_case(request, pk)
    technique = request.POST.get("technique", "")
    if case_techniques.remove_technique(case, technique, actor=request.user):
        messages.success(request, f"Technique {technique} removed.")
    return _back(case)
