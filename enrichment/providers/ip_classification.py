"""Offline: what kind of address is this? Private/reserved ranges from the standard library,
cloud ranges from a shipped list (enrichment/data/cloud_ranges.json, a sample; see its comment)."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from enrichment.models import Verdict
from enrichment.providers.base import LookupResult, Provider, ProviderError, no_match
from enrichment.providers.registry import register

DEFAULT_RANGES_FILE = Path(__file__).resolve().parent.parent / "data" / "cloud_ranges.json"
DOCUMENTATION = [ipaddress.ip_network(n)
                 for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
SHARED = ipaddress.ip_network("100.64.0.0/10")


@lru_cache(maxsize=4)
def load_cloud_ranges(path: str) -> list[tuple]:
    data = json.loads(Path(path).read_text())
    return [(ipaddress.ip_network(item["prefix"], strict=False), item) for item in data["ranges"]]


def classify(address: str) -> tuple[str, str]:
    """(category, human description) for the non-public categories, or ("public", "")."""
    ip = ipaddress.ip_address(address)
    checks = [
        ("unspecified", ip.is_unspecified, "Unspecified address"),
        ("loopback", ip.is_loopback, "Loopback address"),
        ("link_local", ip.is_link_local, "Link-local address"),
        ("multicast", ip.is_multicast, "Multicast address"),
        ("documentation", any(ip in net for net in DOCUMENTATION if net.version == ip.version),
         "Reserved documentation range (TEST-NET)"),
        ("shared", ip.version == 4 and ip in SHARED, "Shared address space (carrier-grade NAT)"),
        ("private", ip.is_private, "Private address (internal network)"),
        ("reserved", ip.is_reserved or not ip.is_global, "Reserved or special-purpose address"),
    ]
    for category, hit, description in checks:
        if hit:
            return category, description
    return "public", ""


@register
class IpClassificationProvider(Provider):
    key = "ip_classification"
    name = "IP classification"
    observable_types = ("ip",)
    cacheable = False

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        try:
            category, description = classify(value)
        except ValueError:
            raise ProviderError(f"{value!r} is not an IP address.") from None
        if category != "public":
            return LookupResult(Verdict.UNKNOWN, 0, description, {"category": category})
        ip = ipaddress.ip_address(value)
        path = str(getattr(settings, "SOAR_CLOUD_RANGES_FILE", "") or DEFAULT_RANGES_FILE)
        for network, item in load_cloud_ranges(path):
            if ip.version == network.version and ip in network:
                summary = f"{item['provider']} {item.get('service', '')} ({item.get('region', '')}) range {network}"
                return LookupResult(Verdict.UNKNOWN, 0, summary.replace("  ", " "),
                                    {"category": "cloud", "cloud": item})
        return no_match("Public address, not in a known cloud range", {"category": "public"})
