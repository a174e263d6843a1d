"""Analyst actions on the alert queue, shared by the page and the API: the permission and
visibility checks around alerts.correlation.promote_alerts / attach_alerts, and dismissing
alerts from the queue (with a reason) and restoring them.

A refusal is a ``QueueActionError`` of its kind (soar/errors.py): the API answers it by its kind,
the queue page shows its message."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from alerts import selectors as alert_selectors
from alerts.correlation import NotQueued, attach_alerts, promote_alerts
from alerts.models import Alert
from cases import roles, selectors
from cases import services as case_services
from soar.errors import ApplicationError, InvalidInput, NotAllowed, NotFound

if TYPE_CHECKING:
    from cases.models import Team


class QueueActionError(ApplicationError):
    """A refused queue action (each one below is also of a kind)."""


class InvalidSelection(QueueActionError, InvalidInput):
    """The alerts, team or case chosen cannot be used."""

    code = "invalid_selection"


class ReadOnlyUser(QueueActionError, NotAllowed):
    code = "read_only"


class CaseNotChangeable(QueueActionError, NotAllowed):
    code = "case_not_changeable"


class NoSuchCase(QueueActionError, NotFound):
    code = "no_such_case"


def _visible_alert_ids(user: User, alert_ids: Iterable[int]) -> list[int]:
    return list(alert_selectors.visible_alerts(user).filter(pk__in=alert_ids).values_list("pk", flat=True))


def _choose_team(user: User, team_id: int | None, alert_ids: list[int]) -> Team | None:
    teams = selectors.teams_for(user)
    if team_id:
        team = teams.filter(pk=team_id).first()
        if team is None:
            raise InvalidSelection("You can only open cases for your own teams.", field="team")
        return team
    source_team_ids = set(Alert.objects.filter(pk__in=alert_ids, source__default_team__isnull=False)
                          .values_list("source__default_team", flat=True))
    team = teams.filter(pk__in=source_team_ids).first() if source_team_ids else None
    team = team or teams.first()
    if team is None and not roles.is_admin(user):
        raise InvalidSelection("You belong to no team; ask an admin.", field="team")
    return team


def promote(user: User, alert_ids: Iterable[int], *, team_id: int | None = None,
            title: str = "") -> tuple[int, int]:
    """Open a case from queued alerts. Returns (case id, number of alerts)."""
    if roles.is_auditor(user):
        raise ReadOnlyUser("Auditors have read-only access.")
    ids = _visible_alert_ids(user, alert_ids)
    if not ids:
        raise InvalidSelection("Select at least one alert you can see.", field="alert_ids")
    team = _choose_team(user, team_id, ids)
    try:
        case_id = promote_alerts(ids, actor=user, team=team, title=title.strip())
    except NotQueued as exc:
        raise InvalidSelection(str(exc), field="alert_ids")
    return case_id, len(ids)


def attach(user: User, alert_ids: Iterable[int], case_id: int) -> tuple[int, int]:
    """Attach alerts to a case the user may change. Returns (case id, number attached)."""
    if roles.is_auditor(user):
        raise ReadOnlyUser("Auditors have read-only access.")
    case = selectors.visible_cases(user).filter(pk=case_id).first()
    if case is None:
        raise NoSuchCase("No such case.")
    if not selectors.can_change_case(user, case) or case.merged_into_id:
        raise CaseNotChangeable("You may not change this case.")
    ids = _visible_alert_ids(user, alert_ids)
    if not ids:
        raise InvalidSelection("Select at least one alert you can see.", field="alert_ids")
    return case.pk, attach_alerts(ids, case.pk, actor=user)


DISMISS_REASON_MAX = 500


def dismiss(user: User, alert_ids: Iterable[int], reason: str) -> int:
    """Take queued alerts out of the queue as not worth a case, recording who, when and why
    (on the alert and in the audit log). Alerts already in a case or dismissed are skipped.
    Returns the number dismissed."""
    if roles.is_auditor(user):
        raise ReadOnlyUser("Auditors have read-only access.")
    reason = reason.strip()
    if not reason:
        raise InvalidSelection("Give a reason for dismissing.", field="reason")
    if len(reason) > DISMISS_REASON_MAX:
        raise InvalidSelection(f"Keep the reason under {DISMISS_REASON_MAX} characters.", field="reason")
    ids = _visible_alert_ids(user, alert_ids)
    if not ids:
        raise InvalidSelection("Select at least one alert you can see.", field="alert_ids")
    now = timezone.now()
    with transaction.atomic():
        alerts = list(Alert.objects.select_for_update().filter(pk__in=ids, status=Alert.Status.QUEUED,
                                                               case__isnull=True).order_by("pk"))
        if not alerts:
            raise InvalidSelection("None of these alerts is waiting in the queue.", field="alert_ids")
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(
            status=Alert.Status.DISMISSED, dismissed_at=now, dismissed_by=user, dismiss_reason=reason)
        for alert in alerts:
            case_services.record_audit("alert.dismiss", alert, actor=user, before={"status": alert.status},
                                       after={"status": Alert.Status.DISMISSED, "reason": reason})
    return len(alerts)


def restore(user: User, alert_ids: Iterable[int]) -> int:
    """Put dismissed alerts back in the queue (undo a dismissal; audited). Returns the number restored."""
    if roles.is_auditor(user):
        raise ReadOnlyUser("Auditors have read-only access.")
    ids = _visible_alert_ids(user, alert_ids)
    with transaction.atomic():
        alerts = list(Alert.objects.select_for_update().filter(pk__in=ids, status=Alert.Status.DISMISSED)
                      .order_by("pk"))
        if not alerts:
            raise InvalidSelection("None of these alerts is dismissed.", field="alert_ids")
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(
            status=Alert.Status.QUEUED, dismissed_at=None, dismissed_by=None, dismiss_reason="")
        for alert in alerts:
            case_services.record_audit("alert.restore", alert, actor=user,
                                       before={"status": alert.status, "reason": alert.dismiss_reason},
                                       after={"status": Alert.Status.QUEUED})
    return len(alerts)
