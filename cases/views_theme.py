"""POST /theme: the top bar's theme switch (system -> light -> dark -> system)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from cases.preferences import set_theme


@login_required
@require_POST
def theme(request: HttpRequest) -> HttpResponse:
    preference = set_theme(request.user, request.POST.get("theme", ""))
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"theme": preference.theme})
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "/"
    return redirect(next_url)
