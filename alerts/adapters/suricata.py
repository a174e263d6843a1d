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
priorities; it has no "critical", that is left to correlation). source_ref: flow_id:signature_id.
Other event types (flow, dns, http, stats ...) are rejected: they are telemetry, not alerts.
"""

from __future__ import annotations

from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    Errors,
    as_list,
    first,
    pairs_observables,
    scalar,
    timestamp,
    url_observables,
)
from alerts.normalization import NormalizationError, NormalizedAlert, dig

SEVERITY_BY_PRIORITY = {1: "high", 2: "medium", 3: "low"}


def _severity(value: Any) -> str:
    if value is None:
        return "medium"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 255:
        raise NormalizationError({"alert.severity": ["Must be an integer from 1 (highest) to 255."]})
    return SEVERITY_BY_PRIORITY.get(value, "info")


def _http_url(http: Any) -> str:
    """EVE logs the request target (usually a path); rebuild an absolute URL with the Host."""
    url, host = first(dig(http, "url"), limit=2000), first(dig(http, "hostname"), limit=255)
    if url.startswith("/") and host:
        return f"http://{host}{url}"
    return url if "://" in url else ""


@register
class SuricataAdapter(Adapter):
    kind = "suricata"
    label = "Suricata (EVE JSON)"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        data = self.require_object(payload)
        if data.get("event_type") != "alert":
            raise NormalizationError({"event_type": [
                f"Only 'alert' events are accepted; got {scalar(data.get('event_type'), 40)!r}."]})
        errors = Errors()
        alert = data.get("alert")
        if not isinstance(alert, dict):
            errors.add("alert", "This field is required and must be an object.")
            alert = {}
        title = first(alert.get("signature"), limit=500)
        if not title:
            errors.add("alert.signature", "This field is required.")
        severity = errors.check("alert.severity", lambda: _severity(alert.get("severity")))
        when = errors.check("timestamp", lambda: timestamp(data.get("timestamp"), "timestamp"))
        errors.raise_if_any()

        dns = data.get("dns") if isinstance(data.get("dns"), dict) else {}
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
            ("hash", dig(data, "fileinfo.md5")),
        ]) + url_observables([_http_url(data.get("http"))])
        flow, sid = first(data.get("flow_id"), limit=40), first(alert.get("signature_id"), limit=20)

        def endpoint(ip: str, port: str) -> str:
            port_text = first(data.get(port), limit=10)
            return first(data.get(ip), limit=64) + (f":{port_text}" if port_text else "")

        proto = first(data.get("proto"), limit=20) or "?"
        rev, action = first(alert.get("rev"), limit=10) or "?", first(alert.get("action"), limit=20) or "?"
        details = [
            f"{proto} {endpoint('src_ip', 'src_port')} -> {endpoint('dest_ip', 'dest_port')}",
            f"Signature {sid or '?'} rev {rev}, action {action}",
            f"App protocol: {first(data.get('app_proto'), limit=40)}" if first(data.get("app_proto")) else "",
            f"Sensor interface: {first(data.get('in_iface'), limit=64)}" if first(data.get("in_iface")) else "",
        ]
        return [NormalizedAlert(
            title=title,
            severity=severity,
            severity_raw=scalar(alert.get("severity"), 8),
            source_ref=":".join(filter(None, (flow, sid))),
            description="\n".join(filter(None, details)),
            category=first(alert.get("category"), limit=100),
            entity_type=src[0].type if src else "",
            entity_value=src[0].value if src else "",
            observables=observables,
            occurred_at=when,
            raw=payload,
        )]
