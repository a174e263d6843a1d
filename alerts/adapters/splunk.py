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

Unknown severity words fall back to medium (searches set free-form values).
Entity: src/src_ip, else host, dest/dest_ip, user.
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
    severity_or,
    timestamp,
    url_observables,
)
from alerts.normalization import NormalizedAlert

# Common Information Model field names, most specific first.
HOST_FIELDS = ("src", "src_ip", "source_ip", "src_host", "host", "dest", "dest_ip", "dest_host",
               "dst", "dst_ip", "dvc", "dvc_ip")
TYPED_FIELDS = (
    ("user", ("user", "src_user", "dest_user", "user_name")),
    ("hash", ("file_hash", "hash", "sha256", "sha1", "md5", "file_sha256")),
    ("domain", ("domain", "query", "dest_domain", "src_domain")),
    ("email", ("sender", "recipient", "src_user_email")),
    ("process", ("process", "process_name", "parent_process_name")),
)
DESCRIPTION_FIELDS = 40


def _result_lines(result: dict) -> str:
    lines = []
    for key, value in list(result.items())[: DESCRIPTION_FIELDS * 4]:
        if len(lines) >= DESCRIPTION_FIELDS:
            break
        # Splunk-internal fields (_raw, _cd, _bkt ...) are noise in a summary; _raw stays in raw.
        if isinstance(key, str) and not key.startswith("_"):
            text = ", ".join(filter(None, (scalar(v, 500) for v in as_list(value)[:10])))
            if text:
                lines.append(f"{key[:100]}: {text}")
    return "\n".join(lines)


@register
class SplunkAdapter(Adapter):
    kind = "splunk"
    label = "Splunk"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        data = self.require_object(payload)
        errors = Errors()
        title = first(data.get("search_name"), limit=500)
        if not title:
            errors.add("search_name", "This field is required.")
        result = data.get("result", {})
        if result is None:
            result = {}
        if not isinstance(result, dict):
            errors.add("result", "Must be an object.")
            result = {}
        when = errors.check("result._time", lambda: timestamp(result.get("_time") or None, "result._time"))
        errors.raise_if_any()

        sev_raw = first(result.get("severity"), result.get("urgency"), limit=64)
        hosts = [host_observable(v) for name in HOST_FIELDS for v in as_list(result.get(name))[:20]]
        observables = [o for o in hosts if o] + pairs_observables(
            [(obs_type, result.get(name)) for obs_type, names in TYPED_FIELDS for name in names]
        ) + url_observables(as_list(result.get("url"))[:20])
        entity = observables[0] if observables else None
        sid = first(data.get("sid"), limit=200)
        cd = first(result.get("_cd"), limit=50)
        app, owner = first(data.get("app"), limit=100) or "?", first(data.get("owner"), limit=100) or "?"
        header = f"Splunk search {title!r} (app {app}, owner {owner}) triggered."
        return [NormalizedAlert(
            title=title,
            severity=severity_or(sev_raw, "medium"),
            severity_raw=sev_raw,
            source_ref=f"{sid}:{cd}" if sid and cd else sid,
            description="\n\n".join(filter(None, (
                header, first(data.get("results_link"), limit=2000), _result_lines(result)))),
            category=first(result.get("category"), result.get("rule_category"), limit=100),
            entity_type=entity.type if entity else "",
            entity_value=entity.value if entity else "",
            observables=observables,
            occurred_at=when,
            raw=payload,
        )]
