"""Reading the ATT&CK objects of a STIX 2.1 bundle (enterprise-attack.json from
github.com/mitre-attack/attack-stix-data or mitre/cti): the matrix (tactic order), the
tactics (x-mitre-tactic), the techniques (attack-pattern) and the sub-technique links
(relationship "subtechnique-of"). Pure Python: no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ATTACK_SOURCE = "mitre-attack"  # external_references[].source_name of ATT&CK's own ids
ATTACK_TYPES = frozenset({"x-mitre-tactic", "attack-pattern", "x-mitre-matrix"})


@dataclass
class ParsedTactic:
    stix_id: str
    external_id: str
    shortname: str
    name: str
    url: str
    order: int
    deprecated: bool


@dataclass
class ParsedTechnique:
    stix_id: str
    external_id: str
    name: str
    url: str
    is_subtechnique: bool
    tactic_shortnames: list[str]
    revoked: bool
    deprecated: bool
    modified: dt.datetime | None
    parent_external_id: str = ""


@dataclass
class AttackCatalogue:
    tactics: list[ParsedTactic] = field(default_factory=list)
    techniques: list[ParsedTechnique] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def is_attack_bundle(objects: list[Any]) -> bool:
    """Whether a bundle carries ATT&CK objects (then it is a catalogue, not indicators)."""
    return any(isinstance(obj, dict) and obj.get("type") in ATTACK_TYPES for obj in objects)


def _reference(obj: dict[str, Any]) -> tuple[str, str]:
    """(external id, url) of ATT&CK's own external reference, else ("", "")."""
    for ref in obj.get("external_references") or []:
        if isinstance(ref, dict) and ref.get("source_name") == ATTACK_SOURCE and ref.get("external_id"):
            return str(ref["external_id"])[:16], str(ref.get("url") or "")[:200]
    return "", ""


def _modified(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _matrix_order(objects: list[dict[str, Any]]) -> dict[str, int]:
    """Tactic STIX id -> column, from the first matrix's tactic_refs (the Enterprise matrix)."""
    for obj in objects:
        if obj.get("type") == "x-mitre-matrix" and isinstance(obj.get("tactic_refs"), list):
            return {str(ref): index for index, ref in enumerate(obj["tactic_refs"])}
    return {}


def _better(new: ParsedTechnique, old: ParsedTechnique) -> bool:
    """Of two objects with one ATT&CK id, the current one wins over a revoked or deprecated one."""
    return (not new.revoked, not new.deprecated, new.modified or dt.datetime.min.replace(tzinfo=dt.UTC)) > (
        not old.revoked, not old.deprecated, old.modified or dt.datetime.min.replace(tzinfo=dt.UTC))


def parse_attack_objects(objects: list[Any]) -> AttackCatalogue:
    """The catalogue in a bundle's objects; objects without an ATT&CK id are listed in ``skipped``."""
    dicts = [obj for obj in objects if isinstance(obj, dict)]
    order = _matrix_order(dicts)
    result = AttackCatalogue()
    techniques: dict[str, ParsedTechnique] = {}
    parents_by_stix: dict[str, str] = {}
    for index, obj in enumerate(dicts):
        kind = obj.get("type")
        if kind not in ("x-mitre-tactic", "attack-pattern"):
            if kind == "relationship" and obj.get("relationship_type") == "subtechnique-of":
                parents_by_stix[str(obj.get("source_ref"))] = str(obj.get("target_ref"))
            continue
        external_id, url = _reference(obj)
        stix_id = str(obj.get("id") or "")[:100]
        if not external_id or not stix_id:
            result.skipped.append(f"object {index} ({stix_id or 'no id'}): skipped: no {ATTACK_SOURCE} external id")
            continue
        name = str(obj.get("name") or external_id)[:255]
        if kind == "x-mitre-tactic":
            result.tactics.append(ParsedTactic(
                stix_id, external_id, str(obj.get("x_mitre_shortname") or "")[:64], name[:128], url,
                order.get(stix_id, len(order) + len(result.tactics)), bool(obj.get("x_mitre_deprecated"))))
            continue
        phases = [str(p.get("phase_name"))[:64] for p in obj.get("kill_chain_phases") or []
                  if isinstance(p, dict) and p.get("kill_chain_name") == ATTACK_SOURCE and p.get("phase_name")]
        technique = ParsedTechnique(
            stix_id, external_id, name, url, bool(obj.get("x_mitre_is_subtechnique")) or "." in external_id,
            phases, bool(obj.get("revoked")), bool(obj.get("x_mitre_deprecated")), _modified(obj.get("modified")))
        kept = techniques.get(external_id)
        if kept is None or _better(technique, kept):
            techniques[external_id] = technique
    by_stix = {t.stix_id: t.external_id for t in techniques.values()}
    for technique in techniques.values():
        if not technique.is_subtechnique:
            continue
        parent = by_stix.get(parents_by_stix.get(technique.stix_id, ""), "")
        # Without the relationship, ATT&CK's numbering names the parent (T1059.001 -> T1059).
        technique.parent_external_id = parent or technique.external_id.split(".")[0]
    result.techniques = sorted(techniques.values(), key=lambda t: t.external_id)
    result.tactics.sort(key=lambda t: (t.order, t.external_id))
    return result
