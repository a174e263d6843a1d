"""OpenID Connect log-in end to end against a real provider: django-oidc-provider running in a
process of its own on loopback (tests/support/oidc_provider), Mini-SOAR's mozilla-django-oidc
client (cases.sso.OidcBackend) doing the authorization code flow with PKCE (S256). The browser's
part is played by requests (the provider's log-in form, its redirects); Mini-SOAR's token
exchange, JWKS signature check and userinfo call are real HTTP to the provider."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from cases import roles
from tests.factories import build_world
from tests.integration.conftest import ROOT, free_port, wait_until
from tests.support.oidc_provider.serve import CLIENT_ID, CLIENT_SECRET, USERS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
CALLBACK = "http://testserver/oidc/callback/"


@pytest.fixture(scope="module")
def provider_db() -> Path:
    """The provider's own database (its users and their groups)."""
    return Path(tempfile.mkdtemp(prefix="soar-oidc-")) / "provider.sqlite3"


@pytest.fixture(scope="module")
def provider(provider_db):
    port = free_port()
    env = {**os.environ, "OIDC_PROVIDER_DB": str(provider_db),
           "DJANGO_SETTINGS_MODULE": "tests.support.oidc_provider.settings"}
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "tests.support.oidc_provider.serve", str(port), CALLBACK],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        if line.strip() != "ready":
            pytest.fail(f"the test OIDC provider did not start: {process.stderr.read() if process.stderr else ''}")
        base = f"http://127.0.0.1:{port}/openid"
        wait_until(lambda: requests.get(f"{base}/jwks", timeout=2).ok, timeout=30, message="the provider's JWKS")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def oidc(settings, provider):
    settings.AUTHENTICATION_BACKENDS = ["soar.security.LoginThrottleBackend", "soar.security.LocalPasswordBackend",
                                        "cases.sso.OidcBackend", "guardian.backends.ObjectPermissionBackend"]
    settings.SOAR_OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider}/jwks"
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.SOAR_SSO_ROLE_MAP = {"soc-analysts": "analyst"}
    settings.SOAR_SSO_TEAM_MAP = {"tier1": "blue"}
    return provider


