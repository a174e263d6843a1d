"""User API tokens: only their SHA-256 is stored, they expire, the key is shown once, and the
migration turned DRF's plain-text tokens into hashed ones that keep working."""

from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cases.models import ApiToken, AuditLog
from tests.factories import build_world

pytestmark = pytest.mark.django_db


def api(key: str, address: str = "192.0.2.10"):
    return Client(REMOTE_ADDR=address).get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {key}")


def stored_text() -> str:
    """Every row of both token tables, as text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM cases_apitoken")
        rows = cursor.fetchall()
        cursor.execute("SELECT * FROM authtoken_token")
        rows += cursor.fetchall()
    return repr(rows)


def test_issued_key_works_and_is_not_stored():
    world = build_world()
    key = ApiToken.issue(world.analyst)
    assert api(key).status_code == 200
    token = ApiToken.objects.get(user=world.analyst)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest() and token.prefix == key[:6]
    assert key not in stored_text()
    expected = timezone.now() + timedelta(days=90)
    assert abs((token.expires_at - expected).total_seconds()) < 60


def test_drf_create_token_shows_the_key_once_and_stores_only_its_hash():
    world = build_world()
    out = StringIO()
    call_command("drf_create_token", world.analyst.username, stdout=out)
    key = out.getvalue().split()[2]  # "Generated token <key> for user <name>"
    assert len(key) == 40
    assert not Token.objects.exists() and key not in stored_text()
    assert api(key).status_code == 200
    # Again: a new key replaces the old one.
    call_command("drf_create_token", world.analyst.username, stdout=(out := StringIO()))
    assert api(key).status_code == 401 and api(out.getvalue().split()[2]).status_code == 200


@override_settings(SOAR_TOKEN_MAX_FAILURES_PER_IP=2)
def test_expired_token_is_refused_with_401_and_a_clear_message():
    world = build_world()
    key = ApiToken.issue(world.analyst)
    ApiToken.objects.filter(user=world.analyst).update(expires_at=timezone.now() - timedelta(seconds=1))
    for _ in range(3):  # an old real key is not a guess: no lock-out
        response = api(key)
        assert response.status_code == 401
        assert response.json()["detail"] == "Token has expired; ask an administrator for a new one."
        assert response["WWW-Authenticate"] == "Token"
    assert api("0" * 40).status_code == 401  # an unknown key: 401 too
    fresh = ApiToken.issue(world.analyst)
    assert api(fresh).status_code == 200


def test_inactive_user_is_refused():
    world = build_world()
    key = ApiToken.issue(world.analyst)
    world.analyst.is_active = False
    world.analyst.save()
    assert api(key).status_code == 401


def test_migration_hashes_existing_plaintext_tokens_which_keep_working():
    world = build_world()
    old_key = "a" * 40
    Token.objects.bulk_create([Token(key=old_key, user=world.analyst)])  # as stored before: no signal
    assert old_key in stored_text()
    migration = importlib.import_module("cases.migrations.0010_api_tokens")
    migration.hash_existing_tokens(apps, None)
    assert old_key not in stored_text()
    assert not Token.objects.exists()
    assert api(old_key).status_code == 200
    assert ApiToken.objects.get(user=world.analyst).expires_at > timezone.now() + timedelta(days=89)


def test_admin_issues_a_token_once_and_lists_no_key():
    world = build_world()
    admin_client = Client()
    admin_client.force_login(world.admin)
    response = admin_client.post("/admin/cases/apitoken/add/",
                                 {"user": world.analyst.pk, "name": "sync", "scope": "write"}, follow=True)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    key = next(m for m in messages if "shown only now" in m).rsplit(" ", 1)[1]
    assert api(key).status_code == 200
    listing = admin_client.get("/admin/cases/apitoken/").content.decode()
    assert key not in listing and key[:6] in listing
    assert key not in stored_text()
    assert not AuditLog.objects.filter(object_repr__contains=key).exists()
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 404
