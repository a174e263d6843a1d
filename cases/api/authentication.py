"""How API users authenticate: their hashed, expiring personal tokens (``cases.models.ApiToken``)
with the project's throttle on wrong tokens (``soar.authentication``), or the browser session.
A read token is refused (403) on every unsafe method, whatever the view: the scope is checked
here, where the token is known, so no view can forget it."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from cases.api_tokens import record_token_use
from cases.models import ApiToken
from soar import security
from soar.authentication import BaseThrottledTokenAuthentication, ExpiredToken, UserToken


class RevokedToken(ExpiredToken):
    default_detail = "Token has been revoked."
    default_code = "token_revoked"


class ApiTokenAuthentication(BaseThrottledTokenAuthentication):
    """``Authorization: Token <key>``, looked up by the key's SHA-256 (the key itself is not stored)."""

    def find_token(self, key: str) -> UserToken | None:
        token = ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(key)).first()
        if token is not None and token.revoked:
            raise RevokedToken()  # a real key, only revoked: not a guess (not counted by the throttle)
        return token

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        token = result[1]
        if token.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied("This token is read-only (scope \"read\").")
        record_token_use(token, security.client_address(request))
        return result


# The user-facing API's authenticators; the token first, so that a refusal is a 401.
USER_AUTHENTICATION: list[type[BaseAuthentication]] = [ApiTokenAuthentication, SessionAuthentication]
