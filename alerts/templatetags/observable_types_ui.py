"""The case page's "Add observable" form, as an inclusion tag: the types it offers are the
active rows of ``alerts.ObservableType`` (the built-in eight and the admin's own)."""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token

from alerts import observable_services
from cases import selectors as case_selectors

register = template.Library()


@register.inclusion_tag("alerts/_add_observable.html", takes_context=True)
def add_observable_form(context: template.Context, case: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    can_change = context.get("can_change")
    if can_change is None:
        can_change = bool(user) and not case.merged_into_id and case_selectors.can_change_case(user, case)
    return {
        "case": case,
        "can_change": can_change,
        "types": observable_services.observable_type_choices() if can_change else [],
        "csrf_token": context.get("csrf_token") or (get_token(request) if request is not None else ""),
    }
