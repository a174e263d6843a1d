"""One fetcher per connector kind: ``fetch(connector, cursor) -> Page`` (one bounded page, HTTP
only: storing the page and committing the cursor is connectors.services' job) and
``validate(query, options) -> {field: message}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from connectors.fetchers import generic, imap, search, splunk
from connectors.fetchers.base import FetchError, Page

if TYPE_CHECKING:
    from connectors.models import PullConnector

__all__ = ["FetchError", "Page", "endpoint_problem", "fetch_page", "validate_config"]

_FETCHERS: dict[str, tuple[Callable[[PullConnector, dict[str, Any]], Page],
                           Callable[[str, dict[str, Any]], dict[str, str]]]] = {
    "elasticsearch": (search.fetch, search.validate),
    "wazuh_indexer": (search.fetch, search.validate),
    "splunk": (splunk.fetch, splunk.validate),
    "generic_json": (generic.fetch, generic.validate),
    "imap": (imap.fetch, imap.validate),
}


def fetch_page(connector: PullConnector, cursor: dict[str, Any]) -> Page:
    return _FETCHERS[connector.kind][0](connector, cursor)


def validate_config(kind: str, query: str, options: Any) -> dict[str, str]:
    """Field errors of a connector's configuration ({} when it can run)."""
    if kind not in _FETCHERS:
        return {"kind": f"Unknown kind {kind!r}."}
    if not isinstance(options, dict):
        return {"options": "Options must be a JSON object."}
    errors = _FETCHERS[kind][1](query, options)
    ca_file = options.get("ca_file", "")
    if kind != "imap" and not isinstance(ca_file, str):  # the IMAP kind checks its own
        errors["options"] = " ".join(filter(None, (errors.get("options"), "ca_file: a path to a PEM file.")))
    return errors


def endpoint_problem(kind: str, endpoint: str) -> str:
    """Why ``endpoint`` cannot be this kind's endpoint ("" when it can)."""
    if kind == "imap":
        return imap.endpoint_problem(endpoint)
    if not endpoint.lower().startswith(("http://", "https://")):
        return "An http:// or https:// URL."
    return ""
