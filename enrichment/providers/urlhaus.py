"""URLhaus (abuse.ch) API: POST /v1/url/, /v1/host/, /v1/payload/ form-encoded; query_status
"ok" or "no_results". The ``Auth-Key`` header is sent when an API key is configured."""

from __future__ import annotations

from enrichment.models import Verdict
from enrichment.providers.base import LookupResult, Provider, ProviderError, no_match
from enrichment.providers.registry import register


@register
class UrlhausProvider(Provider):
    key = "urlhaus"
    name = "URLhaus"
    observable_types = ("url", "domain", "hostname", "ip", "hash")
    requires_network = True
    default_base_url = "https://urlhaus-api.abuse.ch"

    def query(self, obs_type: str, value: str) -> tuple[str, dict]:
        if obs_type == "url":
            return "/v1/url/", {"url": value}
        if obs_type == "hash":
            field = "md5_hash" if len(value) == 32 else "sha256_hash"
            return "/v1/payload/", {field: value}
        return "/v1/host/", {"host": value}

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        path, form = self.query(obs_type, value)
        headers = {"Accept": "application/json"}
        if self.config.api_key:
            headers["Auth-Key"] = self.config.api_key
        response = self.http.request("POST", path, data=form, headers=headers)
        self.http.refuse_auth_errors(response)
        if response.status_code != 200:
            raise self.http.unexpected(response)
        body = self.http.json(response)
        status = body.get("query_status") if isinstance(body, dict) else None
        if status == "no_results":
            return no_match("Not listed by URLhaus", body)
        if status != "ok":
            raise ProviderError(f"URLhaus: query_status {str(status)[:80]!r}.")
        if path == "/v1/url/":
            online = body.get("url_status") == "online"
            summary = f"Listed ({body.get('url_status', '?')}), threat {body.get('threat') or 'unknown'}"
            tags = body.get("tags") or []
            if tags:
                summary += f", tags {', '.join(map(str, tags[:8]))}"
            return LookupResult(Verdict.MALICIOUS, 100 if online else 80, summary, body)
        if path == "/v1/payload/":
            summary = f"Known payload ({body.get('file_type', '?')}), signature {body.get('signature') or 'unknown'}"
            return LookupResult(Verdict.MALICIOUS, 90, summary, body)
        urls = body.get("urls") or []
        online = sum(1 for u in urls if isinstance(u, dict) and u.get("url_status") == "online")
        summary = f"{body.get('url_count', len(urls))} malware URL(s) on this host, {online} online"
        verdict = Verdict.MALICIOUS if online else Verdict.SUSPICIOUS
        return LookupResult(verdict, 90 if online else 50, summary, body)
