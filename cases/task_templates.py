"""Case templates applied to cases being opened, one or many at once (correlation opens cases in
bulk): the case's fields are shaped before its INSERT, then its tasks, tags, one timeline entry
and one audit entry are written with a constant number of statements for the whole batch.

Models only (no cases.services import): cases.services.open_case / open_cases_bulk call this,
and cases.tasks (the task services) applies a template to a case that is already open."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch

from cases import custom_fields
from cases.models import SEVERITY_RANK, AuditLog, Case, CaseEvent, CaseTask, CaseTemplate, TemplateTask
from cases.roles import signed_in
from soar.middleware import current_request_context

if TYPE_CHECKING:
    from cases.roles import Actor


def load_templates(template_ids: Iterable[int | None]) -> dict[int, CaseTemplate]:
    """The templates by id with their tasks and tags (no query at all when no id is given, so
    correlation without templates pays nothing)."""
    ids = sorted({pk for pk in template_ids if pk})
    if not ids:
        return {}
    templates = CaseTemplate.objects.filter(pk__in=ids).prefetch_related(
        Prefetch("tasks", queryset=TemplateTask.objects.order_by("position", "id")), "tags")
    return {template.pk: template for template in templates}


def load_template(template_id: int | None) -> CaseTemplate | None:
    return load_templates([template_id]).get(template_id or 0)


def prefixed_title(title: str, prefix: str) -> str:
    prefix = prefix.strip()
    if not prefix or title.startswith(prefix):
        return title[:500]
    return f"{prefix} {title}"[:500]


def shape_case(case: Case, template: CaseTemplate | None) -> Case:
    """Give an unsaved (or re-shaped) case the template's title prefix, description, minimum
    severity, TLP/PAP and custom field defaults; returns the same case."""
    if template is None:
        return case
    case.template = template
    case.title = prefixed_title(case.title, template.title_prefix)
    if template.description and template.description not in case.description:
        case.description = "\n\n".join(part for part in (case.description, template.description) if part)
    if template.severity and SEVERITY_RANK.get(template.severity, 0) > SEVERITY_RANK.get(case.severity, 0):
        case.severity = template.severity
    case.tlp, case.pap = template.tlp, template.pap
    # The template's custom field defaults, under any value the case has already.
    defaults = _defaults_of(template)
    if defaults:
        case.custom_fields = defaults | (case.custom_fields or {})
    return case


def _defaults_of(template: CaseTemplate) -> dict[str, Any]:
    """The template's custom field defaults, checked once per template object (correlation
    shapes many cases with the same template: one query for the definitions, not one per case)."""
    if not template.custom_fields:
        return {}
    cached = getattr(template, "_checked_custom_field_defaults", None)
    if cached is None:
        cached = custom_fields.template_defaults(template.custom_fields)
        template._checked_custom_field_defaults = cached  # type: ignore[attr-defined]
    return cached


def task_rows(case: Case, template: CaseTemplate, *, start: int = 0) -> list[CaseTask]:
    """The template's tasks for ``case`` (unsaved), due ``sla_minutes`` after the case opened."""
    opened = case.created_at
    return [
        CaseTask(case=case, position=start + index, title=item.title, description=item.description,
                 group=item.group, required=item.required, sla_minutes=item.sla_minutes,
                 due_at=opened + timedelta(minutes=item.sla_minutes) if item.sla_minutes is not None else None,
                 template_task=item, created_at=opened)
        for index, item in enumerate(template.tasks.all())
    ]


def create_template_rows(pairs: list[tuple[Case, CaseTemplate | None]], *, actor: Actor = None,
                         actor_label: str = "") -> None:
    """After the cases are saved (shaped by ``shape_case``): their template's tasks and tags, and
    per case one timeline entry and one audit entry. Constant number of statements."""
    applied = [(case, template) for case, template in pairs if template is not None]
    if not applied:
        return
    tasks = [task for case, template in applied for task in task_rows(case, template)]
    CaseTask.objects.bulk_create(tasks)
    through: Any = Case.tags.through
    tag_links = [through(case_id=case.pk, tag_id=tag.pk) for case, template in applied for tag in template.tags.all()]
    if tag_links:
        through.objects.bulk_create(tag_links, ignore_conflicts=True)
    user = signed_in(actor)
    label = actor_label or (user.username if user else "")
    CaseEvent.objects.bulk_create([
        CaseEvent(case=case, kind=CaseEvent.Kind.TASK, actor=user, actor_label=label,
                  message=template_message(template),
                  data={"template": template.pk, "template_name": template.name, "tasks": len(template.tasks.all())})
        for case, template in applied
    ])
    ctx = current_request_context()
    AuditLog.objects.bulk_create([
        AuditLog(actor=user, actor_label=label, action="case.template", object_type=case._meta.label_lower,
                 object_id=str(case.pk), object_repr=str(case)[:255],
                 after=template_summary(template), request_id=ctx.get("request_id", ""),
                 client_ip=ctx.get("client_ip"))
        for case, template in applied
    ])


def template_message(template: CaseTemplate) -> str:
    count = len(template.tasks.all())
    return f"Template {template.name} applied: {count} task{'' if count == 1 else 's'}"


def template_summary(template: CaseTemplate) -> dict[str, Any]:
    """What applying ``template`` sets, for the audit entry."""
    return {"template": template.name, "tlp": template.tlp, "pap": template.pap,
            "custom_fields": dict(template.custom_fields or {}),
            "tags": sorted(tag.name for tag in template.tags.all()),
            "tasks": [task.title for task in template.tasks.all()]}
