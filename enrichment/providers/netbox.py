"""External CMDB over HTTP, NetBox-style: GET /api/dcim/devices/?name=<host> and
/api/ipam/ip-addresses/?address=<ip>, header ``Authorization: Token <key>``; paginated
``{"count": n, "results": [...]}``. Context only: the verdict stays unknown."""

from __future__ import annotations

from typing import Any

from enrichment.models import Verdict
from enrichment.providers.base import LookupResult, Provider, ProviderError, no_match
from enrichment.providers.registry import register


def label(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("display") or value.get("name") or value.get("label") or value.get("value") or "")
    return str(value or "")


@register
class NetboxProvider(Provider):
    key = "netbox"
    name = "CMDB (NetBox)"
    observable_types = ("hostname", "ip")
    requires_network = True

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        headers = {"Accept": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Token {self.config.api_key}"
        if obs_type == "hostname":
            path, params = "/api/dcim/devices/", {"name": value.split(".", 1)[0] if self.options.get("short_names")
                                                  else value}
        else:
            path, params = "/api/ipam/ip-addresses/", {"address": value}
        response = self.http.request("GET", path, params=params, headers=headers)
        self.http.refuse_auth_errors(response)
        if response.status_code != 200:
            raise self.http.unexpected(response)
        body = self.http.json(response)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise ProviderError("CMDB: response has no 'results' list.")
        if not results:
            return no_match("Not in the CMDB", body)
        item = results[0]
        if obs_type == "hostname":
            parts = [f"Device {item.get('name') or value}"]
            for field in ("site", "role", "device_role", "tenant", "platform", "status"):
                if item.get(field):
                    parts.append(f"{field.replace('device_', '')} {label(item[field])}")
        else:
            assigned = item.get("assigned_object") or {}
            if not isinstance(assigned, dict):
                assigned = {}
            device = label(assigned.get("device") or assigned.get("virtual_machine"))
            parts = [f"Address {item.get('address') or value}"]
            for name, text in (("device", device), ("dns", item.get("dns_name")), ("tenant", label(item.get("tenant"))),
                               ("status", label(item.get("status"))), ("description", item.get("description"))):
                if text:
                    parts.append(f"{name} {text}")
        return LookupResult(Verdict.UNKNOWN, 0, ", ".join(parts), body)
