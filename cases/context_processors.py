"""Template context for the layout (templates/base.html), registered in soar.settings TEMPLATES."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from cases import roles
from cases.preferences import NEXT_THEME, theme_for


def layout(request: HttpRequest) -> dict[str, Any]:
    """The theme written on <html> and what the top bar's switch offers; whether the audit-log
    link shows (a callable: evaluated only where the navigation is drawn)."""
    theme = theme_for(request)
    user = getattr(request, "user", None)
    return {
        "soar_theme": theme,
        "soar_next_theme": NEXT_THEME[theme],
        "can_see_audit_log": lambda: roles.can_read_audit_log(user),
        # How often the live regions (static/js/live.js) re-fetch themselves.
        "live_seconds": settings.SOAR_LIVE_POLL_SECONDS,
        "live_badge_seconds": settings.SOAR_LIVE_POLL_SECONDS * 2,
    }
