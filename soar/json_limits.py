"""Limits every JSON document accepted from outside must respect, webhook and user API alike."""

from __future__ import annotations

import math
import re
from typing import Any

# In JSON text a NUL can only be written as the escape \u0000, an integer beyond 64 bits needs
# 19+ digits and a float overflows to infinity only with a 3+ digit exponent. A body without
# any of them needs only the nesting check (a 1,000-alert batch: ~25 ms -> ~3 ms).
_SCALAR_SUSPECTS = re.compile(rb"\\u0000|\d{19}|[eE][+-]?\d{3}")


def json_problem(data: Any, max_depth: int, body: bytes | None = None) -> str | None:
    """Why ``data`` is refused, or None. Iterative walk: nesting deeper than ``max_depth``, NUL
    characters (PostgreSQL cannot store them), integers beyond 64 bits and non-finite floats
    (they break JSON columns and every consumer downstream). ``body``, the JSON text ``data``
    was parsed from, lets a body with no suspect scalar skip the per-value checks."""
    if body is not None and not _SCALAR_SUSPECTS.search(body):
        return _too_deep(data, max_depth)
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > max_depth:
                return f"JSON is nested deeper than {max_depth} levels."
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                if isinstance(key, str) and "\x00" in key:
                    return "JSON must not contain NUL characters."
                stack.append((child, depth + 1))
        elif isinstance(value, str):
            if "\x00" in value:
                return "JSON must not contain NUL characters."
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -(2**63) <= value < 2**63:
                return "JSON numbers must fit in 64 bits."
        elif isinstance(value, float) and not math.isfinite(value):
            return "JSON numbers must be finite."
    return None


def _too_deep(data: Any, max_depth: int) -> str | None:
    stack = [(data, 1)] if type(data) is dict or type(data) is list else []
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return f"JSON is nested deeper than {max_depth} levels."
        for child in value.values() if type(value) is dict else value:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return None
