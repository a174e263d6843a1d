"""Prometheus Alertmanager webhook (payload versions 4 and older; Grafana's unified alerting
sends the same shape with version "1"): one notification, N alerts.

    {
      "version": "4", "groupKey": "{}:{alertname=\\"InstanceDown\\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "mini-soar", "externalURL": "https://am.example.com",
      "groupLabels": {...}, "commonLabels": {...}, "commonAnnotations": {...},
      "alerts": [{
        "status": "firing" | "resolved",
        "labels": {"alertname": "InstanceDown",        -> title (else the group key; warning)
                   "severity": "critical",              -> severity (absent or unknown: medium)
                   "confidence": "80",                  -> confidence 0-100 (default 50)
                   "instance": "web-01.example.com:9100", ...},  -> entity (port stripped)
        "annotations": {"summary": "...", "description": "..."},
        "startsAt": "2026-11-25T10:00:00Z",            -> occurred_at (unreadable: received time; warning)
        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "...",
        "fingerprint": "c0ffee0123456789"              -> fingerprint
      }]
    }

Each element becomes one alert; its labels are merged over commonLabels. Title is
"<alertname>: <summary>". Identity (source_ref) is "<fingerprint>:<startsAt>", the same for
the firing and the resolved notification: a re-sent notification counts on the stored alert,
and a "resolved" one marks that alert resolved (its group closes; see alerts/resolution.py).
A group of any size is taken (up to 10,000 alerts, within the body-size limit); when the sender
reports ``truncatedAlerts`` (its ``max_alerts``), each stored alert says how many were dropped.
Label values that look like an IP, URL, e-mail address or hash become observables too.
"""

from __future__ import annotations

import re
from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    Errors,
    batch,
    confidence_or_warn,
    first,
    host_observable,
    label_observables,
    pairs_observables,
    parse_each,
    scalar,
    severity_or_warn,
    timestamp_or_warn,
    url_host,
)
from alerts.normalization import (
    NormalizationError,
    NormalizedAlert,
    as_text,
    compute_fingerprint,
)

SUPPORTED_VERSIONS = ("4", "3", "2", "1")
HOST_LABELS = ("host", "hostname", "node", "nodename", "pod", "server", "target")


def _instance_host(value: Any) -> str:
    """Prometheus instance labels are host:port, [ipv6]:port or a probed URL."""
    text = scalar(value, 300)
    if "://" in text:
        return url_host(text)
    if text.startswith("[") and "]" in text:
        return text[1:text.index("]")]
    if text.count(":") == 1:
        return text.split(":")[0]
    return text


def _labels(value: Any, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NormalizationError({name: ["Must be an object."]})
    return value


def confidence_label(labels: dict, warnings: list[str]) -> int:
    return confidence_or_warn(labels.get("confidence"), "labels.confidence", warnings)


def parse_alert(item: Any, group: dict, *, extra_details: tuple[str, ...] = ()) -> NormalizedAlert:
    """One element of ``alerts``: shared by the Alertmanager and Grafana adapters."""
    if not isinstance(item, dict):
        raise NormalizationError("Expected an alert object.")
    errors = Errors()
    common = errors.check("commonLabels", lambda: _labels(group.get("commonLabels"), "commonLabels"), {})
    labels = {**common, **errors.check("labels", lambda: _labels(item.get("labels"), "labels"), {})}
    annotations = {**errors.check("commonAnnotations", lambda: _labels(group.get("commonAnnotations"),
                                                                        "commonAnnotations"), {}),
                   **errors.check("annotations", lambda: _labels(item.get("annotations"), "annotations"), {})}
    errors.raise_if_any()

    warnings: list[str] = []
    name = first(labels.get("alertname"), labels.get("rulename"), limit=200)
    if not name:
        name = first(group.get("title"), group.get("groupKey"), limit=200) or "Alert without a name"
        warnings.append("labels.alertname: missing; the title was made from the group.")
    when = timestamp_or_warn(item.get("startsAt"), "startsAt", warnings)
    resolved = first(item.get("status"), group.get("status"), limit=20).lower() == "resolved"
    sev_raw = first(labels.get("severity"), labels.get("priority"), labels.get("level"), limit=64)
    summary = first(annotations.get("summary"), annotations.get("title"), limit=400)
    host = host_observable(_instance_host(labels.get("instance"))) or host_observable(
        first(*(labels.get(name) for name in HOST_LABELS), limit=300))
    observables = ([host] if host else []) + pairs_observables([
        ("ip", labels.get("ip")), ("user", labels.get("user")), ("user", labels.get("username")),
    ]) + label_observables(labels)
    # Alertmanager's fingerprint is a hex hash of the label set; anything else is not one.
    fingerprint = first(item.get("fingerprint"), limit=64).lower()
    if not re.fullmatch(r"[0-9a-fA-F]{1,64}", fingerprint):
        fingerprint = ""
    # Canonical form, so the same instant written differently still dedupes.
    started = when.isoformat() if when else first(item.get("startsAt"), limit=64)
    label_set = sorted((str(k)[:200], scalar(v, 500)) for k, v in labels.items())
    ref = fingerprint or compute_fingerprint(as_text(label_set))[:16]
    truncated = first(group.get("truncatedAlerts"), limit=12)
    if truncated not in ("", "0"):
        warnings.append(f"The sender dropped {truncated} alert(s) of this group (truncatedAlerts; its max_alerts).")
    labels_text = "\n".join(f"{str(k)[:100]}={scalar(v, 300)}" for k, v in list(labels.items())[:50])
    return NormalizedAlert(
        title=f"{name}: {summary}" if summary else name,
        severity=severity_or_warn(sev_raw, "labels.severity", warnings),
        severity_raw=sev_raw,
        source_ref=":".join(filter(None, (ref, started))),
        description="\n\n".join(filter(None, (
            first(annotations.get("description"), annotations.get("message"), limit=10_000),
            *extra_details, labels_text, first(item.get("generatorURL"), limit=2000)))),
        confidence=confidence_label(labels, warnings),
        category=first(labels.get("category"), labels.get("team"), limit=100),
        entity_type=host.type if host else "",
        entity_value=host.value if host else "",
        observables=observables,
        occurred_at=when,
        fingerprint=fingerprint,
        raw={**item, "labels": labels, "groupKey": group.get("groupKey"), "receiver": group.get("receiver")},
        warnings=warnings,
        resolved=resolved,
    )


def check_version(data: dict, supported: tuple[str, ...]) -> list[str]:
    version = scalar(data.get("version"), 10)
    if version and version not in supported:
        return [f"version: payload version {version!r} is not one this adapter was written for; read as the "
                f"current one."]
    return []


@register
class AlertmanagerAdapter(Adapter):
    kind = "alertmanager"
    label = "Prometheus Alertmanager"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        data = self.require_object(payload)
        warnings = check_version(data, SUPPORTED_VERSIONS)
        alerts = parse_each(batch(data.get("alerts")), lambda item: parse_alert(item, data))
        for alert in alerts:
            alert.warnings[:0] = warnings
        return alerts
