"""Suricata EVE JSON records with ``event_type: "alert"`` (one eve.json line).

    {
      "timestamp": "2026-11-25T10:00:00.123456+0000",  -> occurred_at
      "flow_id": 1234567890123456, "event_type": "alert", "in_iface": "eth0",
      "src_ip": "203.0.113.7", "src_port": 51514,      -> entity (the initiator)
      "dest_ip": "198.51.100.10", "dest_port": 80, "proto": "TCP", "app_proto": "http",
      "alert": {"action": "allowed", "gid": 1, "signature_id": 2024897, "rev": 3,
                "signature": "ET ...",                 -> title (required)
                "category": "...",                     -> category
                "severity": 1},                        1-3, 1 is the most severe
      "http": {"hostname", "url", "http_user_agent"}, "dns": {"rrname" | "query": [...]},
      "tls": {"sni"}, "fileinfo": {"sha256", "md5"}
    }

Severity: 1 -> high, 2 -> medium, 3 -> low, 4 and above -> info (Suricata's classification
priorities), raised to critical / high by the rule's ``metadata.signature_severity`` "Critical" /
"Major" (Emerging Threats rules carry it). Confidence from ``metadata.confidence`` (ET: High 90,
Medium 70, Low 50; absent 50). Identity (source_ref): flow_id, tx_id, signature_id and both
endpoints, so another transaction of the same flow, or another host's hit on the same
signature, stays a distinct alert while a re-sent event counts on the stored one.
Also read inside the envelopes pipelines use (search hits, lists). Other event types (flow,
dns, http, stats ...) are rejected: they are telemetry, not alerts.
"""

from __future__ import annotations

from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    as_dict,
    as_list,
    batch,
    documents,
    first,
    pairs_observables,
    parse_each,
    scalar,
    timestamp_or_warn,
    title_or_warn,
    unwrap_hit,
    url_observables,
)
from alerts.normalization import SEVERITY_RANK, NormalizationError, NormalizedAlert
from soar.dotted import dig

SEVERITY_BY_PRIORITY = {1: "high", 2: "medium", 3: "low"}
SIGNATURE_SEVERITY = {"critical": "critical", "major": "high"}
CONFIDENCE = {"high": 90, "medium": 70, "low": 50}


def _severity(value: Any, warnings: list[str]) -> str:
    if value is None:
        return "medium"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 255:
        warnings.append(f"alert.severity: {scalar(value, 20)!r} is not a priority from 1 to 255; taken as medium.")
        return "medium"
    return SEVERITY_BY_PRIORITY.get(value, "info")


def _metadata(alert: dict, name: str) -> str:
    meta = alert.get("metadata")
    return first(*as_list(meta.get(name))[:1], limit=40).lower() if isinstance(meta, dict) else ""


def _http_url(http: Any) -> str:
    """EVE logs the request target (usually a path); rebuild an absolute URL with the Host."""
    url, host = first(dig(http, "url"), limit=2000), first(dig(http, "hostname"), limit=255)
    if url.startswith("/") and host:
        return f"http://{host}{url}"
    return url if "://" in url else ""


def _parse_event(event: Any) -> NormalizedAlert:
    data = unwrap_hit(event)
    if not isinstance(data, dict):
        raise NormalizationError("Expected an EVE event (JSON object).")
    if data.get("event_type") != "alert":
        raise NormalizationError({"event_type": [
            f"Only 'alert' events are accepted; got {scalar(data.get('event_type'), 40)!r}."]})
    alert = data.get("alert")
    if not isinstance(alert, dict):
        raise NormalizationError({"alert": ["This field is required and must be an object."]})
    warnings: list[str] = []
    sid = first(alert.get("signature_id"), limit=20)
    title = title_or_warn(first(alert.get("signature"), limit=500), f"Suricata signature {sid or '?'}",
                          "alert.signature", warnings)
    severity = _severity(alert.get("severity"), warnings)
    raised = SIGNATURE_SEVERITY.get(_metadata(alert, "signature_severity"), "")
    if raised and SEVERITY_RANK[raised] > SEVERITY_RANK[severity]:
        severity = raised
    when = timestamp_or_warn(data.get("timestamp"), "timestamp", warnings)

    dns = as_dict(data.get("dns"))
    # EVE dns v2 logs "query": [...]; Suricata 7+ (dns v3) logs "queries": [...].
    queries = [dig(q, "rrname") for key in ("query", "queries") for q in as_list(dns.get(key))[:20]]
    src = pairs_observables([("ip", data.get("src_ip"))])
    observables = src + pairs_observables([
        ("ip", data.get("dest_ip")),
        ("domain", dig(data, "http.hostname")),
        ("domain", dig(data, "tls.sni")),
        ("domain", dns.get("rrname")),
        ("domain", queries),
        ("hash", dig(data, "fileinfo.sha256")),
        ("hash", dig(data, "fileinfo.sha1")),
        ("hash", dig(data, "fileinfo.md5")),
        ("email", dig(data, "email.from")),
        ("email", dig(data, "email.to")),
    ]) + url_observables([_http_url(data.get("http"))])
    flow = first(data.get("flow_id"), limit=40)

    def endpoint(ip: str, port: str) -> str:
        port_text = first(data.get(port), limit=10)
        return first(data.get(ip), limit=64) + (f":{port_text}" if port_text else "")

    source, dest = endpoint("src_ip", "src_port"), endpoint("dest_ip", "dest_port")
    # Without a flow id the event's time stands in for it (still a stable re-send identity).
    identity = [flow or first(data.get("timestamp"), limit=64), first(data.get("tx_id"), limit=20), sid,
                source, dest]
    proto = first(data.get("proto"), limit=20) or "?"
    rev, action = first(alert.get("rev"), limit=10) or "?", first(alert.get("action"), limit=20) or "?"
    details = [
        f"{proto} {source} -> {dest}",
        f"Signature {sid or '?'} rev {rev}, action {action}",
        f"App protocol: {first(data.get('app_proto'), limit=40)}" if first(data.get("app_proto")) else "",
        f"Sensor interface: {first(data.get('in_iface'), limit=64)}" if first(data.get("in_iface")) else "",
        f"Host: {first(data.get('host'), limit=200)}" if first(data.get("host")) else "",
    ]
    return NormalizedAlert(
        title=title,
        severity=severity,
        severity_raw=scalar(alert.get("severity"), 8),
        source_ref="|".join(identity) if any(identity[:3]) else "",
        description="\n".join(filter(None, details)),
        confidence=CONFIDENCE.get(_metadata(alert, "confidence"), 50),
        category=first(alert.get("category"), limit=100),
        entity_type=src[0].type if src else "",
        entity_value=src[0].value if src else "",
        observables=observables,
        occurred_at=when,
        raw=data,
        warnings=warnings,
        # ET rules' "metadata: mitre_technique_id T1190" becomes a list in EVE.
        attack_ids=as_list(dig(alert, "metadata.mitre_technique_id"))[:50],
    )


@register
class SuricataAdapter(Adapter):
    kind = "suricata"
    label = "Suricata (EVE JSON)"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        docs = documents(payload)
        if docs is not None:
            return parse_each(batch(docs), _parse_event)
        return [_parse_event(self.require_object(payload))]
