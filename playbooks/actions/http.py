"""Outbound HTTP of actions: to the connector's configured base URL only, through the SSRF
guard, with the step's idempotency key on every request, and a clear split between
transient failures (retried with backoff) and permanent ones."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

import requests
from django.conf import settings

from enrichment.ssrf import SSRFError, check_url, guarded_session
from playbooks.actions.base import ActionError, TransientActionError
from playbooks.models import Connector

logger = logging.getLogger(__name__)
USER_AGENT = "Mini-SOAR playbooks"
MAX_RETRY_AFTER = 300.0
# A connector whose base URL starts with this sends nothing: the demo data's EDR, ticketing, chat
# and mail connectors. The step's output records what would have been sent, labelled as a demo.
DEMO_URL_PREFIX = "demo://"
DEMO_NOTE = "DEMO connector: the request was recorded here; nothing was sent."


def is_demo_connector(connector: Connector) -> bool:
    return connector.base_url.strip().lower().startswith(DEMO_URL_PREFIX)


def demo_answer(connector: Connector, method: str, path: str, payload: Any = None) -> tuple[int, dict]:
    """What a demo connector answers: the request it would have sent. Refused in production, where
    an action that silently does nothing (a host "isolated" that is not) would be dangerous."""
    if settings.PRODUCTION:
        raise ActionError(f"Connector {connector.name} is a demo connector ({DEMO_URL_PREFIX}...): "
                          "demo connectors are refused when SOAR_ENV=production.")
    logger.info("demo connector %s: %s %s recorded, nothing sent", connector.name, method, path or "/")
    return 200, {"demo": True, "note": DEMO_NOTE, "method": method, "path": path or "/", "payload": payload}


def get_connector(name: str | None, kinds: tuple[str, ...]) -> Connector:
    """The named connector, or the first enabled one of the wanted kinds."""
    connectors = Connector.objects.filter(kind__in=kinds, enabled=True)
    connector = connectors.filter(name=name).first() if name else connectors.order_by("name").first()
    if connector is None:
        wanted = f"named {name!r} " if name else ""
        raise ActionError(f"No enabled connector {wanted}of kind {'/'.join(kinds)}; add one in the admin.")
    return connector


def build_url(connector: Connector, path: str) -> str:
    base = connector.base_url.strip()
    if not path:
        return base
    return urljoin(base.rstrip("/") + "/", path.lstrip("/"))


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return min(float(value), MAX_RETRY_AFTER) if value else None
    except ValueError:
        return None


def _excerpt(response) -> str:
    return (response.text or "")[:300].replace("\n", " ")


def call(connector: Connector, method: str, path: str, *, idempotency_key: str, payload: Any = None,
         params: dict | None = None, auth: str = "auto") -> tuple[int, Any]:
    """Send one request; returns (status, parsed JSON or text). Raises TransientActionError
    for timeouts, connection errors, 408/429/5xx and ActionError for other failures."""
    if is_demo_connector(connector):
        return demo_answer(connector, method, path, payload)
    url = build_url(connector, path)
    try:
        check_url(url)
    except SSRFError as exc:
        raise ActionError(f"Connector {connector.name}: {exc}")
    headers = {"User-Agent": USER_AGENT, "Idempotency-Key": idempotency_key, "Accept": "application/json"}
    request_auth = None
    if auth != "none" and connector.secret:
        if connector.username:
            request_auth = (connector.username, connector.secret)
        else:
            headers["Authorization"] = f"Bearer {connector.secret}"
    session = guarded_session()
    try:
        response = session.request(method, url, json=payload, params=params, headers=headers, auth=request_auth,
                                    timeout=connector.timeout_seconds, allow_redirects=False)
    except SSRFError as exc:
        raise ActionError(f"Connector {connector.name}: {exc}")
    except requests.Timeout:
        raise TransientActionError(f"{connector.name}: no answer within {connector.timeout_seconds:g}s")
    except requests.RequestException as exc:
        raise TransientActionError(f"{connector.name}: connection failed ({exc.__class__.__name__})")
    finally:
        session.close()
    status = response.status_code
    if status in (408, 425, 429) or status >= 500:
        raise TransientActionError(f"{connector.name} answered HTTP {status}: {_excerpt(response)}",
                                   retry_after=_retry_after(response))
    if status >= 400:
        raise ActionError(f"{connector.name} refused the request: HTTP {status}: {_excerpt(response)}")
    if 300 <= status < 400:
        raise ActionError(f"{connector.name} answered a redirect (HTTP {status}); redirects are not followed")
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = response.text[:2000]
    return status, body
