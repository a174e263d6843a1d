"""Panels of the case page that need the enrichment floor (verdicts, blocklists) or the
evidence files: the observable table, similar cases and evidence files. Each is one tag line
in cases/detail.html."""

from django import template
from django.conf import settings
from django.middleware.csrf import get_token

from alerts import observable_intel
from alerts.observable_intel import ObservableRow
from cases.selectors import can_change_case, parse_page
from enrichment.selectors import blocklisted_pairs, case_observable_verdicts
from evidence.selectors import case_evidence

register = template.Library()

def _panel_context(context, case) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    # The case page has worked out the change right already (one query less per panel).
    can_change = context.get("can_change")
    if can_change is None:
        can_change = bool(user) and not case.merged_into_id and can_change_case(user, case)
    return {
        "csrf_token": context.get("csrf_token") or (get_token(request) if request is not None else ""),
        "case": case,
        "request": request,
        "can_change": can_change,
    }


@register.inclusion_tag("alerts/_case_observables.html", takes_context=True)
def case_observables_panel(context, case):
    """The case's observables with IOC/sighted flags, TLP, tags, description, enrichment verdict,
    blocklist status and the other cases they were seen in: a constant number of queries."""
    panel = _panel_context(context, case)
    user = getattr(panel["request"], "user", None)
    # One page of the table (?observables=N, the case page's "more observables" links).
    request = panel["request"]
    page = observable_intel.case_observable_page(
        user, case, parse_page(request.GET.get("observables") if request is not None else None))
    rows: list[ObservableRow] = page.rows
    verdicts = case_observable_verdicts(case.pk)
    blocked = blocklisted_pairs([(r.observable.type, r.observable.value) for r in rows])
    panel.update({
        "rows": [{"row": d.row, "show": d, "verdict": verdicts.get(d.row.observable.pk, ""),
                  "blocklisted": (d.row.observable.type, d.row.observable.value) in blocked}
                 for d in observable_intel.observable_rows_display(rows, case.pk)],
        "total": page.total,
        "page": page,
        "tlp_choices": observable_intel.TLP_CHOICES,
        "count_hidden": settings.SOAR_OBSERVABLE_COUNT_HIDDEN_CASES,
    })
    return panel


@register.inclusion_tag("alerts/_similar_cases.html", takes_context=True)
def similar_cases_panel(context, case):
    panel = _panel_context(context, case)
    panel["similar"] = observable_intel.similar_cases(getattr(panel["request"], "user", None), case)
    return panel


@register.inclusion_tag("evidence/_evidence.html", takes_context=True)
def case_evidence_panel(context, case):
    panel = _panel_context(context, case)
    panel["files"] = case_evidence(case)
    panel["max_bytes"] = settings.SOAR_EVIDENCE_MAX_BYTES
    return panel
