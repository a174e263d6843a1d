"""Writes on case tasks (the case's checklist) and applying a template to an open case.

Not Celery tasks: the "tasks" here are the analysts'. Every change goes through the same rules
as the other case writes (cases.services): a user needs change access to the case (auditors
never), merged cases are read-only, and each change leaves a timeline entry and an audit entry.
Reads are in cases/task_selectors.py; templates applied while a case is being opened are in
cases/task_templates.py."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cases import task_templates
from cases.models import Case, CaseEvent, CaseTask, CaseTemplate, TaskStatus
from cases.roles import signed_in
from cases.services import (
    InvalidInput,
    InvalidTransition,
    _ensure_may_change,
    _locked,
    add_case_event,
    apply_sla,
    record_audit,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from cases.roles import Actor

MAX_TITLE = 200
MAX_GROUP = 60
MAX_TEXT = 20_000
MAX_SLA_MINUTES = 525_600  # a year
EDITABLE = ("title", "description", "group", "status", "assignee", "required", "notes", "sla_minutes", "position")


def _clean_text(value: object, *, field: str, limit: int, required: bool = False) -> str:
    text = str(value if value is not None else "").strip()
    if required and not text:
        raise InvalidInput(f"The {field} cannot be empty.", field=field)
    if len(text) > limit:
        raise InvalidInput(f"The {field} is at most {limit} characters.", field=field)
    return text


def _clean_sla(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        minutes = int(str(value))
    except (TypeError, ValueError):
        raise InvalidInput("The SLA is a whole number of minutes.", field="sla_minutes")
    if not 0 < minutes <= MAX_SLA_MINUTES:
        raise InvalidInput(f"The SLA is between 1 and {MAX_SLA_MINUTES} minutes.", field="sla_minutes")
    return minutes


def _check_assignee(case: Case, assignee: User | None) -> None:
    if assignee is None:
        return
    if not assignee.is_active:
        raise InvalidInput("This user is inactive.", field="assignee")
    if case.team_id and not assignee.soc_teams.filter(pk=case.team_id).exists():
        raise InvalidInput(f"{assignee.username} is not a member of team {case.team}.", field="assignee")


def _due(start: Any, sla_minutes: int | None) -> Any:
    return start + timedelta(minutes=sla_minutes) if sla_minutes is not None else None


def _task_state(task: CaseTask) -> dict[str, Any]:
    return {"title": task.title, "description": task.description, "group": task.group, "status": task.status,
            "assignee": task.assignee.username if task.assignee_id and task.assignee else None,
            "required": task.required, "notes": task.notes, "sla_minutes": task.sla_minutes,
            "due_at": task.due_at.isoformat() if task.due_at else None, "position": task.position}


@transaction.atomic
def add_task(case: Case, *, title: str, actor: Actor, description: str = "", group: str = "",
             required: bool = False, sla_minutes: object = None, assignee: User | None = None,
             actor_label: str = "") -> CaseTask:
    """Append a task to the case's checklist; due ``sla_minutes`` from now."""
    title = _clean_text(title, field="title", limit=MAX_TITLE, required=True)
    description = _clean_text(description, field="description", limit=MAX_TEXT)
    group = _clean_text(group, field="group", limit=MAX_GROUP)
    minutes = _clean_sla(sla_minutes)
    case = _locked(case)
    _ensure_may_change(actor, case)
    _check_assignee(case, assignee)
    now = timezone.now()
    last = CaseTask.objects.filter(case=case).aggregate(last=Max("position"))["last"]
    task = CaseTask.objects.create(case=case, title=title, description=description, group=group,
                                   required=bool(required), sla_minutes=minutes, due_at=_due(now, minutes),
                                   assignee=assignee, position=(last + 1) if last is not None else 0,
                                   created_at=now)
    Case.objects.filter(pk=case.pk).update(updated_at=now)
    add_case_event(case, CaseEvent.Kind.TASK, f"Task added: {title}" + (" (required)" if task.required else ""),
                   actor=actor, actor_label=actor_label, data={"task_id": task.pk, "action": "added"})
    record_audit("case.task.create", task, actor=actor, actor_label=actor_label,
                 after={"case": case.pk, **_task_state(task)})
    return task


