"""On a case merge (cases.signals.case_merging, inside the merge's transaction): the surviving
case gains what the analysts of the merged case said about its observables (CaseObservable:
IOC and sighted flags, TLP, tags, description). The merged case keeps its own rows (it stays
readable as it was); the target gets one row per observable, never two."""

from __future__ import annotations

from typing import Any

from alerts.models import CaseObservable

# When both cases marked an observable, the stricter sharing rule wins: the TLP choices are
# declared from the least to the most strict.
TLP_ORDER: list[str] = list(CaseObservable.Tlp)


def carry_observable_flags(source_id: int, target_id: int) -> int:
    """Copy the source case's observable rows to the target: new rows for observables the target
    has no row for; for the others the flags are combined (IOC or sighted on either side stays
    set, the earliest sighting, the stricter TLP, the union of tags, the target's description
    unless it has none). Returns how many target rows were added or changed."""
    mine = {row.observable_id: row for row in CaseObservable.objects.filter(case_id=target_id)}
    added: list[CaseObservable] = []
    changed: list[CaseObservable] = []
    for row in CaseObservable.objects.filter(case_id=source_id).order_by("pk"):
        existing = mine.get(row.observable_id)
        if existing is None:
            added.append(CaseObservable(case_id=target_id, observable_id=row.observable_id, ioc=row.ioc,
                                        sighted=row.sighted, sighted_at=row.sighted_at, tlp=row.tlp,
                                        tags=list(row.tags), description=row.description,
                                        updated_by_id=row.updated_by_id))
        elif _combine(existing, row):
            changed.append(existing)
    CaseObservable.objects.bulk_create(added, ignore_conflicts=True)
    CaseObservable.objects.bulk_update(changed, ["ioc", "sighted", "sighted_at", "tlp", "tags", "description"])
    return len(added) + len(changed)


def _combine(target: CaseObservable, source: CaseObservable) -> bool:
    """Fold ``source``'s flags into ``target``; True when anything changed."""
    before = (target.ioc, target.sighted, target.sighted_at, target.tlp, list(target.tags), target.description)
    target.ioc = target.ioc or source.ioc
    target.sighted = target.sighted or source.sighted
    sightings = [at for at in (target.sighted_at, source.sighted_at) if at is not None]
    target.sighted_at = min(sightings) if sightings else None
    target.tlp = max(target.tlp, source.tlp, key=_tlp_rank)
    target.tags = list(target.tags) + [tag for tag in source.tags if tag not in target.tags]
    target.description = target.description or source.description
    return before != (target.ioc, target.sighted, target.sighted_at, target.tlp, list(target.tags),
                      target.description)


def _tlp_rank(tlp: str) -> int:
    return TLP_ORDER.index(tlp) if tlp in TLP_ORDER else len(TLP_ORDER)  # an unknown value: treat as strictest


def on_case_merging(sender: Any, source_id: int, target_id: int, **kwargs: Any) -> dict[str, int]:
    return {"observable_flags": carry_observable_flags(source_id, target_id)}
