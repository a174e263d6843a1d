"""The LDAP enrichment provider (enrichment/providers/ldap_directory.py) against a real OpenLDAP
(tests/support/slapd.py) instead of ldap3's offline mock: a real bind, a real search, filter
escaping done by the real server, a wrong bind password refused by the server."""

from __future__ import annotations

import pytest

from enrichment.providers.base import ProviderConfig, ProviderError
from enrichment.providers.ldap_directory import LdapDirectoryProvider
from tests.support.slapd import slapd  # noqa: F401 - the session's OpenLDAP

pytestmark = pytest.mark.integration


def provider(directory, password: str | None = None, **options) -> LdapDirectoryProvider:
    return LdapDirectoryProvider(ProviderConfig(
        provider="ldap_directory", base_url=directory.url,
        api_key=directory.reader_password if password is None else password, timeout_seconds=5,
        options={"bind_dn": directory.reader_dn, "search_base": directory.base,
                 "attributes": ["cn", "mail", "title", "departmentNumber", "uid"], **options}))


@pytest.fixture
def allowed(settings, slapd):  # noqa: F811
    settings.SOAR_LDAP_ALLOW_PLAINTEXT = True
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1"]
    return slapd


def test_user_and_email_lookups_on_a_real_directory(allowed):
    by_user = provider(allowed, user_filter="(uid={value})").lookup("user", "EXAMPLE\\dave")
    assert by_user.matched and "Dave Jones" in by_user.summary and "Controller" in by_user.summary
    assert by_user.raw["entries"][0]["dn"] == f"uid=dave,{allowed.people}"
    by_mail = provider(allowed).lookup("email", "dave@example.org")
    assert by_mail.raw["entries"][0]["attributes"]["uid"] == ["dave"]
    assert provider(allowed, user_filter="(uid={value})").lookup("user", "nobody").matched is False


def test_filter_injection_is_escaped_for_the_real_server(allowed):
    assert provider(allowed, user_filter="(uid={value})").lookup("user", "*)(uid=*").matched is False
    assert provider(allowed, user_filter="(uid={value})").lookup("user", "*").matched is False


def test_wrong_bind_password_is_refused_by_the_server(allowed):
    with pytest.raises(ProviderError, match="bind refused"):
        provider(allowed, password="wrong").lookup("user", "dave")


def test_plaintext_is_refused_unless_allowed(settings, slapd):  # noqa: F811
    settings.SOAR_LDAP_ALLOW_PLAINTEXT = False
    settings.SOAR_SSRF_ALLOWLIST = ["127.0.0.1"]
    with pytest.raises(ProviderError, match="plaintext"):
        provider(slapd).lookup("user", "dave")
