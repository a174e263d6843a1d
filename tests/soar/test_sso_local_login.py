"""Issue 19, log-in: TOTP second factor for local accounts (cases/totp.py), local log-in turned
off except for break-glass accounts (soar.security.LocalPasswordBackend), and the mapping of
directory groups to roles and teams (cases/sso.py) that OIDC and LDAP log-ins apply."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import SuspiciousOperation
from django.test import Client, override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases import roles, sso
from cases.models import AuditLog, Case, Team
from tests.factories import PASSWORD, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_device_throttle(settings):
    """django-otp makes a device wait 1 s, 2 s, 4 s... after each wrong code; these tests type a
    wrong code and then the right one at once. (The log-in throttle still counts wrong codes.)"""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def log_in(client: Client, username: str, password: str = PASSWORD, next_url: str = ""):
    return client.post("/login/", {"username": username, "password": password, "next": next_url})


def enable_totp(client: Client) -> TOTPDevice:
    page = client.get("/me/totp/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and "otpauth://totp/Mini-SOAR" in body  # QR code as inline SVG, and the URI
    device = TOTPDevice.objects.get(user__username=page.context["user"].username, confirmed=False)
    assert page.context["secret"] in body
    wrong = client.post("/me/totp/", {"action": "confirm", "code": "000000" if code(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert client.post("/me/totp/", {"action": "confirm", "code": code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_totp_is_set_up_on_a_page_then_asked_at_every_log_in():
    world = build_world()
    client = Client()
    assert log_in(client, "analyst").status_code == 302
    device = enable_totp(client)
    assert AuditLog.objects.filter(action="user.totp_enable", object_id=str(world.analyst.pk)).exists()
    client.post("/logout/")

    client = Client()
    response = log_in(client, "analyst", next_url=f"/cases/{world.blue_case.pk}/")
    assert response.status_code == 302
    # Password accepted, but every page (and the session API) waits for the code.
    held = client.get(f"/cases/{world.blue_case.pk}/")
    assert held.status_code == 302 and held["Location"].startswith("/login/otp/?next=")
    assert client.get("/api/v1/cases/").status_code == 403
    wrong = client.post("/login/otp/", {"code": "abc", "next": "/"})
    assert wrong.status_code == 400 and "Wrong or expired code" in wrong.content.decode()
    right = client.post("/login/otp/", {"code": code(device, 1), "next": f"/cases/{world.blue_case.pk}/"})
    assert right.status_code == 302 and right["Location"] == f"/cases/{world.blue_case.pk}/"
    assert client.get(f"/cases/{world.blue_case.pk}/").status_code == 200
    assert client.get("/api/v1/cases/").status_code == 200


def test_the_admin_log_in_page_cannot_skip_the_second_factor():
    world = build_world()
    TOTPDevice.objects.create(user=world.admin, name="app", confirmed=True)
    client = Client()
    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    held = client.get("/admin/")
    assert held.status_code == 302 and held["Location"].startswith("/login/otp/")


@override_settings(SOAR_LOGIN_MAX_FAILURES=3, SOAR_LOGIN_MAX_FAILURES_PER_IP=100)
def test_wrong_codes_lock_the_step_like_wrong_passwords():
    world = build_world()
    TOTPDevice.objects.create(user=world.analyst, name="app", confirmed=True)
    client = Client()
    log_in(client, "analyst")
    statuses = [client.post("/login/otp/", {"code": "12345x"}).status_code for _ in range(4)]
    assert statuses[:2] == [400, 400] and statuses[-1] == 429
    assert client.get("/").status_code == 302  # still held


@override_settings(SOAR_TOTP_REQUIRED_FOR_STAFF=True)
def test_staff_must_set_up_totp_when_required_and_cannot_turn_it_off():
    world = build_world()
    client = Client()
    log_in(client, "root")
    held = client.get("/")
    assert held.status_code == 302 and held["Location"].startswith("/me/totp/")
    device = enable_totp(client)
    assert client.get("/").status_code == 200
    refused = client.post("/me/totp/", {"action": "disable", "code": code(device, 1)})
    assert refused.status_code == 400 and TOTPDevice.objects.filter(user=world.admin, confirmed=True).exists()
    # An analyst is not required to.
    analyst = Client()
    log_in(analyst, "analyst")
    assert analyst.get("/").status_code == 200


def test_user_turns_totp_off_with_a_current_code():
    world = build_world()
    client = Client()
    log_in(client, "analyst")
    device = enable_totp(client)
    assert client.post("/me/totp/", {"action": "disable", "code": "999999x"}).status_code == 400
    assert client.post("/me/totp/", {"action": "disable", "code": code(device, 1)}).status_code == 302
    assert not TOTPDevice.objects.filter(user=world.analyst).exists()
    assert AuditLog.objects.filter(action="user.totp_disable").exists()


@override_settings(SOAR_LOCAL_LOGIN=False, SOAR_BREAK_GLASS_USERS=["root"])
def test_local_log_in_off_except_for_the_break_glass_account():
    build_world()
    refused = log_in(Client(), "analyst")
    assert refused.status_code == 200 and "Wrong username or password" in refused.content.decode()
    assert log_in(Client(), "root").status_code == 302
    assert log_in(Client(), "ROOT").status_code == 200  # usernames are exact for the password itself


@override_settings(SOAR_SSO_ROLE_MAP={"soc-analysts": "analyst", "soc-auditors": "auditor", "x": "wizard"},
                   SOAR_SSO_TEAM_MAP={"tier1": "blue", "dfir": "dfir"})
def test_directory_groups_set_roles_and_mapped_teams_on_each_log_in():
    world = build_world()
    user = world.mate
    user.set_unusable_password()
    user.save()
    sso.apply_directory_groups(user, ["SOC-Analysts", "dfir", "unrelated"], source="test")
    roles.forget_roles(user)
    assert roles.role_names(user) == {"analyst"}
    assert set(user.soc_teams.values_list("slug", flat=True)) == {"dfir"}  # left blue: tier1 not given
    assert Team.objects.filter(slug="dfir").exists()
    entry = AuditLog.objects.get(action="user.sso_groups", object_id=str(user.pk))
    assert entry.before["teams"] == ["blue"] and entry.after["teams"] == ["dfir"]
    # Next log-in: moved to auditor and tier1; the case visibility follows.
    sso.apply_directory_groups(user, ["soc-auditors", "tier1"], source="test")
    roles.forget_roles(user)
    assert roles.role_names(user) == {"auditor"} and roles.is_auditor(user)
    # No mapped role: refused, and the account keeps no role.
    with pytest.raises(sso.DirectoryRefusal):
        sso.apply_directory_groups(user, ["x", "unrelated"], source="test")
    roles.forget_roles(user)
    assert roles.role_names(user) == frozenset()
    assert Case.objects.count() == 2


@override_settings(SOAR_SSO_ROLE_MAP={"soc": "analyst"}, SOAR_SSO_TEAM_MAP={"soc": "blue"},
                   SOAR_OIDC_USERNAME_CLAIM="preferred_username", SOAR_OIDC_GROUPS_CLAIM="groups")
def test_oidc_backend_makes_just_in_time_accounts_and_never_takes_over_a_local_one():
    world = build_world()
    backend = sso.OidcBackend()
    claims = {"sub": "1", "preferred_username": "carol", "email": "root@example.org", "groups": ["soc"]}
    assert not backend.filter_users_by_claims(claims).exists()
    user = backend.create_user(claims)
    assert user.username == "carol" and not user.has_usable_password()
    assert roles.role_names(user) == {"analyst"} and user.soc_teams.filter(slug="blue").exists()
    assert list(backend.filter_users_by_claims(claims)) == [user]
    with pytest.raises(SuspiciousOperation):
        backend.filter_users_by_claims({**claims, "preferred_username": world.admin.username})
    with pytest.raises(SuspiciousOperation):
        backend.update_user(user, {**claims, "groups": ["other"]})
    assert not backend.verify_claims({"sub": "2"})


@override_settings(SOAR_OIDC_ENABLED=False)
def test_oidc_pages_are_404_while_it_is_not_configured():
    assert Client().get("/oidc/authenticate/").status_code == 404
    assert Client().get("/oidc/callback/?code=x&state=y").status_code == 404
    assert "oidc-login" not in Client().get("/login/").content.decode()


@override_settings(SOAR_OIDC_ENABLED=True, SOAR_LOCAL_LOGIN=False, SOAR_LDAP_LOGIN_ENABLED=False,
                   SOAR_OIDC_LABEL="Log in with Keycloak")
def test_login_page_offers_sso_and_folds_the_break_glass_form():
    page = Client().get("/login/?sso=failed").content.decode()
    assert "Log in with Keycloak" in page and "Break-glass log-in" in page and 'id="sso-failed"' in page
