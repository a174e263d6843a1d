"""An analyst's display preferences (``UserPreference``): time zone and theme. Reads and writes
both live here; cases.middleware applies the time zone to every page, and
cases.context_processors writes the theme on <html> so that the page is drawn in the right
colours from the first paint (no flash, any browser)."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import TYPE_CHECKING

from django.http import HttpRequest

from cases.middleware import preference_for
from cases.models import UserPreference
from cases.roles import signed_in
from soar.errors import InvalidInput, NotAuthenticated

if TYPE_CHECKING:
    from cases.roles import Actor

THEMES = tuple(UserPreference.Theme.values)
# What the top bar's switch moves to from each theme.
NEXT_THEME = {"system": "light", "light": "dark", "dark": "system"}

# Aliases kept by the tz database for old systems; the picker offers the canonical names.
_LEGACY_PREFIXES = ("posix/", "right/", "SystemV/", "US/", "Etc/", "Canada/", "Brazil/", "Chile/", "Mexico/")


@cache
def time_zone_choices() -> tuple[str, ...]:
    """IANA zone names for the picker ("Region/City"), plus UTC; sorted."""
    names = {name for name in zoneinfo.available_timezones()
             if "/" in name and not name.startswith(_LEGACY_PREFIXES)}
    return ("UTC", *sorted(names))


def is_known_zone(name: str) -> bool:
    if name in time_zone_choices():
        return True
    # Any other name the tz database knows (an alias such as US/Eastern) is accepted too.
    return name in zoneinfo.available_timezones()


def preferences_of(user: Actor) -> UserPreference:
    """The user's preferences; the defaults (unsaved) when they never chose any."""
    if user is None or not user.is_authenticated:
        return UserPreference()
    return UserPreference.objects.filter(user_id=user.pk).first() or UserPreference(user_id=user.pk)


def save_preferences(user: Actor, *, time_zone: str, theme: str) -> UserPreference:
    """Store the user's time zone (empty: the browser's) and theme; InvalidInput names the field at fault."""
    if user is None or not user.is_authenticated:
        raise InvalidInput("Log in to save preferences.")
    time_zone = (time_zone or "").strip()
    if time_zone and not is_known_zone(time_zone):
        raise InvalidInput(f"Unknown time zone: {time_zone[:64]}.", field="time_zone")
    theme = (theme or UserPreference.Theme.SYSTEM).strip()
    if theme not in THEMES:
        raise InvalidInput("Choose system, light or dark.", field="theme")
    preference, _ = UserPreference.objects.update_or_create(user_id=user.pk,
                                                            defaults={"time_zone": time_zone, "theme": theme})
    return preference


def theme_for(request: HttpRequest) -> str:
    """The theme to draw this request's page in ("system" when nothing is stored)."""
    preference = preference_for(request)
    theme = preference.theme if preference is not None else UserPreference.Theme.SYSTEM
    return theme if theme in THEMES else UserPreference.Theme.SYSTEM


def set_theme(user: Actor, theme: str) -> UserPreference:
    """Store ``user``'s theme only (the top bar's switch): a display setting of their own, not
    audited, allowed to every role, auditors included."""
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
