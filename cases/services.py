"""Writes on cases: creation, lifecycle, assignment, tags, notes, shares, timeline events
and the audit trail.

Every change to a case goes through here so that the timeline and audit log cannot be
forgotten by one caller (UI, API, admin or automation). Callers check visibility with
``cases.selectors``; the services re-check that a *user* actor may change the case, and
enforce the business rules (lifecycle table, who may assign to whom)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from cases import roles, task_templates
from cases.lifecycle import allowed_targets, is_reopen, needs_verdict, skipped_steps
from cases.models import (
    DEFAULT_SLA_MINUTES,
    SEVERITY_RANK,
    AuditLog,
    Case,
    CaseEvent,
    Note,
    NoteRevision,
    Resolution,
    SlaTarget,
    Tag,
    Team,
)
from cases.roles import signed_in
from cases.selectors import can_change_case
from cases.task_selectors import missing_required_tasks, missing_tasks_refusal
from soar import errors
from soar.bulk import any_of, create_rows, insert_rows, update_rows
from soar.middleware import current_request_context

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from cases.roles import Actor

AUTOMATION = "automation"
MAX_NOTE_LENGTH = 20_000
MAX_REASON_LENGTH = 2_000
TAG_PATTERN = re.compile(r"^[\w .:/@-]{1,64}$")


class CaseError(errors.ApplicationError):
    """A refused change to a case; ``str(exc)`` is a message fit for the analyst. Each refusal
    below is also one of soar.errors' kinds, which decides the HTTP answer."""


class InvalidTransition(CaseError, errors.Conflict):
    """The lifecycle (or a merge) does not allow this change."""


class NotAllowed(CaseError, errors.NotAllowed):
    """The actor's role or team does not allow this change."""


class InvalidInput(CaseError, errors.InvalidInput):
    """Bad value for a field; ``field`` names it."""


# --- audit and timeline ----------------------------------------------------------------

def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """JSON-safe dict of a model's concrete fields, for audit before/after."""
    data = model_to_dict(obj, fields=fields)
    plain = (int, str, bool, type(None), float)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v if isinstance(v, plain) else str(v))
            for k, v in data.items() if not isinstance(v, list)}


def record_audit(action: str, obj: models.Model | None, *, actor: Actor = None, actor_label: str = "",
                 before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditLog:
    ctx = current_request_context()
    return AuditLog.objects.create(
        actor=signed_in(actor),
        actor_label=actor_label or (actor.username if actor else ""),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""),
        object_repr=str(obj)[:255] if obj is not None else "",
        before=before,
        after=after,
        request_id=ctx.get("request_id", ""),
        client_ip=ctx.get("client_ip"),
    )


def add_case_event(case: Case, kind: str, message: str = "", *, actor: Actor = None, actor_label: str = "",
                   data: dict[str, Any] | None = None) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        message=message,
        actor=signed_in(actor),
        actor_label=actor_label or (actor.username if actor else ""),
        data=data or {},
    )


def _ensure_may_change(actor: Actor, case: Case) -> None:
    """Automation (no user) may change anything; a user needs change access to the case."""
    if signed_in(actor) and not can_change_case(actor, case):
        raise NotAllowed("You may not change this case.")
    if case.merged_into_id:
        raise InvalidTransition(f"Case #{case.pk} was merged into case #{case.merged_into_id}; change that one.")


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().get(pk=case.pk)


# --- SLA ---------------------------------------------------------------------------------

def sla_minutes(severity: str) -> tuple[int, int]:
    target = SlaTarget.objects.filter(severity=severity).first()
    if target is not None:
        return target.ack_minutes, target.resolve_minutes
    return DEFAULT_SLA_MINUTES.get(severity, DEFAULT_SLA_MINUTES["medium"])


def apply_sla(case: Case, minutes: tuple[int, int] | None = None) -> None:
    """Set the due times from the case's creation time and current severity (not saved);
    ``minutes`` (ack, resolve) when the caller has read them already (``sla_table``)."""
    ack, resolve = minutes if minutes is not None else sla_minutes(case.severity)
    start = case.created_at or timezone.now()
    case.sla_ack_due = start + timedelta(minutes=ack)
    case.sla_resolve_due = start + timedelta(minutes=resolve)


# --- creation and alerts -----------------------------------------------------------------

