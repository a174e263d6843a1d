"""The case page's "Fields" panel (custom fields), as an inclusion tag: it reads what it shows
itself, so the case page only includes it."""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token

from cases import custom_fields, selectors
from cases.models import Case, CustomFieldDefinition

register = template.Library()


@register.inclusion_tag("cases/_custom_fields.html", takes_context=True)
def case_fields_panel(context: template.Context, case: Case) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    can_change = context.get("can_change")
    if can_change is None:
        can_change = bool(user) and not case.merged_into_id and selectors.can_change_case(user, case)
    definitions = custom_fields.active_definitions()
    needs_users = can_change and any(d.type == CustomFieldDefinition.Type.USER for d in definitions)
    assignable = context.get("assignable") or (list(selectors.assignable_users(case)[:200]) if needs_users else [])
    return {
        "csrf_token": context.get("csrf_token") or (get_token(request) if request is not None else ""),
        "case": case,
        "rows": custom_fields.case_field_rows(case, definitions),
        "can_change": can_change,
        "users": [member.username for member in assignable],
    }
