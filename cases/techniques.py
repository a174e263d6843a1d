"""Writes on a case's MITRE ATT&CK techniques (``CaseTechnique``): the union of its alerts'
techniques (``add_alert_techniques``, called by the alerts pipeline in bulk) and the ones an
analyst adds or removes (``add_technique`` / ``remove_technique``: timeline entry and audit
entry each). Callers check visibility with cases.selectors (404 for other teams' cases)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from attack import selectors as attack_selectors
from cases.models import Case, CaseEvent, CaseTechnique
from cases.roles import signed_in
from cases.services import InvalidInput, _ensure_may_change, _locked, add_case_event, record_audit
from soar.bulk import insert_rows

if TYPE_CHECKING:
    from attack.models import Technique
    from cases.roles import Actor


def add_alert_techniques(pairs: set[tuple[int, int]]) -> None:
    """(case id, technique id) pairs from the cases' alerts, in one statement; a technique the
    case has already (from another alert or an analyst) is left as it is."""
    if pairs:
        insert_rows(CaseTechnique, ["case", "technique", "source", "added_at"],
                    [(case_id, technique_id, CaseTechnique.Source.ALERT, timezone.now())
                     for case_id, technique_id in sorted(pairs)], ignore_conflicts=True)


def _technique(external_id: str) -> Technique:
    technique = attack_selectors.find_technique(external_id)
    if technique is None:
        raise InvalidInput(f"Unknown ATT&CK technique {str(external_id)[:20]!r} (import the catalogue "
                           "with manage.py import_intel --attack).", field="technique")
    return technique


@transaction.atomic
def add_technique(case: Case, external_id: str, *, actor: Actor, actor_label: str = "") -> CaseTechnique:
    case = _locked(case)
    _ensure_may_change(actor, case)
    technique = _technique(external_id)
    if technique.revoked or technique.deprecated:
        raise InvalidInput(f"{technique.external_id} is {'revoked' if technique.revoked else 'deprecated'} "
                           "in ATT&CK; choose its current technique.", field="technique")
    link, created = CaseTechnique.objects.get_or_create(
        case=case, technique=technique,
        defaults={"source": CaseTechnique.Source.MANUAL, "added_by": signed_in(actor)})
    if created:
        label = f"{technique.external_id} {technique.name}"
        add_case_event(case, CaseEvent.Kind.UPDATED, f"ATT&CK technique {label} added", actor=actor,
                       actor_label=actor_label, data={"attack": {"added": technique.external_id}})
        record_audit("case.attack.add", case, actor=actor, actor_label=actor_label,
                     after={"technique": technique.external_id})
        Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    return link


@transaction.atomic
def remove_technique(case: Case, external_id: str, *, actor: Actor, actor_label: str = "") -> bool:
    """Remove the technique from the case (from an alert or added by hand); False if it was not on it.
    An alert of the case attached later may bring it back: its tool says so."""
    case = _locked(case)
    _ensure_may_change(actor, case)
    technique = _technique(external_id)
    link = CaseTechnique.objects.filter(case=case, technique=technique).first()
    if link is None:
        return False
    link.delete()
    add_case_event(case, CaseEvent.Kind.UPDATED, f"ATT&CK technique {technique.external_id} {technique.name} removed",
                   actor=actor, actor_label=actor_label, data={"attack": {"removed": technique.external_id}})
    record_audit("case.attack.remove", case, actor=actor, actor_label=actor_label,
                 before={"technique": technique.external_id, "source": link.source})
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    return True


def carry_techniques(source: Case, target: Case) -> int:
    """On a merge: the techniques of ``source`` the ``target`` lacks are linked to it with their
    source and who added them (``added_at`` is the merge's time: auto_now_add; an alert's
    technique comes with its alerts, which move with the merge), in one read and
    one insert; a technique already on the target is left as it is. Returns how many were added.
    The caller (cases.services_bulk.merge_cases) holds both cases locked and writes the timeline."""
    have = set(CaseTechnique.objects.filter(case=target).values_list("technique_id", flat=True))
    carried = [CaseTechnique(case=target, technique_id=link.technique_id, source=link.source,
                             added_by_id=link.added_by_id)
               for link in CaseTechnique.objects.filter(case=source).order_by("pk") if link.technique_id not in have]
    CaseTechnique.objects.bulk_create(carried, ignore_conflicts=True)
    return len(carried)
