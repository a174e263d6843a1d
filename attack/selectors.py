"""Reads of the ATT&CK catalogue: techniques by ATT&CK id (for mapping alerts in bulk), the
matrix's tactics, and a case's techniques grouped by tactic (the case page and the case report
include templates/attack/_case_techniques.html with it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from attack.ids import technique_id
from attack.models import Tactic, Technique


def technique_ids_by_external_id(external_ids: Iterable[str]) -> dict[str, int]:
    """ATT&CK id -> Technique pk for the known ones, in one query (revoked ones included: an
    alert that names an old id still gets it, and the page says it is revoked)."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    return dict(Technique.objects.filter(external_id__in=wanted).values_list("external_id", "pk"))


def find_technique(external_id: str) -> Technique | None:
    ext = technique_id(external_id)
    return Technique.objects.filter(external_id=ext).first() if ext else None


def matrix_tactics() -> QuerySet[Tactic]:
    """The matrix's columns, in order (deprecated tactics left out)."""
    return Tactic.objects.filter(deprecated=False).order_by("order", "external_id")


def technique_choices() -> QuerySet[Technique]:
    """Techniques an analyst may add to a case (current ones only)."""
    return Technique.objects.filter(revoked=False, deprecated=False).order_by("external_id")


@dataclass
class TacticGroup:
    tactic: Tactic | None  # None: techniques without a tactic in the catalogue
    techniques: list[Any] = field(default_factory=list)


def group_by_tactic(techniques: Iterable[Technique]) -> list[TacticGroup]:
    """Techniques under each of their tactics, in matrix order (a technique of two tactics is
    listed under both); those without a tactic come last. Expects ``tactics`` prefetched."""
    groups: dict[int | None, TacticGroup] = {}
    for technique in techniques:
        tactics: list[Tactic | None] = list(technique.tactics.all()) or [None]
        for tactic in tactics:
            key = tactic.pk if tactic is not None else None
            groups.setdefault(key, TacticGroup(tactic)).techniques.append(technique)
    return sorted(groups.values(), key=lambda g: (g.tactic is None, g.tactic.order if g.tactic else 0,
                                                  g.tactic.external_id if g.tactic else ""))


def techniques_for_case(case: Any) -> list[TacticGroup]:
    """The case's techniques grouped by tactic, in matrix order; each technique carries
    ``case_link`` (the CaseTechnique row: source, who added it and when). ``case`` is a
    cases.models.Case (named by its relation only: this floor imports nothing above it)."""
    links = {link.technique_id: link for link in case.technique_links.select_related("added_by")}
    techniques = list(Technique.objects.filter(pk__in=list(links)).select_related("parent")
                      .prefetch_related(Prefetch("tactics", queryset=Tactic.objects.order_by("order"))))
    for technique in techniques:
        technique.case_link = links[technique.pk]  # type: ignore[attr-defined]
    return group_by_tactic(techniques)


def techniques_with_tactics(technique_ids: Iterable[int]) -> QuerySet[Technique]:
    """These techniques with their parent and tactics (one query for each), by ATT&CK id."""
    return (Technique.objects.filter(pk__in=sorted(technique_ids)).select_related("parent")
            .prefetch_related("tactics").order_by("external_id"))
