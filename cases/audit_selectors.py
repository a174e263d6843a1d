"""Reads for the audit-log page (cases/views_audit.py). The row-level rule is
``selectors.visible_audit_log``; the filters are the audit-log export's (``AuditLogFilter``),
so the page's "Export" links stream exactly the rows the page lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet

from cases.filtersets import AuditLogFilter
from cases.models import AuditLog
from cases.roles import Actor
from cases.selectors import visible_audit_log

MAX_CHOICES = 500


def filtered_audit_log(user: Actor, params: Mapping[str, Any]) -> tuple[QuerySet[AuditLog], dict[str, list[str]]]:
    """The entries ``user`` may read that match ``params``, newest first, and the filter errors
    (with errors, no rows: a mistyped date must not silently list everything)."""
    filterset = AuditLogFilter(params, queryset=visible_audit_log(user))
    if not filterset.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in filterset.errors.items()}
        return AuditLog.objects.none(), errors
    return filterset.qs.select_related("actor").order_by("-created_at", "-id"), {}


def audit_actor_choices() -> QuerySet[User]:
    """Users to filter by (the filter takes an id; the page shows names)."""
    return get_user_model().objects.order_by("username").only("id", "username")[:MAX_CHOICES]


def audit_object_types(user: Actor) -> list[str]:
    """The object types that occur in what ``user`` may read, for the filter's suggestions."""
    types = visible_audit_log(user).order_by("object_type").values_list("object_type", flat=True).distinct()
    return [t for t in types[:MAX_CHOICES] if t]


def audit_actions(user: Actor) -> list[str]:
    actions = visible_audit_log(user).order_by("action").values_list("action", flat=True).distinct()
    return list(actions[:MAX_CHOICES])
