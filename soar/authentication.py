"""DRF authentication classes of the project. A module of its own: DRF imports it while loading
its settings, before rest_framework.views exists (soar/api.py imports that).

``BaseThrottledTokenAuthentication`` is the project's generic part (a throttle on wrong tokens,
expiry); which model holds the tokens is the subclass's business: the cases app's
``cases.api.authentication.ApiTokenAuthentication`` looks them up in ``cases.models.ApiToken``
(soar, the bottom floor, imports no app)."""

from __future__ import annotations

from typing import Any, Protocol

from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from soar import security


class TokenUser(Protocol):
    @property
    def is_active(self) -> bool: ...


class UserToken(Protocol):
    """What the base class needs of a stored token (no user model imported here: DRF may load
    this module before the apps are ready)."""

    @property
    def user(self) -> TokenUser: ...

    @property
    def expired(self) -> bool: ...


class ExpiredToken(AuthenticationFailed):
    default_detail = "Token has expired; ask an administrator for a new one."
    default_code = "token_expired"


class BaseThrottledTokenAuthentication(TokenAuthentication):
    """User API tokens (``Authorization: Token <key>``), found by ``find_token`` and refused once
    expired. An address that sent too many wrong tokens gets 429 + Retry-After
    (soar.security.token_lock_remaining); requests without a token are left to the other
    authenticators as before."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
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

    def authenticate_credentials(self, key: str) -> tuple[TokenUser, UserToken]:
        token = self.find_token(key)
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if token.expired:
            raise ExpiredToken()
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return token.user, token

    def find_token(self, key: str) -> UserToken | None:
        """The stored token of ``key`` (with its user), or None."""
        raise NotImplementedError

