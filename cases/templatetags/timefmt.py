"""One way to show a time on every page: the analyst's own time zone (activated per request by
cases.middleware.UserTimezoneMiddleware), with the UTC time on hover and a machine-readable
``datetime`` attribute; and relative ages ("12 min ago", "in 3 h") for queues and countdowns.

    {% load timefmt %}
    {% when case.created_at %}  -> <time datetime="…" title="2026-12-01 15:17:41 UTC">2026-12-01 16:17 CET</time>
    {% when case.created_at seconds=True %}
    {% age case.created_at %}             -> <time … class="age">12 min ago</time>
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

EMPTY = "—"
ABSOLUTE_FORMAT = "%Y-%m-%d %H:%M"
ABSOLUTE_FORMAT_SECONDS = "%Y-%m-%d %H:%M:%S"


def _aware(value: datetime) -> datetime:
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def absolute(value: datetime, seconds: bool = False) -> str:
    local = timezone.localtime(_aware(value))
    return f"{local.strftime(ABSOLUTE_FORMAT_SECONDS if seconds else ABSOLUTE_FORMAT)} {local.tzname()}"


def utc_title(value: datetime) -> str:
    return _aware(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative(value: datetime, now: datetime | None = None) -> str:
    """"just now", "5 min ago", "3 h ago", "2 d ago", or "in 40 min" for a time still ahead."""
    delta = ((now or timezone.now()) - _aware(value)).total_seconds()
    ahead = delta < 0
    seconds = abs(int(delta))
    if seconds < 60:
        return "just now" if not ahead else "in < 1 min"
    if seconds < 3600:
        amount = f"{seconds // 60} min"
    elif seconds < 48 * 3600:
        hours, minutes = divmod(seconds // 60, 60)
        amount = f"{hours} h {minutes} min" if hours < 10 and minutes else f"{hours} h"
    else:
        amount = f"{seconds // 86400} d"
    return f"in {amount}" if ahead else f"{amount} ago"


@register.simple_tag
def when(value: datetime | None, seconds: bool = False):
    if not value:
        return EMPTY
    return format_html('<time datetime="{}" title="{}">{}</time>',
                       _aware(value).astimezone(UTC).isoformat(), utc_title(value), absolute(value, seconds))


@register.simple_tag
def age(value: datetime | None):
    if not value:
        return EMPTY
    return format_html('<time class="age" datetime="{}" title="{} · {}">{}</time>',
                       _aware(value).astimezone(UTC).isoformat(), absolute(value), utc_title(value),
                       relative(value))
