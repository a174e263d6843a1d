"""Offline: the internal blocklist (``enrichment.models.BlocklistEntry``)."""

from __future__ import annotations

from enrichment.models import Verdict
from enrichment.providers.base import LookupResult, Provider, no_match
from enrichment.providers.registry import register
from enrichment.selectors import blocklist_matches


@register
class BlocklistProvider(Provider):
    key = "blocklist"
    name = "Internal blocklist"
    observable_types = ("ip", "domain", "hostname", "url", "email", "hash", "user", "process")
    cacheable = False

    def lookup(self, obs_type: str, value: str) -> LookupResult:
        entries = list(blocklist_matches(obs_type, value)[:10])
        if not entries:
            return no_match("Not on the internal blocklist")
        lists = ", ".join(sorted({e.list_name for e in entries}))
        reason = next((e.reason for e in entries if e.reason), "")
        raw = [{"list": e.list_name, "reason": e.reason, "added_by": e.added_by,
                "created_at": e.created_at.isoformat(),
                "expires_at": e.expires_at.isoformat() if e.expires_at else None}
               for e in entries]
        return LookupResult(Verdict.MALICIOUS, 100, f"On blocklist {lists}" + (f": {reason}" if reason else ""),
                            {"entries": raw})
