"""How API users authenticate: their hashed, expiring tokens (``cases.models.ApiToken``) with
the project's throttle on wrong tokens (``soar.authentication``), or the browser session."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from cases.models import ApiToken
from soar.authentication import BaseThrottledTokenAuthentication, UserToken


class ApiTokenAuthentication(BaseThrottledTokenAuthentication):
    """``Authorization: Token <key>``, looked up by the key's SHA-256 (the key itself is not stored)."""

    def find_token(self, key: str) -> UserToken | None:
        return ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(key)).first()


# The user-facing API's authenticators; the token first, so that a refusal is a 401.
USER_AUTHENTICATION: list[type[BaseAuthentication]] = [ApiTokenAuthentication, SessionAuthentication]
