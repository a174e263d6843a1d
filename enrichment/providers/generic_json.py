"""A generic JSON lookup for in-house or niche intel services. Options (all optional):

    path_template   "/lookup/{type}/{value}"  ({value} is URL-quoted)
    types           ["ip", "domain", ...]      observable types to send (default: all)
    verdict_field   "verdict"                  dotted path in the response
    score_field     "score"
    summary_field   "summary"
    verdict_map     {"bad": "malicious"}       response values -> our verdicts
    not_found_statuses [404]
    api_key_header  "Authorization"  with api_key_prefix "Bearer " """

from __future__ import annotations

from urllib.parse import quote

from alerts.normalization import ENTITY_TYPES
from enrichment.models import Verdict
from enrichment.providers.base import LookupResult, Provider, ProviderError, no_match
from enrichment.providers.registry import register
from soar.dotted import dig


@register
class GenericJsonProvider(Provider):
    key = "generic_json"
    name = "Generic JSON lookup"
    observable_types = ENTITY_TYPES
    requires_network = True

    def handles(self, obs_type: str) -> bool:
        return obs_type in (self.options.get("types") or self.observable_types)

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        template = self.options.get("path_template") or "/lookup/{type}/{value}"
        try:
            path = template.format(type=quote(obs_type, safe=""), value=quote(value, safe=""))
        except (KeyError, IndexError, ValueError):
            raise ProviderError("Generic JSON: path_template may only use {type} and {value}.") from None
        headers = {"Accept": "application/json"}
        if self.config.api_key:
            headers[self.options.get("api_key_header", "Authorization")] = (
                self.options.get("api_key_prefix", "Bearer ") + self.config.api_key)
        response = self.http.request(self.options.get("method", "GET").upper(), path, headers=headers)
        self.http.refuse_auth_errors(response)
        if response.status_code in self.options.get("not_found_statuses", [404]):
            return no_match(f"Not known to {self.name}")
        if response.status_code != 200:
            raise self.http.unexpected(response)
        body = self.http.json(response)
        raw_verdict = dig(body, self.options.get("verdict_field", "verdict"))
        mapping = {str(k).lower(): v for k, v in (self.options.get("verdict_map") or {}).items()}
        verdict = mapping.get(str(raw_verdict).lower(), str(raw_verdict).lower() if raw_verdict else Verdict.UNKNOWN)
        if verdict not in Verdict.values:
            raise ProviderError(f"Generic JSON: cannot map verdict {str(raw_verdict)[:50]!r}; set verdict_map.")
        try:
            score = int(float(dig(body, self.options.get("score_field", "score")) or 0))
        except (TypeError, ValueError):
            score = 0
        summary = str(dig(body, self.options.get("summary_field", "summary")) or f"Verdict {verdict}")
        return LookupResult(verdict, score, summary, body, matched=verdict != Verdict.UNKNOWN)
