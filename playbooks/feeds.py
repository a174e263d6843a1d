"""Blocklist feeds for firewalls to pull: plain text (one value per line) and JSON.

Authentication: a token from settings (SOAR_BLOCKLIST_FEED_TOKEN for every list, or a
per-list one in SOAR_BLOCKLIST_FEED_TOKENS), presented as ``Authorization: Bearer <token>``,
as the password of HTTP basic auth (any user name), or as ``?token=<token>`` for firewalls
that can only be given a URL. With no token configured for a list, its feed does not exist."""

from __future__ import annotations

import base64
import binascii
import hmac

from django.conf import settings


def tokens_for(list_name: str) -> list[str]:
    tokens = [settings.SOAR_BLOCKLIST_FEED_TOKEN, (settings.SOAR_BLOCKLIST_FEED_TOKENS or {}).get(list_name, "")]
    return [token for token in tokens if token]


def presented_token(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return request.GET.get("token", "")


def token_matches(request, tokens: list[str]) -> bool:
    given = presented_token(request).encode()
    return bool(given) and any(hmac.compare_digest(given, token.encode()) for token in tokens)


def entry_rows(entries) -> list[dict]:
    return [{"type": e.obs_type, "value": e.value, "reason": e.reason, "added_by": e.added_by,
             "created_at": e.created_at.isoformat(), "expires_at": e.expires_at.isoformat() if e.expires_at else None}
            for e in entries]
