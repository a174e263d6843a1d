"""Token guessing is throttled per client address: after SOAR_TOKEN_MAX_FAILURES_PER_IP wrong
bearer tokens, the webhook and the user API answer 429 + Retry-After to that address."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

from tests.factories import build_world

pytestmark = pytest.mark.django_db

ALERT = {"title": "Port scan", "severity": "high", "confidence": 90,
         "entity": {"type": "ip", "value": "203.0.113.7"}, "occurred_at": "2026-11-25T10:00:00Z"}


def ingest(client: Client, token: str):
    return client.post("/api/v1/alerts", data=json.dumps(ALERT), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


def api(client: Client, token: str):
    return client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {token}")


@override_settings(SOAR_TOKEN_MAX_FAILURES_PER_IP=3, SOAR_TOKEN_LOCKOUT_SECONDS=90)
def test_webhook_token_guessing_gets_429_per_address(make_source):
    _, token = make_source()
    guesser = Client(REMOTE_ADDR="203.0.113.50")
    for n in range(3):
        assert ingest(guesser, f"soar_guess{n}").status_code == 401
    refused = ingest(guesser, "soar_guess9")
    assert refused.status_code == 429 and refused["Retry-After"] == "90"
    assert ingest(guesser, token).status_code == 429  # a lock-out, valid tokens included
    # Another address is not affected.
    assert ingest(Client(REMOTE_ADDR="198.51.100.7"), token).status_code == 202


@override_settings(SOAR_TOKEN_MAX_FAILURES_PER_IP=3, SOAR_TOKEN_LOCKOUT_SECONDS=90)
def test_user_api_token_guessing_gets_429_per_address():
    world = build_world()
    token = Token.objects.create(user=world.analyst).key
    guesser = Client(REMOTE_ADDR="203.0.113.50")
    for n in range(3):
        assert api(guesser, f"{n:040d}").status_code == 401  # token authentication is listed first
    refused = api(guesser, "0" * 40)
    assert refused.status_code == 429 and refused["Retry-After"] == "90"
    assert api(guesser, token).status_code == 429
    assert api(Client(REMOTE_ADDR="198.51.100.7"), token).status_code == 200
    # The reports API (its own authentication list) shares the throttle.
    assert guesser.get("/api/v1/reports/summary", HTTP_AUTHORIZATION=f"Token {token}").status_code == 429
