"""Safe actions that change the case itself, through the cases services (timeline + audit
come with them). They run inside the step's completion transaction, so a retry after a
crash never applies them twice."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from alerts.normalization import SEVERITIES
from cases import services as case_services
from playbooks.actions.base import Action, ActionContext, ActionError, is_template, list_param, text_param


def _case_call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except case_services.CaseError as exc:
        raise ActionError(str(exc))


class SetSeverity(Action):
    name = "set_severity"
    label = "Set severity"
    transactional = True
    required = ("severity",)

    def validate_values(self, params, path):
        value = params.get("severity")
        if value and not is_template(value) and value not in SEVERITIES:
            return [f"{path}.severity: must be one of {', '.join(SEVERITIES)}; got {value!r}"]
        return []

    def describe(self, params):
        return f"Set the case severity to {params.get('severity')}"

    def run(self, ctx: ActionContext) -> dict:
        severity = text_param(ctx.params, "severity").lower()
        if severity not in SEVERITIES:
            raise ActionError(f"Unknown severity {severity!r}")
        before = ctx.case.severity
        _case_call(case_services.update_case, ctx.case, actor=None, actor_label=ctx.actor_label, severity=severity)
        return {"before": before, "severity": severity, "changed": before != severity}


class AddTag(Action):
    name = "tag"
    label = "Tag the case"
    transactional = True
    required = ("tags",)

    def describe(self, params):
        return f"Add tag(s) {', '.join(map(str, list_param(params, 'tags')))}"

    def run(self, ctx: ActionContext) -> dict:
        tags = [str(tag) for tag in list_param(ctx.params, "tags")]
        if not tags:
            raise ActionError("'tags' is empty after rendering the templates")
        _case_call(case_services.change_tags, ctx.case, add=tags, actor=None, actor_label=ctx.actor_label)
        return {"tags": tags}


class Assign(Action):
    name = "assign"
    label = "Assign the case"
    transactional = True
    required = ("user",)

    def describe(self, params):
        return f"Assign the case to {params.get('user')}"

    def run(self, ctx: ActionContext) -> dict:
        username = text_param(ctx.params, "user", max_length=150)
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise ActionError(f"No active user named {username!r}")
        _case_call(case_services.assign_case, ctx.case, user, actor=None, actor_label=ctx.actor_label)
        return {"assignee": user.username}


class AddNote(Action):
    name = "add_note"
    label = "Add a note"
    transactional = True
    required = ("body",)

    def describe(self, params):
        return f"Add a note: {str(params.get('body'))[:120]}"

    def run(self, ctx: ActionContext) -> dict:
        body = text_param(ctx.params, "body", max_length=case_services.MAX_NOTE_LENGTH)
        note = _case_call(case_services.add_note, ctx.case, body, actor=None, actor_label=ctx.actor_label)
        return {"note_id": note.pk}
