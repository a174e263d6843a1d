"""Wazuh alerts (one line of alerts.json, or the integration/webhook body, same shape).

    {
      "timestamp": "2026-11-25T10:00:00.000+0000",    -> occurred_at
      "id": "1764064800.123456",                      -> source_ref
      "rule": {"level": 10,                           0-15 -> severity (required)
               "description": "sshd: brute force",    -> title (required)
               "id": "5712", "groups": ["sshd", "authentication_failures"],
               "mitre": {"id": ["T1110"], "tactic": ["Credential Access"], "technique": [...]}},
      "agent": {"id": "001", "name": "web-01", "ip": "198.51.100.20"},
      "data": {"srcip", "dstip", "srcuser", "dstuser", "url", "win": {"eventdata": {...}}},
      "syscheck": {"path", "sha256_after", "md5_after"}, "full_log": "...", "location": "..."
    }

Severity from rule.level: 0-3 info, 4-6 low, 7-9 medium, 10-12 high, 13-15 critical.
Entity: data.srcip (the remote actor) when present, else the agent host.
Category: first MITRE tactic, else the most specific (last) rule group.
"""

from __future__ import annotations

from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    Errors,
    as_list,
    first,
    host_observable,
    pairs_observables,
    scalar,
    severity,
    timestamp,
    url_observables,
)
from alerts.normalization import NormalizationError, NormalizedAlert, dig

LEVEL_SCALE = (4, 7, 10, 13)


def _level(rule: dict) -> tuple[int, str]:
    raw = rule.get("level")
    text = scalar(raw, 64)
    if isinstance(raw, float) or not (text.isascii() and text.isdigit() and len(text) <= 2) or int(text) > 15:
        raise NormalizationError({"rule.level": ["Must be an integer from 0 to 15."]})
    return int(text), severity(int(text), scale=LEVEL_SCALE, name="rule.level")


@register
class WazuhAdapter(Adapter):
    kind = "wazuh"
    label = "Wazuh"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        data = self.require_object(payload)
        errors = Errors()
        rule = data.get("rule")
        if not isinstance(rule, dict):
            errors.add("rule", "This field is required and must be an object.")
            rule = {}
        title = first(rule.get("description"), limit=500)
        if not title:
            errors.add("rule.description", "This field is required.")
        level = errors.check("rule.level", lambda: _level(rule))
        when = errors.check("timestamp", lambda: timestamp(data.get("timestamp"), "timestamp"))
        errors.raise_if_any()

        agent = data.get("agent") if isinstance(data.get("agent"), dict) else {}
        event = data.get("data") if isinstance(data.get("data"), dict) else {}
        win = dig(event, "win.eventdata", {})
        src = pairs_observables([("ip", event.get("srcip")), ("ip", dig(win, "ipAddress"))])
        agent_host = host_observable(first(agent.get("name"), limit=300))
        observables = src + ([agent_host] if agent_host else []) + pairs_observables([
            ("ip", agent.get("ip")),
            ("ip", event.get("dstip")),
            ("user", event.get("srcuser")),
            ("user", event.get("dstuser")),
            ("user", dig(win, "targetUserName")),
            ("process", dig(win, "image")),
            ("hostname", event.get("hostname")),
            ("hash", dig(data, "syscheck.sha256_after")),
            ("hash", dig(data, "syscheck.sha1_after")),
            ("hash", dig(data, "syscheck.md5_after")),
        ]) + url_observables(as_list(event.get("url"))[:10])
        entity = src[0] if src else agent_host

        mitre = rule.get("mitre") if isinstance(rule.get("mitre"), dict) else {}
        tactics = [scalar(t, 100) for t in as_list(mitre.get("tactic"))[:10]]
        techniques = [scalar(t, 20) for t in as_list(mitre.get("id"))[:20]]
        groups = [scalar(g, 100) for g in as_list(rule.get("groups"))[:20]]
        details = [
            f"Rule {first(rule.get('id'), limit=20) or '?'} (level {level[0]})",
            f"Agent: {first(agent.get('name'), limit=200) or '?'} ({first(agent.get('id'), limit=20) or '?'})",
            f"Location: {first(data.get('location'), limit=500)}" if first(data.get("location")) else "",
            f"MITRE: {', '.join(filter(None, techniques))}" if any(techniques) else "",
            f"Groups: {', '.join(filter(None, groups))}" if any(groups) else "",
        ]
        return [NormalizedAlert(
            title=title,
            severity=level[1],
            severity_raw=str(level[0]),
            source_ref=first(data.get("id"), limit=255),
            description="\n".join(filter(None, details)) + "\n\n" + first(data.get("full_log"), limit=10_000),
            category=next(filter(None, tactics), "") or next(filter(None, reversed(groups)), ""),
            entity_type=entity.type if entity else "",
            entity_value=entity.value if entity else "",
            observables=observables,
            occurred_at=when,
            raw=payload,
        )]