def higher_severity(a: str, b: str) -> str:
    return a if SEVERITY_RANK.get(a, 0) >= SEVERITY_RANK.get(b, 0) else b


@transaction.atomic
def open_case(*, title: str, severity: str, confidence: int = 50, description: str = "",
              team: Team | None = None, actor: Actor = None, actor_label: str = AUTOMATION,
              template_id: int | None = None) -> Case:
    """``template_id``: a case template (title prefix, minimum severity, TLP/PAP, tags, tasks)."""
    template = task_templates.load_template(template_id)
    case = task_templates.shape_case(Case(title=title[:500], description=description, severity=severity,
                                          confidence=confidence, team=team), template)
    case.save()
    apply_sla(case)  # due times count from the stored creation time
    case.save(update_fields=["sla_ack_due", "sla_resolve_due"])
    add_case_event(case, CaseEvent.Kind.CREATED, f"Case opened ({case.severity})", actor=actor,
                   actor_label=actor_label)
    record_audit("case.create", case, actor=actor, actor_label=actor_label, after=snapshot(case))
    task_templates.create_template_rows([(case, template)], actor=actor, actor_label=actor_label)
    return case


@transaction.atomic
def record_alerts_attached(case_id: int, alerts: list[dict[str, Any]], *, actor: Actor = None,
                           actor_label: str = AUTOMATION) -> Case:
    """Called by the alerts app once it has linked alerts to a case: raises the case's
    severity/confidence to the highest alert's and writes one timeline entry per alert.
    ``alerts`` are plain dicts (id, title, severity, confidence, observable_ids)."""
    case = Case.objects.select_for_update().get(pk=case_id)
    before = {"severity": case.severity, "confidence": case.confidence}
    for alert in alerts:
        case.severity = higher_severity(case.severity, alert["severity"])
        case.confidence = max(case.confidence, alert.get("confidence", 0))
        add_case_event(
            case, CaseEvent.Kind.ALERT_ATTACHED, f"Alert #{alert['id']} attached: {alert['title'][:200]}",
            actor=actor, actor_label=actor_label, data={"alert_id": alert["id"], "severity": alert["severity"]},
        )
        if alert.get("observable_ids"):
            case.observables.add(*alert["observable_ids"])
    after = {"severity": case.severity, "confidence": case.confidence}
    if after != before:
        fields = ["severity", "confidence", "updated_at"]
        if after["severity"] != before["severity"]:
            apply_sla(case)  # a more severe case owes a faster answer
            fields += ["sla_ack_due", "sla_resolve_due"]
        case.save(update_fields=fields)
        if after["severity"] != before["severity"]:
            add_case_event(case, CaseEvent.Kind.SEVERITY_CHANGED,
                           f"Severity raised {before['severity']} → {after['severity']}",
                           actor=actor, actor_label=actor_label, data={"before": before, "after": after})
        record_audit("case.update", case, actor=actor, actor_label=actor_label, before=before, after=after)
    else:
        Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    return case


# --- the same, for many cases at once (alert correlation in chunks) ------------------------

def _sla_table() -> dict[str, tuple[int, int]]:
    """``sla_minutes`` of every severity, in one query (for many cases at once)."""
    table = dict(DEFAULT_SLA_MINUTES)
    for severity, ack, resolve in SlaTarget.objects.values_list("severity", "ack_minutes", "resolve_minutes"):
        table[severity] = (ack, resolve)
    return table


def _apply_sla_from(case: Case, table: dict[str, tuple[int, int]]) -> None:
    apply_sla(case, table.get(case.severity, DEFAULT_SLA_MINUTES["medium"]))


def _audit_row(action: str, case: Case, *, actor_label: str, before: dict[str, Any] | None,
               after: dict[str, Any] | None, request_id: str, client_ip: str | None) -> AuditLog:
    return AuditLog(actor=None, actor_label=actor_label, action=action, object_type=case._meta.label_lower,
                    object_id=str(case.pk), object_repr=str(case)[:255], before=before, after=after,
                    request_id=request_id, client_ip=client_ip)


def _announce(events: list[CaseEvent]) -> None:
    """bulk_create sends no post_save: send it, so that timeline listeners (playbook
    triggers on "created" and "severity_changed") see these entries as they see one saved."""
    for event in events:
        models.signals.post_save.send(sender=CaseEvent, instance=event, created=True, raw=False,
                                      using=event._state.db, update_fields=None)


