"""Elastic Security detection alerts (ECS documents from `.alerts-security.alerts-*`).

Accepted payloads: one alert document, a list of them, ``{"alerts": [...]}`` (what a
webhook connector sends with ``{{context.alerts}}``) or a search hit ``{"_id", "_source"}``.
Every field may be written nested or as a dotted flat key; both are read::

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
"""

from __future__ import annotations

from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    Errors,
    as_list,
    batch,
    field,
    first,
    host_observable,
    pairs_observables,
    parse_each,
    severity_or,
    timestamp,
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


def _parse_doc(doc: Any) -> NormalizedAlert:
    if isinstance(doc, dict) and isinstance(doc.get("_source"), dict):
        doc = {**doc["_source"], "_id": doc.get("_id")}
    if not isinstance(doc, dict):
        raise NormalizationError("Expected an alert document (JSON object).")
    errors = Errors()
    title = first(field(doc, "kibana.alert.rule.name"), field(doc, "signal.rule.name"), field(doc, "rule.name"))
    if not title:
        errors.add("kibana.alert.rule.name", "This field is required.")
    risk, risk_text = _risk(doc)
    sev_raw = first(field(doc, "kibana.alert.severity"), field(doc, "signal.rule.severity"), limit=64)
    severity = severity_or(sev_raw, "")
    if not severity:
        # Rules without an explicit severity still carry a risk score.
        severity = severity_or(risk, "medium", scale=RISK_SCALE) if risk is not None else "medium"
    # The source event's time is when it happened; @timestamp is when the rule ran.
    when_field = "kibana.alert.original_time" if field(doc, "kibana.alert.original_time") else "@timestamp"
    when = errors.check(when_field, lambda: timestamp(field(doc, when_field), when_field))
    errors.raise_if_any()

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
        source_ref=first(field(doc, "kibana.alert.uuid"), doc.get("_id"), limit=255),
        description=description,
        confidence=int(risk) if risk is not None else 50,
        category=_tactic(doc) or first(field(doc, "kibana.alert.rule.category"), limit=100),
        entity_type=entity.type if entity else "",
        entity_value=entity.value if entity else "",
        observables=observables,
        occurred_at=when,
        raw=doc,
    )


@register
class ElasticAdapter(Adapter):
    kind = "elastic"
    label = "Elastic Security"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        if isinstance(payload, dict) and "alerts" in payload:
            return parse_each(batch(payload["alerts"]), _parse_doc)
        if isinstance(payload, list):
            return parse_each(batch(payload), _parse_doc)
        return [_parse_doc(self.require_object(payload))]
