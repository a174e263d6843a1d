"""HTTP for connectors: SSRF-guarded session, per-provider timeout, retries with exponential
backoff on 429/5xx/timeouts honouring Retry-After (capped). Error messages never include
URLs with query strings or headers, so API keys cannot leak into case evidence or logs."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from django.conf import settings

from enrichment.models import ProviderConfig
from enrichment.providers.errors import ProviderError
from enrichment.ssrf import SSRFError, check_url, guarded_session

logger = logging.getLogger(__name__)
RETRY_STATUSES = {429, 500, 502, 503, 504}


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    def __init__(self, config: ProviderConfig, *, base_url: str, provider_name: str,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.base_url = base_url
        self.provider_name = provider_name
        self.sleep = sleep
        self.session = guarded_session()

    def _backoff(self, attempt: int, response: requests.Response | None = None) -> float:
        cap = float(settings.SOAR_ENRICHMENT_MAX_RETRY_AFTER_SECONDS)
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
        if retry_after is not None:
            return min(retry_after, cap)
        base = float((self.config.options or {}).get("backoff_seconds", 1.0))
        return min(base * (2 ** attempt), cap)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send ``method`` to base_url + path. Returns the response for any status the caller
        should interpret (2xx, 4xx other than 429); raises ProviderError otherwise."""
        if not self.base_url:
            raise ProviderError(f"{self.provider_name}: no base URL configured.")
        url = self.base_url + path
        try:
            check_url(url)
        except SSRFError as exc:
            raise ProviderError(str(exc)) from None
        timeout = float(self.config.timeout_seconds or 10)
        retries = int(self.config.max_retries or 0)
        problem = ""
        for attempt in range(retries + 1):
            response = None
            try:
                response = self.session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
            except SSRFError as exc:
                raise ProviderError(str(exc)) from None
            except requests.Timeout:
                problem = f"timed out after {timeout:g}s"
            except requests.RequestException as exc:
                problem = f"connection failed ({exc.__class__.__name__})"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem = ("rate limited by the provider (HTTP 429)" if response.status_code == 429
                           else f"server error (HTTP {response.status_code})")
            if attempt < retries:
                delay = self._backoff(attempt, response)
                logger.info("%s: %s; retry %d/%d in %.1fs", self.provider_name, problem, attempt + 1, retries, delay)
                self.sleep(delay)
        attempts = retries + 1
        raise ProviderError(f"{self.provider_name}: {problem} ({attempts} attempt{'s' if attempts > 1 else ''}).")

    def json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"{self.provider_name}: response is not JSON (HTTP {response.status_code}).") from None

    def refuse_auth_errors(self, response: requests.Response) -> None:
        if response.status_code in (401, 403):
            raise ProviderError(f"{self.provider_name}: credentials refused (HTTP {response.status_code}); "
                                "check the API key.")

    def unexpected(self, response: requests.Response) -> ProviderError:
        return ProviderError(f"{self.provider_name}: unexpected HTTP {response.status_code}.")
