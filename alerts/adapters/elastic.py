"""Elastic Security detection alerts (ECS documents from `.alerts-security.alerts-*`).

Accepted payloads: one alert document, a list of them, ``{"alerts": [...]}`` (what a
webhook connector sends with ``{{context.alerts}}``), a search hit ``{"_id", "_source"}``, a
search response ``{"hits": {"hits": [...]}}`` or a bulk body as a list (action lines skipped).
Elastic 8.x ``kibana.alert.*`` and 7.x ``signal.*`` documents are both read. Every field may be
written nested or as a dotted flat key; both are read::

    {
      "@timestamp": "2026-11-25T10:00:00.000Z",
      "kibana.alert.uuid": "...",                     -> source_ref
      "kibana.alert.rule.name": "...",                -> title (required)
      "kibana.alert.severity": "high",                low|medium|high|critical
      "kibana.alert.risk_score": 73,                  0-100 -> confidence (and severity fallback)
      "kibana.alert.reason": "...",                   -> description
      "kibana.alert.original_time": "...",            -> occurred_at (else @timestamp)
      "kibana.alert.rule.threat": [{"tactic": {"name": "..."}}],  or "threat.tactic.name"
      "host": {"name", "ip"}, "source.ip", "destination.ip", "user.name", "url.full",
      "file.hash.sha256|sha1|md5", "process.name", "dns.question.name"
    }

Entity: host.name, else source.ip, else user.name (endpoint alerts are about a host).
Identity: kibana.alert.uuid, else the document ``_id``, else (7.x) signal.parent.id + rule id.
Severity: the rule's severity word, else from the risk score; confidence: the risk score
(0-100; 50 when absent). A document without a rule name or with an unreadable time is still an
alert (title from the reason/event, received time), with a warning.
"""

from __future__ import annotations

from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    as_list,
    batch,
    documents,
    field,
    first,
    host_observable,
    pairs_observables,
    parse_each,
    severity_or,
    timestamp_or_warn,
    title_or_warn,
    unwrap_hit,
    url_observables,
)
from alerts.normalization import NormalizationError, NormalizedAlert

# Elastic's default risk score per severity (low 21, medium 47, high 73, critical 99).
RISK_SCALE = (21, 47, 73, 99)


def _risk(doc: dict) -> tuple[float | None, str]:
    text = first(field(doc, "kibana.alert.risk_score"), field(doc, "signal.rule.risk_score"), limit=32)
    try:
        risk = float(text)
    except ValueError:
        return None, ""
    return (risk, text) if 0 <= risk <= 100 else (None, "")


def _tactic(doc: dict) -> str:
    for threat in as_list(field(doc, "kibana.alert.rule.threat"))[:20]:
        name = first(field(threat, "tactic.name"), limit=100)
        if name:
            return name
    return first(*as_list(field(doc, "threat.tactic.name"))[:5], limit=100)


def _techniques(doc: dict) -> list[Any]:
    """ATT&CK technique and sub-technique ids of the rule's threat mapping (8.x
    kibana.alert.rule.threat, 7.x signal.rule.threat) and of ECS ``threat`` on the event itself
    (an object or a list; ``threat.technique.id`` may also arrive as dotted flat keys)."""
    ids: list[Any] = []
    threats = (as_list(field(doc, "kibana.alert.rule.threat"))[:20] + as_list(field(doc, "signal.rule.threat"))[:20]
               + as_list(doc.get("threat"))[:20])
    for threat in threats:
        for technique in as_list(field(threat, "technique"))[:50]:
            ids += as_list(field(technique, "id"))[:50]
            ids += [field(sub, "id") for sub in as_list(field(technique, "subtechnique"))[:50]]
    ids += as_list(field(doc, "threat.technique.id"))[:50]
    ids += as_list(field(doc, "threat.technique.subtechnique.id"))[:50]
    return ids


