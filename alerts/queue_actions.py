"""Analyst actions on the alert queue, shared by the page and the API: the permission and
visibility checks around alerts.correlation.promote_alerts / attach_alerts."""

from __future__ import annotations

from alerts import selectors as alert_selectors
from alerts.correlation import attach_alerts, promote_alerts
from alerts.models import Alert
from cases import roles, selectors


class QueueActionError(Exception):
    def __init__(self, message: str, status: int = 400, field: str = "non_field_errors"):
        super().__init__(message)
        self.status = status
        self.field = field


def _visible_alert_ids(user, alert_ids) -> list[int]:
    return list(alert_selectors.visible_alerts(user).filter(pk__in=alert_ids).values_list("pk", flat=True))


def _choose_team(user, team_id, alert_ids):
    teams = selectors.teams_for(user)
    if team_id:
        team = teams.filter(pk=team_id).first()
        if team is None:
            raise QueueActionError("You can only open cases for your own teams.", field="team")
        return team
    source_team_ids = set(Alert.objects.filter(pk__in=alert_ids, source__default_team__isnull=False)
                          .values_list("source__default_team", flat=True))
    team = teams.filter(pk__in=source_team_ids).first() if source_team_ids else None
    team = team or teams.first()
    if team is None and not roles.is_admin(user):
        raise QueueActionError("You belong to no team; ask an admin.", field="team")
    return team


def promote(user, alert_ids, *, team_id=None, title: str = "") -> tuple[int, int]:
    """Open a case from queued alerts. Returns (case id, number of alerts)."""
    if roles.is_auditor(user):
        raise QueueActionError("Auditors have read-only access.", status=403)
    ids = _visible_alert_ids(user, alert_ids)
    if not ids:
        raise QueueActionError("Select at least one alert you can see.", field="alert_ids")
    team = _choose_team(user, team_id, ids)
    try:
        case_id = promote_alerts(ids, actor=user, team=team, title=title.strip())
    except ValueError as exc:
        raise QueueActionError(str(exc), field="alert_ids")
    return case_id, len(ids)


def attach(user, alert_ids, case_id) -> tuple[int, int]:
    """Attach alerts to a case the user may change. Returns (case id, number attached)."""
    if roles.is_auditor(user):
        raise QueueActionError("Auditors have read-only access.", status=403)
    case = selectors.visible_cases(user).filter(pk=case_id).first()
    if case is None:
        raise QueueActionError("No such case.", status=404, field="case_id")
    if not selectors.can_change_case(user, case) or case.merged_into_id:
        raise QueueActionError("You may not change this case.", status=403, field="case_id")
    ids = _visible_alert_ids(user, alert_ids)
    if not ids:
        raise QueueActionError("Select at least one alert you can see.", field="alert_ids")
    return case.pk, attach_alerts(ids, case.pk, actor=user)