@transaction.atomic
def open_cases_bulk(specs: list[dict[str, Any]], *, actor_label: str = AUTOMATION) -> list[int]:
    """``open_case`` for many cases by automation, in a constant number of statements: the
    cases, their SLA due times, one CREATED timeline entry and one audit entry each.
    ``specs``: dicts (title, severity, confidence, description, team_id, template_id). Returns the ids, in order."""
    if not specs:
        return []
    templates = task_templates.load_templates(spec.get("template_id") for spec in specs)
    cases = [task_templates.shape_case(
        Case(title=spec["title"][:500], description=spec.get("description", ""), severity=spec["severity"],
             confidence=spec.get("confidence", 50), team_id=spec.get("team_id")),
        templates.get(spec.get("template_id") or 0)) for spec in specs]
    Case.objects.bulk_create(cases)  # created_at is stamped on each instance by the insert
    table = _sla_table()
    for case in cases:
        _apply_sla_from(case, table)
    update_rows(Case, cases, ["sla_ack_due", "sla_resolve_due"])
    events = CaseEvent.objects.bulk_create([
        CaseEvent(case=case, kind=CaseEvent.Kind.CREATED, message=f"Case opened ({case.severity})",
                  actor=None, actor_label=actor_label, data={}) for case in cases
    ])
    ctx = current_request_context()
    # snapshot() keeps the columns only: naming them spares a query per case for its tags.
    columns = [f.name for f in Case._meta.concrete_fields]
    AuditLog.objects.bulk_create([
        _audit_row("case.create", case, actor_label=actor_label, before=None, after=snapshot(case, fields=columns),
                   request_id=ctx.get("request_id", ""), client_ip=ctx.get("client_ip"))
        for case in cases
    ])
    task_templates.create_template_rows([(case, case.template) for case in cases], actor_label=actor_label)
    _announce(events)
    return [case.pk for case in cases]


@transaction.atomic
def record_alerts_attached_bulk(calls: list[tuple[int, list[dict[str, Any]]]], *,
                                actor_label: str = AUTOMATION) -> set[int]:
    """``record_alerts_attached`` for many cases by automation, as if called once per item of
    ``calls`` in that order (so the same timeline entries, severity raises and audit entries),
    in a constant number of statements. The cases are locked in id order. Returns the ids of
    the cases that gained an observable they did not have (what enrichment has to look at)."""
    if not calls:
        return set()
    case_ids = sorted({case_id for case_id, _ in calls})
    # Only what is read or written here (title: the audit entry's object_repr). FOR NO KEY
    # UPDATE: it serializes the writers of a case as FOR UPDATE does, without holding off the
    # foreign-key checks of rows that reference the case (an enrichment result, a timeline
    # entry: their COMMIT waited for the chunk's, bench/results.md).
    locked = Case.objects.select_for_update(no_key=True).filter(any_of("pk", case_ids)).order_by("pk")
    cases = {case.pk: case for case in locked.only("id", "title", "severity", "confidence", "created_at",
                                                   "sla_ack_due", "sla_resolve_due")}
    ctx = current_request_context()
    request_id, client_ip = ctx.get("request_id", ""), ctx.get("client_ip")
    events: list[CaseEvent] = []
    audits: list[AuditLog] = []
    links: set[tuple[int, int]] = set()
    raised: set[int] = set()
    changed: set[int] = set()
    for case_id, alerts in calls:
        case = cases[case_id]
        before = {"severity": case.severity, "confidence": case.confidence}
        for alert in alerts:
            case.severity = higher_severity(case.severity, alert["severity"])
            case.confidence = max(case.confidence, alert.get("confidence", 0))
            events.append(CaseEvent(
                case=case, kind=CaseEvent.Kind.ALERT_ATTACHED, actor=None, actor_label=actor_label,
                message=f"Alert #{alert['id']} attached: {alert['title'][:200]}",
                data={"alert_id": alert["id"], "severity": alert["severity"]}))
            links.update((case_id, obs_id) for obs_id in alert.get("observable_ids") or ())
        after = {"severity": case.severity, "confidence": case.confidence}
        if after != before:
            changed.add(case_id)
            if after["severity"] != before["severity"]:
                raised.add(case_id)
                events.append(CaseEvent(
                    case=case, kind=CaseEvent.Kind.SEVERITY_CHANGED, actor=None, actor_label=actor_label,
                    message=f"Severity raised {before['severity']} → {after['severity']}",
                    data={"before": before, "after": after}))
            audits.append(_audit_row("case.update", case, actor_label=actor_label, before=before, after=after,
                                     request_id=request_id, client_ip=client_ip))
    now = timezone.now()
    table = _sla_table() if raised else {}
    for case in cases.values():
        case.updated_at = now
        if case.pk in raised:
            _apply_sla_from(case, table)  # a more severe case owes a faster answer
    # The cases whose levels did not change only get their updated_at (a narrower UPDATE).
    update_rows(Case, [case for case in cases.values() if case.pk in changed],
                ["severity", "confidence", "sla_ack_due", "sla_resolve_due", "updated_at"])
    update_rows(Case, [case for case in cases.values() if case.pk not in changed], ["updated_at"])
    # One entry per alert: written without Django's per-field INSERT compilation (soar.bulk).
    created = create_rows(events, ["case", "kind", "actor", "actor_label", "message", "data", "created_at"])
    if audits:
        AuditLog.objects.bulk_create(audits)
    gained: set[int] = set()
    if links:
        # The case <-> observable table (declared on alerts.Observable.cases). The links the
        # cases have already are read first: the cases are locked, so what is missing now is
        # what this call adds (ON CONFLICT still covers a link added without the case lock).
        through: Any = Case._meta.get_field("observables").through
        have = set(through.objects.filter(any_of("case_id", case_ids),
                                          any_of("observable_id", {obs_id for _, obs_id in links}))
                   .values_list("case_id", "observable_id"))
        new_links = sorted(links - have)
        insert_rows(through, ["case", "observable"], new_links, ignore_conflicts=True)
        gained = {case_id for case_id, _ in new_links}
    _announce(created)
    return gained