def _parse_doc(doc: Any) -> NormalizedAlert:
    doc = unwrap_hit(doc)
    if not isinstance(doc, dict):
        raise NormalizationError("Expected an alert document (JSON object).")
    if not any(value not in (None, "", {}, []) for key, value in doc.items() if key not in ("_id", "_index")):
        raise NormalizationError("The alert document is empty.")
    warnings: list[str] = []
    title = title_or_warn(
        first(field(doc, "kibana.alert.rule.name"), field(doc, "signal.rule.name"), field(doc, "rule.name"),
              limit=500),
        first(field(doc, "kibana.alert.reason"), field(doc, "signal.reason"), field(doc, "event.action"),
              field(doc, "message"), limit=300) or "Elastic detection alert",
        "kibana.alert.rule.name", warnings)
    risk, risk_text = _risk(doc)
    sev_raw = first(field(doc, "kibana.alert.severity"), field(doc, "signal.rule.severity"), limit=64)
    severity = severity_or(sev_raw, "")
    if not severity:
        if sev_raw:
            warnings.append(f"kibana.alert.severity: unknown severity {sev_raw!r}; taken from the risk score.")
        # Rules without an explicit severity still carry a risk score.
        severity = severity_or(risk, "medium", scale=RISK_SCALE) if risk is not None else "medium"
    # The source event's time is when it happened; @timestamp is when the rule ran.
    when_field = next((name for name in ("kibana.alert.original_time", "signal.original_time", "@timestamp")
                       if field(doc, name)), "@timestamp")
    when = timestamp_or_warn(field(doc, when_field), when_field, warnings)

    host = host_observable(first(*as_list(field(doc, "host.name"))[:1], *as_list(field(doc, "host.hostname"))[:1]))
    observables = ([host] if host else []) + pairs_observables([
        ("ip", field(doc, "host.ip")),
        ("ip", field(doc, "source.ip")),
        ("ip", field(doc, "destination.ip")),
        ("user", field(doc, "user.name")),
        ("domain", field(doc, "source.domain")),
        ("domain", field(doc, "destination.domain")),
        ("domain", field(doc, "dns.question.name")),
        ("hash", field(doc, "file.hash.sha256")),
        ("hash", field(doc, "file.hash.sha1")),
        ("hash", field(doc, "file.hash.md5")),
        ("hash", field(doc, "process.hash.sha256")),
        ("process", field(doc, "process.name")),
        ("email", field(doc, "email.from.address")),
    ]) + url_observables(as_list(field(doc, "url.full"))[:20])
    # Prefer host, then the network source, then the user as the thing the alert is about.
    entity = host or next((o for o in observables if o.type == "ip"), None) or next(
        (o for o in observables if o.type == "user"), None)
    description = "\n\n".join(filter(None, (
        first(field(doc, "kibana.alert.reason"), field(doc, "signal.reason")),
        first(field(doc, "kibana.alert.rule.description"), field(doc, "signal.rule.description")),
    )))
    return NormalizedAlert(
        title=title,
        severity=severity,
        severity_raw=sev_raw or risk_text,
        source_ref=_identity(doc),
        description=description,
        confidence=int(risk) if risk is not None else 50,
        category=_tactic(doc) or first(field(doc, "kibana.alert.rule.category"), limit=100),
        entity_type=entity.type if entity else "",
        entity_value=entity.value if entity else "",
        observables=observables,
        occurred_at=when,
        raw=doc,
        warnings=warnings,
        attack_ids=_techniques(doc),
    )


def _identity(doc: dict) -> str:
    found = first(field(doc, "kibana.alert.uuid"), doc.get("_id"), limit=255)
    if found:
        return found
    parent, rule = first(field(doc, "signal.parent.id"), limit=120), first(field(doc, "signal.rule.id"), limit=120)
    return f"{rule}:{parent}" if parent and rule else ""


@register
class ElasticAdapter(Adapter):
    kind = "elastic"
    label = "Elastic Security"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        docs = documents(payload)
        if docs is not None:
            return parse_each(batch(docs), _parse_doc)
        return [_parse_doc(self.require_object(payload))]
