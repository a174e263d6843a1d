"""Single sign-on: OpenID Connect (mozilla-django-oidc, authorization code + PKCE) and LDAP /
Active Directory (django-python3-ldap, on ldap3) log-in, with just-in-time accounts whose roles
and teams follow the directory's groups at every log-in (SOAR_SSO_ROLE_MAP, SOAR_SSO_TEAM_MAP).

An SSO account has no usable password here. A local account (one with a usable password) is
never taken over by a directory user of the same name or e-mail: that log-in is refused."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

with warnings.catch_warnings():
    # ldap3 2.9.1 imports names newer pyasn1 releases deprecate (as in enrichment's LDAP provider).
    warnings.simplefilter("ignore", DeprecationWarning)
    from django_python3_ldap.auth import LDAPBackend
    from ldap3.utils.conv import escape_filter_chars

from cases import roles
from cases.models import Team
from cases.services import record_audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

SSO_BACKENDS = frozenset({"cases.sso.OidcBackend", "cases.sso.LdapBackend"})


class DirectoryRefusal(Exception):
    """The directory vouches for the user but Mini-SOAR will not let them in (reason in the log)."""


def is_local_account(user: User) -> bool:
    return user.has_usable_password()


def mapped_roles(groups: Iterable[str]) -> set[str]:
    role_map = settings.SOAR_SSO_ROLE_MAP
    return {role_map[name] for name in _names(groups) if role_map.get(name) in roles.ROLES}


def mapped_team_slugs(groups: Iterable[str]) -> set[str]:
    team_map = settings.SOAR_SSO_TEAM_MAP
    return {team_map[name] for name in _names(groups) if name in team_map}


def _names(groups: Iterable[str]) -> set[str]:
    return {str(group).strip().lower() for group in groups if str(group).strip()}


def apply_directory_groups(user: User, groups: Iterable[str], *, source: str) -> None:
    """Makes ``user``'s roles exactly the mapped roles of ``groups`` and their membership of every
    mapped team follow ``groups`` (teams not in the map are left alone; a mapped team that does
    not exist yet is created). Raises DirectoryRefusal (the log-in is refused; the account keeps
    no role) when no role is mapped and SOAR_SSO_REQUIRE_ROLE is on. Audited when something changed."""
    groups = list(groups)
    wanted_roles = mapped_roles(groups)
    wanted_teams = mapped_team_slugs(groups)
    with transaction.atomic():
        before = _membership(user)
        role_groups = {group.name: group for group in Group.objects.filter(name__in=roles.ROLES)}
        for name in roles.ROLES:
            group = role_groups.get(name) or Group.objects.get_or_create(name=name)[0]
            (user.groups.add if name in wanted_roles else user.groups.remove)(group)
        managed = set(settings.SOAR_SSO_TEAM_MAP.values())
        for slug in managed:
            team = Team.objects.filter(slug=slug).first()
            if slug in wanted_teams:
                team = team or Team.objects.create(slug=slug, name=slug)
                team.members.add(user)
            elif team is not None:
                team.members.remove(user)
        # is_active is never changed here: an account an admin deactivated stays refused even
        # while the directory still lists the user (both backends refuse inactive accounts).
        refused = settings.SOAR_SSO_REQUIRE_ROLE and not wanted_roles
        roles.forget_roles(user)
        after = _membership(user)
        if before != after:
            record_audit("user.sso_groups", user, actor_label=f"sso:{source}", before=before, after=after)
    if refused:
        logger.warning("%s log-in of %s refused: no directory group is mapped to a role", source, user)
        raise DirectoryRefusal(f"no mapped role for {user}")


def _membership(user: User) -> dict[str, Any]:
    return {"roles": sorted(user.groups.filter(name__in=roles.ROLES).values_list("name", flat=True)),
            "teams": sorted(user.soc_teams.values_list("slug", flat=True))}


# --- OpenID Connect ----------------------------------------------------------------------------

class OidcBackend(OIDCAuthenticationBackend):
    """Accounts are matched on the username claim (SOAR_OIDC_USERNAME_CLAIM), never on the e-mail
    (mozilla-django-oidc's default), which a user may be able to set at the provider."""

    def _username(self, claims: dict[str, Any]) -> str:
        username = str(claims.get(settings.SOAR_OIDC_USERNAME_CLAIM) or "").strip()
        if not username or len(username) > 150:
            raise SuspiciousOperation("OIDC claims carry no usable username")
        return username

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        users = get_user_model().objects.filter(username=self._username(claims))
        if any(is_local_account(user) for user in users):
            raise SuspiciousOperation("an OIDC user may not log in as a local account")
        return users

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get(settings.SOAR_OIDC_USERNAME_CLAIM))

    def create_user(self, claims: dict[str, Any]) -> User:
        user = get_user_model().objects.create_user(self._username(claims), email=claims.get("email") or "")
        record_audit("user.sso_create", user, actor_label="sso:oidc")
        return self.update_user(user, claims)

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        user.email = str(claims.get("email") or user.email)[:254]
        user.first_name = str(claims.get("given_name") or user.first_name)[:150]
        user.last_name = str(claims.get("family_name") or user.last_name)[:150]
        user.save(update_fields=["email", "first_name", "last_name"])
        groups = claims.get(settings.SOAR_OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        try:
            apply_directory_groups(user, groups, source="oidc")
        except DirectoryRefusal as exc:
            raise SuspiciousOperation(str(exc)) from exc  # mozilla-django-oidc: refuse the log-in
        return user


# --- LDAP / Active Directory -------------------------------------------------------------------

class LdapBackend(LDAPBackend):
    """django-python3-ldap's backend: binds as the user (their password checked by the directory),
    reads their entry, creates or updates the account, then sync_ldap_user maps the groups."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> User | None:
        username = str(kwargs.get("username") or "").strip()
        if not username or not kwargs.get("password"):
            return None
        if settings.LDAP_AUTH_URL and not _transport_allowed():
            logger.error("LDAP log-in refused: plaintext ldap:// needs SOAR_LDAP_LOGIN_START_TLS=1 or "
                         "SOAR_LDAP_ALLOW_PLAINTEXT=1")
            return None
        existing = get_user_model().objects.filter(username=username).first()
        if existing is not None and is_local_account(existing):
            return None  # a local account: its own password only (LocalPasswordBackend)
        try:
            user = super().authenticate(request, *args, username=username, password=kwargs["password"])
        except DirectoryRefusal:
            return None
        return user if user is not None and user.is_active else None


def _transport_allowed() -> bool:
    urls = settings.LDAP_AUTH_URL if isinstance(settings.LDAP_AUTH_URL, list) else [settings.LDAP_AUTH_URL]
    plaintext = any(str(url).lower().startswith("ldap://") for url in urls)
    return not plaintext or settings.LDAP_AUTH_USE_TLS or settings.SOAR_LDAP_ALLOW_PLAINTEXT


def sync_ldap_user(user: User, ldap_attributes: dict[str, Any], *, connection: Any, dn: str) -> None:
    """LDAP_AUTH_SYNC_USER_RELATIONS: the user's groups are the cn (and DN) of the entries under
    SOAR_LDAP_LOGIN_GROUP_SEARCH_BASE matching SOAR_LDAP_LOGIN_GROUP_FILTER, plus memberOf."""
    groups: set[str] = set()
    for value in ldap_attributes.get("memberOf", []) or []:
        groups.update(_group_names(str(value)))
    if settings.SOAR_LDAP_LOGIN_GROUP_SEARCH_BASE and dn:
        search_filter = settings.SOAR_LDAP_LOGIN_GROUP_FILTER.replace("{dn}", escape_filter_chars(dn))
        # ``connection``: the ldap3 Connection bound as the user (django-python3-ldap passes it).
        connection.search(search_base=settings.SOAR_LDAP_LOGIN_GROUP_SEARCH_BASE, search_filter=search_filter,
                          attributes=["cn"])
        for entry in connection.response or []:
            if entry.get("type") == "searchResEntry":
                groups.update(_group_names(entry["dn"]))
    if user.has_usable_password():  # created just now by django-python3-ldap, before this runs
        user.set_unusable_password()
        user.save(update_fields=["password"])
    apply_directory_groups(user, groups, source="ldap")


def _group_names(dn: str) -> set[str]:
    """A group's DN and its first RDN's value (cn=soc-analysts,ou=groups,... -> soc-analysts)."""
    first = dn.split(",", 1)[0]
    return {dn, first.split("=", 1)[1]} if "=" in first else {dn}
