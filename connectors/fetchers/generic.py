"""Generic JSON over HTTP: ``GET <endpoint>?<cursor_param>=<cursor>&<limit_param>=<page size>``.

The records are found in the answer by ``list_path``, a JSONPath expression (RFC 9535's syntax
and the older filter form ``[?(...)]``, evaluated by jsonpath-ng with its extensions): a path
to one list (``$.data.items``: its elements are the records) or a query that selects the
records themselves (``$.data[*]``, ``$..alerts[*]``, ``$.results[?@.status == 'open']``). A
singular path (names and single indices only) must lead to a list; any other query's matches
are the records, in document order. Empty: the answer itself is the list. A path without the
leading ``$`` is read the older way, dotted as soar.dotted reads it (``data.items``), so
existing configurations keep working.

The cursor is the largest value of ``cursor_field`` among the records received (numbers
compared as numbers, anything else as text: ISO 8601 timestamps in one format sort correctly),
sent back as ``cursor_param`` at the next run. The API should answer the records whose cursor
field is greater than (or equal to: re-sent records are harmless) the value sent, oldest first.
A record's key is ``id_field``, else a digest of the record. ``cursor_field`` and ``id_field``
are dotted paths inside a record, or JSONPath when they start with ``$`` (the first match).
When the cursor is an ISO 8601 timestamp, the connector's lag is measured from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext import parse as parse_jsonpath
from jsonpath_ng.jsonpath import Child, Fields, Index, Root, This

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


@lru_cache(maxsize=64)
def compiled(path: str) -> JSONPath:
    """The parsed expression (raises JSONPathError); parsed once per process and path."""
    return parse_jsonpath(path)


def _singular(expression: JSONPath) -> bool:
    """A path to one value (RFC 9535's singular query: names and single indices only)."""
    if isinstance(expression, (Root, This)):
        return True
    if isinstance(expression, Child):
        return _singular(expression.left) and _singular(expression.right)
    if isinstance(expression, Fields):
        return len(expression.fields) == 1 and expression.fields[0] != "*"
    if isinstance(expression, Index):
        return len(expression.indices) == 1
    return False


def select_records(body: Any, path: str) -> list[Any] | None:
    """The records ``path`` selects in ``body`` (module docstring), or None when a path to one
    list finds no list there."""
    if not path:
        return body if isinstance(body, list) else None
    if not path.startswith("$"):
        found = dig(body, path)
        return found if isinstance(found, list) else None
    expression = compiled(path)
    matches = [match.value for match in expression.find(body)]
    if _singular(expression):
        return matches[0] if len(matches) == 1 and isinstance(matches[0], list) else None
    return matches


def value_at(record: Any, path: str) -> Any:
    """A field of a record: dotted, or the first match of a JSONPath starting with ``$``."""
    if not path.startswith("$"):
        return dig(record, path)
    matches = compiled(path).find(record)
    return matches[0].value if matches else None


def cursor_time(value: Any) -> datetime | None:
    """The cursor as a point in time, when it is an ISO 8601 timestamp (naive: UTC)."""
    if not isinstance(value, str) or len(value) < 10 or value[4] != "-":
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def validate(query: str, options: dict[str, Any]) -> dict[str, str]:
    errors = {}
    try:
        extra_params(query)
    except ValueError as exc:
        errors["query"] = f"Not a JSON object of query parameters: {exc}"
    names = ("list_path", "cursor_field", "cursor_param", "limit_param", "id_field")
    problems = [f"{name} must be a string." for name in names if name in options and not isinstance(options[name], str)]
    problems += jsonpath_problems(options)
    if problems:
        errors["options"] = " ".join(problems)
    return errors


def jsonpath_problems(options: dict[str, Any]) -> list[str]:
    """The path options written as JSONPath (a leading ``$``) that do not parse."""
    problems = []
    for name in ("list_path", "cursor_field", "id_field"):
        value = options.get(name, "")
        if isinstance(value, str) and value.startswith("$"):
            try:
                compiled(value)
            except JSONPathError as exc:
                problems.append(f"{name} is not a JSONPath expression ({exc}).")
    return problems


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
    problems = jsonpath_problems(options)
    if problems:  # stored without the admin's validation (the shell, a migration)
        raise FetchError(f"{connector.name}: {' '.join(problems)}")
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
    items = select_records(body, options["list_path"])
    if items is None:
        raise FetchError(f"{connector.name}: no list at {options['list_path'] or 'the top of the answer'!r}")
    records: list[tuple[str, Any]] = []
    latest = value
    for item in items:
        key = value_at(item, options["id_field"]) if options["id_field"] and isinstance(item, dict) else None
        records.append((str(key)[:200] if key not in (None, "") else record_digest(item), item))
        if options["cursor_field"]:
            latest = _later(latest, value_at(item, options["cursor_field"]))
    next_cursor = dict(cursor)
    if latest is not None:
        next_cursor["value"] = latest
    return Page(records, next_cursor, more=len(items) >= connector.page_size and latest != value,
                position=cursor_time(latest))