@transaction.atomic
def update_task(task: CaseTask, *, actor: Actor, actor_label: str = "", **changes: Any) -> CaseTask:
    """Change a task's fields (see ``EDITABLE``). Done stamps who completed it and when; leaving
    done clears them. ``sla_minutes`` re-computes the due time from the task's creation."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"Not editable: {', '.join(sorted(unknown))}.")
    # The case first, as resolving does: a task cannot leave "done" while the case is being resolved.
    case = Case.objects.select_for_update().get(pk=task.case_id)
    # of=self: PostgreSQL cannot lock the nullable side of the assignee join.
    task = CaseTask.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=task.pk)
    task.case = case
    _ensure_may_change(actor, case)
    cleaned: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "title":
            cleaned[key] = _clean_text(value, field="title", limit=MAX_TITLE, required=True)
        elif key in ("description", "notes"):
            cleaned[key] = _clean_text(value, field=key, limit=MAX_TEXT)
        elif key == "group":
            cleaned[key] = _clean_text(value, field="group", limit=MAX_GROUP)
        elif key == "status":
            if value not in TaskStatus.values:
                raise InvalidInput(f"Unknown status; use one of {', '.join(TaskStatus.values)}.", field="status")
            cleaned[key] = value
        elif key == "assignee":
            _check_assignee(task.case, value)
            cleaned[key] = value
        elif key == "required":
            cleaned[key] = bool(value)
        elif key == "sla_minutes":
            cleaned[key] = _clean_sla(value)
        else:
            try:
                cleaned[key] = max(0, int(value))
            except (TypeError, ValueError):
                raise InvalidInput("The position is a whole number.", field="position")
    before = _task_state(task)
    for key, value in cleaned.items():
        setattr(task, key, value)
    if "sla_minutes" in cleaned:
        task.due_at = _due(task.created_at, task.sla_minutes)
    after = _task_state(task)
    changed = sorted(key for key in after if after[key] != before[key])
    if not changed:
        return task
    now = timezone.now()
    if "status" in changed:
        done = task.status == TaskStatus.DONE
        task.completed_at = now if done else None
        task.completed_by = signed_in(actor) if done else None
    task.save()
    Case.objects.filter(pk=task.case_id).update(updated_at=now)
    add_case_event(task.case, CaseEvent.Kind.TASK, _change_message(task, before, changed), actor=actor,
                   actor_label=actor_label, data={"task_id": task.pk, "action": "changed", "fields": changed,
                                                  "before": {k: before[k] for k in changed},
                                                  "after": {k: after[k] for k in changed}})
    record_audit("case.task.update", task, actor=actor, actor_label=actor_label,
                 before={k: before[k] for k in changed}, after={"case": task.case_id, **{k: after[k] for k in changed}})
    return task


def _change_message(task: CaseTask, before: dict[str, Any], changed: list[str]) -> str:
    parts = []
    if "status" in changed:
        parts.append(f"{TaskStatus(before['status']).label} \u2192 {task.get_status_display()}")
    if "assignee" in changed:
        parts.append(f"assigned to {task.assignee.username}" if task.assignee else "unassigned")
    if "required" in changed:
        parts.append("now required" if task.required else "no longer required")
    others = [name for name in changed if name not in ("status", "assignee", "required", "due_at")]
    if others:
        parts.append("edited " + ", ".join(others))
    return f"Task \u201c{task.title[:150]}\u201d: " + "; ".join(parts)


@transaction.atomic
def apply_template(case: Case, template: CaseTemplate, *, actor: Actor, actor_label: str = "") -> int:
    """Apply ``template`` to a case already open (a playbook step, the API): title prefix, TLP/PAP,
    tags, severity raised to the template's minimum, and its tasks appended, due from now.
    Applying the template the case already has does nothing. Returns the number of tasks added."""
    case = _locked(case)
    _ensure_may_change(actor, case)
    if case.status not in Case.OPEN_STATUSES:
        raise InvalidTransition(f"Case #{case.pk} is {case.get_status_display().lower()}; reopen it first.")
    if case.template_id == template.pk:
        return 0
    template = task_templates.load_template(template.pk) or template
    fields = ["title", "description", "severity", "tlp", "pap", "template"]
    before = {name: getattr(case, name) for name in fields[:-1]} | {"template": case.template_id}
    task_templates.shape_case(case, template)  # raises the severity to the template's, never lowers it
    if case.severity != before["severity"]:
        apply_sla(case)  # a more severe case owes a faster answer
    # custom_fields: the template's defaults, under the values the case has (task_templates.shape_case).
    case.save(update_fields=[*fields, "custom_fields", "sla_ack_due", "sla_resolve_due", "updated_at"])
    now = timezone.now()
    last = CaseTask.objects.filter(case=case).aggregate(last=Max("position"))["last"]
    rows = task_templates.task_rows(case, template, start=(last + 1) if last is not None else 0)
    for row in rows:
        row.created_at = now
        row.due_at = _due(now, row.sla_minutes)
    CaseTask.objects.bulk_create(rows)
    case.tags.add(*template.tags.all())
    add_case_event(case, CaseEvent.Kind.TASK, task_templates.template_message(template), actor=actor,
                   actor_label=actor_label, data={"template": template.pk, "template_name": template.name,
                                                  "tasks": len(rows)})
    record_audit("case.template", case, actor=actor, actor_label=actor_label,
                 before=before, after=task_templates.template_summary(template))
    return len(rows)
