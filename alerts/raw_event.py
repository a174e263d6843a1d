"""The raw event as the sender sent it, for the alert page: indented JSON, keys in the sender's
order. The template escapes it (it is shown in a <pre>, never as markup)."""

from __future__ import annotations

import json
from typing import Any

# A raw event is limited at ingestion (SOAR_MAX_BODY_BYTES); indented it grows. Past this the
# page shows the start and says so, the API (GET /api/v1/alerts/<id>) has the whole of it.
MAX_PRETTY_CHARS = 200_000


def pretty_json(raw: Any) -> str:
    text = json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=False, default=str)
    if len(text) > MAX_PRETTY_CHARS:
        return text[:MAX_PRETTY_CHARS] + "\n… (cut: the whole event is in the API, GET /api/v1/alerts/<id>)"
    return text
