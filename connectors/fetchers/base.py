"""What every fetcher shares: the page it returns, its errors, and one outbound HTTP client that
goes through the SSRF guard (enrichment.ssrf), never follows redirects and never shows the
connector's secret in an error message.

TLS certificates are always verified, against certifi's public CAs (the guarded session ignores
the environment, REQUESTS_CA_BUNDLE included) or, with ``options.ca_file``, against the PEM file
of a private CA: on-premises SIEMs answer with one by default (Elasticsearch 8's generated
http_ca.crt, the Wazuh indexer's root-ca.pem, Splunk's management port's own CA)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests

from enrichment.ssrf import SSRFError, check_url, guarded_session

if TYPE_CHECKING:
    from connectors.models import PullConnector

USER_AGENT = "Mini-SOAR pull connector"
# A Retry-After longer than this is read as this (a typo on the server must not stop a connector for a year).
MAX_RETRY_AFTER_SECONDS = 6 * 3600.0
EXCERPT_CHARS = 200


@dataclass
class Page:
    """One run's page: ``records`` as (record key, payload for the source's adapter), the cursor
    to commit with their alerts, whether more records are waiting (run again at once), and the
    source-side time the cursor has reached (for the lag; None when the kind has no clock).

    A kind that marks what it read on the remote side (the IMAP mailbox flags or moves its
    messages) sets ``acknowledge``: called only once the page's alerts are committed; and
    ``release`` (its open connection): called after the run whatever happened."""

    records: list[tuple[str, Any]] = field(default_factory=list)
    cursor: dict[str, Any] = field(default_factory=dict)
    more: bool = False
    position: datetime | None = None
    acknowledge: Callable[[], None] | None = None
    release: Callable[[], None] | None = None


class FetchError(Exception):
    """A run that fetched nothing usable. ``retry_after`` (seconds) is the server's own back-off
    (429/503 Retry-After); ``status`` the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def scrub(text: str, secret: str) -> str:
    """``text`` without the secret (an API echoing the Authorization header must not put it in a log)."""
    return text.replace(secret, "***") if secret and len(secret) >= 4 else text


def record_digest(record: Any) -> str:
    """A stable key for a record that carries no id of its own."""
    text = json.dumps(record, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def epoch_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return None  # an HTTP date: rare on these APIs; the exponential back-off applies


def _tls_reason(error: Exception) -> str:
    """The verification failure in a requests SSLError's long text, e.g. "certificate verify
    failed: self-signed certificate"."""
    text = str(error)
    start = text.find("certificate verify failed")
    if start < 0:
        return "the TLS handshake failed"
    return text[start:].split(" (_ssl", 1)[0].rstrip("')\"")[:200]


class HttpClient:
    """Requests to one connector's endpoint. Authentication: HTTP basic with ``username`` and
    the secret, else ``Authorization: <auth_scheme> <secret>``."""

    def __init__(self, connector: PullConnector, *, auth_scheme: str = "Bearer", auth_header: str = "Authorization"):
        self.connector = connector
        self.base = connector.endpoint.strip()
        self.secret = connector.secret
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        self.auth: tuple[str, str] | None = None
        if connector.secret:
            if connector.username:
                self.auth = (connector.username, connector.secret)
            else:
                self.headers[auth_header] = f"{auth_scheme} {connector.secret}".strip()
        ca_file = (connector.options or {}).get("ca_file") or ""
        self.ca_file = ca_file if isinstance(ca_file, str) else ""
        self.session = guarded_session()

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        if not path:
            return self.base
        return urljoin(self.base.rstrip("/") + "/", path.lstrip("/"))

    def request(self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None,
                data: dict[str, Any] | None = None, expect: tuple[int, ...] = ()) -> tuple[int, Any]:
        """(status, parsed JSON). Raises FetchError for refusals, transport errors, non-JSON
        answers and every status >= 300 that is not in ``expect``."""
        url = self.url(path)
        name = self.connector.name
        if self.ca_file and not os.path.isfile(self.ca_file):
            raise FetchError(f"{name}: options.ca_file {self.ca_file!r} is not a file on this host")
        try:
            check_url(url)
            response = self.session.request(
                method, url, json=json_body, params=params, data=data, headers=self.headers, auth=self.auth,
                timeout=self.connector.timeout_seconds, allow_redirects=False, verify=self.ca_file or True)
        except SSRFError as exc:
            raise FetchError(f"{name}: {exc}")
        except requests.exceptions.SSLError as exc:
            raise FetchError(f"{name}: TLS refused: {_tls_reason(exc)}. "
                             + ("Is options.ca_file the CA that signed the server's certificate?" if self.ca_file
                                else "For a private CA, set options.ca_file to its PEM file."))
        except requests.Timeout:
            raise FetchError(f"{name}: no answer within {self.connector.timeout_seconds:g}s")
        except requests.RequestException as exc:
            raise FetchError(f"{name}: connection failed ({exc.__class__.__name__})")
        status = response.status_code
        if status >= 300 and status not in expect:
            raise self._refusal(response)
        try:
            return status, response.json() if response.content else {}
        except ValueError:
            raise FetchError(f"{name}: the answer to {method} {path or '/'} is not JSON", status=status)

    def _refusal(self, response: requests.Response) -> FetchError:
        status = response.status_code
        excerpt = scrub((response.text or "")[:EXCERPT_CHARS].replace("\n", " "), self.secret)
        name = self.connector.name
        if status in (401, 403):
            return FetchError(f"{name}: authentication refused (HTTP {status}); check the user and secret. "
                              f"{excerpt}", status=status)
        if 300 <= status < 400:
            return FetchError(f"{name}: answered a redirect (HTTP {status}); redirects are not followed",
                              status=status)
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if status in (429, 503) else None
        return FetchError(f"{name}: HTTP {status}: {excerpt}", status=status, retry_after=retry_after)
