from django import template
from django.middleware.csrf import get_token

from cases.selectors import can_change_case
from enrichment.models import EnrichmentResult
from enrichment.selectors import case_results

register = template.Library()

VERDICT_CSS = {"malicious": "badge-danger", "suspicious": "badge-warning", "benign": "badge-success",
               "unknown": "badge-muted"}


@register.inclusion_tag("enrichment/_case_panel.html", takes_context=True)
def case_enrichment_panel(context, case):
    """Evidence panel of the case page: results with verdict badges, provider errors, and a
    "Run enrichment" button for users who may change the case."""
    request = context.get("request")
    user = getattr(request, "user", None)
    results = case_results(case)
    return {
        # A page rendered without RequestContext still gets a working form.
        "csrf_token": context.get("csrf_token") or (get_token(request) if request is not None else ""),
        "case": case,
        "request": request,
        "results": results,
        "errors": [r for r in results if r.error],
        "findings": sum(1 for r in results if not r.error and r.verdict in ("malicious", "suspicious")),
        # A merged case is read-only (enrichment.services.ensure_enrichable refuses it too).
        "can_run": bool(user) and not case.merged_into_id and can_change_case(user, case),
    }


@register.filter
def result_badge_css(result: EnrichmentResult) -> str:
    """The badge of a result: its verdict's colour, or the error colour."""
    return "badge-error" if result.error else VERDICT_CSS.get(result.verdict, "badge-muted")
