"""Destructive action: disable a user account through the directory's REST API."""

from playbooks.actions.base import text_param
from playbooks.actions.destructive import DestructiveRestAction


class DisableUser(DestructiveRestAction):
    name = "disable_user"
    label = "Disable user (directory)"
    connector_kind = "directory"
    default_path = "/api/v1/users/disable"
    path_option = "disable_path"
    required = ("username",)
    optional = ("reason",)

    def describe(self, params):
        return f"Disable the account {params.get('username')} in the directory"

    def payload(self, ctx):
        return {"username": text_param(ctx.params, "username", max_length=255)}