@transaction.atomic
def record_alerts_resolved(case_id: int, *, alert_count: int, resolve: bool) -> Case:
    """Every alert of the case was resolved by its sender. Written once per case (a second
    resolution notice finds the entry); with ``resolve`` an open case walks to RESOLVED, each
    skipped step on the timeline, as automation."""
    case = Case.objects.select_for_update().get(pk=case_id)
    if not case.events.filter(kind=CaseEvent.Kind.ALERTS_RESOLVED).exists():
        add_case_event(case, CaseEvent.Kind.ALERTS_RESOLVED,
                       f"All {alert_count} alert(s) of this case were resolved by their source",
                       actor_label=AUTOMATION, data={"alert_count": alert_count, "resolve": resolve})
    if resolve and case.status in Case.OPEN_STATUSES and not case.merged_into_id:
        reason = "every alert was resolved by its source"
        for step in (Case.Status.TRIAGED, Case.Status.IN_PROGRESS, Case.Status.RESOLVED):
            if step == Case.Status.RESOLVED and missing_required_tasks(case):
                break  # the analysts still have required tasks to do
            if step in allowed_targets(case.status):
                case = transition_case(case, step, actor=None, reason=reason, actor_label=AUTOMATION)
    return case


# --- lifecycle ---------------------------------------------------------------------------

_TIMESTAMP_FOR: dict[str, str] = {
    Case.Status.TRIAGED: "triaged_at",
    Case.Status.IN_PROGRESS: "in_progress_at",
    Case.Status.RESOLVED: "resolved_at",
    Case.Status.CLOSED: "closed_at",
}


MAX_SUMMARY_LENGTH = 5_000


def active_resolutions() -> models.QuerySet[Resolution]:
    """The verdicts offered when resolving."""
    return Resolution.objects.filter(active=True)


def find_resolution(value: object) -> Resolution | None:
    """An active resolution by instance, slug or id (None when empty or unknown)."""
    if isinstance(value, Resolution):
        return value if value.active else None
    text = str(value or "").strip()
    if not text:
        return None
    numeric = text.isascii() and text.isdigit() and len(text) < 18  # an id; longer ones would overflow bigint
    lookup = {"pk": int(text)} if numeric else {"slug": text}
    return active_resolutions().filter(**lookup).first()


