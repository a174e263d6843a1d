"""Template helpers for showing alerts and observables."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join

from alerts.normalization import defang as defang_value
from alerts.reporters import reporters_of

register = template.Library()


@register.filter
def defanged(observable_or_value, obs_type: str = "") -> str:
    """Indicators are shown defanged (hxxp://evil[.]com): pasted into a chat or a ticket they
    are neither clickable nor auto-linked. Stored and matched refanged."""
    value = getattr(observable_or_value, "value", observable_or_value)
    kind = getattr(observable_or_value, "type", obs_type)
    return defang_value(str(kind), str(value))


@register.simple_tag
def alert_flags(alert) -> str:
    """Badges beside an alert's title: resolved by its sender, and parse warnings (listed in
    the tooltip) for optional fields the sender got wrong."""
    parts = []
    if alert.resolved_at:
        parts.append(format_html('<span class="badge resolved" title="Resolved by its sender at {}">resolved</span>',
                                 alert.resolved_at.isoformat(timespec="seconds")))
    warnings = alert.parse_warnings or []
    if warnings:
        parts.append(format_html(
            '<span class="badge warning" title="{}">{} parse warning{}</span>',
            "\n".join(str(w) for w in warnings), len(warnings), "" if len(warnings) == 1 else "s"))
    return format_html_join(" ", "{}", ((p,) for p in parts))


@register.filter
def entity_defanged(alert) -> str:
    return defang_value(alert.entity_type, alert.entity_value)


@register.simple_tag
def alert_reporters(alert, shown: int = 3) -> str:
    """"Reported by ..." under a user-reported phish (everyone who reported it, the first
    ``shown`` by name); empty for other alerts."""
    reporters = reporters_of(alert.raw)
    if not reporters:
        return ""
    more = len(reporters) - shown
    return format_html('<div class="muted reported-by">Reported by {}{}</div>', ", ".join(reporters[:shown]),
                       f" and {more} more" if more > 0 else "")
