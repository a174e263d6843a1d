"""Writes of the enrichment app: the blocklist, enrichment runs (one provider on one observable
is ``enrichment.engine``) and the rules that let evidence raise a case's severity."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts import selectors as alert_selectors
from alerts.normalization import make_observable
from cases import selectors as case_selectors
from cases.services import add_case_event, higher_severity, raise_case_levels, record_audit
from cases.vocabulary import EventKind
from enrichment.engine import Outcome, has_fresh_cache, run_lookup
from enrichment.models import BlocklistEntry, EnrichmentResult, EnrichmentRule
from enrichment.providers.base import Provider
from enrichment.providers.registry import build_providers
from enrichment.selectors import case_answered_pairs, normalize_value
from soar.errors import Conflict

if TYPE_CHECKING:
    from alerts.models import Observable
    from cases.models import Case


def add_to_blocklist(list_name: str, obs_type: str, value: str, *, reason: str = "",
                     expires_at: datetime | None = None, actor_label: str = "",
                     actor: User | None = None) -> BlocklistEntry:
    """Idempotent upsert of (list, type, value): a second call refreshes reason/expiry."""
    value = make_observable(obs_type, value).value  # NormalizationError (a ValueError) when invalid
    label = actor_label or getattr(actor, "username", "") or ""
    defaults = {"reason": reason[:500], "expires_at": expires_at, "added_by": label[:150]}
    entry = created = None
    for _ in range(2):
        try:
            with transaction.atomic():
                entry, created = BlocklistEntry.objects.update_or_create(
                    list_name=list_name, obs_type=obs_type, value=value, defaults=defaults)
                break
        except IntegrityError:
            continue  # lost an insert race; the second pass updates the winner's row
    if entry is None:
        raise IntegrityError("could not upsert the blocklist entry")
    after = {"list_name": list_name, "obs_type": obs_type, "value": value, "reason": reason,
             "expires_at": expires_at.isoformat() if expires_at else None}
    record_audit("blocklist.add" if created else "blocklist.update", entry, actor=actor, actor_label=label, after=after)
    return entry


def remove_from_blocklist(list_name: str, obs_type: str, value: str, *, actor_label: str = "",
                          actor: User | None = None) -> int:
    entries = list(BlocklistEntry.objects.filter(list_name=list_name, obs_type=obs_type,
                                                 value=normalize_value(obs_type, value)))
    for entry in entries:
        record_audit("blocklist.remove", entry, actor=actor, actor_label=actor_label,
                     before={"list_name": list_name, "obs_type": obs_type, "value": entry.value})
        entry.delete()
    return len(entries)


# --- enrichment runs ------------------------------------------------------------------

MAX_OBSERVABLES_PER_RUN = 200
ENRICHMENT_ACTOR = "enrichment"


class CaseReadOnly(Conflict):
    """The case was merged into another: it is read-only, evidence belongs on the target."""

    code = "case_read_only"


def ensure_enrichable(case: Case) -> None:
    """The one rule for who may receive evidence: not a merged (read-only) case. Checked by every
    run (page, API, playbooks, automatic follow-ups) and by the pages before they queue one."""
    if case.merged_into_id:
        raise CaseReadOnly(f"Case #{case.pk} was merged into case #{case.merged_into_id} and is read-only; "
                           f"enrich case #{case.merged_into_id} instead.")


def enrich_observables(observable_ids: list[int], *, case_id: int | None = None,
                       provider_keys: list[str] | None = None, force: bool = False, actor: User | None = None,
                       actor_label: str = "", providers: list[Provider] | None = None) -> list[EnrichmentResult]:
    """Run every enabled provider that handles each observable; store one result per pair.
    ``providers``: built already by the caller (build_providers), for many runs in a row.

    Automatic runs (``force=False``) skip pairs already answered on this case (or, without a
    case, pairs with a fresh cached answer), so repeated triggers do not repeat evidence.
    Results with a finding or an error go on the case timeline; then the rules apply."""
    label = actor_label or (getattr(actor, "username", "") if actor else "") or ENRICHMENT_ACTOR
    case = case_selectors.get_case(case_id) if case_id else None
    if case_id and case is None:
        return []
    if case is not None:
        ensure_enrichable(case)
    if providers is None:
        providers = build_providers(provider_keys)
    observables = list(alert_selectors.observables_with_ids(observable_ids).order_by("id")[:MAX_OBSERVABLES_PER_RUN])
    answered = (case_answered_pairs(case.pk, [o.pk for o in observables])
                if case is not None and not force and observables else set())
    results = []
    for observable in observables:
        answers = []
        for provider in providers:
            if not provider.handles(observable.type):
                continue
            if (provider.key, observable.pk) in answered:
                continue
            if not force and case is None and has_fresh_cache(provider, observable):
                continue
            answers.append((provider, run_lookup(provider, observable)))
        if answers:
            results += _store_results(case, observable, answers, actor=actor, label=label)
    if case is not None and results:
        apply_enrichment_rules(case.pk, results, actor=actor, actor_label=label)
    return results


def enrich_case(case_id: int, *, observable_ids: list[int] | None = None, provider_keys: list[str] | None = None,
                force: bool = False, actor: User | None = None, actor_label: str = "",
                providers: list[Provider] | None = None) -> list[EnrichmentResult]:
    """Enrich a case's observables (or the given subset of them)."""
    observables = alert_selectors.case_observables(case_id)
    if observable_ids is not None:
        observables = observables.filter(pk__in=observable_ids)
    ids = list(observables.values_list("id", flat=True))
    return enrich_observables(ids, case_id=case_id, provider_keys=provider_keys, force=force,
                              actor=actor, actor_label=actor_label, providers=providers)