def check_verdict(actor: Actor, resolution: object,
                  summary: str) -> tuple[Resolution | None, str]:
    """Check the verdict given with a resolve: both parts are required from a user (automation,
    resolving because a sender said the condition is over, may give none)."""
    summary = (summary or "").strip()
    chosen = find_resolution(resolution)
    problems: dict[str, list[str]] = {}
    if chosen is None and (signed_in(actor) or resolution):
        problems["resolution"] = ["Choose a resolution (true positive, false positive, benign, duplicate…)."
                                  if not resolution else "Unknown or retired resolution."]
    if not summary and signed_in(actor):
        problems["summary"] = ["Write a short summary of what was found."]
    if len(summary) > MAX_SUMMARY_LENGTH:
        problems["summary"] = [f"A summary is at most {MAX_SUMMARY_LENGTH} characters."]
    if problems:
        first = next(iter(problems.values()))[0]
        raise InvalidInput(first, errors={"detail": first, "code": InvalidInput.code, **problems})
    return chosen, summary


def _record_skipped_steps(case: Case, from_status: str, to_status: str, now: datetime, *, actor: Actor,
                          actor_label: str) -> list[str]:
    """A jump (NEW → RESOLVED) stamps each skipped step's time with the jump's time, when unset,
    so MTTA counts the direct resolution as the acknowledgement; one timeline entry each."""
    skipped = list(skipped_steps(from_status, to_status))
    for step in skipped:
        stamp = _TIMESTAMP_FOR[step]
        if getattr(case, stamp) is None:
            setattr(case, stamp, now)
        label = Case.Status(step).label
        add_case_event(case, CaseEvent.Kind.STATUS_CHANGED, f"{label} (skipped, resolved directly)",
                       actor=actor, actor_label=actor_label,
                       data={"from": from_status, "to": step, "skipped": True, "reopen": False})
    return skipped


@transaction.atomic
def transition_case(case: Case, to_status: str, *, actor: Actor, reason: str = "", actor_label: str = "",
                    resolution: object = None, summary: str = "") -> Case:
    """Move ``case`` along the lifecycle; raises InvalidTransition with a clear message.
    Resolving (from any open status) needs ``resolution`` and ``summary`` from a user; reopening
    clears the verdict, which stays on the timeline."""
    case = _locked(case)
    _ensure_may_change(actor, case)
    from_status = case.status
    if to_status not in Case.Status.values:
        raise InvalidTransition(f"Unknown status {to_status!r}.")
    allowed = allowed_targets(from_status)
    if to_status not in allowed:
        names = ", ".join(Case.Status(s).label for s in allowed) or "none"
        raise InvalidTransition(
            f"Case #{case.pk} cannot go from {Case.Status(from_status).label} to {Case.Status(to_status).label}; "
            f"allowed next: {names}."
        )
    reason = (reason or "").strip()[:MAX_REASON_LENGTH]
    reopen = is_reopen(from_status, to_status)
    if reopen and not reason:
        raise InvalidTransition("Reopening a case needs a reason.")
    verdict = check_verdict(actor, resolution, summary) if needs_verdict(to_status) else None
    if to_status == Case.Status.RESOLVED and (missing := missing_required_tasks(case)):
        message, body = missing_tasks_refusal(case, missing)
        raise InvalidTransition(message, errors=body)
    fields = ["status", "triaged_at", "in_progress_at", "resolved_at", "closed_at"]
    before = snapshot(case, fields=[*fields, "resolution", "resolution_summary", "resolved_by"])
    previous_verdict = case.resolution.name if case.resolution_id and case.resolution else None
    now = timezone.now()
    skipped = _record_skipped_steps(case, from_status, to_status, now, actor=actor, actor_label=actor_label)
    case.status = to_status
    stamp = _TIMESTAMP_FOR[to_status]
    if getattr(case, stamp) is None or not reopen:
        setattr(case, stamp, now)
    if reopen:
        case.resolved_at = None
        case.closed_at = None
        case.resolution, case.resolution_summary, case.resolved_by = None, "", None
    data: dict[str, Any] = {"from": from_status, "to": to_status, "reason": reason, "reopen": reopen}
    verb = "Reopened" if reopen else "Status"
    message = f"{verb}: {Case.Status(from_status).label} → {Case.Status(to_status).label}"
    if verdict is not None:
        chosen, summary = verdict
        case.resolution, case.resolution_summary, case.resolved_by = chosen, summary, signed_in(actor)
        data.update(resolution=chosen.slug if chosen else None, resolution_name=chosen.name if chosen else None,
                    summary=summary, skipped=skipped)
        if chosen is not None:
            message += f" as {chosen.name}"
        if summary:
            message += f" — {summary[:300]}"
    if reopen and previous_verdict:
        data["previous_resolution"] = previous_verdict
    case.save()
    if reason:
        message += f" — {reason}"
    add_case_event(case, CaseEvent.Kind.STATUS_CHANGED, message, actor=actor, actor_label=actor_label, data=data)
    after = snapshot(case, fields=list(before))
    record_audit("case.reopen" if reopen else "case.transition", case, actor=actor, actor_label=actor_label,
                 before=before, after={**after, "reason": reason} if reason else after)
    return case


