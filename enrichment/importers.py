"""Parsing and upserting threat-intel indicators (CSV, STIX 2.1 bundles) and inventory assets
(CSV). Every problem is an ``ImportProblem`` with a line/object reference for the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils.dateparse import parse_datetime
from stix2patterns.exceptions import ParseException
from stix2patterns.v21.inspector import InspectionListener
from stix2patterns.v21.pattern import Pattern

from alerts import attack_mapping
from alerts.normalization import NormalizationError, make_observable
from attack import services as attack_services
from attack import stix as attack_stix
from attack.services import CatalogueImport
from enrichment.models import Asset, Indicator, Verdict
from soar import errors

TYPE_ALIASES = {
    "ip": "ip", "ipv4": "ip", "ipv6": "ip", "ip-src": "ip", "ip-dst": "ip", "ipv4-addr": "ip", "ipv6-addr": "ip",
    "domain": "domain", "domain-name": "domain", "fqdn": "domain", "hostname": "hostname",
    "url": "url", "uri": "url", "email": "email", "email-addr": "email",
    "hash": "hash", "md5": "hash", "sha1": "hash", "sha256": "hash", "sha-256": "hash", "sha512": "hash",
    "file": "hash",
}
# STIX patterns imported: equality on these object paths only.
STIX_VALUE_TYPES = {"ipv4-addr": "ip", "ipv6-addr": "ip", "domain-name": "domain", "url": "url",
                    "email-addr": "email"}
STIX_HASHES = {"SHA-256", "MD5", "SHA-1"}
MAX_STIX_PATTERN_CHARS = 10_000


class ImportProblem(errors.InvalidInput):
    """A file that cannot be imported as a whole; the message names the line or object."""

    code = "invalid_import"


@dataclass
class ParsedIndicator:
    type: str
    value: str
    verdict: str = Verdict.MALICIOUS
    confidence: int = 75
    description: str = ""
    valid_until: dt.datetime | None = None
    external_id: str = ""


def _canonical(raw_type: str, value: str, where: str) -> tuple[str, str]:
    obs_type = TYPE_ALIASES.get((raw_type or "").strip().lower())
    if obs_type is None:
        raise ImportProblem(f"{where}: unknown indicator type {raw_type!r}.")
    try:
        return obs_type, make_observable(obs_type, value).value
    except NormalizationError as exc:
        raise ImportProblem(f"{where}: {exc}") from None


def _timestamp(text: str, where: str) -> dt.datetime | None:
    if not text:
        return None
    parsed = parse_datetime(text.strip())
    if parsed is None:
        raise ImportProblem(f"{where}: bad timestamp {text!r} (use ISO 8601).")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _confidence(text, where: str, default: int = 75) -> int:
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ImportProblem(f"{where}: confidence must be an integer 0-100.") from None
    if not 0 <= value <= 100:
        raise ImportProblem(f"{where}: confidence must be an integer 0-100.")
    return value


def parse_intel_csv(text: str) -> list[ParsedIndicator]:
    """Columns: type,value[,verdict,confidence,description,valid_until] with a header row."""
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower() for f in (reader.fieldnames or [])}
    if not {"type", "value"} <= fields:
        raise ImportProblem("CSV needs a header row with at least the columns 'type' and 'value'.")
    items = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if not any(row.values()):
            continue
        where = f"line {line}"
        obs_type, value = _canonical(row.get("type", ""), row.get("value", ""), where)
        verdict = (row.get("verdict") or Verdict.MALICIOUS).lower()
        if verdict not in Verdict.values:
            raise ImportProblem(f"{where}: verdict must be one of {', '.join(Verdict.values)}.")
        items.append(ParsedIndicator(obs_type, value, verdict, _confidence(row.get("confidence"), where),
                                     row.get("description", "")[:5000], _timestamp(row.get("valid_until", ""), where)))
    return items


class _PatternListener(InspectionListener):
    """The library's inspector (every comparison with its object type, path and operator), plus
    whether a comparison AND joins terms inside an observation (the inspector does not say)."""

    def __init__(self):
        super().__init__()
        self.comparison_and = False

    def exitComparisonExpressionAnd(self, ctx):  # noqa: N802 - the ANTLR listener's name
        if ctx.AND():
            self.comparison_and = True


def _unsupported(reason: str) -> ImportProblem:
    return ImportProblem(f"skipped: {reason} (only equality comparisons of supported types, joined by OR)")


def _stix_terms(pattern: str) -> list[tuple[str, str]]:
    """(type, value) pairs of a pattern that is a plain observation of equality comparisons of
    supported types, possibly OR'ed (as observations or inside one); parsed by the OASIS
    ``stix2-patterns`` library. Any other pattern raises ImportProblem with the reason."""
    if len(pattern) > MAX_STIX_PATTERN_CHARS:
        raise _unsupported(f"pattern longer than {MAX_STIX_PATTERN_CHARS} characters")
    listener = _PatternListener()
    try:
        Pattern(pattern).walk(listener)
    except ParseException as exc:
        raise _unsupported(f"not a valid STIX pattern ({str(exc)[:200]})") from None
    except RecursionError:  # the parser recurses per nesting level: "((((...": refused, not a crash
        raise _unsupported("pattern nested too deeply") from None
    data = listener.pattern_data()
    if data.qualifiers:
        raise _unsupported(f"qualifier {sorted(data.qualifiers)[0]}")
    joins = set(data.observation_ops) - {"OR"}
    if joins:
        raise _unsupported(f"observations joined by {sorted(joins)[0]}")
    if listener.comparison_and and set(data.comparisons) != {"file"}:
        # Several hashes of one file may be AND'ed; anything else needs all terms at once.
        raise _unsupported("comparisons joined by AND")
    pairs = []
    for object_type, terms in data.comparisons.items():
        for path, operator, literal in terms:
            where = f"{object_type}:{'.'.join(str(part) for part in path)}"
            if operator != "=":
                raise _unsupported(f"operator {operator!r} in {where}")
            if not (literal.startswith("'") and literal.endswith("'") and len(literal) >= 2):
                raise _unsupported(f"non-string value in {where}")
            value = literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")
            if object_type in STIX_VALUE_TYPES and path == ["value"]:
                pairs.append((STIX_VALUE_TYPES[object_type], value))
            elif object_type == "file" and len(path) == 2 and path[0] == "hashes" \
                    and str(path[1]).upper() in STIX_HASHES:
                pairs.append(("hash", value))
            else:
                raise _unsupported(f"unsupported term {where}")
    if not pairs:
        raise _unsupported("no comparison")
    return pairs


def _strings(value) -> list[str]:
    """STIX list properties as found in the wild: a list, or a single string."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, str | int | float)]
    return []