def provider_authorizes(authorize_url: str, username: str) -> str:
    """The browser at the provider: log in there, follow the redirects back; returns the URL
    the provider sends the browser to (Mini-SOAR's callback with code and state)."""
    browser = requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert response.status_code == 302 and "/accounts/login/" in response.headers["Location"]
    login_url = requests.compat.urljoin(authorize_url, response.headers["Location"])
    form = browser.get(login_url, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    next_url = parse_qs(urlsplit(login_url).query)["next"][0]
    response = browser.post(login_url, data={"username": username, "password": USERS[username][0],
                                             "csrfmiddlewaretoken": token, "next": next_url},
                            headers={"Referer": login_url}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    location = requests.compat.urljoin(login_url, response.headers["Location"])
    for _ in range(5):
        if location.startswith("http://testserver/"):
            return location
        response = browser.get(location, allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text[:500]
        location = requests.compat.urljoin(location, response.headers["Location"])
    pytest.fail("the provider never redirected back to Mini-SOAR")


def start(client: Client, next_url: str = "/") -> str:
    response = client.get(f"/oidc/authenticate/?next={next_url}")
    assert response.status_code == 302
    return response["Location"]


def test_code_flow_with_pkce_logs_in_a_just_in_time_account_with_mapped_role_and_team(oidc):
    world = build_world()
    client = Client()
    assert "oidc-login" in client.get("/login/").content.decode()
    authorize_url = start(client, f"/cases/{world.blue_case.pk}/")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    callback = provider_authorizes(authorize_url, "olivia")
    code = parse_qs(urlsplit(callback).query)["code"][0]

    response = client.get(callback.removeprefix("http://testserver"))
    assert response.status_code == 302 and response["Location"] == f"/cases/{world.blue_case.pk}/"
    olivia = get_user_model().objects.get(username="olivia")
    assert int(client.session["_auth_user_id"]) == olivia.pk
    assert not olivia.has_usable_password() and olivia.email == "olivia@example.org"
    assert roles.role_names(olivia) == {"analyst"} and olivia.soc_teams.filter(slug="blue").exists()
    assert client.get(f"/cases/{world.blue_case.pk}/").status_code == 200
    assert client.get(f"/cases/{world.red_case.pk}/").status_code == 404
    # The code was bound to the challenge and is single-use: the provider refuses a replay.
    replay = requests.post(f"{oidc}/token", data={"grant_type": "authorization_code", "code": code,
                                                   "redirect_uri": CALLBACK, "client_id": CLIENT_ID,
                                                   "client_secret": CLIENT_SECRET, "code_verifier": "x" * 64},
                           timeout=10)
    assert replay.status_code == 400


def test_the_provider_refuses_a_code_without_the_matching_verifier(oidc):
    """What PKCE protects against: a stolen code is useless without the verifier kept in the session."""
    authorize_url = start(Client())
    callback = provider_authorizes(authorize_url, "olivia")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    stolen = requests.post(f"{oidc}/token", data={"grant_type": "authorization_code", "code": code,
                                                   "redirect_uri": CALLBACK, "client_id": CLIENT_ID,
                                                   "client_secret": CLIENT_SECRET, "code_verifier": "y" * 64},
                           timeout=10)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


def test_a_provider_user_in_no_mapped_group_is_refused(oidc):
    build_world()
    client = Client()
    callback = provider_authorizes(start(client), "oscar")
    response = client.get(callback.removeprefix("http://testserver"))
    assert response.status_code == 302 and response["Location"] == "/login/?sso=failed"
    assert "_auth_user_id" not in client.session
    failed = client.get("/login/?sso=failed")
    assert 'id="sso-failed"' in failed.content.decode()


def test_an_account_deactivated_here_stays_out_although_the_provider_vouches_for_it(oidc):
    build_world()
    olivia = get_user_model().objects.create_user("olivia", is_active=False)  # an SSO account: no password
    client = Client()
    response = client.get(provider_authorizes(start(client), "olivia").removeprefix("http://testserver"))
    assert response.status_code == 302 and response["Location"] == "/login/?sso=failed"
    assert "_auth_user_id" not in client.session
    olivia.refresh_from_db()
    assert not olivia.is_active


def set_provider_groups(database: Path, username: str, groups: list[str]) -> list[str]:
    """What the provider's administrator does in its admin: ``username``'s groups become
    ``groups`` (made when missing). Returns the groups before."""
    with sqlite3.connect(database) as db:
        (user_id,) = db.execute("SELECT id FROM auth_user WHERE username = ?", (username,)).fetchone()
        before = [name for (name,) in db.execute(
            "SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id WHERE ug.user_id = ? "
            "ORDER BY g.name", (user_id,))]
        db.execute("DELETE FROM auth_user_groups WHERE user_id = ?", (user_id,))
        for name in groups:
            db.execute("INSERT OR IGNORE INTO auth_group (name) VALUES (?)", (name,))
            (group_id,) = db.execute("SELECT id FROM auth_group WHERE name = ?", (name,)).fetchone()
            db.execute("INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, ?)", (user_id, group_id))
    return before


def test_groups_changed_at_the_provider_move_the_user_at_the_next_log_in(oidc, provider_db, settings):
    """mozilla-django-oidc hands the fresh userinfo of every log-in to update_user: olivia moved
    at the provider from soc-analysts + tier1 to soc-leads + dfir is a lead of the other team."""
    world = build_world()
    settings.SOAR_SSO_ROLE_MAP = {"soc-analysts": "analyst", "soc-leads": "lead"}
    settings.SOAR_SSO_TEAM_MAP = {"tier1": "blue", "dfir": "red"}

    def log_in() -> Client:
        client = Client()
        response = client.get(provider_authorizes(start(client), "olivia").removeprefix("http://testserver"))
        assert response.status_code == 302 and response["Location"] == "/"
        return client

    log_in()
    olivia = get_user_model().objects.get(username="olivia")
    assert roles.role_names(olivia) == {"analyst"} and list(olivia.soc_teams.values_list("slug", flat=True)) == [
        "blue"]
    before = set_provider_groups(provider_db, "olivia", ["dfir", "soc-leads"])
    try:
        client = log_in()
        roles.forget_roles(olivia)
        assert roles.role_names(olivia) == {"lead"}
        assert list(olivia.soc_teams.values_list("slug", flat=True)) == ["red"]
        assert client.get(f"/cases/{world.red_case.pk}/").status_code == 200
        assert client.get(f"/cases/{world.blue_case.pk}/").status_code == 404
    finally:  # the provider is the module's
        set_provider_groups(provider_db, "olivia", before)
