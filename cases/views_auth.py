"""Log-in pages beyond the password form: the TOTP step (/login/otp/), the user's TOTP set-up
(/me/totp/) and the OpenID Connect hand-offs (/oidc/..., 404 unless SOAR_OIDC_ENABLED).
Rules in cases.totp and cases.sso."""

from __future__ import annotations

from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from cases import totp
from soar.errors import ApplicationError


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or settings.LOGIN_REDIRECT_URL
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_step(request: HttpRequest) -> HttpResponse:
    if request.session.get(totp.PENDING_KEY) != totp.OTP:
        return HttpResponseRedirect(_next(request))
    context: dict[str, Any] = {"next": _next(request)}
    if request.method == "POST":
        try:
            totp.verify_login_code(request, request.POST.get("code", ""))
        except ApplicationError as exc:
            status = 429 if exc.code == "locked" else 400
            response = render(request, "registration/otp.html", {**context, "error": exc.message}, status=status)
            if exc.retry_after:
                response["Retry-After"] = str(exc.retry_after)
            return response
        return HttpResponseRedirect(context["next"])
    return render(request, "registration/otp.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "confirm":
                totp.confirm_device(request, request.POST.get("code", ""))
                messages.success(request, "Two-factor log-in is on: keep the app; you will need a code at each log-in.")
                return redirect(_next(request) if request.POST.get("next") else "cases:totp")
            if action == "disable":
                totp.disable_totp(request, request.POST.get("code", ""))
                messages.success(request, "Two-factor log-in is off.")
                return redirect("cases:totp")
            error = "Unknown action."
        except ApplicationError as exc:
            error = exc.message
    device = totp.confirmed_device(request.user)  # type: ignore[arg-type]
    context: dict[str, Any] = {"enabled": device is not None, "error": error, "next": request.GET.get("next", ""),
                               "required": totp.requires_totp(request.user)}  # type: ignore[arg-type]
    if device is None:
        pending = totp.pending_device(request.user)  # type: ignore[arg-type]
        uri = pending.config_url
        # segno writes the SVG from our own URI (no user markup): safe to inline; no data: URI
        # (the CSP allows images from 'self' only).
        # A white background (fill attribute, no style: CSP) keeps it scannable in the dark theme.
        svg = segno.make(uri, error="m").svg_inline(scale=4, light="#fff", title="TOTP QR code")
        context.update(uri=uri, secret=uri.split("secret=", 1)[1].split("&", 1)[0], qr_svg=mark_safe(svg))  # noqa: S308
    return render(request, "cases/totp.html", context, status=400 if error else 200)


def _oidc_enabled() -> None:
    if not settings.SOAR_OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")


def oidc_authenticate(request: HttpRequest) -> HttpResponse:
    _oidc_enabled()
    return OIDCAuthenticationRequestView.as_view()(request)


def oidc_callback(request: HttpRequest) -> HttpResponse:
    _oidc_enabled()
    return OIDCAuthenticationCallbackView.as_view()(request)
