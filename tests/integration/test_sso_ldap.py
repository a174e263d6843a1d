"""LDAP log-in (cases.sso.LdapBackend, django-python3-ldap) against a real OpenLDAP
(tests/support/slapd.py): the directory checks the password, the account is made just in time,
roles and teams follow the directory's groups at each log-in, users in no mapped group and
local accounts' names are refused, and local passwords can be turned off but for break-glass."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from cases import roles
from cases.models import AuditLog
from tests.factories import PASSWORD, build_world
from tests.support.slapd import PASSWORDS, slapd  # noqa: F401 - the session's OpenLDAP

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def ldap_login(settings, slapd):  # noqa: F811
    settings.AUTHENTICATION_BACKENDS = ["soar.security.LoginThrottleBackend", "soar.security.LocalPasswordBackend",
                                        "cases.sso.LdapBackend", "guardian.backends.ObjectPermissionBackend"]
    settings.SOAR_LDAP_LOGIN_ENABLED = True
    settings.LDAP_AUTH_URL = [slapd.url]
    settings.SOAR_LDAP_ALLOW_PLAINTEXT = True  # loopback test server without TLS
    settings.LDAP_AUTH_SEARCH_BASE = slapd.people
    settings.SOAR_LDAP_LOGIN_GROUP_SEARCH_BASE = slapd.groups
    settings.SOAR_SSO_ROLE_MAP = {"soc-analysts": "analyst", "soc-leads": "lead", "soc-admins": "admin"}
    settings.SOAR_SSO_TEAM_MAP = {"tier1": "blue"}
    return slapd


def log_in(username: str, password: str) -> tuple[Client, int]:
    client = Client()
    response = client.post("/login/", {"username": username, "password": password})
    return client, response.status_code


def test_directory_user_logs_in_with_mapped_role_and_team_and_sees_the_teams_cases(ldap_login):
    world = build_world()
    client, status = log_in("alice", PASSWORDS["alice"])
    assert status == 302
    alice = get_user_model().objects.get(username="alice")
    assert not alice.has_usable_password() and alice.email == "alice@example.org" and alice.first_name == "Alice"
    assert roles.role_names(alice) == {"analyst"}
    assert list(alice.soc_teams.values_list("slug", flat=True)) == ["blue"]
    assert client.get(f"/cases/{world.blue_case.pk}/").status_code == 200
    assert client.get(f"/cases/{world.red_case.pk}/").status_code == 404  # another team's case
    assert AuditLog.objects.filter(action="user.sso_groups", object_id=str(alice.pk)).exists()
    # A wrong password is the directory's "no"; the local password form says the usual.
    _, status = log_in("alice", "wrong")
    assert status == 200
    # The mapping is applied again at each log-in.
    alice.groups.clear()
    alice.soc_teams.clear()
    _, status = log_in("alice", PASSWORDS["alice"])
    roles.forget_roles(alice)
    assert status == 302 and roles.role_names(alice) == {"analyst"} and alice.soc_teams.filter(slug="blue").exists()


def test_lead_mapping_and_refusals(ldap_login):
    build_world()
    _, status = log_in("lena", PASSWORDS["lena"])
    assert status == 302 and roles.is_lead(get_user_model().objects.get(username="lena"))
    # bob is in no mapped group: refused (the account django-python3-ldap made has no role).
    client, status = log_in("bob", PASSWORDS["bob"])
    assert status == 200 and "_auth_user_id" not in client.session
    assert roles.role_names(get_user_model().objects.get(username="bob")) == frozenset()
    # An admin deactivated lena: the directory still lists her in soc-leads, she stays out.
    get_user_model().objects.filter(username="lena").update(is_active=False)
    client, status = log_in("lena", PASSWORDS["lena"])
    assert status == 200 and "_auth_user_id" not in client.session
    assert not get_user_model().objects.get(username="lena").is_active
    # The directory's "root" may not take over the local admin account of the same name.
    client, status = log_in("root", PASSWORDS["root"])
    assert status == 200 and "_auth_user_id" not in client.session
    assert get_user_model().objects.get(username="root").has_usable_password()
    # ...whose own local password still works.
    _, status = log_in("root", PASSWORD)
    assert status == 302


def test_local_log_in_off_leaves_directory_and_break_glass(ldap_login, settings):
    build_world()
    settings.SOAR_LOCAL_LOGIN = False
    settings.SOAR_BREAK_GLASS_USERS = ["root"]
    assert log_in("analyst", PASSWORD)[1] == 200  # a local account: refused
    assert log_in("alice", PASSWORDS["alice"])[1] == 302  # the directory
    assert log_in("root", PASSWORD)[1] == 302  # break-glass


def test_plaintext_ldap_is_refused_unless_allowed_or_start_tls(ldap_login, settings):
    settings.SOAR_LDAP_ALLOW_PLAINTEXT = False
    client, status = log_in("alice", PASSWORDS["alice"])
    assert status == 200 and not get_user_model().objects.filter(username="alice").exists()


def test_a_move_in_the_directory_moves_the_user_at_the_next_log_in(ldap_login, settings):
    """Roles and teams follow the directory at every log-in: alice moved by the directory's admin
    from soc-analysts + tier1 to soc-leads is a lead of the other team at her next log-in."""
    from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server

    build_world()
    settings.SOAR_SSO_TEAM_MAP = {"tier1": "blue", "soc-leads": "red"}
    assert log_in("alice", PASSWORDS["alice"])[1] == 302
    alice = get_user_model().objects.get(username="alice")
    assert roles.role_names(alice) == {"analyst"}
    assert list(alice.soc_teams.values_list("slug", flat=True)) == ["blue"]

    alice_dn, placeholder = f"uid=alice,{ldap_login.people}", ldap_login.reader_dn
    groups = {name: f"cn={name},{ldap_login.groups}" for name in ("soc-analysts", "tier1", "soc-leads")}
    # In order (a groupOfNames keeps at least one member: alice is soc-analysts' only one).
    moves = [("soc-leads", MODIFY_ADD, alice_dn), ("soc-analysts", MODIFY_ADD, placeholder),
             ("soc-analysts", MODIFY_DELETE, alice_dn), ("tier1", MODIFY_DELETE, alice_dn)]
    undo = {MODIFY_DELETE: MODIFY_ADD, MODIFY_ADD: MODIFY_DELETE}
    admin = Connection(Server(ldap_login.url), f"cn=admin,{ldap_login.base}", "admin-pass", auto_bind=True)
    done = []
    try:
        for group, change, dn in moves:
            assert admin.modify(groups[group], {"member": [(change, [dn])]}), admin.result
            done.append((group, change, dn))
        assert log_in("alice", PASSWORDS["alice"])[1] == 302
        roles.forget_roles(alice)
        assert roles.role_names(alice) == {"lead"}
        assert list(alice.soc_teams.values_list("slug", flat=True)) == ["red"]
        moved = AuditLog.objects.filter(action="user.sso_groups", object_id=str(alice.pk)).order_by("-id").first()
        assert moved.before == {"roles": ["analyst"], "teams": ["blue"]}
        assert moved.after == {"roles": ["lead"], "teams": ["red"]}
    finally:  # the directory is the session's: put alice back
        for group, change, dn in reversed(done):
            admin.modify(groups[group], {"member": [(undo[change], [dn])]})
        admin.unbind()
