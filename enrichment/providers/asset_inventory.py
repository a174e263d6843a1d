"""Offline: the internal asset/identity inventory (owner, department, criticality, OS, VIP)."""

from __future__ import annotations

from enrichment.models import Asset, Verdict
from enrichment.providers.base import LookupResult, Provider, no_match
from enrichment.providers.registry import register


def user_name(value: str) -> str:
    """'CORP\\alice' and 'alice@corp.example' are both the inventory's 'alice'."""
    value = value.strip().lower()
    return value.rsplit("\\", 1)[-1].split("@", 1)[0]


def describe(asset: Asset) -> str:
    parts = [f"{asset.get_kind_display()} {asset.name}"]
    if asset.owner:
        parts.append(f"owner {asset.owner}" + (f" ({asset.department})" if asset.department else ""))
    elif asset.department:
        parts.append(f"department {asset.department}")
    parts.append(f"criticality {asset.criticality}")
    if asset.os:
        parts.append(f"OS {asset.os}")
    if asset.vip:
        parts.append("VIP")
    return ", ".join(parts)


@register
class AssetInventoryProvider(Provider):
    key = "asset_inventory"
    name = "Asset & identity inventory"
    observable_types = ("hostname", "ip", "user", "email")
    cacheable = False

    def find(self, obs_type: str, value: str) -> Asset | None:
        assets = Asset.objects.all()
        if obs_type == "hostname":
            name = value.lower().rstrip(".")
            return assets.filter(kind=Asset.Kind.HOST, name__in=[name, name.split(".", 1)[0]]).first()
        if obs_type == "ip":
            return assets.filter(ip_address=value).order_by("kind").first()
        if obs_type == "email":
            found = assets.filter(kind=Asset.Kind.USER, email__iexact=value).first()
            return found or assets.filter(kind=Asset.Kind.USER, name=user_name(value)).first()
        return assets.filter(kind=Asset.Kind.USER, name__in=[value.lower(), user_name(value)]).first()

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        asset = self.find(obs_type, value)
        if asset is None:
            return no_match("Not in the asset inventory")
        raw = {"kind": asset.kind, "name": asset.name, "owner": asset.owner, "department": asset.department,
               "criticality": asset.criticality, "os": asset.os, "vip": asset.vip, "email": asset.email,
               "ip_address": asset.ip_address}
        return LookupResult(Verdict.UNKNOWN, 0, describe(asset), raw)
