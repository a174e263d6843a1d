"""Safe action: put observables on a named blocklist (published as firewall feeds)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts.normalization import ENTITY_TYPES
from enrichment import services as enrichment_services
from playbooks.actions.base import Action, ActionContext, ActionError, is_template, list_param, text_param

LIST_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_ENTRIES = 500


def valid_list_name(name: str) -> bool:
    return 0 < len(name) <= 64 and set(name) <= LIST_NAME_CHARS


class AddToBlocklist(Action):
    name = "add_to_blocklist"
    label = "Add to blocklist"
    transactional = True
    required = ("list",)
    optional = ("type", "value", "values", "observables", "types", "reason", "expires_in_hours")

    def validate_values(self, params, path):
        errors = []
        name = params.get("list")
        if isinstance(name, str) and name and not is_template(name) and not valid_list_name(name):
            errors.append(f"{path}.list: use 1-64 lower-case letters, digits, '-' or '_'")
        if not any(params.get(k) not in (None, "", []) for k in ("value", "values", "observables")):
            errors.append(f"{path}: give 'value'/'values' (with 'type') or 'observables'")
        if params.get("value") or params.get("values"):
            obs_type = params.get("type")
            if not obs_type:
                errors.append(f"{path}.type: required with value/values (one of {', '.join(ENTITY_TYPES)})")
            elif not is_template(obs_type) and obs_type not in ENTITY_TYPES:
                errors.append(f"{path}.type: must be one of {', '.join(ENTITY_TYPES)}; got {obs_type!r}")
        hours = params.get("expires_in_hours")
        if hours is not None and not is_template(hours):
            if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours <= 0:
                errors.append(f"{path}.expires_in_hours: must be a positive number")
        return errors

    def entries(self, params: dict) -> list[tuple[str, str]]:
        pairs = []
        obs_type = params.get("type")
        for value in list_param(params, "value") + list_param(params, "values"):
            pairs.append((str(obs_type or ""), str(value)))
        wanted_types = set(list_param(params, "types"))
        for item in list_param(params, "observables"):
            if isinstance(item, dict) and item.get("type") and item.get("value"):
                if not wanted_types or item["type"] in wanted_types:
                    pairs.append((str(item["type"]), str(item["value"])))
        return list(dict.fromkeys(pairs))[:MAX_ENTRIES]

    def describe(self, params):
        shown = ", ".join(f"{t}:{v}" for t, v in self.entries(params)[:10]) or "nothing (no values)"
        expiry = f", expiring in {params['expires_in_hours']} h" if params.get("expires_in_hours") else ""
        return f"Add {shown} to blocklist '{params.get('list')}'{expiry}"

    def run(self, ctx: ActionContext) -> dict:
        list_name = text_param(ctx.params, "list", max_length=64)
        if not valid_list_name(list_name):
            raise ActionError(f"Invalid list name {list_name!r}")
        hours = ctx.params.get("expires_in_hours")
        expires_at = None
        if hours not in (None, ""):
            try:
                expires_at = timezone.now() + timedelta(hours=float(hours))
            except (TypeError, ValueError):
                raise ActionError(f"expires_in_hours must be a number, got {hours!r}")
        reason = text_param(ctx.params, "reason", required=False, max_length=500) or f"case #{ctx.case.pk}"
        added, refused = [], []
        for obs_type, value in self.entries(ctx.params):
            try:
                entry = enrichment_services.add_to_blocklist(list_name, obs_type, value, reason=reason,
                                                             expires_at=expires_at, actor_label=ctx.actor_label)
            except ValueError as exc:  # NormalizationError: not a valid value for its type
                refused.append({"type": obs_type, "value": value[:200], "error": str(exc)[:200]})
                continue
            added.append({"type": entry.obs_type, "value": entry.value})
        if not added and refused:
            raise ActionError(f"No valid value to block: {refused[0]['error']}")
        return {"list": list_name, "added": added, "refused": refused,
                "expires_at": expires_at.isoformat() if expires_at else None}
