"""Generic JSON over HTTP: ``GET <endpoint>?<cursor_param>=<cursor>&<limit_param>=<page size>``.

The records are the list at ``list_path`` in the answer (dotted, as soar.dotted reads it:
``data.items``; empty: the answer is the list). The cursor is the largest value of
``cursor_field`` among the records received (numbers compared as numbers, anything else as
text: ISO 8601 timestamps in one format sort correctly), sent back as ``cursor_param`` at the
next run. The API should answer the records whose cursor field is greater than (or equal to:
re-sent records are harmless) the value sent, oldest first. A record's key is ``id_field``,
else a digest of the record."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from connectors.fetchers.base import FetchError, HttpClient, Page, record_digest
from soar.dotted import dig

if TYPE_CHECKING:
    from connectors.models import PullConnector

DEFAULTS = {"list_path": "", "cursor_field": "", "cursor_param": "since", "limit_param": "limit", "id_field": "id",
            "auth_header": "Authorization", "auth_scheme": "Bearer", "start_value": None}


def options_for(connector: PullConnector) -> dict[str, Any]:
    return {**DEFAULTS, **(connector.options or {})}


def extra_params(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    value = json.loads(text)
    if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
        raise ValueError("the query must be a JSON object of query parameters (text or number values)")
    return value


def validate(query: str, options: dict[str, Any]) -> dict[str, str]:
    errors = {}
    try:
        extra_params(query)
    except ValueError as exc:
        errors["query"] = f"Not a JSON object of query parameters: {exc}"
    for name in ("list_path", "cursor_field", "cursor_param", "limit_param", "id_field"):
        if name in options and not isinstance(options[name], str):
            errors["options"] = f"{name} must be a string."
    return errors


def _later(a: Any, b: Any) -> Any:
    """The greater cursor value of two (None is smaller than anything)."""
    if a is None:
        return b
    if b is None:
        return a
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    if numbers:
        return max(a, b)
    return a if str(a) >= str(b) else b


def fetch(connector: PullConnector, cursor: dict[str, Any]) -> Page:
    options = options_for(connector)
    client = HttpClient(connector, auth_scheme=options["auth_scheme"], auth_header=options["auth_header"])
    try:
        params = {**extra_params(connector.query)}
        if options["limit_param"]:
            params[options["limit_param"]] = connector.page_size
        value = cursor.get("value", options["start_value"])
        if value is not None and options["cursor_param"]:
            params[options["cursor_param"]] = value
        _, body = client.request("GET", "", params=params)
    finally:
        client.close()
    items = dig(body, options["list_path"]) if options["list_path"] else body
    if not isinstance(items, list):
        raise FetchError(f"{connector.name}: no list at {options['list_path'] or 'the top of the answer'!r}")
    records: list[tuple[str, Any]] = []
    latest = value
    for item in items:
        key = dig(item, options["id_field"]) if options["id_field"] and isinstance(item, dict) else None
        records.append((str(key)[:200] if key not in (None, "") else record_digest(item), item))
        if options["cursor_field"]:
            latest = _later(latest, dig(item, options["cursor_field"]))
    next_cursor = dict(cursor)
    if latest is not None:
        next_cursor["value"] = latest
    return Page(records, next_cursor, more=len(items) >= connector.page_size and latest != value)
