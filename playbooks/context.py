"""The data a run's templates and conditions can look at: the case (read fresh before each
step), the trigger, the outputs of earlier steps, the run and the playbook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cases.vocabulary import SEVERITY_RANK
from enrichment.selectors import case_results

if TYPE_CHECKING:
    from cases.models import Case

MAX_OBSERVABLES = 500
VERDICT_ORDER = ("unknown", "benign", "suspicious", "malicious")


def case_context(case: Case) -> dict:
    observables = list(case.observables.order_by("id").values("id", "type", "value")[:MAX_OBSERVABLES])
    by_type: dict[str, list[str]] = {}
    for item in observables:
        by_type.setdefault(item["type"], []).append(item["value"])
    return {
        "id": case.pk,
        "title": case.title,
        "description": case.description[:2000],
        "severity": case.severity,
        "severity_rank": SEVERITY_RANK.get(case.severity, 0),
        "status": case.status,
        "confidence": case.confidence,
        "team": case.team.name if case.team is not None else None,
        "assignee": case.assignee.username if case.assignee is not None else None,
        "tags": sorted(case.tags.values_list("name", flat=True)),
        "observables": [{"type": o["type"], "value": o["value"]} for o in observables],
        "observables_by_type": by_type,
        "url": f"/cases/{case.pk}/",
    }


def run_context(run, case: Case, steps: dict | None = None) -> dict:
    """``steps`` maps step id to {"status", "output"}; read from the run's StepRun rows when None."""
    if steps is None:
        steps = {s.step_id: {"status": s.status, "output": s.outputs}
                 for s in run.steps.all().only("step_id", "status", "outputs")}
    return {
        "case": case_context(case),
        "trigger": {"type": run.trigger, **(run.trigger_data or {})},
        "steps": steps,
        "run": {"id": run.pk, "dry_run": run.dry_run},
        "playbook": {"name": run.playbook_name, "version": run.version},
    }


def summarize_enrichment(results) -> dict:
    """What an enrich step outputs, from EnrichmentResult rows."""
    rows, worst, max_score, errors = [], "unknown", 0, 0
    for result in results:
        if result.error:
            errors += 1
            continue
        if VERDICT_ORDER.index(result.verdict) > VERDICT_ORDER.index(worst):
            worst = result.verdict
        max_score = max(max_score, result.score)
        rows.append({"provider": result.provider, "type": result.observable.type,
                     "value": result.observable.value[:500], "verdict": result.verdict, "score": result.score,
                     "summary": result.summary[:300]})
    return {"count": len(rows), "errors": errors, "verdict": worst, "max_score": max_score,
            "malicious": worst == "malicious", "suspicious": worst in ("suspicious", "malicious"),
            "results": rows[:50]}


def enrichment_outputs(case: Case, params: dict) -> dict:
    """An enrich step's outputs: the case's evidence, narrowed to the step's providers and
    observable types (a dry run reads the evidence the case already has)."""
    results = case_results(case)
    if params.get("providers"):
        results = [r for r in results if r.provider in params["providers"]]
    if params.get("observable_types"):
        results = [r for r in results if r.observable.type in params["observable_types"]]
    return summarize_enrichment(results)
