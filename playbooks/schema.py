"""Playbook definitions: parsing (YAML or JSON), validation with path-based messages, and
compilation of the nested steps into a flat program the engine can resume at any index.

Hand-written rather than JSON Schema: the checks that matter most (templates may only refer
to earlier steps, action parameters, approver names) are not expressible there, and the
messages are written for the person editing the playbook in the admin.

    name: Contain malware host
    description: optional text
    trigger: {type: severity_at_least, severity: high}
    steps:
      - {id: enrich, type: enrich}
      - id: bad
        type: condition
        if: {left: "{{ steps.enrich.output.malicious }}", op: truthy}
        then:
          - id: isolate
            type: action
            action: isolate_host
            with: {hostname: "{{ case.observables_by_type.hostname.0 }}"}
            approval: {group: lead, reason: "Malware on host", expires_in_minutes: 60}
        else:
          - {id: note, type: action, action: add_note, with: {body: "Nothing malicious."}}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from alerts.normalization import ENTITY_TYPES, SEVERITIES
from playbooks.actions.registry import action_names, get_action
from playbooks.templating import ROOTS, condition_errors, malformed_template, template_paths
from soar import errors
from soar.json_limits import json_problem

MAX_DEFINITION_BYTES = 64 * 1024
MAX_STEPS = 50
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
STEP_TYPES = ("enrich", "condition", "action")
CASE_STATUSES = ("NEW", "TRIAGED", "IN_PROGRESS", "RESOLVED", "CLOSED")
TRIGGER_PARAMS: dict[str, dict[str, tuple]] = {
    # type: {param: (required, allowed values or None)}
    "alert_ingested": {"min_severity": (False, SEVERITIES), "source": (False, None)},
    "case_created": {"min_severity": (False, SEVERITIES)},
    "status_changed": {"to": (False, CASE_STATUSES), "from": (False, CASE_STATUSES)},
    "severity_at_least": {"severity": (True, SEVERITIES)},
    "tag_added": {"tag": (True, None)},
    "observable_type_present": {"observable_type": (True, ENTITY_TYPES)},
    "manual": {},
}
TRIGGER_TYPES = tuple(TRIGGER_PARAMS)
STEP_KEYS = {
    "enrich": {"id", "type", "name", "with", "on_error", "retries"},
    "condition": {"id", "type", "name", "if", "then", "else"},
    "action": {"id", "type", "name", "action", "with", "approval", "on_error", "retries"},
}
ENRICH_PARAMS = {"providers", "observable_types", "force"}
APPROVAL_KEYS = {"group", "user", "reason", "expires_in_minutes"}
ON_ERROR = ("fail", "continue")


class DefinitionError(errors.InvalidInput):
    """A definition that cannot be saved or run; ``problems`` is a list of "path: message"
    strings, every one of them under ``definition`` in an API answer."""

    code = "invalid_definition"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems), field="definition")

    def body(self) -> dict[str, Any]:
        return {**super().body(), "definition": list(self.problems)}


def _depth_error(max_depth: int) -> DefinitionError:
    return DefinitionError([f"definition: nested deeper than {max_depth} levels (SOAR_MAX_JSON_DEPTH)"])


class _BoundedLoader(yaml.SafeLoader):
    """Refuses YAML anchors/aliases (a few lines of them can expand into gigabytes) and nesting
    deeper than the webhook's JSON limit: the composer recurses once per level, so a 20 KB
    ``[[[[...]]]]`` would otherwise end in RecursionError. The check runs before each level
    is composed, so a deep document is refused after reading only its first levels."""

    def __init__(self, stream, max_depth: int):
        super().__init__(stream)
        self.max_depth = max_depth
        self.depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases (*name) are not allowed in playbooks")
        # Only collections count, as in soar.json_limits: a top-level mapping is depth 1.
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise _depth_error(self.max_depth)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def bounded_loader(text: str, max_depth: int) -> yaml.SafeLoader:
    """A YAML loader with the same limits as ``parse`` (no aliases, bounded nesting); for reading
    the node tree with its line marks (playbooks.editor). The caller disposes of it."""
    return _BoundedLoader(text, max_depth)


def parse(text: str, fmt: str | None = None) -> dict:
    """Parse YAML or JSON text into a dict (DefinitionError with the line on failure). Bounded
    like the webhook's JSON: size (also SOAR_MAX_BODY_BYTES), nesting (SOAR_MAX_JSON_DEPTH), no
    NUL characters, integers within 64 bits, finite numbers."""
    if not isinstance(text, str) or not text.strip():
        raise DefinitionError(["definition: empty"])
    max_bytes = min(MAX_DEFINITION_BYTES, settings.SOAR_MAX_BODY_BYTES)
    if len(text.encode()) > max_bytes:
        raise DefinitionError([f"definition: larger than {max_bytes // 1024} KiB"])
    max_depth = settings.SOAR_MAX_JSON_DEPTH
    if fmt == "json" or (fmt is None and text.lstrip().startswith("{")):
        try:
            data = json.loads(text)
        except RecursionError:
            raise _depth_error(max_depth)
        except json.JSONDecodeError as exc:
            raise DefinitionError([f"definition: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"])
    else:
        loader = None
        try:
            # The reader checks for unprintable characters already while it is built.
            loader = _BoundedLoader(text, max_depth)
            data = loader.get_single_data()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise DefinitionError([f"definition: invalid YAML{where}: {problem}"])
        finally:
            if loader is not None:
                loader.dispose()
    if not isinstance(data, dict):
        raise DefinitionError(["definition: the top level must be a mapping (name, trigger, steps)"])
    try:  # dates and other YAML-only types would not survive the JSON snapshot
        data = json.loads(json.dumps(data, default=str))
    except (TypeError, ValueError) as exc:
        raise DefinitionError([f"definition: unsupported value ({exc})"])
    problem = json_problem(data, max_depth)
    if problem:
        raise DefinitionError([f"definition: {problem}"])
    return data


def parse_and_validate(text: str, fmt: str | None = None, *, check_approvers: bool = True) -> dict:
    definition = parse(text, fmt)
    errors = validate(definition, check_approvers=check_approvers)
    if errors:
        raise DefinitionError(errors)
    return definition


# --- validation -----------------------------------------------------------------------

def validate(definition: dict, *, check_approvers: bool = True) -> list[str]:
    errors: list[str] = []
    unknown = set(definition) - {"name", "description", "trigger", "steps"}
    errors += [f"{key}: unknown top-level key (allowed: name, description, trigger, steps)" for key in sorted(unknown)]
    name = definition.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append("name: required text")
    elif len(name) > 200:
        errors.append("name: at most 200 characters")
    if "description" in definition and not isinstance(definition["description"], str):
        errors.append("description: must be text")
    errors += _trigger_errors(definition.get("trigger"))
    steps = definition.get("steps")
    if not isinstance(steps, list) or not steps:
        errors.append("steps: required, a non-empty list")
        return errors
    seen: list[str] = []
    errors += _steps_errors(steps, "steps", seen, check_approvers)
    if len(seen) > MAX_STEPS:
        errors.append(f"steps: at most {MAX_STEPS} steps in total, found {len(seen)}")
    return errors


def _trigger_errors(trigger: Any) -> list[str]:
    if not isinstance(trigger, dict):
        return [f"trigger: required, a mapping with type ({', '.join(TRIGGER_TYPES)})"]
    kind = trigger.get("type")
    if kind not in TRIGGER_PARAMS:
        return [f"trigger.type: must be one of {', '.join(TRIGGER_TYPES)}; got {kind!r}"]
    spec = TRIGGER_PARAMS[kind]
    errors = [f"trigger.{key}: unknown parameter for trigger {kind} (allowed: {', '.join(spec) or 'none'})"
              for key in sorted(set(trigger) - set(spec) - {"type"})]
    for key, (required, allowed) in spec.items():
        value = trigger.get(key)
        if value is None:
            if required:
                errors.append(f"trigger.{key}: required for trigger {kind}")
            continue
        if not isinstance(value, str) or not value.strip():
            errors.append(f"trigger.{key}: must be text")
        elif allowed and value not in allowed:
            errors.append(f"trigger.{key}: must be one of {', '.join(allowed)}; got {value!r}")
    return errors


def _steps_errors(steps: Any, path: str, seen: list[str], check_approvers: bool) -> list[str]:
    if not isinstance(steps, list):
        return [f"{path}: must be a list of steps"]
    errors = []
    for index, step in enumerate(steps):
        errors += _step_errors(step, f"{path}[{index}]", seen, check_approvers)
    return errors


def _step_errors(step: Any, path: str, seen: list[str], check_approvers: bool) -> list[str]:
    if not isinstance(step, dict):
        return [f"{path}: must be a mapping with id and type"]
    errors = []
    step_id = step.get("id")
    if not isinstance(step_id, str) or not STEP_ID.match(step_id):
        errors.append(f"{path}.id: required; lower-case letters, digits and _ starting with a letter (max 64)")
    elif step_id in seen:
        errors.append(f"{path}.id: duplicate step id {step_id!r}")
    kind = step.get("type")
    if kind not in STEP_TYPES:
        return errors + [f"{path}.type: must be one of {', '.join(STEP_TYPES)}; got {kind!r}"]
    label = f"{path} ({step_id})" if isinstance(step_id, str) else path
    errors += [f"{label}.{key}: unknown key for a {kind} step" for key in sorted(set(step) - STEP_KEYS[kind])]
    if "on_error" in step and step["on_error"] not in ON_ERROR:
        errors.append(f"{label}.on_error: must be one of {', '.join(ON_ERROR)}")
    if "retries" in step and (isinstance(step["retries"], bool) or not isinstance(step["retries"], int)
                              or not 0 <= step["retries"] <= 10):
        errors.append(f"{label}.retries: must be a whole number from 0 to 10")
    # Templates may refer to steps that come earlier in the definition only.
    for key in ("with", "if", "approval"):
        if key in step:
            errors += _template_errors(step[key], f"{label}.{key}", seen)
    if isinstance(step_id, str):
        seen.append(step_id)
    if kind == "enrich":
        errors += _enrich_errors(step.get("with", {}), f"{label}.with")
    elif kind == "condition":
        errors += condition_errors(step.get("if"), f"{label}.if")
        if "then" not in step and "else" not in step:
            errors.append(f"{label}: a condition needs 'then' and/or 'else' steps")
        for branch in ("then", "else"):
            if branch in step:
                errors += _steps_errors(step[branch], f"{label}.{branch}", seen, check_approvers)
    else:
        errors += _action_errors(step, label, check_approvers)
    return errors


def _template_errors(value: Any, path: str, seen: list[str]) -> list[str]:
    if isinstance(value, dict):
        return [e for key, item in value.items() for e in _template_errors(item, f"{path}.{key}", seen)]
    if isinstance(value, list):
        return [e for i, item in enumerate(value) for e in _template_errors(item, f"{path}[{i}]", seen)]
    if not isinstance(value, str):
        return []
    if malformed_template(value):
        return [f"{path}: malformed template in {value[:80]!r}; use {{{{ case.title }}}}-style look-ups only"]
    errors = []
    for ref in template_paths(value):
        parts = ref.split(".")
        if parts[0] not in ROOTS:
            errors.append(f"{path}: unknown variable {ref!r}; start with one of {', '.join(ROOTS)}")
        elif parts[0] == "steps":
            if len(parts) < 2 or parts[1] not in seen:
                target = parts[1] if len(parts) > 1 else ""
                errors.append(f"{path}: {ref!r} refers to step {target!r}, which is not an earlier step")
    return errors


def _enrich_errors(params: Any, path: str) -> list[str]:
    if not isinstance(params, dict):
        return [f"{path}: must be a mapping"]
    errors = [f"{path}.{key}: unknown parameter (allowed: {', '.join(sorted(ENRICH_PARAMS))})"
              for key in sorted(set(params) - ENRICH_PARAMS)]
    for key in ("providers", "observable_types"):
        if key in params and not (isinstance(params[key], list) and all(isinstance(v, str) for v in params[key])):
            errors.append(f"{path}.{key}: must be a list of names")
    bad_types = [t for t in params.get("observable_types") or [] if isinstance(t, str) and t not in ENTITY_TYPES]
    if bad_types:
        errors.append(f"{path}.observable_types: unknown type(s) {', '.join(bad_types)}")
    return errors


def _action_errors(step: dict, label: str, check_approvers: bool) -> list[str]:
    name = step.get("action")
    action = get_action(name) if isinstance(name, str) else None
    if action is None:
        return [f"{label}.action: unknown action {name!r}; available: {', '.join(action_names())}"]
    params = step.get("with", {})
    if not isinstance(params, dict):
        return [f"{label}.with: must be a mapping of parameters"]
    errors = action.validate(params, f"{label}.with")
    if "approval" in step:
        errors += _approval_errors(step["approval"], f"{label}.approval", check_approvers)
    return errors


def _approval_errors(approval: Any, path: str, check_approvers: bool) -> list[str]:
    if not isinstance(approval, dict):
        return [f"{path}: must be a mapping (group, user, reason, expires_in_minutes)"]
    errors = [f"{path}.{key}: unknown key (allowed: {', '.join(sorted(APPROVAL_KEYS))})"
              for key in sorted(set(approval) - APPROVAL_KEYS)]
    minutes = approval.get("expires_in_minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1):
        errors.append(f"{path}.expires_in_minutes: must be a whole number of minutes (1 or more)")
    for key in ("group", "user", "reason"):
        if key in approval and not isinstance(approval[key], str):
            errors.append(f"{path}.{key}: must be text")
    if check_approvers:
        group, user = approval.get("group"), approval.get("user")
        if isinstance(group, str) and not Group.objects.filter(name=group).exists():
            errors.append(f"{path}.group: no group named {group!r}")
        if isinstance(user, str) and not get_user_model().objects.filter(username=user).exists():
            errors.append(f"{path}.user: no user named {user!r}")
    return errors


# --- compilation ------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    """One step of the flat program. ``next`` (and for conditions ``on_true``/``on_false``)
    are indexes into the program, or None for the end of the run."""

    index: int
    step: dict
    next: int | None = None
    on_true: int | None = None
    on_false: int | None = None

    @property
    def id(self) -> str:
        return self.step["id"]

    @property
    def type(self) -> str:
        return self.step["type"]


def needs_approval(node: Node) -> bool:
    """Destructive actions always wait for an approval; other actions when the step asks."""
    action = get_action(node.step.get("action", ""))
    return node.type == "action" and (bool(action and action.destructive) or "approval" in node.step)


def compile_steps(steps: list[dict]) -> list[Node]:
    order: list[dict] = []

    def collect(seq):
        for step in seq:
            order.append(step)
            if step["type"] == "condition":
                collect(step.get("then") or [])
                collect(step.get("else") or [])

    collect(steps)
    index_of = {step["id"]: i for i, step in enumerate(order)}
    nodes: dict[int, Node] = {}

    def link(seq, continuation):
        for position, step in enumerate(seq):
            after = index_of[seq[position + 1]["id"]] if position + 1 < len(seq) else continuation
            index = index_of[step["id"]]
            if step["type"] == "condition":
                then, other = step.get("then") or [], step.get("else") or []
                link(then, after)
                link(other, after)
                nodes[index] = Node(index, step, after, index_of[then[0]["id"]] if then else after,
                                    index_of[other[0]["id"]] if other else after)
            else:
                nodes[index] = Node(index, step, after)

    link(steps, None)
    return [nodes[i] for i in range(len(order))]
