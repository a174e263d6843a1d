"""Defensive helpers shared by the vendor adapters (not an adapter itself).

Vendor payloads are foreign JSON: any field may be missing, of the wrong type, huge or
hostile. These helpers turn such values into "absent" instead of exceptions, so each
adapter only has to decide which fields are *required*.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
import urllib.parse
from collections.abc import Callable
from typing import Any, NoReturn

from alerts.normalization import (
    MAX_ENTITY_VALUE,
    NormalizationError,
    Observable,
    detect_observable,
    map_severity,
    parse_timestamp,
    try_observable,
)

# str(int) raises ValueError above ~4300 digits (CPython's DoS guard) and normalization's
# helpers print values in their messages; 64-bit ids (Suricata flow_id) must still fit.
_MAX_INT = 10**30
# Long enough for any real field; longer input is truncated rather than rejected.
MAX_FIELD = 20_000
# DNS names and NetBIOS/short names; at least one letter or digit.
_HOSTNAME_RE = re.compile(r"^(?=.*[A-Za-z0-9])[A-Za-z0-9_.-]{1,253}$")
# Alertmanager and Grafana send a whole alert group in one notification and never retry a
# 4xx: any group a sender can build is taken (the body-size limit bounds it), up to this.
MAX_BATCH = 10_000


def scalar(value: Any, limit: int = MAX_FIELD) -> str:
    """A JSON scalar as stripped text; "" for None, containers, huge ints and non-finite floats."""
    if isinstance(value, str):
        return value[: limit * 2].strip()[:limit]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < _MAX_INT else ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return ""


def first(*values: Any, limit: int = MAX_FIELD) -> str:
    """The first value that is a non-empty scalar."""
    for value in values:
        text = scalar(value, limit)
        if text:
            return text
    return ""


def as_dict(value: Any) -> dict[str, Any]:
    """An optional object: anything else reads as an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    """ECS/Splunk fields may hold one value or an array of values."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def field(doc: Any, path: str, default: Any = None, _depth: int = 0) -> Any:
    """Read ``a.b.c`` from nested objects, dotted flat keys ("a.b.c": ...) or any mix."""
    if not isinstance(doc, dict) or _depth > 16:
        return default
    if path in doc:
        return doc[path]
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        if isinstance(doc.get(head), dict):
            found = field(doc[head], ".".join(parts[cut:]), _MISSING, _depth + 1)
            if found is not _MISSING:
                return found
    return default


_MISSING = object()


def severity(value: Any, *, scale: tuple[int, int, int, int] | None = None, name: str = "severity") -> str:
    """map_severity restricted to values it can report on safely (bounded numbers, short words)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _MAX_INT:
        raise NormalizationError({name: ["Number is out of range."]})
    if isinstance(value, str):
        value = value[:64]
    elif not isinstance(value, (int, float)) or isinstance(value, bool):
        raise NormalizationError({name: ["Must be a level name or a number."]})
    try:
        return map_severity(value, scale=scale)
    except NormalizationError as exc:
        raise NormalizationError({name: exc.errors.get("severity", [str(exc)])}) from None


def severity_or(value: Any, default: str = "medium", **kwargs: Any) -> str:
    """For free-form severity labels: an unknown word must not reject the whole alert."""
    if value in (None, ""):
        return default
    try:
        return severity(value, **kwargs)
    except NormalizationError:
        return default


def batch(items: Any, name: str = "alerts") -> list:
    if not isinstance(items, list) or not items:
        raise NormalizationError({name: ["Must be a non-empty list."]})
    if len(items) > MAX_BATCH:
        raise NormalizationError({name: [f"At most {MAX_BATCH} alerts per request."]})
    return items


def timestamp_or_warn(value: Any, name: str, warnings: list[str]) -> dt.datetime | None:
    """An optional time: a value that cannot be read falls back to the received time (None)
    with a warning on the alert, instead of refusing an alert the sender will never re-send."""
    try:
        return timestamp(value, name)
    except NormalizationError as exc:
        warnings.extend(f"{key}: {msg}" for key, msgs in exc.errors.items() for msg in msgs)
        return None


