"""What every playbook action is: a name, whether it is destructive, the parameters it takes
(checked when a definition is saved) and ``run`` (called by the engine with rendered inputs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playbooks.templating import TEMPLATE


class ActionError(Exception):
    """A permanent failure: retrying would give the same answer (bad input, 4xx, refused URL)."""


class TransientActionError(ActionError):
    """Worth retrying with backoff: timeouts, connection errors, 429 and 5xx answers."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class ActionContext:
    case: Any
    params: dict
    idempotency_key: str
    attempt: int
    actor_label: str
    run_id: int
    step_id: str
    extra: dict = field(default_factory=dict)


def is_template(value) -> bool:
    return isinstance(value, str) and bool(TEMPLATE.search(value))


class Action:
    name = ""
    label = ""
    destructive = False
    # Runs only database writes: executed inside the transaction that records the step as done,
    # so a crash leaves either both or neither (no idempotency key needed on the other side).
    transactional = False
    connector_kinds: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    def validate(self, params: dict, path: str) -> list[str]:
        """Errors in the (not yet rendered) ``with:`` block, each prefixed with its path."""
        errors = []
        known = set(self.required) | set(self.optional) | ({"connector"} if self.connector_kinds else set())
        for key in sorted(set(params) - known):
            errors.append(f"{path}.{key}: unknown parameter for action {self.name} "
                          f"(allowed: {', '.join(sorted(known)) or 'none'})")
        for key in self.required:
            if params.get(key) in (None, "", []):
                errors.append(f"{path}.{key}: required for action {self.name}")
        if "connector" in params and not isinstance(params["connector"], str):
            errors.append(f"{path}.connector: must be a connector name")
        return errors + self.validate_values(params, path)

    def validate_values(self, params: dict, path: str) -> list[str]:
        return []

    def describe(self, params: dict) -> str:
        shown = ", ".join(f"{k}={str(v)[:80]}" for k, v in params.items())
        return f"{self.label or self.name}({shown})"

    def run(self, ctx: ActionContext) -> dict:
        raise NotImplementedError


def text_param(params: dict, key: str, *, required: bool = True, max_length: int = 20_000) -> str:
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise ActionError(f"'{key}' is empty after rendering the templates")
        return ""
    if isinstance(value, (dict, list)):
        raise ActionError(f"'{key}' must be text, got {type(value).__name__}")
    return str(value)[:max_length]


def list_param(params: dict, key: str) -> list:
    value = params.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple)):
        return [item for item in value if item not in (None, "")]
    if isinstance(value, str) and "," in value:
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]
