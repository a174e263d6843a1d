"""DRF authentication classes of the project. A module of its own: DRF imports it while loading
its settings, before rest_framework.views exists (soar/api.py imports that)."""

from __future__ import annotations

from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from soar import security


class ExpiredToken(AuthenticationFailed):
    default_detail = "Token has expired; ask an administrator for a new one."
    default_code = "token_expired"


class ThrottledTokenAuthentication(TokenAuthentication):
    """User API tokens (``Authorization: Token <key>``), looked up by their SHA-256
    (cases.models.ApiToken: the key itself is not stored) and refused once expired. An address
    that sent too many wrong tokens gets 429 + Retry-After (soar.security.token_lock_remaining);
    requests without a token are left to the other authenticators as before."""

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
        except ExpiredToken:
            raise  # a real key, only old: not a guess
        except AuthenticationFailed:
            security.record_token_failure(address)
            raise

    def authenticate_credentials(self, key):
        from cases.models import ApiToken  # models: not at import time (see the module's docstring)

        token = ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(key)).first()
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if token.expired:
            raise ExpiredToken()
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return token.user, token
