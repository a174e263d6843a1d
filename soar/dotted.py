"""Reading foreign JSON by a dotted path ("a.b.0.c"): adapters, the generic JSON provider and
playbook templates all follow paths through nested dicts and lists the same way."""

from __future__ import annotations

from typing import Any


def dig(data: Any, path: str, default: Any = None) -> Any:
    """The value at ``path`` (dict keys; a number also indexes a list), or ``default`` when a
    part is missing. A stored None is returned as None. An empty path is ``data`` itself."""
    current = data
    for part in path.split(".") if path else ():
        if isinstance(current, dict):
            if part not in current:
                return default
            current = current[part]
        elif isinstance(current, (list, tuple)) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return current
