"""Destructive action: isolate a host from the network through the EDR's REST API."""

from playbooks.actions.base import text_param
from playbooks.actions.destructive import DestructiveRestAction


class IsolateHost(DestructiveRestAction):
    name = "isolate_host"
    label = "Isolate host (EDR)"
    connector_kind = "edr"
    default_path = "/api/v1/hosts/isolate"
    path_option = "isolate_path"
    required = ("hostname",)
    optional = ("reason",)

    def describe(self, params):
        return f"Isolate host {params.get('hostname')} through the EDR"

    def payload(self, ctx):
        return {"hostname": text_param(ctx.params, "hostname", max_length=255)}
