"""What every provider is: the observable types it handles and a ``lookup`` returning a verdict,
a score, a summary and the raw response. Network connectors use ``self.http`` (SSRF-guarded,
timeouts, retries with backoff)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from enrichment.models import ProviderConfig, Verdict
from enrichment.providers.errors import ProviderError as ProviderError  # re-exported for the providers
from enrichment.providers.http import HttpClient

VERDICT_RANK: dict[str, int] = {Verdict.UNKNOWN: 0, Verdict.BENIGN: 1, Verdict.SUSPICIOUS: 2, Verdict.MALICIOUS: 3}


@dataclass
class LookupResult:
    verdict: str = Verdict.UNKNOWN
    score: int = 0
    summary: str = ""
    raw: Any = field(default_factory=dict)
    # False for "nothing known about it": stored, but kept off the case timeline.
    matched: bool = True

    def __post_init__(self) -> None:
        if self.verdict not in Verdict.values:
            raise ProviderError(f"provider returned an invalid verdict {self.verdict!r}")
        self.score = max(0, min(100, int(self.score or 0)))
        self.summary = (self.summary or "")[:1000]


def no_match(summary: str, raw: Any = None) -> LookupResult:
    return LookupResult(Verdict.UNKNOWN, 0, summary, raw if raw is not None else {}, matched=False)


class Provider:
    key: ClassVar[str] = ""
    name: ClassVar[str] = ""
    observable_types: ClassVar[tuple[str, ...]] = ()
    requires_network: ClassVar[bool] = False
    default_base_url: ClassVar[str] = ""
    # Local lookups are cheaper than a cache row and must see blocklist/inventory edits at once.
    cacheable: ClassVar[bool] = True

    def __init__(self, config: ProviderConfig):
        self.config = config
        self._http: HttpClient | None = None

    @classmethod
    def default_config(cls) -> ProviderConfig:
        return ProviderConfig(provider=cls.key, enabled=not cls.requires_network, base_url=cls.default_base_url,
                              cache_ttl_seconds=3600 if cls.cacheable else 0)

    def handles(self, obs_type: str) -> bool:
        return obs_type in self.observable_types

    @property
    def options(self) -> dict:
        return self.config.options if isinstance(self.config.options, dict) else {}

    @property
    def base_url(self) -> str:
        return (self.config.base_url or self.default_base_url).rstrip("/")

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            self._http = HttpClient(self.config, base_url=self.base_url, provider_name=self.name)
        return self._http

    def require_api_key(self) -> str:
        if not self.config.api_key:
            raise ProviderError(f"{self.name}: no API key configured.")
        return self.config.api_key

    def lookup(self, obs_type: str, value: str) -> LookupResult:  # pragma: no cover - interface
        raise NotImplementedError
