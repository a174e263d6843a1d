"""User API tokens stored hashed (cases.models.ApiToken). DRF's own ``Token`` model keeps the key
in plain text; it stays installed only as a way in: a Token saved by ``manage.py
drf_create_token`` (which prints the key once) is turned into an ApiToken at once and its row
deleted, so no key is ever kept in the database."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from rest_framework.authtoken.models import Token, TokenProxy

from cases.models import ApiToken
from cases.services import record_audit

logger = logging.getLogger(__name__)


def convert_plaintext_token(sender: type[Token], instance: Token, created: bool, raw: bool = False,
                            **kwargs: Any) -> None:
    """post_save of rest_framework.authtoken's Token (and its admin proxy)."""
    if raw:  # loaddata: nothing to do with fixtures' rows here
        return
    with transaction.atomic():
        ApiToken.issue(instance.user, key=instance.key)
        type(instance).objects.filter(pk=instance.pk).delete()
    record_audit("api_token.issue", instance.user, actor_label="drf_create_token")
    logger.info("API token issued for user %s (stored hashed)", instance.user)


def connect() -> None:
    for model in (Token, TokenProxy):
        post_save.connect(convert_plaintext_token, sender=model, dispatch_uid=f"cases.api_tokens.{model.__name__}")
