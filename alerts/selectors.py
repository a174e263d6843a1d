"""Reads of alerts. Who may read an alert follows the cases': the alerts of a case the user can
see, plus the queued alerts (in no case) of sources that feed one of the user's teams or no
team. Admins and auditors read all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.http import Http404

from alerts.models import Alert, AlertSource, Observable
from cases import roles
from cases.roles import Actor
from cases.selectors import team_ids_query, visible_cases
from soar.bulk import any_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from cases.models import Case


def _queued_for_teams(user: User) -> Q:
    return Q(source__default_team__isnull=True) | Q(source__default_team__in=team_ids_query(user))


def visible_alerts(user: Actor) -> QuerySet[Alert]:
    """Alerts ``user`` may read."""
    reader = roles.signed_in(user)
    if reader is None or not reader.is_active:
        return Alert.objects.none()
    if roles.sees_all_cases(reader):
        return Alert.objects.all()
    in_queue = Q(case__isnull=True) & _queued_for_teams(reader)
    return Alert.objects.filter(Q(case__in=visible_cases(reader).values("pk")) | in_queue)


def visible_alerts_among(user: Actor, alert_ids: Iterable[int]) -> QuerySet[Alert]:
    """Those of ``alert_ids`` that ``user`` may read: ``visible_alerts``'s rule, tested alert by
    alert (the alert's case looked up by primary key) instead of against every case the user can
    see, which ``visible_alerts`` lists and hashes first (tens of thousands of rows at scale). For
    a few hundred candidates (the search), not for a queue."""
    ids = list(alert_ids)
    reader = roles.signed_in(user)
    if reader is None or not reader.is_active:
        return Alert.objects.none()
    if roles.sees_all_cases(reader):
        return Alert.objects.filter(pk__in=ids)
    in_visible_case = Exists(visible_cases(reader).filter(pk=OuterRef("case_id")))
    in_queue = Q(case__isnull=True) & _queued_for_teams(reader)
    return Alert.objects.filter(Q(pk__in=ids) & (in_visible_case | in_queue))


def get_visible_alert(user: Actor, alert_id: int) -> Alert:
    """The alert for its page, with its source, case and dismisser; Http404 when ``user`` may
    not read it (another team's alert is not told apart from a missing one: no IDOR)."""
    alert = (visible_alerts(user).select_related("source", "case", "dismissed_by", "group__rule")
             .filter(pk=alert_id).first())
    if alert is None:
        raise Http404("No such alert.")
    return alert


def alert_observables(alert: Alert) -> list[Observable]:
    """The observables linked to the alert (by the worker), by type then value."""
    return list(alert.observables.order_by("type", "value"))


def group_neighbours(user: Actor, alert: Alert, limit: int = 10) -> list[Alert]:
    """Other alerts of the alert's correlation group that ``user`` may read, newest first."""
    if alert.group_id is None:
        return []
    return list(visible_alerts(user).filter(group_id=alert.group_id).exclude(pk=alert.pk)
                .select_related("source").defer("raw", "description").order_by("-received_at", "-id")[:limit])


def visible_queued_alerts(user: Actor) -> QuerySet[Alert]:
    """The alert-queue subset of ``visible_alerts``: alerts in no case. Same rule, without the
    visible-cases subquery that the planner would otherwise evaluate for every queued row."""
    reader = roles.signed_in(user)
    if reader is None or not reader.is_active:
        return Alert.objects.none()
    queued = Alert.objects.filter(case__isnull=True)
    if roles.sees_all_cases(reader):
        return queued
    return queued.filter(_queued_for_teams(reader))


def readable_alerts(user: Actor) -> QuerySet[Alert]:
    """``visible_alerts(user)``; ``user`` None is the system (scheduled reports): every alert."""
    return Alert.objects.all() if user is None else visible_alerts(user)


def source_ids_feeding(team_ids: Iterable[int], *, teamless: bool) -> list[int]:
    """Ids of the sources whose default team is one of ``team_ids`` (and, with ``teamless``,
    of the sources without one): whose queued alerts those teams see."""
    feeding = Q(default_team__in=list(team_ids))
    if teamless:
        feeding |= Q(default_team__isnull=True)
    return list(AlertSource.objects.filter(feeding).values_list("pk", flat=True))


def source_names(source_ids: Iterable[int]) -> dict[int, str]:
    return dict(AlertSource.objects.filter(pk__in=list(source_ids)).values_list("pk", "name"))


def stored_counts() -> list[tuple[str, str, int]]:
    """(source name, severity, alerts) for every stored alert."""
    rows = (Alert.objects.order_by().values("source__name", "severity").annotate(n=Count("pk"))
            .values_list("source__name", "severity", "n"))
    return list(rows)


def pending_by_source() -> dict[int, tuple[int, datetime | None]]:
    """{source id: (alerts stored but not yet processed, when the oldest was received)} for the
    sources that have any. One aggregate over the outbox's partial index (pending rows only)."""
    rows = (Alert.objects.filter(processing=Alert.Processing.PENDING).order_by().values("source_id")
            .annotate(n=Count("pk"), oldest=Min("received_at")).values_list("source_id", "n", "oldest"))
    return {source_id: (n, oldest) for source_id, n, oldest in rows}


def source_name_list() -> list[tuple[int, str]]:
    """(id, name) of every source (admin-defined: a few dozen at most)."""
    return list(AlertSource.objects.order_by("name").values_list("pk", "name"))


def queued_count() -> int:
    """Alerts waiting in the analyst alert queue (in no case)."""
    return Alert.objects.filter(status=Alert.Status.QUEUED).count()


def visible_observables(user: Actor) -> QuerySet[Observable]:
    """Observables linked to the cases ``user`` can see."""
    links = Observable.cases.through.objects.filter(case_id__in=visible_cases(user).values("pk"))
    return Observable.objects.filter(pk__in=links.values("observable_id"))


# --- for the enrichment and playbooks apps ---

def alerts_with_case(alert_ids: Iterable[int]) -> QuerySet[Alert]:
    """Those of the given alerts that belong to a case."""
    return Alert.objects.filter(pk__in=alert_ids, case__isnull=False)


def observables_with_ids(observable_ids: Iterable[int]) -> QuerySet[Observable]:
    return Observable.objects.filter(pk__in=observable_ids)


def case_observables(case_id: int) -> QuerySet[Observable]:
    """The observables of one case."""
    return Observable.objects.filter(cases__pk=case_id)


def observable_in_cases(observable_id: int, cases: QuerySet[Case]) -> Observable | None:
    """The observable when it belongs to one of ``cases`` (pass ``visible_cases(user)``)."""
    return Observable.objects.filter(pk=observable_id, cases__in=cases).first()


def case_observable_pairs(alert_ids: Iterable[int]) -> list[tuple[int | None, int]]:
    """(case id of the alert or None, observable id) for every observable of the given alerts."""
    links = Alert.observables.through.objects.filter(alert_id__in=alert_ids)
    return list(links.values_list("alert__case_id", "observable_id"))


def observable_ids_by_alert(alert_ids: Iterable[int]) -> dict[int, list[int]]:
    """{alert id: ids of its observables} for the given alerts (those with any)."""
    found: dict[int, list[int]] = {}
    links = Alert.observables.through.objects.filter(any_of("alert_id", alert_ids))
    for alert_id, observable_id in links.values_list("alert_id", "observable_id"):
        found.setdefault(alert_id, []).append(observable_id)
    return found


# issue 18: the alert page lists the ATT&CK techniques the alert's tool sent.
@dataclass(frozen=True)
class AlertTechnique:
    """One ATT&CK id of an alert; ``name`` and ``link`` are empty when the catalogue does not
    know the id (not imported yet, or newer than the imported bundle): it is shown as sent."""

    external_id: str
    name: str = ""
    link: str = ""
    retired: str = ""  # "revoked" / "deprecated" in the catalogue, else ""


def alert_techniques(alert: Alert) -> list[AlertTechnique]:
    """The alert's ATT&CK techniques in the order its tool sent them (``attack_ids``), each with
    the catalogue's name and attack.mitre.org page when known; then any linked technique the ids
    do not name (two statements: the ids are stored on the row, the links are one query)."""
    linked = {t.external_id: t for t in alert.techniques.all()}
    rows: list[AlertTechnique] = []
    for ext in list(alert.attack_ids or []) + sorted(set(linked) - set(alert.attack_ids or [])):
        technique = linked.get(ext)
        if technique is None:
            rows.append(AlertTechnique(external_id=ext))
            continue
        retired = "revoked" if technique.revoked else "deprecated" if technique.deprecated else ""
        rows.append(AlertTechnique(external_id=ext, name=technique.name, link=technique.link, retired=retired))
    return rows
