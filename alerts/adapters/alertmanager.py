"""Prometheus Alertmanager webhook (payload version 4): one notification, N alerts.

    {
      "version": "4", "groupKey": "{}:{alertname=\\"InstanceDown\\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "mini-soar", "externalURL": "https://am.example.com",
      "groupLabels": {...}, "commonLabels": {...}, "commonAnnotations": {...},
      "alerts": [{
        "status": "firing" | "resolved",
        "labels": {"alertname": "InstanceDown",        -> title (required)
                   "severity": "critical",              -> severity (default medium)
                   "instance": "web-01.example.com:9100", ...},  -> entity (port stripped)
        "annotations": {"summary": "...", "description": "..."},
        "startsAt": "2026-11-25T10:00:00Z",            -> occurred_at
        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "...",
        "fingerprint": "c0ffee0123456789"              -> fingerprint
      }]
    }

Each element becomes one alert; its labels are merged over commonLabels. Title is
"<alertname>: <summary>". source_ref is "<fingerprint>:<startsAt>" so re-sent notifications
dedupe, with ":resolved" appended for resolved alerts so the resolution is ingested too,
as severity info with the title prefixed "[RESOLVED] ". Unknown severity labels -> medium.
"""

from __future__ import annotations

import re
from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    Errors,
    batch,
    first,
    host_observable,
    pairs_observables,
    parse_each,
    scalar,
    severity_or,
    timestamp,
    url_host,
)
from alerts.normalization import (
    NormalizationError,
    NormalizedAlert,
    as_text,
    compute_fingerprint,
)


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


def _parse_alert(item: Any, group: dict) -> NormalizedAlert:
    if not isinstance(item, dict):
        raise NormalizationError("Expected an alert object.")
    errors = Errors()
    common = errors.check("commonLabels", lambda: _labels(group.get("commonLabels"), "commonLabels"), {})
    labels = {**common, **errors.check("labels", lambda: _labels(item.get("labels"), "labels"), {})}
    annotations = errors.check("annotations", lambda: _labels(item.get("annotations"), "annotations"), {})
    name = first(labels.get("alertname"), limit=200)
    if not name:
        errors.add("labels.alertname", "This field is required.")
    when = errors.check("startsAt", lambda: timestamp(item.get("startsAt"), "startsAt"))
    errors.raise_if_any()

    resolved = first(item.get("status"), group.get("status"), limit=20).lower() == "resolved"
    sev_raw = first(labels.get("severity"), limit=64)
    summary = first(annotations.get("summary"), limit=400)
    title = f"{name}: {summary}" if summary else name
    host = host_observable(_instance_host(labels.get("instance"))) or host_observable(
        first(labels.get("host"), labels.get("hostname"), labels.get("node"), limit=300))
    observables = ([host] if host else []) + pairs_observables([
        ("ip", labels.get("ip")), ("user", labels.get("user")),
    ])
    # Alertmanager's fingerprint is a hex hash of the label set; anything else is not one.
    fingerprint = first(item.get("fingerprint"), limit=64).lower()
    if not re.fullmatch(r"[0-9a-fA-F]{1,64}", fingerprint):
        fingerprint = ""
    # Canonical form, so the same instant written differently still dedupes.
    started = when.isoformat() if when else ""
    label_set = sorted((str(k)[:200], scalar(v, 500)) for k, v in labels.items())
    ref = fingerprint or compute_fingerprint(as_text(label_set))[:16]
    labels_text = "\n".join(f"{str(k)[:100]}={scalar(v, 300)}" for k, v in list(labels.items())[:50])
    return NormalizedAlert(
        title=("[RESOLVED] " if resolved else "") + title,
        severity="info" if resolved else severity_or(sev_raw, "medium"),
        severity_raw=sev_raw,
        source_ref=":".join(filter(None, (ref, started, "resolved" if resolved else ""))),
        description="\n\n".join(filter(None, (
            first(annotations.get("description"), annotations.get("message"), limit=10_000),
            labels_text, first(item.get("generatorURL"), limit=2000)))),
        category=first(labels.get("category"), limit=100),
        entity_type=host.type if host else "",
        entity_value=host.value if host else "",
        observables=observables,
        occurred_at=when,
        fingerprint=fingerprint,
        raw={**item, "labels": labels, "groupKey": group.get("groupKey"), "receiver": group.get("receiver")},
    )


@register
class AlertmanagerAdapter(Adapter):
    kind = "alertmanager"
    label = "Prometheus Alertmanager"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        data = self.require_object(payload)
        version = data.get("version")
        if version is not None and scalar(version, 10) != "4":
            raise NormalizationError({"version": ["Only webhook payload version 4 is supported."]})
        return parse_each(batch(data.get("alerts")), lambda item: _parse_alert(item, data))
