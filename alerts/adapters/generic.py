"""The generic JSON schema (documented in the README): what custom tools send.

    {
      "title": "Brute force against VPN",          required
      "severity": "high",                          info|low|medium|high|critical or 0-4 (default medium)
      "source_ref": "tool-123",                    the sender's own id (idempotency)
      "description": "...",
      "confidence": 80,                            0-100 (default 50)
      "category": "credential-access",
      "entity": {"type": "ip", "value": "203.0.113.7"},
      "observables": [{"type": "user", "value": "alice"}],
      "occurred_at": "2026-11-25T10:00:00Z",       ISO 8601 or epoch seconds/ms
      "fingerprint": "optional; computed from title + entity when absent",
      "data": {...}                                anything else; kept in the raw payload
    }

Values under ``data`` are also read for observables by their shape (IPs, URLs, e-mail
addresses and hashes anywhere; domains in host-like keys; users in account-like keys; nested
objects flattened to dotted keys), after the explicit ``entity`` and ``observables``: a custom
tool that only fills ``data`` still gets its indicators linked and correlated.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from alerts.adapters import Adapter, register
from alerts.adapters._common import label_observables
from alerts.normalization import (
    NormalizationError,
    NormalizedAlert,
    Observable,
    make_observable,
    map_severity,
    parse_timestamp,
)

T = TypeVar("T")

ALLOWED_KEYS = {
    "title", "severity", "source_ref", "description", "confidence", "category", "entity",
    "observables", "occurred_at", "fingerprint", "data",
}


@register
class GenericAdapter(Adapter):
    kind = "generic"
    label = "Generic JSON"

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        data = self.require_object(payload)
        errors: dict[str, list[str]] = {}
        unknown = sorted(set(data) - ALLOWED_KEYS)
        if unknown:
            errors["non_field_errors"] = [f"Unknown field(s): {', '.join(unknown)[:200]}. Put extra data under 'data'."]

        def check(name: str, fn: Callable[[], T], default: T) -> T:
            """``fn()``, or ``default`` with its errors recorded under ``name``."""
            try:
                return fn()
            except NormalizationError as exc:
                for key, msgs in exc.errors.items():
                    field_name = name if key in ("non_field_errors", name) else f"{name}.{key}"
                    errors.setdefault(field_name, []).extend(msgs)
                return default

        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            errors.setdefault("title", []).append("This field is required and must be a string.")
            title = ""
        severity = check("severity", lambda: map_severity(data.get("severity", "medium"), scale=(1, 2, 3, 4)),
                         "medium")
        confidence = data.get("confidence", 50)
        if isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 100:
            errors.setdefault("confidence", []).append("Must be an integer from 0 to 100.")
        for name in ("source_ref", "description", "category", "fingerprint"):
            if data.get(name) is not None and not isinstance(data.get(name), str):
                errors.setdefault(name, []).append("Must be a string.")
        entity = data.get("entity")
        entity_type = entity_value = ""
        if entity is not None:
            if not isinstance(entity, dict):
                errors.setdefault("entity", []).append("Must be an object with 'type' and 'value'.")
            else:
                primary = check("entity", lambda: make_observable(entity.get("type"), entity.get("value")), None)
                if primary:
                    entity_type, entity_value = primary.type, primary.value
        observables: list[Observable] = []
        raw_observables = data.get("observables", [])
        if not isinstance(raw_observables, list):
            errors.setdefault("observables", []).append("Must be a list of {type, value} objects.")
            raw_observables = []
        for index, item in enumerate(raw_observables[:200]):
            if not isinstance(item, dict):
                errors.setdefault(f"observables[{index}]", []).append("Must be an object.")
                continue
            obs = check(f"observables[{index}]", partial(make_observable, item.get("type"), item.get("value")), None)
            if obs:
                observables.append(obs)
        occurred_at = check("occurred_at", lambda: parse_timestamp(data.get("occurred_at")), None)
        if errors:
            raise NormalizationError(errors)
        if isinstance(data.get("data"), dict):
            observables += label_observables(flatten(data["data"]))
        return [
            NormalizedAlert(
                title=title,
                severity=severity,
                severity_raw=data["severity"] if isinstance(data.get("severity"), str) else str(severity),
                source_ref=str(data.get("source_ref") or ""),
                description=str(data.get("description") or ""),
                confidence=confidence,
                category=str(data.get("category") or ""),
                entity_type=entity_type,
                entity_value=entity_value,
                observables=observables,
                occurred_at=occurred_at,
                fingerprint=str(data.get("fingerprint") or ""),
                raw=payload,
            )
        ]


MAX_FLATTENED = 200


def flatten(node: dict, prefix: str = "", depth: int = 0, out: dict | None = None) -> dict:
    """Nested objects as dotted keys (``{"src": {"ip": x}}`` -> ``{"src.ip": x}``), bounded."""
    out = {} if out is None else out
    for key, value in list(node.items())[:MAX_FLATTENED]:
        if len(out) >= MAX_FLATTENED:
            break
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and depth < 5:
            flatten(value, name, depth + 1, out)
        else:
            out[name] = value
    return out