def severity_or_warn(value: Any, name: str, warnings: list[str], default: str = "medium", **kwargs: Any) -> str:
    """Like severity_or, but an unreadable value is recorded as a warning on the alert."""
    if value in (None, ""):
        return default
    try:
        return severity(value, name=name, **kwargs)
    except NormalizationError:
        warnings.append(f"{name}: unknown severity {scalar(value, 40)!r}; taken as {default}.")
        return default


def confidence_or_warn(value: Any, name: str, warnings: list[str]) -> int:
    """A sender's confidence: 0-100, or a probability written 0.0-1.0; absent -> 50 (unknown),
    unreadable -> 50 with a warning."""
    text = first(value, limit=10)
    if not text:
        return 50
    try:
        number = float(text)
    except ValueError:
        number = -1
    if 0 <= number <= 1 and "." in text:
        number *= 100
    if not 0 <= number <= 100:
        warnings.append(f"{name}: {text!r} is not 0-100; taken as 50.")
        return 50
    return int(number)


def title_or_warn(title: str, fallback: str, name: str, warnings: list[str]) -> str:
    """Every real alert has a name; a document without one is still an alert."""
    if title:
        return title
    warnings.append(f"{name}: missing; the title was made from other fields.")
    return fallback


def documents(payload: Any) -> list | None:
    """The alert documents in the envelopes pipelines wrap them in: a search response
    (``hits.hits``), a list of hits or documents, ``{"alerts": [...]}``, a bulk body of
    alternating action/document lines as a list. None when ``payload`` is one document."""
    if isinstance(payload, dict):
        hits = payload.get("hits")
        if isinstance(hits, dict) and isinstance(hits.get("hits"), list):
            return [unwrap_hit(hit) for hit in hits["hits"]]
        if isinstance(payload.get("alerts"), list):
            return [unwrap_hit(item) for item in payload["alerts"]]
        return None
    if isinstance(payload, list):
        items = [item for item in payload if not _is_bulk_action(item)]
        return [unwrap_hit(item) for item in items]
    return None


def _is_bulk_action(item: Any) -> bool:
    return (isinstance(item, dict) and len(item) == 1
            and next(iter(item)) in ("index", "create") and isinstance(next(iter(item.values())), dict))


def unwrap_hit(item: Any) -> Any:
    """An Elasticsearch/OpenSearch hit ``{"_index", "_id", "_source"}`` (or an es_archiver
    record ``{"type": "doc", "value": {"index", "id", "source"}}``) -> its document, with
    ``_id``/``_index`` kept beside the fields (the id is the document's identity)."""
    if isinstance(item, dict) and isinstance(item.get("_source"), dict):
        return {**item["_source"], "_id": item.get("_id"), "_index": item.get("_index")}
    # Kibana's es_archiver files (how Elastic publishes its own alert samples).
    value = item.get("value") if isinstance(item, dict) and item.get("type") == "doc" else None
    if isinstance(value, dict) and isinstance(value.get("source"), dict):
        return {**value["source"], "_id": value.get("id"), "_index": value.get("index")}
    return item


def timestamp(value: Any, name: str = "occurred_at") -> dt.datetime | None:
    """parse_timestamp guarded against values it cannot even print in its error message."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _MAX_INT:
        raise NormalizationError({name: ["Not a valid timestamp (number out of range)."]})
    if isinstance(value, str):
        value = value[:64]
    elif value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        raise NormalizationError({name: ["Must be an ISO 8601 string or epoch number."]})
    return parse_timestamp(value, name)


class Errors:
    """Collects field errors so one response reports every problem, like the generic adapter."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def check(self, name: str, fn: Callable[[], Any], default: Any = None) -> Any:
        try:
            return fn()
        except NormalizationError as exc:
            for key, msgs in exc.errors.items():
                self.errors.setdefault(name if key in ("non_field_errors", name) else key, []).extend(msgs)
            return default

    def raise_if_any(self) -> None:
        if self.errors:
            raise NormalizationError(self.errors)

    def refuse(self, name: str, message: str) -> NoReturn:
        """Add a last error and refuse with all of them."""
        self.add(name, message)
        raise NormalizationError(self.errors)