def resolve_case(case: Case, *, resolution: object, summary: str, actor: Actor,
                 actor_label: str = "") -> Case:
    """The "Resolve…" action: from any open status, with a verdict."""
    return transition_case(case, Case.Status.RESOLVED, actor=actor, actor_label=actor_label,
                           resolution=resolution, summary=summary)


# --- assignment, team, fields ---------------------------------------------------------------

def _check_assignment(actor: Actor, case: Case, assignee: User | None) -> None:
    if assignee is not None:
        if not assignee.is_active:
            raise InvalidInput("This user is inactive.", field="assignee")
        if case.team_id and not assignee.soc_teams.filter(pk=case.team_id).exists():
            raise InvalidInput(f"{assignee.username} is not a member of team {case.team}.", field="assignee")
    if actor is None or not actor.is_authenticated or roles.is_lead(actor):
        return  # leads and admins reassign across the team; automation is trusted
    # Analysts may take an unowned case, and hand over or drop their own.
    current = case.assignee_id
    if current not in (None, actor.pk):
        raise NotAllowed("Only a SOC lead can reassign a case that someone else holds.")
    if current is None and assignee is not None and assignee.pk != actor.pk:
        raise NotAllowed("Analysts can only assign an unowned case to themselves; ask a SOC lead.")


@transaction.atomic
def assign_case(case: Case, assignee: User | None, *, actor: Actor, actor_label: str = "") -> Case:
    case = _locked(case)
    _ensure_may_change(actor, case)
    if case.assignee_id == (assignee.pk if assignee else None):
        return case
    _check_assignment(actor, case, assignee)
    before = {"assignee": case.assignee.username if case.assignee else None}
    case.assignee = assignee
    case.save(update_fields=["assignee", "updated_at"])
    after = {"assignee": assignee.username if assignee else None}
    message = f"Assigned to {assignee.username}" if assignee else "Unassigned"
    add_case_event(case, CaseEvent.Kind.ASSIGNED, message, actor=actor, actor_label=actor_label,
                   data={"before": before["assignee"], "after": after["assignee"]})
    record_audit("case.assign", case, actor=actor, actor_label=actor_label, before=before, after=after)
    return case


@transaction.atomic
def set_case_team(case: Case, team: Team | None, *, actor: Actor, actor_label: str = "") -> Case:
    """Move a case to another team (leads: only teams they belong to). Clears an assignee
    who is not in the new team."""
    case = _locked(case)
    _ensure_may_change(actor, case)
    if case.team_id == (team.pk if team else None):
        return case
    if actor is not None and actor.is_authenticated and not roles.is_admin(actor):
        if not roles.is_lead(actor):
            raise NotAllowed("Only a SOC lead can move a case to another team.")
        if team is None or not team.members.filter(pk=actor.pk).exists():
            raise NotAllowed("Leads can only move cases to a team they belong to.")
    before = {"team": str(case.team) if case.team else None, "assignee": getattr(case.assignee, "username", None)}
    case.team = team
    if case.assignee_id and team and not team.members.filter(pk=case.assignee_id).exists():
        case.assignee = None
    case.save(update_fields=["team", "assignee", "updated_at"])
    after = {"team": str(team) if team else None, "assignee": getattr(case.assignee, "username", None)}
    add_case_event(case, CaseEvent.Kind.UPDATED, f"Team: {before['team'] or '—'} → {after['team'] or '—'}",
                   actor=actor, actor_label=actor_label, data={"before": before, "after": after})
    record_audit("case.team", case, actor=actor, actor_label=actor_label, before=before, after=after)
    return case


EDITABLE_FIELDS = ("title", "description", "severity")


