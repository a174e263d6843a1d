"""Splunk "webhook" alert action: one POST per triggered search, carrying its first result.

    {
      "sid": "scheduler__admin__search__RMD5...",     -> source_ref (with result._cd)
      "search_name": "Excessive failed logins",       -> title (required)
      "app": "search", "owner": "admin",
      "results_link": "https://splunk.example.com/app/search/@go?sid=...",
      "result": {                                     field -> value (value may be a list)
        "_time": "1764064800", "_cd": "12:345",
        "severity" | "urgency": "high",               -> severity (default medium)
        "src" | "src_ip", "dest" | "dest_ip", "user", "host", "url", "file_hash", ...
      }
    }

Severity from the result's ``severity`` / ``urgency`` (unknown words: medium, with a warning);
confidence from a numeric ``confidence`` field (else 50). A null or missing ``search_name``
(Splunk's own documented example has one) or an unreadable ``_time`` is a warning, not a
refusal. Observables: the CIM fields below by name, then every other result field by shape
(IP, URL, e-mail, hash anywhere; domains in host-like fields; users in account-like fields).
Entity priority, actor before asset: src/src_ip/source_ip/src_host, else user, else
host/dest/dvc. Identity: sid + result._cd, else sid + a digest of the result row.
"""

from __future__ import annotations

from typing import Any

from alerts.adapters import Adapter, register
from alerts.adapters._common import (
    as_list,
    confidence_or_warn,
    first,
    host_observable,
    label_observables,
    pairs_observables,
    scalar,
    severity_or_warn,
    timestamp_or_warn,
    title_or_warn,
    url_observables,
)
from alerts.normalization import NormalizationError, NormalizedAlert, compute_fingerprint

# Common Information Model field names, most specific first: who acted, then what was hit.
ACTOR_FIELDS = ("src", "src_ip", "source_ip", "src_host", "clientip", "client_ip", "remote_ip")
ASSET_FIELDS = ("host", "dest", "dest_ip", "dest_host", "dst", "dst_ip", "dvc", "dvc_ip", "hostname")
TYPED_FIELDS = (
    ("user", ("user", "src_user", "dest_user", "user_name", "USER", "account", "Account_Name")),
    ("hash", ("file_hash", "hash", "sha256", "sha1", "md5", "file_sha256")),
    ("domain", ("domain", "query", "dest_domain", "src_domain")),
    ("email", ("sender", "recipient", "src_user_email")),
    ("process", ("process", "process_name", "parent_process_name")),
)
DESCRIPTION_FIELDS = 40


def _result_lines(result: dict) -> str:
    lines: list[str] = []
    for key, value in list(result.items())[: DESCRIPTION_FIELDS * 4]:
        if len(lines) >= DESCRIPTION_FIELDS:
            break
        # Splunk-internal fields (_raw, _cd, _bkt ...) are noise in a summary; _raw stays in raw.
        if isinstance(key, str) and not key.startswith("_"):
            text = ", ".join(filter(None, (scalar(v, 500) for v in as_list(value)[:10])))
            if text:
                lines.append(f"{key[:100]}: {text}")
    return "\n".join(lines)


def _identity(data: dict, result: dict) -> str:
    sid = first(data.get("sid"), limit=200)
    cd = first(result.get("_cd"), limit=50)
    if not sid:
        return ""
    if cd:
        return f"{sid}:{cd}"
    if result:
        # The row's own values (bounded scalars: a hostile 5,000-digit number must not crash).
        row = sorted(f"{str(key)[:100]}={scalar(value, 500)}" for key, value in list(result.items())[:500])
        return f"{sid}:{compute_fingerprint(*row)[:16]}"
    return sid


@register
class SplunkAdapter(Adapter):
    kind = "splunk"
    label = "Splunk"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        data = self.require_object(payload)
        result = data.get("result", {})
        if result is None:
            result = {}
        if not isinstance(result, dict):
            raise NormalizationError({"result": ["Must be an object (one search result row)."]})
        if not (first(data.get("sid"), data.get("search_name")) or result):
            raise NormalizationError("Expected a Splunk alert action payload: none of sid, search_name, result.")
        warnings: list[str] = []
        sid = first(data.get("sid"), limit=200)
        title = title_or_warn(first(data.get("search_name"), limit=500),
                              f"Splunk alert {sid}" if sid else "Splunk alert", "search_name", warnings)
        when = timestamp_or_warn(result.get("_time") or None, "result._time", warnings)

        sev_raw = first(result.get("severity"), result.get("urgency"), limit=64)
        actors = [o for name in ACTOR_FIELDS for v in as_list(result.get(name))[:20] if (o := host_observable(v))]
        assets = [o for name in ASSET_FIELDS for v in as_list(result.get(name))[:20] if (o := host_observable(v))]
        typed = pairs_observables(
            [(obs_type, result.get(name)) for obs_type, names in TYPED_FIELDS for name in names]
        ) + url_observables(as_list(result.get("url"))[:20])
        users = [o for o in typed if o.type == "user"]
        entity = next(iter(actors + users + assets), None)
        observables = actors + assets + typed + label_observables(result)
        if entity is None and observables:
            entity = observables[0]
        app, owner = first(data.get("app"), limit=100) or "?", first(data.get("owner"), limit=100) or "?"
        header = f"Splunk search {title!r} (app {app}, owner {owner}) triggered."
        return [NormalizedAlert(
            title=title,
            severity=severity_or_warn(sev_raw, "result.severity", warnings),
            severity_raw=sev_raw,
            source_ref=_identity(data, result),
            description="\n\n".join(filter(None, (
                header, first(data.get("results_link"), limit=2000), _result_lines(result)))),
            confidence=confidence_or_warn(result.get("confidence"), "result.confidence", warnings),
            category=first(result.get("category"), result.get("rule_category"), limit=100),
            entity_type=entity.type if entity else "",
            entity_value=entity.value if entity else "",
            observables=observables,
            occurred_at=when,
            raw=payload,
            warnings=warnings,
        )]
