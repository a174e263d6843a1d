import math

from django import template
from django.middleware.csrf import get_token

from cases.selectors import can_change_case, parse_page
from enrichment.models import EnrichmentResult
from enrichment.selectors import case_results

register = template.Library()

# Results per page of the case page's panel (``?enrichment=N`` pages on): all 200 results of a
# heavy case were a quarter of the page's rendering time.
ENRICHMENT_PAGE = 25
# The worst first, so the first page holds the findings: errors after the findings, then the rest.
VERDICT_RANK = {"malicious": 0, "suspicious": 1, "unknown": 3, "benign": 4}
ERROR_RANK = 2

VERDICT_CSS = {"malicious": "badge-danger", "suspicious": "badge-warning", "benign": "badge-success",
               "unknown": "badge-muted"}


@register.inclusion_tag("enrichment/_case_panel.html", takes_context=True)
def case_enrichment_panel(context, case):
    """Evidence panel of the case page: results with verdict badges, provider errors, and a
    "Run enrichment" button for users who may change the case."""
    request = context.get("request")
    user = getattr(request, "user", None)
    results = case_results(case)
    ranked = sorted(results, key=result_rank)
    pages = max(math.ceil(len(ranked) / ENRICHMENT_PAGE), 1)
    page = min(parse_page(request.GET.get("enrichment") if request is not None else None), pages)
    return {
        # A page rendered without RequestContext still gets a working form.
        "csrf_token": context.get("csrf_token") or (get_token(request) if request is not None else ""),
        "case": case,
        "request": request,
        "results": results,
        "shown": ranked[(page - 1) * ENRICHMENT_PAGE:page * ENRICHMENT_PAGE],
        "page": page,
        "pages": pages,
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if page < pages else None,
        "errors": [r for r in results if r.error],
        "findings": sum(1 for r in results if not r.error and r.verdict in ("malicious", "suspicious")),
        # A merged case is read-only (enrichment.services.ensure_enrichable refuses it too).
        "can_run": bool(user) and not case.merged_into_id and can_change_case(user, case),
    }


def result_rank(result: EnrichmentResult) -> tuple[int, float]:
    """Sort key of the panel: the worst verdict first, then the newest."""
    rank = ERROR_RANK if result.error else VERDICT_RANK.get(result.verdict, 3)
    return rank, -result.fetched_at.timestamp() if result.fetched_at else 0.0


@register.filter
def result_badge_css(result: EnrichmentResult) -> str:
    """The badge of a result: its verdict's colour, or the error colour."""
    return "badge-error" if result.error else VERDICT_CSS.get(result.verdict, "badge-muted")
