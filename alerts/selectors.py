"""Reads of alerts. Who may read an alert follows the cases': the alerts of a case the user can
see, plus the queued alerts (in no case) of sources that feed one of the user's teams or no
team. Admins and auditors read all."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from alerts.models import Alert
from cases import roles
from cases.selectors import team_ids_query, visible_cases


def _can_read(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def _queued_for_teams(user: Any) -> Q:
    return Q(source__default_team__isnull=True) | Q(source__default_team__in=team_ids_query(user))


def visible_alerts(user: Any) -> QuerySet[Alert]:
    """Alerts ``user`` may read."""
    if not _can_read(user):
        return Alert.objects.none()
    if roles.sees_all_cases(user):
        return Alert.objects.all()
    in_queue = Q(case__isnull=True) & _queued_for_teams(user)
    return Alert.objects.filter(Q(case__in=visible_cases(user).values("pk")) | in_queue)


def visible_queued_alerts(user: Any) -> QuerySet[Alert]:
    """The alert-queue subset of ``visible_alerts``: alerts in no case. Same rule, without the
    visible-cases subquery that the planner would otherwise evaluate for every queued row."""
    if not _can_read(user):
        return Alert.objects.none()
    queued = Alert.objects.filter(case__isnull=True)
    if roles.sees_all_cases(user):
        return queued
    return queued.filter(_queued_for_teams(user))
