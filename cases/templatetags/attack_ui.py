"""The case page's ATT&CK panel as an inclusion tag (``{% case_techniques_panel case %}``): it
reads what it shows itself (attack.selectors.techniques_for_case), so the page only includes it."""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token

from attack import selectors as attack_selectors
from cases import selectors
from cases.models import Case

register = template.Library()


@register.inclusion_tag("attack/_case_techniques.html", takes_context=True)
def case_techniques_panel(context: template.Context, case: Case) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    can_change = context.get("can_change")
    if can_change is None:
        can_change = bool(user) and not case.merged_into_id and selectors.can_change_case(user, case)
    csrf = context.get("csrf_token") or (get_token(request) if request is not None else "")
    return {"case": case, "technique_groups": attack_selectors.techniques_for_case(case),
            "can_change": can_change, "csrf_token": csrf, "panel": True,
            "technique_choices": list(attack_selectors.technique_choices().values_list("external_id", "name"))
            if can_change else []}