def url_host(url: Any) -> str:
    text = scalar(url, MAX_ENTITY_VALUE)
    if "://" not in text:
        return ""
    try:
        return urllib.parse.urlsplit(text).hostname or ""
    except ValueError:  # e.g. "http://[bad-ipv6/"
        return ""


def host_observable(value: Any) -> Observable | None:
    """A host reference as an ip observable when it is an address, else a hostname."""
    text = scalar(value, MAX_ENTITY_VALUE + 1)
    if not text:
        return None
    try:
        ipaddress.ip_address(text)
        return try_observable("ip", text)
    except ValueError:
        pass
    # normalization accepts any hostname text; placeholders like "N/A" or "unknown host" must not
    # become entities (they would correlate unrelated alerts).
    if not _HOSTNAME_RE.match(text) or text.lower() in ("unknown", "none", "null", "localhost"):
        return None
    return try_observable("hostname", text)


def url_observables(urls: list[Any]) -> list[Observable]:
    """Each URL plus its host (as a domain or ip), the part analysts usually pivot on."""
    found: list[Observable] = []
    for url in urls[:100]:
        obs = try_observable("url", scalar(url, MAX_ENTITY_VALUE + 1))
        if obs is None:
            continue
        found.append(obs)
        host = url_host(obs.value)
        host_obs = try_observable("ip", host) or try_observable("domain", host)
        if host_obs:
            found.append(host_obs)
    return found


# Field names that say their value names a host (so "evil.com" there is a domain, while a
# bare "report.pdf" elsewhere is not); and ones that name an account.
_HOSTISH = re.compile(r"(domain|host|fqdn|dns|query|site|server|sni|rrname|dest|src|dst|remote|origin)", re.I)
_USERISH = re.compile(r"(^|[_.])(user|username|user_?name|user\.name|account|account_?name|login|principal)$", re.I)
MAX_DETECTED_FIELDS = 200


def label_observables(fields: dict, *, users: bool = True) -> list[Observable]:
    """Observables found by shape in every value of a flat field map (Splunk results, Prometheus
    labels, generic ``data``): IPs, URLs (with their host), e-mail addresses and hashes anywhere;
    domains in fields whose name says they name a host; users in fields named like accounts."""
    found: list[Observable] = []
    for key, value in list(fields.items())[:MAX_DETECTED_FIELDS]:
        if not isinstance(key, str) or key.startswith("_"):
            continue
        for item in as_list(value)[:20]:
            text = scalar(item, MAX_ENTITY_VALUE + 1)
            if not text:
                continue
            obs = detect_observable(text, allow_domain=bool(_HOSTISH.search(key)))
            if obs is None and users and _USERISH.search(key):
                obs = try_observable("user", text)
            if obs is None:
                continue
            if obs.type == "url":
                found.extend(url_observables([obs.value]))
            else:
                found.append(obs)
    return found


def pairs_observables(pairs: list[tuple[str, Any]]) -> list[Observable]:
    """Like observables_from, but flattens list values and ignores non-scalars."""
    found: list[Observable] = []
    for obs_type, value in pairs:
        for item in as_list(value)[:50]:
            obs = try_observable(obs_type, scalar(item, MAX_ENTITY_VALUE + 1))
            if obs is not None:
                found.append(obs)
    return found


def parse_each(items: list, parse_one: Callable[[Any], Any], name: str = "alerts") -> list:
    """Parse every element of a group. Elements that cannot become an alert are skipped and
    named in a warning on the others (a sender does not re-send a refused group, so one bad
    element must not lose the rest); only a group with no readable element is refused."""
    results, errors = [], Errors()
    for index, item in enumerate(items):
        try:
            results.append(parse_one(item))
        except NormalizationError as exc:
            for key, msgs in exc.errors.items():
                errors.errors.setdefault(f"{name}[{index}].{key}", []).extend(msgs)
    if not results:
        errors.raise_if_any()
    elif errors.errors:
        skipped = sorted({key.split("]", 1)[0] + "]" for key in errors.errors})
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in list(errors.errors.items())[:5])
        for alert in results:
            alert.warnings.append(f"{len(skipped)} other element(s) of this notification could not be read "
                                  f"and were skipped ({detail})"[:300])
    return results
