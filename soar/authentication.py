"""DRF authentication classes of the project. A module of its own: DRF imports it while loading
its settings, before rest_framework.views exists (soar/api.py imports that)."""

from __future__ import annotations

from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from soar import security


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's user-token authentication, refusing with 429 + Retry-After an address that sent
    too many wrong tokens (soar.security.token_lock_remaining); requests without a token are
    left to the other authenticators as before."""

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        address = security.client_address(request)
        remaining = security.token_lock_remaining(address)
        if remaining:
            raise Throttled(wait=remaining, detail="Too many invalid tokens from this address.")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            security.record_token_failure(address)
            raise
