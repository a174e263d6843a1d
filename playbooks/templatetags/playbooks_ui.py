from django import template

register = template.Library()


@register.inclusion_tag("playbooks/_case_panel.html", takes_context=True)
def case_playbook_panel(context, case):
    """Playbook runs and approvals panel of the case page (filled in by the playbooks app)."""
    return {"case": case, "request": context.get("request")}
