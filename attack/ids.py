"""ATT&CK technique ids as tools send them (pure Python: the alert adapters use it)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
MAX_IDS_PER_ALERT = 50


def technique_id(value: Any) -> str:
    """'t1059.001 ' -> 'T1059.001'; '' when the value is not an ATT&CK technique id (a name, a tactic TA0001)."""
    text = value.strip().upper() if isinstance(value, str) else ""
    return text if TECHNIQUE_ID.match(text) else ""


def technique_ids(values: Iterable[Any]) -> list[str]:
    """The technique ids among ``values``, in the order sent, without duplicates (at most 50)."""
    found: dict[str, None] = {}
    for value in values:
        ext = technique_id(value)
        if ext:
            found.setdefault(ext)
        if len(found) >= MAX_IDS_PER_ALERT:
            break
    return list(found)
