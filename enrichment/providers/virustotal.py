"""VirusTotal v3: /api/v3/ip_addresses/{ip}, /domains/{d}, /urls/{id}, /files/{hash}, header
``x-apikey``; verdict from data.attributes.last_analysis_stats; 404 NotFoundError = unknown."""

from __future__ import annotations

import base64
import ipaddress
from urllib.parse import quote

from enrichment.models import Verdict
from enrichment.providers.base import LookupResult, Provider, ProviderError, no_match
from enrichment.providers.registry import register


def url_id(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def path_for(obs_type: str, value: str) -> str:
    if obs_type == "ip":
        return f"/api/v3/ip_addresses/{quote(value, safe='')}"
    if obs_type in ("domain", "hostname"):
        return f"/api/v3/domains/{quote(value, safe='')}"
    if obs_type == "url":
        return f"/api/v3/urls/{url_id(value)}"
    return f"/api/v3/files/{quote(value, safe='')}"


def verdict_for(stats: dict, malicious_at: int) -> tuple[str, int]:
    malicious = int(stats.get("malicious") or 0)
    suspicious = int(stats.get("suspicious") or 0)
    harmless = int(stats.get("harmless") or 0)
    total = malicious + suspicious + harmless + int(stats.get("undetected") or 0)
    score = round(100 * (malicious + suspicious / 2) / total) if total else 0
    if malicious >= malicious_at:
        return Verdict.MALICIOUS, max(score, 50)
    if malicious or suspicious:
        return Verdict.SUSPICIOUS, score
    return (Verdict.BENIGN if harmless else Verdict.UNKNOWN), score


@register
class VirusTotalProvider(Provider):
    key = "virustotal"
    name = "VirusTotal"
    observable_types = ("ip", "domain", "hostname", "url", "hash")
    requires_network = True
    default_base_url = "https://www.virustotal.com"

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        if obs_type == "ip" and not ipaddress.ip_address(value).is_global:
            return no_match("Not a public address; not sent to VirusTotal")
        response = self.http.request("GET", path_for(obs_type, value),
                                     headers={"x-apikey": self.require_api_key(), "Accept": "application/json"})
        self.http.refuse_auth_errors(response)
        body = self.http.json(response)
        if response.status_code == 404:
            return no_match("Not known to VirusTotal", body)
        if response.status_code != 200:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise ProviderError(f"VirusTotal: HTTP {response.status_code} {error.get('code', '')}".strip())
        try:
            attributes = body["data"]["attributes"]
            stats = attributes["last_analysis_stats"]
        except (KeyError, TypeError):
            raise ProviderError("VirusTotal: response has no data.attributes.last_analysis_stats.") from None
        verdict, score = verdict_for(stats, int(self.options.get("malicious_engines", 3)))
        summary = (f"{stats.get('malicious', 0)} malicious, {stats.get('suspicious', 0)} suspicious, "
                   f"{stats.get('harmless', 0)} harmless, {stats.get('undetected', 0)} undetected")
        if attributes.get("reputation") is not None:
            summary += f"; reputation {attributes['reputation']}"
        return LookupResult(verdict, score, summary, body)
