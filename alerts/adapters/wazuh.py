"""Wazuh alerts (one line of alerts.json, the integration/webhook body, or a document of the
``wazuh-alerts-*`` index as a search hit, a search response or a list: same shape).

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

Severity from rule.level in Wazuh's own bands (its dashboard's low 0-6, medium 7-11, high
12-14, critical 15), with 0-2 (ignored / system notices) as info. Confidence: Wazuh has no such
field: 50. A missing or unreadable level, rule description or timestamp (e.g. the OSSEC-era
"2017 Feb 07 15:57:53", read) falls back (medium / "Wazuh rule <id>" / received time) with a
warning. Identity: the alert ``id`` ("<epoch>.<offset>", unique per manager), else the
indexer's ``_id``.

Wazuh 5.x (``wazuh-alerts-5.x``, plain ECS plus ``wazuh.decoder`` / ``wazuh.rules``) is read by
the same mapping through the ECS names: level from ``rule.level`` or ``event.severity``, title
from ``rule.description`` / ``rule.name`` / ``message``, ``source.ip``, ``destination.ip``,
``user.name``, ``url.full``, ``host.name`` / ``agent.name``, ``@timestamp``. No genuine 5.x alert
document has been published yet: this path follows the published index schema only.
Entity: data.srcip (the remote actor) when present, else the agent host.
Category: first MITRE tactic, else the most specific (last) rule group.
"""

from __future__ import annotations

from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    as_dict,
    as_list,
    batch,
    documents,
    field,
    first,
    host_observable,
    pairs_observables,
    parse_each,
    scalar,
    severity,
    timestamp_or_warn,
    title_or_warn,
    unwrap_hit,
    url_observables,
)
from alerts.normalization import NormalizationError, NormalizedAlert
from soar.dotted import dig

# Lower bounds of low / medium / high / critical.
LEVEL_SCALE = (3, 7, 12, 15)


def _level(rule: dict, warnings: list[str]) -> tuple[int | None, str]:
    raw = rule.get("level")
    text = scalar(raw, 64)
    if isinstance(raw, float) or not (text.isascii() and text.isdigit() and len(text) <= 2) or int(text) > 15:
        warnings.append(f"rule.level: {text[:20]!r} is not a level from 0 to 15; taken as medium.")
        return None, "medium"
    return int(text), severity(int(text), scale=LEVEL_SCALE, name="rule.level")


def _is_ecs(data: dict) -> bool:
    """Wazuh 5.x alerts (``wazuh-alerts-5.x``) are ECS documents plus ``wazuh.decoder`` /
    ``wazuh.rules``; 4.x ones carry ``rule.level`` and ``data.*``."""
    return isinstance(data.get("wazuh"), dict) or any(str(k).startswith("wazuh.") for k in list(data)[:200]) \
        or (field(data, "event.severity") is not None and not isinstance(data.get("data"), dict))


def _parse_doc(doc: Any) -> NormalizedAlert:
    data = unwrap_hit(doc)
    if not isinstance(data, dict):
        raise NormalizationError("Expected a Wazuh alert (JSON object).")
    rule = data.get("rule")
    ecs = _is_ecs(data)
    if not isinstance(rule, dict):
        if not ecs:
            raise NormalizationError({"rule": ["This field is required and must be an object."]})
        rule = {}
    warnings: list[str] = []
    rule_id = first(rule.get("id"), limit=20)
    title = title_or_warn(first(rule.get("description"), rule.get("name"), field(data, "message"), limit=500),
                          f"Wazuh rule {rule_id or '?'}", "rule.description", warnings)
    if "level" not in rule and field(data, "event.severity") is not None:
        rule = {**rule, "level": field(data, "event.severity")}  # 5.x (ECS): the level is event.severity
    level = _level(rule, warnings)
    when = timestamp_or_warn(data.get("timestamp") or data.get("@timestamp"), "timestamp", warnings)

    agent = as_dict(data.get("agent"))
    event = as_dict(data.get("data"))
    if ecs:
        # 5.x documents are ECS: the 4.x data.* fields are source.*, user.*, url.*, host.*.
        event = {"srcip": field(data, "source.ip"), "dstip": field(data, "destination.ip"),
                 "srcuser": field(data, "user.name"), "url": field(data, "url.full"),
                 "hostname": first(*as_list(field(data, "host.name"))[:1], limit=300), **event}
        agent = {"name": field(data, "agent.name") or first(*as_list(field(data, "host.name"))[:1]),
                 **agent}
    win = dig(event, "win.eventdata", {})
    src = pairs_observables([("ip", event.get("srcip")), ("ip", dig(win, "ipAddress"))])
    agent_host = host_observable(first(agent.get("name"), limit=300))
    observables = src + ([agent_host] if agent_host else []) + pairs_observables([
        ("ip", agent.get("ip")),
        ("ip", event.get("dstip")),
        ("user", event.get("srcuser")),
        ("user", event.get("dstuser")),
        ("user", dig(win, "targetUserName")),
        ("user", dig(win, "subjectUserName")),
        ("process", dig(win, "image")),
        ("hostname", event.get("hostname")),
        ("hash", dig(data, "syscheck.sha256_after")),
        ("hash", dig(data, "syscheck.sha1_after")),
        ("hash", dig(data, "syscheck.md5_after")),
    ]) + url_observables(as_list(event.get("url"))[:10])
    entity = src[0] if src else agent_host

    mitre = as_dict(rule.get("mitre"))
    tactics = [scalar(t, 100) for t in as_list(mitre.get("tactic"))[:10]]
    techniques = [scalar(t, 20) for t in as_list(mitre.get("id"))[:20]]
    groups = [scalar(g, 100) for g in as_list(rule.get("groups"))[:20]]
    details = [
        f"Rule {rule_id or '?'} (level {level[0] if level[0] is not None else '?'})",
        f"Agent: {first(agent.get('name'), limit=200) or '?'} ({first(agent.get('id'), limit=20) or '?'})",
        f"Location: {first(data.get('location'), limit=500)}" if first(data.get("location")) else "",
        f"MITRE: {', '.join(filter(None, techniques))}" if any(techniques) else "",
        f"Groups: {', '.join(filter(None, groups))}" if any(groups) else "",
    ]
    return NormalizedAlert(
        title=title,
        severity=level[1],
        severity_raw=str(level[0]) if level[0] is not None else scalar(rule.get("level"), 20),
        source_ref=first(data.get("id"), data.get("_id"), limit=255),
        description="\n".join(filter(None, details)) + "\n\n" + first(data.get("full_log"), limit=10_000),
        category=next(filter(None, tactics), "") or next(filter(None, reversed(groups)), ""),
        entity_type=entity.type if entity else "",
        entity_value=entity.value if entity else "",
        observables=observables,
        occurred_at=when,
        raw=data,
        warnings=warnings,
        attack_ids=as_list(mitre.get("id"))[:50],  # rule.mitre.id: ["T1110"] (finalize keeps the ids)
    )


@register
class WazuhAdapter(Adapter):
    kind = "wazuh"
    label = "Wazuh"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        docs = documents(payload)
        if docs is not None:
            return parse_each(batch(docs), _parse_doc)
        return [_parse_doc(self.require_object(payload))]
