"""From events to runs: which enabled playbooks a signal starts, on which case.

Automatic runs are de-duplicated: case_created, severity_at_least and
observable_type_present start a playbook at most once per case; the other triggers do not
start a playbook on a case where it is still active (queued, running or waiting approval).
Changes made by playbook runs themselves never trigger (see receivers)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from alerts.selectors import alerts_with_case
from cases.selectors import cases_with_observable_type, get_case
from cases.vocabulary import SEVERITY_RANK, EventKind
from playbooks.models import Playbook, PlaybookRun
from playbooks.selectors import enabled_playbooks, enabled_trigger_types
from playbooks.services.runs import RunRefused, start_run

if TYPE_CHECKING:
    from alerts.models import Alert
    from cases.models import Case

logger = logging.getLogger(__name__)
ONCE_PER_CASE = {"case_created", "severity_at_least", "observable_type_present"}
ON_CREATED = {"case_created", "severity_at_least", "observable_type_present"}  # what case_created evaluates
# timeline entry kind -> the trigger it may fire
EVENT_TRIGGERS: dict[str, str] = {EventKind.STATUS_CHANGED: "status_changed", EventKind.TAGGED: "tag_added",
                                  EventKind.SEVERITY_CHANGED: "severity_at_least"}


def _params(playbook: Playbook) -> dict:
    return playbook.definition.get("trigger") or {}


def _at_least(severity: str, minimum: str | None) -> bool:
    return not minimum or SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(minimum, 0)


def fire(playbook: Playbook, case: Case, trigger: str, data: dict) -> PlaybookRun | None:
    if case.merged_into_id:
        return None
    runs = PlaybookRun.objects.filter(playbook=playbook, case=case, dry_run=False)
    if trigger in ONCE_PER_CASE:
        if runs.filter(trigger=trigger).exists():
            return None
    elif runs.filter(status__in=PlaybookRun.ACTIVE).exists():
        return None
    try:
        return start_run(playbook, case, trigger=trigger, trigger_data=data)
    except RunRefused as exc:
        logger.info("playbook %s not started on case %s: %s", playbook.pk, case.pk, exc)
        return None


def _alert_summary(alert: Alert) -> dict:
    return {"id": alert.pk, "title": alert.title, "severity": alert.severity, "source": alert.source.name,
            "category": alert.category, "entity_type": alert.entity_type, "entity_value": alert.entity_value[:500]}


def alerts_processed(alert_ids: list[int]) -> list[PlaybookRun]:
    started = []
    playbooks = enabled_playbooks("alert_ingested")
    if playbooks:
        alerts = list(alerts_with_case(alert_ids).select_related("source", "case")
                      .order_by("id"))
        for playbook in playbooks:
            params = _params(playbook)
            by_case: dict[int, tuple[Case, list[Alert]]] = {}
            for alert in alerts:
                if alert.case is not None and _at_least(alert.severity, params.get("min_severity")) and \
                        (not params.get("source") or alert.source.name == params["source"]):
                    by_case.setdefault(alert.case.pk, (alert.case, []))[1].append(alert)
            for case, matching in by_case.values():
                data = {"alert_ids": [a.pk for a in matching], "alert": _alert_summary(matching[0])}
                started.append(fire(playbook, case, "alert_ingested", data))
    case_ids = set(alerts_with_case(alert_ids).values_list("case_id", flat=True))
    started += observables_present(case_ids)
    return [run for run in started if run]


def observables_present(case_ids: Iterable[int]) -> list[PlaybookRun]:
    started = []
    for playbook in enabled_playbooks("observable_type_present"):
        obs_type = _params(playbook).get("observable_type")
        cases = cases_with_observable_type(case_ids, obs_type)
        for case in cases:
            values = list(case.observables.filter(type=obs_type).values_list("value", flat=True)[:50])
            started.append(fire(playbook, case, "observable_type_present",
                                {"observable_type": obs_type, "values": values}))
    return [run for run in started if run]


def case_created(case_id: int, *, enabled_types: set[str] | None = None) -> list[PlaybookRun]:
    """``enabled_types``: ``enabled_trigger_types()`` when the caller has it already (the
    cases a transaction opened are evaluated together: one look-up for all of them)."""
    if not (enabled_trigger_types() if enabled_types is None else enabled_types) & ON_CREATED:
        return []  # one query instead of reading the case and each trigger type's playbooks
    case = get_case(case_id)
    if case is None:
        return []
    started = [fire(pb, case, "case_created", {}) for pb in enabled_playbooks("case_created")
               if _at_least(case.severity, _params(pb).get("min_severity"))]
    started += severity_reached(case, None)
    started += observables_present([case_id])
    return [run for run in started if run]


def severity_reached(case: Case, before: str | None) -> list[PlaybookRun]:
    started = []
    for playbook in enabled_playbooks("severity_at_least"):
        threshold = _params(playbook).get("severity")
        crossed = before is None or not _at_least(before, threshold)
        if crossed and _at_least(case.severity, threshold):
            started.append(fire(playbook, case, "severity_at_least",
                                {"severity": case.severity, "before": before, "threshold": threshold}))
    return [run for run in started if run]


def _severity_before(data: dict) -> str | None:
    before = data.get("before")
    return before.get("severity") if isinstance(before, dict) else before


def case_event(kind: str, case_id: int, data: dict, *, by_user: bool = False) -> list[PlaybookRun]:
    """Called after commit for each new timeline entry not written by a playbook."""
    if kind == EventKind.CREATED:
        return case_created(case_id)
    if kind == EventKind.ALERT_ATTACHED and by_user:  # the pipeline's attachments come via alerts_processed
        return observables_present([case_id])
    wanted = EVENT_TRIGGERS.get(kind)
    case = get_case(case_id) if wanted and enabled_playbooks(wanted) else None
    if case is None:
        return []
    started: list[PlaybookRun | None] = []
    if kind == EventKind.STATUS_CHANGED:
        for playbook in enabled_playbooks("status_changed"):
            params = _params(playbook)
            if (not params.get("to") or params["to"] == data.get("to")) and \
                    (not params.get("from") or params["from"] == data.get("from")):
                started.append(fire(playbook, case, "status_changed", {"from": data.get("from"), "to": data.get("to")}))
    elif kind == EventKind.TAGGED:
        added = set(data.get("added") or [])
        for playbook in enabled_playbooks("tag_added"):
            if _params(playbook).get("tag") in added:
                started.append(fire(playbook, case, "tag_added", {"tag": _params(playbook)["tag"]}))
    elif kind == EventKind.SEVERITY_CHANGED:
        started += severity_reached(case, _severity_before(data))
    return [run for run in started if run]
