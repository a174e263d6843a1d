"""The user's own API tokens (/me/tokens): list, create (the key shown once, in the answer to
the POST, never stored nor put in a cookie or a message), revoke. Rules in cases.api_tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cases import api_tokens, roles
from cases.models import ApiToken
from soar.errors import ApplicationError, NotFound

LIFETIMES = (7, 30, 90, 180, 365)


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    limit = settings.SOAR_API_TOKEN_TTL_DAYS
    lifetimes = [days for days in LIFETIMES if days < limit] + [limit]
    return {"tokens": api_tokens.user_tokens(request.user), "scopes": ApiToken.Scope.choices,  # type: ignore[arg-type]
            "lifetimes": lifetimes, "read_only_user": roles.is_auditor(request.user), **extra}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "cases/tokens.html", _context(request))
    raw_days = request.POST.get("expires_in_days", "")
    try:
        days = int(raw_days) if raw_days else None
    except ValueError:
        days = -1  # refused with a field error below
    try:
        token, key = api_tokens.create_personal_token(
            request.user, name=request.POST.get("name", ""),  # type: ignore[arg-type]
            scope=request.POST.get("scope", ""), expires_in_days=days)
    except ApplicationError as exc:
        if isinstance(exc, NotFound):
            raise
        return render(request, "cases/tokens.html", _context(request, error=exc, form=request.POST),
                      status=400 if exc.code == "invalid" else 403)
    # The key is in this answer only: a reload re-posts (the browser asks) and makes another.
    return render(request, "cases/tokens.html", _context(request, new_token=token, new_key=key), status=201)


@login_required
@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = api_tokens.revoke_personal_token(request.user, pk)  # type: ignore[arg-type]
    messages.success(request, f"Token {token.prefix}… ({token.name}) revoked.")
    return redirect("cases:tokens")
