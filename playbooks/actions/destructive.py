"""Shared shape of the destructive actions: one POST to the connector's API carrying the
step's Idempotency-Key. The engine never runs them without an approved approval request.

The guarantee against repeated side effects after a crash is the key: a retried step sends
the *same* key, and APIs that support idempotency keys (as EDR, IdP and firewall APIs
commonly do) answer the original result without acting twice."""

from __future__ import annotations

from playbooks.actions.base import Action, ActionContext, text_param
from playbooks.actions.http import call, get_connector


class DestructiveRestAction(Action):
    destructive = True
    connector_kind = ""
    default_path = ""
    path_option = ""

    @property
    def connector_kinds(self):  # type: ignore[override]
        return (self.connector_kind,)

    def payload(self, ctx: ActionContext) -> dict:
        raise NotImplementedError

    def run(self, ctx: ActionContext) -> dict:
        connector = get_connector(ctx.params.get("connector"), self.connector_kinds)
        path = (connector.options or {}).get(self.path_option) or self.default_path
        payload = {**self.payload(ctx), "case_id": ctx.case.pk,
                   "reason": text_param(ctx.params, "reason", required=False, max_length=1000)
                   or f"Mini-SOAR case #{ctx.case.pk}"}
        status, body = call(connector, "POST", path, idempotency_key=ctx.idempotency_key, payload=payload)
        return {"connector": connector.name, "status": status, "request": payload, "response": body}
