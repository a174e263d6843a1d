"""Limits every JSON document accepted from outside must respect, webhook and user API alike."""

from __future__ import annotations

import math
from typing import Any


def json_problem(data: Any, max_depth: int) -> str | None:
    """Why ``data`` is refused, or None. Iterative walk: nesting deeper than ``max_depth``, NUL
    characters (PostgreSQL cannot store them), integers beyond 64 bits and non-finite floats
    (they break JSON columns and every consumer downstream)."""
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
