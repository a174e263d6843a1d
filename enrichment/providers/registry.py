"""The provider registry. Adding a provider = one module under enrichment/providers/ whose
class is decorated with ``@register`` + its module path in ``BUILTIN_PROVIDER_MODULES``."""

from __future__ import annotations

import importlib

from enrichment.models import ProviderConfig
from enrichment.providers.base import Provider

BUILTIN_PROVIDER_MODULES = [
    "enrichment.providers.ip_classification",
    "enrichment.providers.threat_intel",
    "enrichment.providers.blocklist",
    "enrichment.providers.asset_inventory",
    "enrichment.providers.abuseipdb",
    "enrichment.providers.virustotal",
    "enrichment.providers.urlhaus",
    "enrichment.providers.generic_json",
    "enrichment.providers.netbox",
    "enrichment.providers.ldap_directory",
]

_REGISTRY: dict[str, type[Provider]] = {}
_loaded = False


def register(cls: type[Provider]) -> type[Provider]:
    if not cls.key or cls.key in _REGISTRY and _REGISTRY[cls.key] is not cls:
        raise ValueError(f"provider key {cls.key!r} is empty or already registered")
    _REGISTRY[cls.key] = cls
    return cls


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in BUILTIN_PROVIDER_MODULES:
            importlib.import_module(module)
        _loaded = True


def provider_classes() -> dict[str, type[Provider]]:
    _load()
    return dict(_REGISTRY)


def provider_choices() -> list[tuple[str, str]]:
    return [(key, cls.name) for key, cls in sorted(provider_classes().items())]


def build_providers(keys: list[str] | None = None, *, include_disabled: bool = False) -> list[Provider]:
    """Instances of the enabled providers (or of ``keys``), each with its effective configuration."""
    classes = provider_classes()
    configs = {c.provider: c for c in ProviderConfig.objects.filter(provider__in=list(classes))}
    providers = []
    for key, cls in classes.items():
        if keys is not None and key not in keys:
            continue
        config = configs.get(key) or cls.default_config()
        if config.enabled or include_disabled:
            providers.append(cls(config))
    return providers
