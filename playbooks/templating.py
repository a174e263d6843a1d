"""The tiny, safe expression language of playbook definitions.

Templates are ``{{ dotted.path }}`` look-ups into the run context (case, trigger, steps, run,
playbook) and nothing else: no code, no filters, no Django template execution of user
content. A string that is exactly one template keeps the value's type (a list stays a
list); templates inside longer strings are interpolated as text.

Conditions are JSON/YAML objects: ``{left, op, right}`` comparisons combined with
``all`` / ``any`` / ``not``."""

from __future__ import annotations

import json
import re
from typing import Any

from soar.dotted import dig

TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[\w-]+)*)\s*\}\}")
ANY_BRACES = re.compile(r"\{\{|\}\}")
ROOTS = ("case", "trigger", "steps", "run", "playbook")
COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "not_contains",
               "exists", "not_exists", "truthy", "falsy")
UNARY = ("exists", "not_exists", "truthy", "falsy")
MAX_TEXT = 20_000


class ConditionError(ValueError):
    pass


def template_paths(text: str) -> list[str]:
    return TEMPLATE.findall(text)


def malformed_template(text: str) -> bool:
    """True when the string has ``{{``/``}}`` that are not part of a well-formed template."""
    return bool(ANY_BRACES.search(TEMPLATE.sub("", text)))


def lookup(context: dict, path: str) -> Any:
    """Follow ``a.b.0.c`` through dicts and lists; None when any part is missing."""
    return dig(context, path)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def render(value: Any, context: dict) -> Any:
    """Resolve the templates in ``value`` (strings, and recursively lists and dicts)."""
    if isinstance(value, str):
        whole = TEMPLATE.fullmatch(value.strip())
        if whole:
            return lookup(context, whole.group(1))
        return TEMPLATE.sub(lambda m: _as_text(lookup(context, m.group(1))), value)[:MAX_TEXT]
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    return value


def _number(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return None


def _ordered(left, right, op) -> bool:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        if left is None or right is None:
            return False
        a, b = str(left), str(right)
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def _equal(left, right) -> bool:
    if left == right:
        return True
    a, b = _number(left), _number(right)
    if a is not None and b is not None and not (isinstance(left, str) or isinstance(right, str)):
        return a == b
    return _as_text(left) == _as_text(right) if left is not None and right is not None else False


def _contains(container, item) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        return _as_text(item) in container
    if isinstance(container, dict):
        return item in container
    if isinstance(container, (list, tuple)):
        return any(_equal(element, item) for element in container)
    return False


def compare(left, op: str, right=None) -> bool:
    if op == "eq":
        return _equal(left, right)
    if op == "ne":
        return not _equal(left, right)
    if op in ("gt", "gte", "lt", "lte"):
        return _ordered(left, right, op)
    if op == "in":
        return _contains(right, left)
    if op == "not_in":
        return not _contains(right, left)
    if op == "contains":
        return _contains(left, right)
    if op == "not_contains":
        return not _contains(left, right)
    if op == "exists":
        return left is not None and left != "" and left != [] and left != {}
    if op == "not_exists":
        return not compare(left, "exists")
    if op == "truthy":
        return bool(left) and str(left).lower() not in ("false", "0", "no")
    if op == "falsy":
        return not compare(left, "truthy")
    raise ConditionError(f"unknown operator {op!r}")


def evaluate(expression: dict, context: dict) -> bool:
    """Evaluate a validated condition against the context."""
    if "all" in expression:
        return all(evaluate(item, context) for item in expression["all"])
    if "any" in expression:
        return any(evaluate(item, context) for item in expression["any"])
    if "not" in expression:
        return not evaluate(expression["not"], context)
    left = render(expression.get("left"), context)
    right = render(expression.get("right"), context)
    return compare(left, expression["op"], right)


def condition_errors(expression: Any, path: str, depth: int = 0) -> list[str]:
    """Structure errors of a condition expression, each prefixed with its path."""
    if depth > 10:
        return [f"{path}: conditions nest too deeply (at most 10 levels)"]
    if not isinstance(expression, dict):
        return [f"{path}: must be an object such as {{left: ..., op: eq, right: ...}}"]
    for combinator in ("all", "any"):
        if combinator in expression:
            items = expression[combinator]
            if set(expression) != {combinator}:
                return [f"{path}: '{combinator}' cannot be mixed with other keys"]
            if not isinstance(items, list) or not items:
                return [f"{path}.{combinator}: must be a non-empty list of conditions"]
            errors = []
            for index, item in enumerate(items):
                errors += condition_errors(item, f"{path}.{combinator}[{index}]", depth + 1)
            return errors
    if "not" in expression:
        if set(expression) != {"not"}:
            return [f"{path}: 'not' cannot be mixed with other keys"]
        return condition_errors(expression["not"], f"{path}.not", depth + 1)
    unknown = set(expression) - {"left", "op", "right"}
    if unknown:
        return [f"{path}: unknown key(s) {', '.join(sorted(unknown))} (use left, op, right, all, any, not)"]
    errors = []
    op = expression.get("op")
    if op not in COMPARISONS:
        errors.append(f"{path}.op: must be one of {', '.join(COMPARISONS)}; got {op!r}")
    if "left" not in expression:
        errors.append(f"{path}.left: required")
    if op not in UNARY and op in COMPARISONS and "right" not in expression:
        errors.append(f"{path}.right: required for op {op}")
    return errors
