"""The four SOC roles are auth groups (created by `manage.py setup_roles`).

Group names are the role names. A user may be in several; "read-only" wins over the others
for auditors unless they are also admins. The set is cached on the user object, which lives
for one request."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# Whoever reads or acts: a signed-in user, a request's anonymous user, or None (automation).
Actor: TypeAlias = "User | AnonymousUser | None"

ADMIN = "admin"
LEAD = "lead"
ANALYST = "analyst"
AUDITOR = "auditor"
ROLES = (ADMIN, LEAD, ANALYST, AUDITOR)
_CACHE_ATTR = "_soar_roles"


def signed_in(user: Actor) -> User | None:
    """The user when signed in; None for an anonymous request and for automation."""
    return user if user is not None and user.is_authenticated else None


def role_names(user: Actor) -> frozenset[str]:
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user: Actor) -> None:
    """Drop the cached role set (after changing a user's groups in the same request/test)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_admin(user: Actor) -> bool:
    return (user is not None and user.is_superuser) or ADMIN in role_names(user)


def is_auditor(user: Actor) -> bool:
    return AUDITOR in role_names(user) and not is_admin(user)


def is_lead(user: Actor) -> bool:
    return is_admin(user) or (LEAD in role_names(user) and not is_auditor(user))


def sees_all_cases(user: Actor) -> bool:
    return is_admin(user) or AUDITOR in role_names(user)


def can_read_audit_log(user: Actor) -> bool:
    return is_admin(user) or bool(role_names(user) & {LEAD, AUDITOR})


def primary_role(user: Actor) -> str:
    """One label for the header: the most powerful role the user has."""
    if is_admin(user):
        return ADMIN
    names = role_names(user)
    for role in (AUDITOR, LEAD, ANALYST):
        if role in names:
            return role
    return ""
