"""Safe action: open a ticket in a Jira-compatible tracker or through a generic webhook.

Jira has no idempotency-key support, so the step's key also goes into a label
(``soar-<key>``); a retried step first searches for that label and reuses the issue it
finds instead of creating a second one. Webhooks receive the ``Idempotency-Key`` header."""

from __future__ import annotations

import re

from playbooks.actions.base import Action, ActionContext, ActionError, list_param, text_param
from playbooks.actions.http import build_url, call, get_connector

LABEL_SAFE = re.compile(r"[^\w.-]+")


def idempotency_label(key: str) -> str:
    return "soar-" + LABEL_SAFE.sub("-", key)


class CreateTicket(Action):
    name = "create_ticket"
    label = "Create a ticket"
    connector_kinds = ("jira", "webhook")
    required = ("summary",)
    optional = ("description", "project", "issue_type", "labels", "priority")

    def describe(self, params):
        where = f"connector {params['connector']}" if params.get("connector") else "the default ticketing connector"
        return f"Create a ticket via {where}: {str(params.get('summary'))[:150]}"

    def run(self, ctx: ActionContext) -> dict:
        connector = get_connector(ctx.params.get("connector"), self.connector_kinds)
        summary = text_param(ctx.params, "summary", max_length=255)
        description = text_param(ctx.params, "description", required=False)
        labels = [LABEL_SAFE.sub("-", str(label)) for label in list_param(ctx.params, "labels")]
        if connector.kind == "webhook":
            payload = {"idempotency_key": ctx.idempotency_key, "summary": summary, "description": description,
                       "labels": labels, "priority": ctx.params.get("priority"),
                       "case": {"id": ctx.case.pk, "title": ctx.case.title, "severity": ctx.case.severity}}
            status, body = call(connector, "POST", "", idempotency_key=ctx.idempotency_key, payload=payload)
            return {"connector": connector.name, "status": status, "response": body}
        return self._jira(ctx, connector, summary, description, labels)

    def _jira(self, ctx, connector, summary, description, labels) -> dict:
        options = connector.options or {}
        project = text_param(ctx.params, "project", required=False) or options.get("project")
        if not project:
            raise ActionError(f"No Jira project: set 'project' in the step or in connector {connector.name}'s options")
        marker = idempotency_label(ctx.idempotency_key)
        if ctx.attempt > 1:
            existing = self._find_existing(connector, marker, ctx.idempotency_key)
            if existing:
                return {**existing, "reused": True}
        fields = {
            "project": {"key": str(project)},
            "summary": summary,
            "description": description,
            "issuetype": {"name": text_param(ctx.params, "issue_type", required=False)
                          or options.get("issue_type", "Task")},
            "labels": labels + [marker],
        }
        if ctx.params.get("priority"):
            fields["priority"] = {"name": str(ctx.params["priority"])}
        _, body = call(connector, "POST", "/rest/api/2/issue", idempotency_key=ctx.idempotency_key,
                       payload={"fields": fields})
        if not isinstance(body, dict) or not body.get("key"):
            raise ActionError(f"{connector.name}: unexpected answer to issue creation: {str(body)[:200]}")
        return self._issue_outputs(connector, body)

    def _find_existing(self, connector, marker: str, key: str) -> dict | None:
        try:
            _, body = call(connector, "GET", "/rest/api/2/search", idempotency_key=key,
                           params={"jql": f'labels = "{marker}"', "fields": "key", "maxResults": 1})
        except ActionError as exc:
            if exc.__class__ is ActionError:  # search unsupported/refused: creating is the only way on
                return None
            raise
        issues = body.get("issues") if isinstance(body, dict) else None
        return self._issue_outputs(connector, issues[0]) if issues else None

    @staticmethod
    def _issue_outputs(connector, issue: dict) -> dict:
        key = str(issue.get("key", ""))
        return {"connector": connector.name, "id": str(issue.get("id", "")), "key": key,
                "self": issue.get("self", ""), "url": build_url(connector, f"/browse/{key}")}
