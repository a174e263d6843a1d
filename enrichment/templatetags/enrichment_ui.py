from django import template

register = template.Library()


@register.inclusion_tag("enrichment/_case_panel.html", takes_context=True)
def case_enrichment_panel(context, case):
    """Evidence panel of the case page (filled in by the enrichment app)."""
    return {"case": case, "request": context.get("request")}
