"""Destructive action: block an address/domain/URL on a firewall through its API."""

from alerts.normalization import ENTITY_TYPES
from playbooks.actions.base import ActionError, is_template, list_param
from playbooks.actions.destructive import DestructiveRestAction

MAX_VALUES = 100


class BlockAtFirewall(DestructiveRestAction):
    name = "block_at_firewall"
    label = "Block at firewall"
    connector_kind = "firewall"
    default_path = "/api/v1/blocks"
    path_option = "block_path"
    required = ("value",)
    optional = ("type", "duration_minutes", "reason")

    def validate_values(self, params, path):
        obs_type = params.get("type")
        if obs_type and not is_template(obs_type) and obs_type not in ENTITY_TYPES:
            return [f"{path}.type: must be one of {', '.join(ENTITY_TYPES)}; got {obs_type!r}"]
        return []

    def describe(self, params):
        values = ", ".join(map(str, list_param(params, "value")[:10]))
        return f"Block {values} at the firewall"

    def payload(self, ctx):
        values = [str(v) for v in list_param(ctx.params, "value")][:MAX_VALUES]
        if not values:
            raise ActionError("'value' is empty after rendering the templates")
        payload = {"type": ctx.params.get("type") or "ip", "values": values}
        if ctx.params.get("duration_minutes") not in (None, ""):
            payload["duration_minutes"] = ctx.params["duration_minutes"]
        return payload
