"""The analyst's colour theme: "system" (follow the operating system's light/dark setting),
"light" or "dark", kept in ``UserPreference.theme`` so that the server writes it on <html> and
the page is drawn in the right colours from the first paint (no flash, any browser)."""

from __future__ import annotations

from django.http import HttpRequest

from cases.middleware import preference_for
from cases.models import UserPreference
from cases.roles import Actor, signed_in
from soar.errors import InvalidInput, NotAuthenticated

THEMES = tuple(UserPreference.Theme.values)
# What the top bar's switch moves to from each theme.
NEXT_THEME = {"system": "light", "light": "dark", "dark": "system"}


def theme_for(request: HttpRequest) -> str:
    """The theme to draw this request's page in ("system" when nothing is stored)."""
    preference = preference_for(request)
    theme = preference.theme if preference is not None else UserPreference.Theme.SYSTEM
    return theme if theme in THEMES else UserPreference.Theme.SYSTEM


def set_theme(user: Actor, theme: str) -> UserPreference:
    """Store ``user``'s theme (a display setting of their own: not audited, allowed to every role,
    auditors included)."""
    account = signed_in(user)
    if account is None:
        raise NotAuthenticated("Sign in to choose a theme.")
    if theme not in THEMES:
        raise InvalidInput(f"Unknown theme; choose one of {', '.join(THEMES)}.", field="theme")
    preference, _ = UserPreference.objects.get_or_create(user=account)
    if preference.theme != theme:
        preference.theme = theme
        preference.save(update_fields=["theme"])
    return preference
