"""The playbook editor's validation: the schema's problems ("steps[1] (bad).type: must be ...")
placed on the line of the definition they are about, for the editor to mark. The schema
(playbooks.schema) stays the only judge; this only finds where its paths point."""

from __future__ import annotations

import re
from typing import Any, TypedDict

import yaml
from django.conf import settings

from playbooks.schema import DefinitionError, bounded_loader, parse_and_validate

# "line 3 column 5" in the parser's messages (YAML and JSON syntax errors).
SYNTAX_LINE = re.compile(r"\bline (\d+)\b")
# A step's label after its path: "steps[1] (isolate).with" -> "steps[1].with".
STEP_LABEL = re.compile(r" \([^)]*\)")
PATH_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


class Problem(TypedDict):
    line: int | None  # 1-based; None when the problem is about the whole definition
    message: str


def check_definition(text: str) -> list[Problem]:
    """Every problem of the definition with its line; an empty list when it can be saved
    (apart from a name already taken, which only saving checks)."""
    try:
        parse_and_validate(text)
    except DefinitionError as exc:
        root = _compose(text)
        return [_place(problem, root) for problem in exc.problems]
    return []


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree with line marks (JSON is YAML too); None if it cannot be read."""
    loader = None
    try:
        loader = bounded_loader(text, settings.SOAR_MAX_JSON_DEPTH)
        return loader.get_single_node()
    except (yaml.YAMLError, DefinitionError, RecursionError):
        return None
    finally:
        if loader is not None:
            loader.dispose()


def _place(problem: str, root: yaml.Node | None) -> Problem:
    path, _, message = problem.partition(": ")
    if path == "definition":
        found = SYNTAX_LINE.search(message)
        return {"line": int(found.group(1)) if found else None, "message": problem}
    return {"line": _line_of(path, root), "message": problem}


def _line_of(path: str, root: yaml.Node | None) -> int | None:
    """The line of the deepest node the path reaches: a key's own line when the path ends on it,
    else the line of the mapping or list where the missing or wrong part belongs."""
    if root is None:
        return None
    tokens: list[Any] = [int(index) if index else key
                         for index, key in PATH_TOKEN.findall(STEP_LABEL.sub("", path.strip()))]
    node: yaml.Node = root
    line = root.start_mark.line
    for token in tokens:
        if isinstance(node, yaml.MappingNode) and isinstance(token, str):
            pair = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == token), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(token, int) and token < len(node.value):
            node = node.value[token]
            line = node.start_mark.line
        else:
            break
    return line + 1
