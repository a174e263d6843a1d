"""The four SOC roles are auth groups (created by `manage.py setup_roles`).

Group names are the role names. A user may be in several; "read-only" wins over the others
for auditors unless they are also admins. The set is cached on the user object, which lives
for one request."""

from __future__ import annotations

ADMIN = "admin"
LEAD = "lead"
ANALYST = "analyst"
AUDITOR = "auditor"
ROLES = (ADMIN, LEAD, ANALYST, AUDITOR)
_CACHE_ATTR = "_soar_roles"


def role_names(user) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user) -> None:
    """Drop the cached role set (after changing a user's groups in the same request/test)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_admin(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or ADMIN in role_names(user)


def is_auditor(user) -> bool:
    return AUDITOR in role_names(user) and not is_admin(user)


def is_lead(user) -> bool:
    return is_admin(user) or (LEAD in role_names(user) and not is_auditor(user))


def sees_all_cases(user) -> bool:
    return is_admin(user) or AUDITOR in role_names(user)


def can_read_audit_log(user) -> bool:
    return is_admin(user) or bool(role_names(user) & {LEAD, AUDITOR})


def primary_role(user) -> str:
    """One label for the header: the most powerful role the user has."""
    if is_admin(user):
        return ADMIN
    names = role_names(user)
    for role in (AUDITOR, LEAD, ANALYST):
        if role in names:
            return role
    return ""
