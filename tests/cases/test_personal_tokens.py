"""Personal API tokens (issue 19): users create, name, scope, expire and revoke their own tokens
on /me/tokens; a read token is refused on unsafe methods; use is recorded sparingly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from cases import api_tokens
from cases.models import ApiToken, AuditLog
from tests.factories import build_world

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.20")
    client.force_login(user)
    return client


def create(client: Client, name: str = "siem sync", scope: str = "read", days: str = "30"):
    return client.post("/me/tokens/", {"name": name, "scope": scope, "expires_in_days": days})


def key_of(response) -> str:
    return response.context["new_key"]


def api(key: str, method: str = "get", path: str = "/api/v1/cases/", **kwargs):
    client = Client(REMOTE_ADDR="198.51.100.7")
    return getattr(client, method)(path, HTTP_AUTHORIZATION=f"Token {key}", content_type="application/json",
                                   **kwargs)


def test_user_creates_several_named_tokens_sees_the_key_once_and_revokes_one():
    world = build_world()
    client = logged_in(world.analyst)
    first = create(client, "laptop script", "write", "7")
    assert first.status_code == 201
    key = key_of(first)
    assert key in first.content.decode()
    second = create(client, "dashboard", "read")
    assert second.status_code == 201 and key_of(second) != key
    page = client.get("/me/tokens/").content.decode()
    assert "laptop script" in page and "dashboard" in page and key not in page and key[:6] in page
    token = ApiToken.objects.get(user=world.analyst, name="laptop script")
    assert token.scope == "write" and abs((token.expires_at - timezone.now() - timedelta(days=7)).total_seconds()) < 60
    assert ApiToken.objects.filter(user=world.analyst).count() == 2
    assert api(key).status_code == 200

    assert client.post(f"/me/tokens/{token.pk}/revoke").status_code == 302
    refused = api(key)
    assert refused.status_code == 401 and refused.json()["detail"] == "Token has been revoked."
    assert api(key_of(second)).status_code == 200  # the other token still works
    actions = list(AuditLog.objects.filter(object_type="cases.apitoken").values_list("action", flat=True))
    assert actions.count("api_token.issue") == 2 and "api_token.revoke" in actions
    assert not AuditLog.objects.filter(after__icontains=key).exists()


def test_read_token_may_read_but_every_unsafe_method_is_403():
    world = build_world()
    key = key_of(create(logged_in(world.analyst), scope="read"))
    assert api(key, path=f"/api/v1/cases/{world.blue_case.pk}").status_code == 200
    patched = api(key, "patch", f"/api/v1/cases/{world.blue_case.pk}", data={"title": "x"})
    assert patched.status_code == 403 and "read-only" in patched.json()["detail"]
    assert api(key, "post", "/api/v1/cases/", data={"title": "t", "severity": "low"}).status_code == 403
    world.blue_case.refresh_from_db()
    assert world.blue_case.title == "Blue phishing wave"
    write_key = key_of(create(logged_in(world.analyst), name="w", scope="write"))
    assert api(write_key, "patch", f"/api/v1/cases/{world.blue_case.pk}", data={"title": "x"}).status_code == 200


def test_a_token_keeps_its_users_visibility():
    world = build_world()
    key = key_of(create(logged_in(world.red_analyst)))
    assert api(key, path=f"/api/v1/cases/{world.blue_case.pk}").status_code == 404


def test_another_users_token_cannot_be_revoked_and_is_not_listed():
    world = build_world()
    token, _ = api_tokens.create_personal_token(world.analyst, name="mine", scope="read", expires_in_days=5)
    mate = logged_in(world.mate)
    assert mate.post(f"/me/tokens/{token.pk}/revoke").status_code == 404
    assert "mine" not in mate.get("/me/tokens/").content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_auditor_may_create_read_tokens_only_and_bad_input_is_a_400():
    world = build_world()
    auditor = logged_in(world.auditor)
    refused = create(auditor, scope="write")
    assert refused.status_code == 403 and "read-only" in refused.content.decode()
    assert create(auditor, scope="read").status_code == 201
    analyst = logged_in(world.analyst)
    for name, scope, days in [("", "read", "7"), ("x", "admin", "7"), ("x", "read", "0"), ("x", "read", "9999"),
                              ("x", "read", "soon"), ("x" * 101, "read", "7")]:
        assert create(analyst, name, scope, days).status_code == 400
    assert not ApiToken.objects.filter(user=world.analyst).exists()
    assert Client().get("/me/tokens/").status_code == 302  # log-in first
    assert analyst.get(f"/me/tokens/{1}/revoke").status_code == 405


def test_use_is_recorded_at_most_once_a_minute_and_audited_once_an_hour():
    world = build_world()
    token, key = api_tokens.create_personal_token(world.analyst, name="cron", scope="read", expires_in_days=5)
    for _ in range(3):
        assert api(key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_ip == "198.51.100.7" and token.last_used_at is not None
    first_use = token.last_used_at
    assert AuditLog.objects.filter(action="api_token.use", object_id=str(token.pk)).count() == 1
    # Within the minute: no write at all.
    api_tokens.record_token_use(token, "203.0.113.9", now=first_use + timedelta(seconds=30))
    token.refresh_from_db()
    assert token.last_used_at == first_use
    # Two minutes later: the last use moves, but the audit waits for the hour.
    api_tokens.record_token_use(token, "203.0.113.9", now=first_use + timedelta(minutes=2))
    token.refresh_from_db()
    assert token.last_used_ip == "203.0.113.9"
    assert AuditLog.objects.filter(action="api_token.use", object_id=str(token.pk)).count() == 1
    api_tokens.record_token_use(token, "203.0.113.9", now=first_use + timedelta(minutes=62))
    assert AuditLog.objects.filter(action="api_token.use", object_id=str(token.pk)).count() == 2


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_existing_one_per_user_tokens_as_write_tokens():
    executor = MigrationExecutor(connection)
    old = [("cases", "0013_user_preference")]
    executor.migrate(old)
    old_apps = executor.loader.project_state(old).apps
    User = old_apps.get_model("auth", "User")
    OldToken = old_apps.get_model("cases", "ApiToken")
    user = User.objects.create(username="legacy")
    OldToken.objects.create(user=user, digest=ApiToken.digest_of("k" * 40), prefix="kkkkkk",
                            expires_at=timezone.now() + timedelta(days=3))
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    token = ApiToken.objects.get(user__username="legacy")
    assert token.scope == "write" and token.revoked_at is None
    assert api("k" * 40).status_code == 200
    assert get_user_model().objects.get(username="legacy").api_tokens.count() == 1