@dataclass
class StixImport:
    items: list[ParsedIndicator]
    skipped: list[str]  # "object N (id): skipped: reason"


def load_stix_bundle(text: str) -> dict:
    try:
        bundle = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportProblem(f"not valid JSON: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle" or not isinstance(bundle.get("objects"), list):
        raise ImportProblem("not a STIX 2.1 bundle (expected {\"type\": \"bundle\", \"objects\": [...]}).")
    return bundle


def parse_stix_bundle(text: str) -> StixImport:
    bundle = load_stix_bundle(text)
    items, skipped = [], []
    for index, obj in enumerate(bundle["objects"]):
        if not isinstance(obj, dict) or obj.get("type") != "indicator":
            continue
        where = f"object {index} ({obj.get('id', 'no id')})"
        if obj.get("revoked"):
            continue
        if obj.get("pattern_type", "stix") != "stix":
            skipped.append(f"{where}: skipped: pattern_type {obj.get('pattern_type')!r} is not supported")
            continue
        try:
            terms = _stix_terms(str(obj.get("pattern", "")))
        except ImportProblem as exc:
            skipped.append(f"{where}: {exc}")
            continue
        labels = {label.lower() for label in _strings(obj.get("labels")) + _strings(obj.get("indicator_types"))}
        verdict = Verdict.BENIGN if "benign" in labels else (
            Verdict.SUSPICIOUS if labels & {"anomalous-activity", "suspicious"} else Verdict.MALICIOUS)
        description = str(obj.get("description") or obj.get("name") or "")[:5000]
        for raw_type, raw_value in terms:
            obs_type, value = _canonical(raw_type, raw_value, where)
            items.append(ParsedIndicator(obs_type, value, verdict, _confidence(obj.get("confidence"), where),
                                         description, _timestamp(obj.get("valid_until", ""), where),
                                         str(obj.get("id", ""))[:200]))
    if skipped and not items:
        raise ImportProblem("no supported indicator in the bundle; " + "; ".join(skipped[:5]))
    return StixImport(items, skipped)


# --- MITRE ATT&CK: the enterprise-attack bundle is a catalogue, not indicators (issue 18) ---

def is_attack_bundle(text: str) -> bool:
    """Whether a STIX bundle is an ATT&CK catalogue (x-mitre-tactic / attack-pattern objects)."""
    return attack_stix.is_attack_bundle(load_stix_bundle(text)["objects"])


def import_attack_bundle(text: str) -> tuple[CatalogueImport, list[str], int]:
    """Import the bundle's tactics and techniques (attack.services), then link the stored alerts
    naming techniques the catalogue did not know (and their cases). (result, skipped, alerts linked)."""
    catalogue = attack_stix.parse_attack_objects(load_stix_bundle(text)["objects"])
    try:
        result = attack_services.import_catalogue(catalogue)
    except attack_services.CatalogueProblem as exc:
        raise ImportProblem(str(exc)) from None
    return result, catalogue.skipped, attack_mapping.relink_alerts(result.new_external_ids)


@transaction.atomic
def save_indicators(items: list[ParsedIndicator], source: str) -> tuple[int, int]:
    created = updated = 0
    for item in items:
        _, was_created = Indicator.objects.update_or_create(
            type=item.type, value=item.value, source=source,
            defaults={"verdict": item.verdict, "confidence": item.confidence, "description": item.description,
                      "valid_until": item.valid_until, "external_id": item.external_id},
        )
        created += was_created
        updated += not was_created
    return created, updated


ASSET_BOOL_TRUE = {"1", "true", "yes", "y", "vip"}


def parse_assets_csv(text: str) -> list[dict]:
    """Columns: kind,name[,owner,department,criticality,os,vip,ip_address,email]."""
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower() for f in (reader.fieldnames or [])}
    if not {"kind", "name"} <= fields:
        raise ImportProblem("CSV needs a header row with at least the columns 'kind' and 'name'.")
    rows = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if not any(row.values()):
            continue
        where = f"line {line}"
        kind = row.get("kind", "").lower()
        if kind not in Asset.Kind.values:
            raise ImportProblem(f"{where}: kind must be 'host' or 'user'.")
        if not row.get("name"):
            raise ImportProblem(f"{where}: name is required.")
        criticality = (row.get("criticality") or Asset.Criticality.MEDIUM).lower()
        if criticality not in Asset.Criticality.values:
            raise ImportProblem(f"{where}: criticality must be one of {', '.join(Asset.Criticality.values)}.")
        ip_address = row.get("ip_address") or None
        if ip_address:
            _, ip_address = _canonical("ip", ip_address, where)
        rows.append({"kind": kind, "name": row["name"].lower()[:255], "owner": row.get("owner", "")[:150],
                     "department": row.get("department", "")[:150], "criticality": criticality,
                     "os": row.get("os", "")[:100], "vip": row.get("vip", "").lower() in ASSET_BOOL_TRUE,
                     "ip_address": ip_address, "email": row.get("email", "").lower()[:254]})
    return rows


@transaction.atomic
def save_assets(rows: list[dict]) -> tuple[int, int]:
    created = updated = 0
    for row in rows:
        defaults = {k: v for k, v in row.items() if k not in ("kind", "name")}
        _, was_created = Asset.objects.update_or_create(kind=row["kind"], name=row["name"], defaults=defaults)
        created += was_created
        updated += not was_created
    return created, updated
