"""Source adapters: each turns one received payload into normalized alerts.

Adding an adapter is one module in this package that subclasses ``Adapter`` and is
decorated with ``@register``, plus its name in ``ADAPTER_MODULES`` below.
"""

from __future__ import annotations

import importlib
from typing import Any

from alerts.normalization import NormalizationError, NormalizedAlert

ADAPTER_MODULES = (
    "generic",
    "elastic",
    "splunk",
    "wazuh",
    "suricata",
    "alertmanager",
    "grafana",
    "email",
)

_REGISTRY: dict[str, Adapter] = {}


class Adapter:
    """Base class. ``parse`` returns one or more (not yet finalized) alerts or raises
    NormalizationError with field errors; it must never raise anything else on any JSON."""

    kind: str = ""
    label: str = ""

    def parse(self, payload: Any) -> list[NormalizedAlert]:
        raise NotImplementedError

    @staticmethod
    def require_object(payload: Any) -> dict:
        if not isinstance(payload, dict):
            raise NormalizationError("Expected a JSON object.")
        return payload


def register(cls: type[Adapter]) -> type[Adapter]:
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind")
    _REGISTRY[cls.kind] = cls()
    return cls


def _load() -> None:
    if len(_REGISTRY) < len(ADAPTER_MODULES):
        for name in ADAPTER_MODULES:
            importlib.import_module(f"alerts.adapters.{name}")


def get_adapter(kind: str) -> Adapter:
    _load()
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise NormalizationError({"source": [f"No adapter named {kind!r}."]})


def adapter_choices() -> list[tuple[str, str]]:
    _load()
    return sorted((kind, adapter.label or kind) for kind, adapter in _REGISTRY.items())


def parse_payload(kind: str, payload: Any) -> list[NormalizedAlert]:
    """Parse and finalize: the only entry point the pipeline uses."""
    alerts = get_adapter(kind).parse(payload)
    if not alerts:
        raise NormalizationError("The payload holds no alert.")
    errors: dict[str, list[str]] = {}
    for index, alert in enumerate(alerts):
        try:
            alert.raw = payload if alert.raw is None else alert.raw
            alert.finalize()
        except NormalizationError as exc:
            prefix = f"alerts[{index}]." if len(alerts) > 1 else ""
            for key, msgs in exc.errors.items():
                errors.setdefault(prefix + key, []).extend(msgs)
    if errors:
        raise NormalizationError(errors)
    return alerts
