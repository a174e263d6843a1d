"""Activates the analyst's time zone for the request: the profile setting, else the browser's
(the ``soar_tz`` cookie that static/js/soar.js sets), else UTC. Templates then show times through
cases/templatetags/timefmt.py in that zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from cases.models import UserPreference

TZ_COOKIE = "soar_tz"


@lru_cache(maxsize=512)
def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """None for an unknown or malformed name (a cookie is user input)."""
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def preference_for(request: HttpRequest) -> UserPreference | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if not hasattr(request, "_soar_preference"):
        request._soar_preference = UserPreference.objects.filter(user=user).first()  # type: ignore[attr-defined]
    cached: UserPreference | None = request._soar_preference  # type: ignore[attr-defined]
    return cached


def zone_for(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    preference = preference_for(request)
    if preference is not None and preference.time_zone:
        chosen = zone_named(preference.time_zone)
        if chosen is not None:
            return chosen
    return zone_named(unquote(request.COOKIES.get(TZ_COOKIE, "")))


class UserTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path.startswith(("/api/", "/metrics", "/healthz", "/static/")):
            return self.get_response(request)
        zone = zone_for(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
