"""Grafana alerting webhooks: unified (Grafana-managed) alerting and the legacy dashboard alerts.

Unified alerting (Grafana 8+, ``"version": "1"``) sends Alertmanager's group shape plus a few
fields, read like the Alertmanager adapter reads its alerts (same identity, resolution and
truncation rules)::

    {"receiver": "...", "status": "firing", "orgId": 1, "version": "1", "groupKey": "...",
     "truncatedAlerts": 0, "title": "[FIRING:1] ...", "state": "alerting", "message": "...",
     "commonLabels": {...}, "commonAnnotations": {...}, "externalURL": "...",
     "alerts": [{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
                 "fingerprint", "silenceURL", "dashboardURL", "panelURL", "imageURL",
                 "values": {"B": 22.5}, "valueString": "[ var='B' labels={...} value=22.5 ]"}]}

Legacy dashboard alerts (Grafana 4-10's "alerting" on panels) send one rule's state::

    {"title": "[Alerting] Panel Title alert", "ruleId": 1, "ruleName": "Panel Title alert",
     "ruleUrl": "...", "state": "alerting" | "ok" | "no_data" | "pending" | "paused",
     "message": "...", "evalMatches": [{"metric": "...", "value": 1, "tags": {...}}],
     "dashboardId": 1, "panelId": 2, "orgId": 1, "imageUrl": "...", "tags": {"severity": "high"}}

Legacy: title from ruleName; severity from the ``severity`` tag (default medium); identity
``legacy:<orgId>:<dashboardId>:<panelId>:<ruleId>`` (the payload carries no start time): an
"ok" notification resolves the firing alert, and a later "alerting" starts a new alert.
Entity and observables come from evalMatches tags and rule tags (instance/host labels).
"""

from __future__ import annotations

from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    as_dict,
    as_list,
    batch,
    first,
    host_observable,
    label_observables,
    parse_each,
    scalar,
    severity_or_warn,
    title_or_warn,
)
from alerts.adapters.alertmanager import check_version, confidence_label, parse_alert
from alerts.normalization import NormalizationError, NormalizedAlert

UNIFIED_VERSIONS = ("1",)
LEGACY_RESOLVED_STATES = ("ok",)


def _unified_details(item: Any) -> tuple[str, ...]:
    if not isinstance(item, dict):
        return ()
    return tuple(filter(None, (
        f"Values: {first(item.get('valueString'), limit=2000)}" if first(item.get("valueString")) else "",
        f"Dashboard: {first(item.get('dashboardURL'), limit=2000)}" if first(item.get("dashboardURL")) else "",
        f"Panel: {first(item.get('panelURL'), limit=2000)}" if first(item.get("panelURL")) else "",
    )))


def _parse_unified(data: dict) -> list[NormalizedAlert]:
    warnings = check_version(data, UNIFIED_VERSIONS)
    alerts = parse_each(batch(data.get("alerts")),
                        lambda item: parse_alert(item, data, extra_details=_unified_details(item)))
    for alert in alerts:
        alert.warnings[:0] = warnings
    return alerts


def _parse_legacy(data: dict) -> list[NormalizedAlert]:
    warnings: list[str] = []
    tags = as_dict(data.get("tags"))
    matches = [m for m in as_list(data.get("evalMatches"))[:100] if isinstance(m, dict)]
    match_tags: dict[str, Any] = {}
    for match in matches:
        for key, value in (match.get("tags") or {}).items() if isinstance(match.get("tags"), dict) else ():
            match_tags.setdefault(key, value)
    labels = {**match_tags, **tags}
    rule_name = first(data.get("ruleName"), limit=400)
    title = title_or_warn(rule_name, first(data.get("title"), limit=400) or "Grafana alert", "ruleName", warnings)
    state = first(data.get("state"), limit=20).lower()
    sev_raw = first(tags.get("severity"), tags.get("priority"), limit=64)
    host = host_observable(first(labels.get("instance"), labels.get("host"), labels.get("hostname"), limit=300)
                           .rsplit(":", 1)[0])
    observables = ([host] if host else []) + label_observables(labels)
    identity = ":".join(scalar(data.get(key), 20) or "-" for key in ("orgId", "dashboardId", "panelId", "ruleId"))
    metrics = "\n".join(
        f"{first(m.get('metric'), limit=200) or '?'} = {scalar(m.get('value'), 40) or '?'}" for m in matches[:20]
    )
    return [NormalizedAlert(
        title=title,
        severity=severity_or_warn(sev_raw, "tags.severity", warnings),
        severity_raw=sev_raw,
        source_ref=f"legacy:{identity}" if scalar(data.get("ruleId"), 20) else "",
        description="\n\n".join(filter(None, (
            first(data.get("message"), limit=10_000), f"State: {state}" if state else "", metrics,
            first(data.get("ruleUrl"), limit=2000)))),
        confidence=confidence_label(tags, warnings),
        category=first(tags.get("category"), limit=100),
        entity_type=host.type if host else "",
        entity_value=host.value if host else "",
        observables=observables,
        warnings=warnings,
        resolved=state in LEGACY_RESOLVED_STATES,
    )]


@register
class GrafanaAdapter(Adapter):
    kind = "grafana"
    label = "Grafana alerting"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        data = self.require_object(payload)
        if "alerts" in data:
            return _parse_unified(data)
        if any(key in data for key in ("ruleId", "ruleName", "evalMatches")):
            return _parse_legacy(data)
        raise NormalizationError({"alerts": [
            "Expected Grafana's unified alerting payload (with 'alerts') or a legacy dashboard alert "
            "(with 'ruleName'/'ruleId')."]})