def enrich_alerts(alert_ids: list[int], *, queued_only: bool = False) -> int:
    """Enrich processed alerts into their cases; queued alerts only when
    SOAR_ENRICH_QUEUED_ALERTS is on (only those with ``queued_only``: the automatic trigger,
    whose cases are enriched through enrichment.follow_up). Returns the number of results stored."""
    stored = 0
    by_case: dict[int | None, set[int]] = {}
    for case_id, obs_id in alert_selectors.case_observable_pairs(alert_ids):
        by_case.setdefault(case_id, set()).add(obs_id)
    for target, obs_ids in by_case.items():
        if target is None and not settings.SOAR_ENRICH_QUEUED_ALERTS:
            continue
        if target is not None and queued_only:
            continue
        stored += len(enrich_observables(sorted(obs_ids), case_id=target))
    return stored


def _store_results(case: Case | None, observable: Observable, answers: list[tuple[Provider, Outcome]], *,
                   actor: User | None, label: str) -> list[EnrichmentResult]:
    """The answers of the providers about one observable, stored together: one transaction and
    one INSERT for them (a commit per answer was a third of an automatic run's cost, bench/
    results.md), then a timeline entry for each finding or failure. An observable's evidence
    appears once every provider has answered it (each lookup is bounded by its timeout)."""
    now = timezone.now()
    with transaction.atomic():
        results = EnrichmentResult.objects.bulk_create([
            EnrichmentResult(case=case, observable=observable, provider=provider.key, verdict=outcome.verdict,
                             score=outcome.score, summary=outcome.summary,
                             raw=outcome.raw if outcome.raw is not None else {}, error=outcome.error,
                             from_cache=outcome.from_cache, fetched_at=outcome.fetched_at or now)
            for provider, outcome in answers])
        if case is not None:
            for (provider, outcome), result in zip(answers, results, strict=True):
                if outcome.matched or outcome.error:
                    _record_answer(case, provider, observable, outcome, result, actor=actor, label=label)
    return results


def _record_answer(case: Case, provider: Provider, observable: Observable, outcome: Outcome,
                   result: EnrichmentResult, *, actor: User | None, label: str) -> None:
    """A finding or a failure on the case's timeline."""
    data = {"provider": provider.key, "observable": f"{observable.type}:{observable.value[:200]}",
            "observable_id": observable.pk, "verdict": outcome.verdict, "score": outcome.score,
            "summary": outcome.summary, "result_id": result.pk}
    if outcome.error:
        data["error"] = outcome.error
        message = f"{provider.name} failed on {observable.type} {observable.value[:200]}: {outcome.error}"
    else:
        message = (f"{provider.name}: {observable.type} {observable.value[:200]} is {outcome.verdict}"
                   f" ({outcome.score}) - {outcome.summary}")
    add_case_event(case, EventKind.ENRICHMENT, message[:2000], actor=actor, actor_label=label, data=data)


# --- rules: evidence raises severity / confidence -------------------------------------

def rule_matches(rule: EnrichmentRule, result: EnrichmentResult) -> bool:
    return (not result.error and result.verdict == rule.verdict and result.score >= rule.min_score
            and (not rule.provider or rule.provider == result.provider)
            and (not rule.observable_type or rule.observable_type == result.observable.type))


def apply_enrichment_rules(case_id: int, results: list[EnrichmentResult], *, actor: User | None = None,
                           actor_label: str = ENRICHMENT_ACTOR) -> bool:
    severity, confidence, reasons = None, None, []
    for rule in EnrichmentRule.objects.filter(enabled=True):
        hits = [r for r in results if rule_matches(rule, r)]
        if not hits:
            continue
        if rule.raise_severity_to:
            severity = higher_severity(severity or "info", rule.raise_severity_to)
        if rule.raise_confidence_to is not None:
            confidence = max(confidence or 0, rule.raise_confidence_to)
        hit = hits[0]
        reasons.append(f"rule '{rule.name}' ({hit.provider}: {hit.observable.type} {hit.observable.value[:100]} "
                       f"is {hit.verdict})")
    if severity is None and confidence is None:
        return False
    return raise_case_from_enrichment(case_id, severity=severity, confidence=confidence, reasons=reasons,
                                      actor=actor, actor_label=actor_label)


def raise_case_from_enrichment(case_id: int, *, severity: str | None, confidence: int | None, reasons: list[str],
                               actor: User | None = None, actor_label: str = ENRICHMENT_ACTOR) -> bool:
    """Raise (never lower) a case's severity/confidence under a row lock; timeline + audit."""
    return raise_case_levels(case_id, severity=severity, confidence=confidence, reasons=reasons,
                             raised_by="enrichment", actor=actor, actor_label=actor_label)
