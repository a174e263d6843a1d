"""Which correlation rule an alert falls under, the key its group is opened on, whether it
opens a case, and what the case is told: what the per-alert path (alerts.correlation) and the
chunked one (alerts.correlation_chunks) share, so that both write the same cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.models import Alert, CorrelationRule
from alerts.normalization import SEVERITY_RANK


@dataclass(frozen=True)
class LoadedRule:
    """An enabled rule with the ids of the sources it is limited to (none: every source)."""

    rule: CorrelationRule
    source_ids: frozenset[int]


def load_rules() -> list[LoadedRule]:
    """Enabled rules in priority order, with their source ids (read once per batch of alerts)."""
    rules = CorrelationRule.objects.filter(enabled=True).prefetch_related("sources")
    return [LoadedRule(rule, frozenset(source.pk for source in rule.sources.all())) for rule in rules]


def select_rule(alert: Alert, rules: list[LoadedRule]) -> CorrelationRule | None:
    for loaded in rules:
        if not loaded.source_ids or alert.source_id in loaded.source_ids:
            return loaded.rule
    return None


def correlation_key(rule: CorrelationRule, alert: Alert) -> str:
    """The key a new group is opened on (observable rules also join groups sharing any observable)."""
    if rule.key == CorrelationRule.Key.FINGERPRINT or not alert.entity_value:
        return f"fp:{alert.fingerprint}"
    return f"{alert.entity_type}:{alert.entity_value}"


def meets_threshold(rule: CorrelationRule, alert: Alert) -> bool:
    severe = SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[rule.min_severity]
    confident = alert.confidence >= rule.min_confidence
    if rule.threshold_mode == CorrelationRule.ThresholdMode.ANY:
        return severe or confident
    return severe and confident


def opened_case_description(rule: CorrelationRule, key: str) -> str:
    return f"Opened automatically by rule '{rule.name}' for {key[:300]}."


def attached_alert(alert: Alert, observable_ids: list[int]) -> dict[str, Any]:
    """An alert as cases.services.record_alerts_attached(_bulk) takes it."""
    return {"id": alert.pk, "title": alert.title, "severity": alert.severity, "confidence": alert.confidence,
            "observable_ids": observable_ids}
