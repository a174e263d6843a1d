"""Personal API tokens (cases.models.ApiToken): issued by their users on /me/tokens (several
each, named, read or write, expiring), by admins in the admin, or by ``manage.py
drf_create_token``; stored as the key's SHA-256 only.

DRF's own ``Token`` model keeps the key in plain text; it stays installed only as a way in: a
Token saved by ``drf_create_token`` (which prints the key once) is turned into an ApiToken at
once and its row deleted, so no key is ever kept in the database.

Use is recorded without a write per request: ``last_used_at``/``last_used_ip`` at most once a
minute per token (USE_WRITE_INTERVAL), and an ``api_token.use`` audit entry at most once an hour
per token (USE_AUDIT_INTERVAL). Each is a conditional UPDATE, so several web processes seeing the
same token at once still write one row."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_save
from django.utils import timezone
from rest_framework.authtoken.models import Token, TokenProxy

from cases import roles
from cases.models import ApiToken
from cases.services import record_audit
from soar.errors import InvalidInput, NotAllowed, NotFound

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

USE_WRITE_INTERVAL = timedelta(minutes=1)
USE_AUDIT_INTERVAL = timedelta(hours=1)
NAME_MAX_LENGTH = 100


def convert_plaintext_token(sender: type[Token], instance: Token, created: bool, raw: bool = False,
                            **kwargs: Any) -> None:
    """post_save of rest_framework.authtoken's Token (and its admin proxy)."""
    if raw:  # loaddata: nothing to do with fixtures' rows here
        return
    with transaction.atomic():
        token, _ = ApiToken.issue_token(instance.user, key=instance.key, name="drf_create_token", replace=True)
        type(instance).objects.filter(pk=instance.pk).delete()
    record_audit("api_token.issue", token, actor_label="drf_create_token", after=token_snapshot(token))
    logger.info("API token issued for user %s (stored hashed)", instance.user)


def connect() -> None:
    for model in (Token, TokenProxy):
        post_save.connect(convert_plaintext_token, sender=model, dispatch_uid=f"cases.api_tokens.{model.__name__}")


def token_snapshot(token: ApiToken) -> dict[str, Any]:
    """What the audit log keeps of a token: never the key nor its digest."""
    return {"user": token.user.get_username(), "name": token.name, "prefix": token.prefix, "scope": token.scope,
            "expires_at": token.expires_at.isoformat()}


def user_tokens(user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked ones included, for the record)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def create_personal_token(user: User, *, name: str, scope: str, expires_in_days: int | None) -> tuple[ApiToken, str]:
    """A new token of ``user`` for ``user`` and its key, shown once. Auditors, read-only, get
    read tokens only. The lifetime is at most SOAR_API_TOKEN_TTL_DAYS."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the token a name (what or who uses it).", field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"At most {NAME_MAX_LENGTH} characters.", field="name")
    if scope not in ApiToken.Scope.values:
        raise InvalidInput("Choose read or write.", field="scope")
    if scope == ApiToken.Scope.WRITE and roles.is_auditor(user):
        raise NotAllowed("Auditors are read-only: create a read token.", field="scope")
    limit = settings.SOAR_API_TOKEN_TTL_DAYS
    days = limit if expires_in_days is None else expires_in_days
    if not 1 <= days <= limit:
        raise InvalidInput(f"Between 1 and {limit} days.", field="expires_in_days")
    token, key = ApiToken.issue_token(user, name=name, scope=scope,
                                      expires_at=timezone.now() + timedelta(days=days))
    record_audit("api_token.issue", token, actor=user, after=token_snapshot(token))
    return token, key


def revoke_personal_token(user: User, token_id: int) -> ApiToken:
    """Revokes one of ``user``'s own tokens (another user's: NotFound, as if it did not exist)."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_audit("api_token.revoke", token, actor=user, after=token_snapshot(token))
    return token


def record_token_use(token: ApiToken, address: str, now: datetime | None = None) -> None:
    """Notes that ``token`` authenticated a request from ``address``: last_used_* at most once a
    minute, an ``api_token.use`` audit entry at most once an hour (module docstring)."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < USE_WRITE_INTERVAL:
        return  # what this request read: no statement at all on the hot path
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - USE_WRITE_INTERVAL)
    ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now, last_used_ip=address or None)
    due = Q(last_audited_at__isnull=True) | Q(last_audited_at__lt=now - USE_AUDIT_INTERVAL)
    if ApiToken.objects.filter(due, pk=token.pk).update(last_audited_at=now):
        record_audit("api_token.use", token, actor=token.user, after={"prefix": token.prefix, "name": token.name,
                                                                    "address": address})
