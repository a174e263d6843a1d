"""Creates the role groups with their model permissions. Object-level access (which cases)
is decided in cases.selectors; these model permissions drive the Django admin and say
what each role may do in general."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet

from cases import roles

# Analysts and leads get no global view/change on cases: django-guardian treats a global
# permission as access to every object, and they only see their teams' cases.
ROLE_PERMISSIONS = {
    roles.LEAD: ["cases.reassign_case", "cases.view_team", "cases.view_tag", "cases.add_tag", "cases.add_note",
                 "cases.view_note", "cases.view_auditlog", "cases.view_caseevent", "cases.view_slatarget"],
    roles.ANALYST: ["cases.view_tag", "cases.add_tag", "cases.add_note", "cases.view_note"],
}
AUDITOR_APPS = ("cases", "alerts", "enrichment", "playbooks")
ADMIN_EXCLUDED_APPS = ("contenttypes", "sessions", "admin")


def _named(perms: list[str]) -> QuerySet[Permission]:
    query = Q()
    for name in perms:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(query)


def role_permissions(role: str) -> QuerySet[Permission]:
    if role == roles.ADMIN:
        return Permission.objects.exclude(content_type__app_label__in=ADMIN_EXCLUDED_APPS)
    if role == roles.AUDITOR:
        return Permission.objects.filter(content_type__app_label__in=AUDITOR_APPS, codename__startswith="view_")
    return _named(ROLE_PERMISSIONS[role])


def ensure_roles(reset: bool = False) -> dict[str, int]:
    """Create the groups; add missing permissions (``reset``: make them exactly the defaults).
    Returns {role: number of permissions}."""
    counts: dict[str, int] = {}
    for role in roles.ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        perms = list(role_permissions(role).values_list("pk", flat=True))
        if reset:
            group.permissions.set(perms)
        else:
            group.permissions.add(*perms)
        counts[role] = len(perms)
    return counts


def ensure_roles_after_migrate(sender: AppConfig, app_config: AppConfig | None = None, **kwargs: Any) -> None:
    """post_migrate receiver: the permissions of every app exist only once the last app's
    post_migrate has run, so the roles are completed then."""
    last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
    if app_config is None or app_config.label != last.label:
        return
    ensure_roles()
