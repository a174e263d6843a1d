"""The case page's "Fields" form (custom fields). Reads start from cases.selectors (404 for a
case the user may not see, 403 for one they may only read); the write is
cases.custom_fields.set_custom_fields, whose refusals the middleware turns into a flash message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from cases import custom_fields, selectors


@require_POST
@login_required
def update_custom_fields(request: HttpRequest, pk: int) -> HttpResponse:
    """Every active field is in the form; an empty input clears the field."""
    case = selectors.get_visible_case(request.user, pk)
    if not selectors.can_change_case(request.user, case):
        raise PermissionDenied("You may not change this case.")
    values = {d.key: request.POST[f"cf_{d.key}"] for d in custom_fields.active_definitions()
              if f"cf_{d.key}" in request.POST}
    custom_fields.set_custom_fields(case, values, actor=request.user)
    messages.success(request, "Fields saved.")
    return redirect(reverse("cases:detail", args=[case.pk]) + "#fields")
