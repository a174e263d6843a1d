"""Helpers of the playbooks tests (fixtures are in playbooks_support, loaded as a plugin)."""

from __future__ import annotations

import json

from alerts.models import Observable
from playbooks.services.definitions import save_playbook


def observable(obs_type: str, value: str) -> Observable:
    return Observable.objects.get_or_create(type=obs_type, value_hash=Observable.digest(value),
                                            defaults={"value": value})[0]


def make_playbook(definition: dict | str, enabled: bool = True):
    text = definition if isinstance(definition, str) else json.dumps(definition)
    return save_playbook(definition_text=text, enabled=enabled)


def action(step_id: str, name: str, **params) -> dict:
    return {"id": step_id, "type": "action", "action": name, "with": params}


def manual(steps: list, name: str = "Test playbook", trigger: dict | None = None) -> dict:
    return {"name": name, "trigger": trigger or {"type": "manual"}, "steps": steps}
