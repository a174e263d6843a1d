"""AbuseIPDB v2: GET /api/v2/check?ipAddress=..&maxAgeInDays=90 with header ``Key``."""

from __future__ import annotations

import ipaddress

from enrichment.models import Verdict
from enrichment.providers.base import LookupResult, Provider, ProviderError, no_match
from enrichment.providers.registry import register


def verdict_for(data: dict, malicious_at: int, suspicious_at: int) -> str:
    score = int(data.get("abuseConfidenceScore") or 0)
    if data.get("isWhitelisted"):
        return Verdict.BENIGN
    if score >= malicious_at:
        return Verdict.MALICIOUS
    if score >= suspicious_at:
        return Verdict.SUSPICIOUS
    return Verdict.BENIGN if data.get("totalReports") else Verdict.UNKNOWN


@register
class AbuseIpdbProvider(Provider):
    key = "abuseipdb"
    name = "AbuseIPDB"
    observable_types = ("ip",)
    requires_network = True
    default_base_url = "https://api.abuseipdb.com"

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        if not ipaddress.ip_address(value).is_global:
            # Internal addresses are never sent to a third party.
            return no_match("Not a public address; not sent to AbuseIPDB")
        response = self.http.request(
            "GET", "/api/v2/check",
            params={"ipAddress": value, "maxAgeInDays": int(self.options.get("max_age_days", 90))},
            headers={"Key": self.require_api_key(), "Accept": "application/json"},
        )
        self.http.refuse_auth_errors(response)
        body = self.http.json(response)
        if response.status_code != 200:
            errors = body.get("errors") if isinstance(body, dict) else None
            detail = errors[0].get("detail", "") if errors and isinstance(errors[0], dict) else ""
            raise ProviderError(f"AbuseIPDB: HTTP {response.status_code} {detail[:200]}".strip())
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ProviderError("AbuseIPDB: response has no 'data' object.")
        verdict = verdict_for(data, int(self.options.get("malicious_score", 75)),
                              int(self.options.get("suspicious_score", 25)))
        score = int(data.get("abuseConfidenceScore") or 0)
        summary = (f"Abuse confidence {score}%, {data.get('totalReports', 0)} report(s)"
                   f"; {data.get('countryCode') or '??'}, {data.get('isp') or 'unknown ISP'}"
                   + (f" ({data['usageType']})" if data.get("usageType") else ""))
        return LookupResult(verdict, score, summary, body)
