"""The action that applies a case template (title prefix, TLP/PAP, tags, minimum severity and
its tasks) to the run's case, through the cases app's task services (timeline + audit)."""

from __future__ import annotations

from cases import task_selectors
from cases import tasks as case_tasks
from playbooks.actions.base import Action, ActionContext, ActionError, text_param
from playbooks.actions.case_actions import _case_call


class ApplyTemplate(Action):
    name = "apply_template"
    label = "Apply a case template"
    transactional = True
    required = ("template",)

    def describe(self, params):
        return f"Apply the case template {params.get('template')}"

    def run(self, ctx: ActionContext) -> dict:
        name = text_param(ctx.params, "template", max_length=100)
        template = task_selectors.find_template(name)
        if template is None:
            raise ActionError(f"No active case template named {name!r}")
        added = _case_call(case_tasks.apply_template, ctx.case, template, actor=None, actor_label=ctx.actor_label)
        return {"template": template.name, "tasks_added": added}
