"""Writes on the ATT&CK catalogue: the idempotent import of a parsed STIX bundle
(attack.stix.parse_attack_objects). Re-importing the same or a newer bundle updates the rows in
place (keyed by the ATT&CK id), so the techniques linked to alerts and cases stay linked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from attack.models import Tactic, Technique
from attack.stix import AttackCatalogue
from soar import errors


class CatalogueProblem(errors.InvalidInput):
    """A bundle that cannot be imported as an ATT&CK catalogue."""

    code = "invalid_attack_bundle"


@dataclass
class CatalogueImport:
    tactics_created: int
    tactics_updated: int
    techniques_created: int
    techniques_updated: int
    new_external_ids: list[str]  # techniques the catalogue did not know before (alerts may name them)


TACTIC_FIELDS = ["stix_id", "shortname", "name", "url", "order", "deprecated"]
TECHNIQUE_FIELDS = ["stix_id", "name", "url", "is_subtechnique", "revoked", "deprecated", "modified"]


@transaction.atomic
def import_catalogue(catalogue: AttackCatalogue) -> CatalogueImport:
    """Upsert the tactics and techniques, then the sub-technique parents and technique-tactic links;
    a constant number of statements whatever the bundle's size."""
    if not catalogue.tactics and not catalogue.techniques:
        raise CatalogueProblem("The bundle holds no ATT&CK tactic or technique.")
    t_created, t_updated = _upsert(Tactic, {t.external_id: t for t in catalogue.tactics}, TACTIC_FIELDS)
    known_before = set(Technique.objects.values_list("external_id", flat=True))
    parsed = {t.external_id: t for t in catalogue.techniques}
    created, updated = _upsert(Technique, parsed, TECHNIQUE_FIELDS)
    ids = dict(Technique.objects.filter(external_id__in=parsed).values_list("external_id", "pk"))
    parents = dict(Technique.objects.values_list("external_id", "pk").filter(
        external_id__in={t.parent_external_id for t in parsed.values() if t.parent_external_id}))
    rows = [Technique(pk=ids[ext], parent_id=parents.get(t.parent_external_id)) for ext, t in parsed.items()]
    Technique.objects.bulk_update(rows, ["parent"], batch_size=500)
    tactics = dict(Tactic.objects.values_list("shortname", "pk"))
    through = Technique.tactics.through
    through.objects.filter(technique_id__in=ids.values()).delete()
    through.objects.bulk_create(
        [through(technique_id=ids[ext], tactic_id=tactics[name])
         for ext, t in parsed.items() for name in dict.fromkeys(t.tactic_shortnames) if name in tactics],
        batch_size=1000)
    return CatalogueImport(t_created, t_updated, created, updated, sorted(set(parsed) - known_before))


def _upsert(model: type[Any], parsed: dict[str, Any], fields: list[str]) -> tuple[int, int]:
    """Create the rows whose external id is new, update the others' ``fields``; (created, updated)."""
    existing = {row.external_id: row for row in model.objects.filter(external_id__in=list(parsed))}
    new_rows: list[Any] = []
    changed: list[Any] = []
    for external_id, item in parsed.items():
        row = existing.get(external_id) or model(external_id=external_id)
        for name in fields:
            setattr(row, name, getattr(item, name))
        (changed if row.pk else new_rows).append(row)
    model.objects.bulk_create(new_rows, batch_size=500)
    if changed:
        model.objects.bulk_update(changed, fields, batch_size=500)
    return len(new_rows), len(changed)