@transaction.atomic
def update_case(case: Case, *, actor: Actor, actor_label: str = "", **changes: Any) -> Case:
    """Edit title/description/severity (severity re-computes the SLA due times)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Not editable here: {', '.join(sorted(unknown))}.")
    case = _locked(case)
    _ensure_may_change(actor, case)
    if "severity" in changes and changes["severity"] not in SEVERITY_RANK:
        raise InvalidInput("Unknown severity.", field="severity")
    if "title" in changes and not str(changes["title"]).strip():
        raise InvalidInput("The title cannot be empty.", field="title")
    changed = {k: v for k, v in changes.items() if getattr(case, k) != v}
    if not changed:
        return case
    before = {k: getattr(case, k) for k in changed}
    for key, value in changed.items():
        setattr(case, key, value)
    if "severity" in changed:
        apply_sla(case)
    case.save()
    if "severity" in changed:
        add_case_event(case, CaseEvent.Kind.SEVERITY_CHANGED, f"Severity {before['severity']} → {case.severity}",
                       actor=actor, actor_label=actor_label, data={"before": before["severity"],
                                                                   "after": case.severity})
    others = sorted(set(changed) - {"severity"})
    if others:
        add_case_event(case, CaseEvent.Kind.UPDATED, f"Edited: {', '.join(others)}", actor=actor,
                       actor_label=actor_label, data={"fields": others})
    record_audit("case.update", case, actor=actor, actor_label=actor_label, before=before, after=changed)
    return case


# --- tags and notes -------------------------------------------------------------------------

def clean_tag_names(names: Iterable[object] | None, *, field: str = "tags") -> list[str]:
    cleaned: list[str] = []
    for given in names or []:
        name = str(given).strip()
        if not name:
            continue
        if not TAG_PATTERN.match(name):
            raise InvalidInput(f"Invalid tag {name[:70]!r}: use 1-64 letters, digits, spaces or . : / @ _ -",
                               field=field)
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


@transaction.atomic
def change_tags(case: Case, *, add: Iterable[object] = (), remove: Iterable[object] = (), actor: Actor,
                actor_label: str = "") -> Case:
    case = _locked(case)
    _ensure_may_change(actor, case)
    adding, removing = clean_tag_names(add), clean_tag_names(remove)
    current = set(case.tags.values_list("name", flat=True))
    to_add = [n for n in adding if n not in current]
    to_remove = [n for n in removing if n in current and n not in adding]
    if not to_add and not to_remove:
        return case
    tags = [Tag.objects.get_or_create(name=n)[0] for n in to_add]
    case.tags.add(*tags)
    if to_remove:
        case.tags.remove(*Tag.objects.filter(name__in=to_remove))
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    parts = [f"added {', '.join(to_add)}"] if to_add else []
    parts += [f"removed {', '.join(to_remove)}"] if to_remove else []
    add_case_event(case, CaseEvent.Kind.TAGGED, "Tags " + "; ".join(parts), actor=actor, actor_label=actor_label,
                   data={"added": to_add, "removed": to_remove})
    record_audit("case.tags", case, actor=actor, actor_label=actor_label, before={"tags": sorted(current)},
                 after={"tags": sorted((current | set(to_add)) - set(to_remove))})
    return case


@transaction.atomic
def add_note(case: Case, body: str, *, actor: Actor, actor_label: str = "") -> Note:
    body = (body or "").strip()
    if not body:
        raise InvalidInput("A note cannot be empty.", field="body")
    if len(body) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"A note is at most {MAX_NOTE_LENGTH} characters.", field="body")
    case = _locked(case)
    _ensure_may_change(actor, case)
    note = Note.objects.create(case=case, author=signed_in(actor), body=body)
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    excerpt = body if len(body) <= 300 else body[:300] + "…"
    add_case_event(case, CaseEvent.Kind.NOTE, excerpt, actor=actor, actor_label=actor_label,
                   data={"note_id": note.pk})
    record_audit("case.note", note, actor=actor, actor_label=actor_label, after={"case": case.pk, "body": body})
    return note


@transaction.atomic
def edit_note(note: Note, body: str, *, actor: Actor) -> Note:
    """Replace a note's text; only its author may, while they may change the case. The old text
    is kept as a NoteRevision, and the edit is on the timeline and in the audit log."""
    body = (body or "").strip()
    if not body:
        raise InvalidInput("A note cannot be empty.", field="body")
    if len(body) > MAX_NOTE_LENGTH:
        raise InvalidInput(f"A note is at most {MAX_NOTE_LENGTH} characters.", field="body")
    note = Note.objects.select_for_update().select_related("case").get(pk=note.pk)
    user = signed_in(actor)
    if user is None or note.author_id != user.pk:
        raise NotAllowed("Only the author of a note may edit it.")
    _ensure_may_change(actor, note.case)
    if note.body == body:
        return note
    NoteRevision.objects.create(note=note, body=note.body, edited_by=user)
    before = {"body": note.body}
    note.body = body
    note.edited_at = timezone.now()
    note.save(update_fields=["body", "edited_at"])
    Case.objects.filter(pk=note.case_id).update(updated_at=note.edited_at)
    add_case_event(note.case, CaseEvent.Kind.UPDATED, f"Note #{note.pk} edited", actor=actor,
                   data={"note_id": note.pk, "note_edited": True})
    record_audit("case.note.edit", note, actor=actor, before=before, after={"case": note.case_id, "body": body})
    return note


# --- sharing -----------------------------------------------------------------------------------

@transaction.atomic
def share_case(case: Case, user: User | None, *, actor: Actor, can_change: bool = True,
               actor_label: str = "") -> Case:
    """Grant ``user`` guardian object permissions on the case (view, and change unless read-only)."""
    case = _locked(case)
    _ensure_may_change(actor, case)
    if user is None or not user.is_active:
        raise InvalidInput("Choose an active user to share with.", field="user")
    assign_perm("cases.view_case", user, case)
    if can_change:
        assign_perm("cases.change_case", user, case)
    else:
        remove_perm("cases.change_case", user, case)
    mode = "read/write" if can_change else "read-only"
    add_case_event(case, CaseEvent.Kind.SHARED, f"Shared with {user.username} ({mode})", actor=actor,
                   actor_label=actor_label, data={"user": user.username, "can_change": can_change})
    record_audit("case.share", case, actor=actor, actor_label=actor_label,
                 after={"user": user.username, "can_change": can_change})
    return case


@transaction.atomic
def unshare_case(case: Case, user: User, *, actor: Actor, actor_label: str = "") -> Case:
    case = _locked(case)
    _ensure_may_change(actor, case)
    remove_perm("cases.view_case", user, case)
    remove_perm("cases.change_case", user, case)
    add_case_event(case, CaseEvent.Kind.SHARED, f"No longer shared with {user.username}", actor=actor,
                   actor_label=actor_label, data={"user": user.username, "revoked": True})
    record_audit("case.unshare", case, actor=actor, actor_label=actor_label, before={"user": user.username})
    return case


def find_user(username_or_id: object) -> User | None:
    User = get_user_model()
    value = str(username_or_id or "").strip()
    if value.isdigit():
        return User.objects.filter(pk=int(value)).first()
    return User.objects.filter(username=value).first() if value else None


# --- for the alerts, enrichment and playbooks apps ---

@transaction.atomic
def raise_case_levels(case_id: int, *, severity: str | None, confidence: int | None, reasons: list[str],
                      raised_by: str, actor: Actor = None, actor_label: str = "") -> bool:
    """Raise (never lower) a case's severity/confidence under a row lock; timeline + audit.
    ``raised_by`` names what raised it on the timeline ("enrichment"). Returns whether it changed."""
    case = Case.objects.select_for_update().get(pk=case_id)
    before = {"severity": case.severity, "confidence": case.confidence}
    if severity:
        case.severity = higher_severity(case.severity, severity)
    if confidence is not None:
        case.confidence = max(case.confidence, min(100, confidence))
    after = {"severity": case.severity, "confidence": case.confidence}
    if after == before:
        return False
    case.save(update_fields=["severity", "confidence", "updated_at"])
    changes = [f"{k} {before[k]} → {after[k]}" for k in ("severity", "confidence") if before[k] != after[k]]
    add_case_event(case, CaseEvent.Kind.SEVERITY_CHANGED, f"Raised by {raised_by}: {', '.join(changes)}; "
                   f"{'; '.join(reasons)}"[:2000], actor=actor, actor_label=actor_label,
                   data={"before": before, "after": after, "reasons": reasons})
    record_audit("case.update", case, actor=actor, actor_label=actor_label, before=before, after=after)
    return True
