"""Template helpers for verdicts: the resolutions offered by forms on pages whose views do not
pass them (the queue's bulk form)."""

from django import template

from cases.models import Resolution
from cases.services import active_resolutions

register = template.Library()


@register.simple_tag
def resolution_choices() -> list[Resolution]:
    return list(active_resolutions())
