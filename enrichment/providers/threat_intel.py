"""Offline: indicators imported with ``manage.py import_intel`` (CSV or STIX 2.1)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from enrichment.models import Indicator
from enrichment.providers.base import VERDICT_RANK, LookupResult, Provider, no_match
from enrichment.providers.registry import register
from enrichment.selectors import normalize_value


@register
class ThreatIntelProvider(Provider):
    key = "threat_intel"
    name = "Local threat intel"
    observable_types = ("ip", "domain", "hostname", "url", "email", "hash")
    cacheable = False

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        types = ["domain", "hostname"] if obs_type in ("domain", "hostname") else [obs_type]
        matches = list(
            Indicator.objects.filter(type__in=types, value=normalize_value(obs_type, value))
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=timezone.now()))
            .order_by("-confidence")[:20]
        )
        if not matches:
            return no_match("No local indicator")
        worst = max(matches, key=lambda i: (VERDICT_RANK[i.verdict], i.confidence))
        sources = sorted({i.source for i in matches})
        summary = f"{worst.verdict.capitalize()} per {', '.join(sources)}"
        if worst.description:
            summary += f": {worst.description[:300]}"
        raw = [{"source": i.source, "verdict": i.verdict, "confidence": i.confidence, "description": i.description,
                "external_id": i.external_id, "valid_until": i.valid_until.isoformat() if i.valid_until else None}
               for i in matches]
        return LookupResult(worst.verdict, worst.confidence, summary, {"indicators": raw})
