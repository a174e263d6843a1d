"""Definitions: parsing, validation messages with paths, templates and conditions."""

import json
from pathlib import Path

import pytest

from playbooks.schema import DefinitionError, compile_steps, parse, parse_and_validate, validate
from playbooks.templating import evaluate, render

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "playbooks"


@pytest.fixture
def lead_group(db):
    from django.contrib.auth.models import Group

    return Group.objects.get_or_create(name="lead")[0]


def errors_of(text, **kwargs):
    with pytest.raises(DefinitionError) as caught:
        parse_and_validate(text, **kwargs)
    return caught.value.problems


def test_valid_yaml_and_the_same_in_json(lead_group):
    text = (FIXTURES / "valid.yaml").read_text()
    definition = parse_and_validate(text)
    assert definition["trigger"] == {"type": "severity_at_least", "severity": "high"}
    assert parse_and_validate(json.dumps(definition)) == definition
    nodes = compile_steps(definition["steps"])
    assert [(n.id, n.next, n.on_true, n.on_false) for n in nodes] == [
        ("enrich", 1, None, None), ("bad", None, 2, 3), ("isolate", None, None, None), ("note", None, None, None)]


def test_every_problem_is_reported_with_its_path(lead_group):
    errors = errors_of((FIXTURES / "invalid.yaml").read_text())
    expected = [
        "extra: unknown top-level key",
        "name: required text",
        "trigger.type: must be one of alert_ingested, case_created",
        "steps[0] (a).action: unknown action 'launch_missiles'",
        "steps[1].id: duplicate step id 'a'",
        "steps[1] (a).with.body: 'steps.later.output' refers to step 'later', which is not an earlier step",
        "steps[1] (a).with.colour: unknown parameter for action add_note",
        "steps[2].id: required; lower-case letters",
        "steps[2] (Bad-Id).if.op: must be one of eq",
        "steps[2] (Bad-Id): a condition needs 'then' and/or 'else' steps",
        "steps[3] (later).with.severity: must be one of info, low, medium, high, critical; got 'urgent'",
        "steps[3] (later).approval.expires_in_minutes: must be a whole number",
        "steps[3] (later).approval.group: no group named 'nobody-has-this'",
    ]
    for message in expected:
        assert any(error.startswith(message) for error in errors), (message, errors)
    assert len(errors) == len(expected), errors


@pytest.mark.parametrize("text, message", [
    ("", "definition: empty"),
    ("name: [unclosed", "definition: invalid YAML at line 1"),
    ('{"name": ', "definition: invalid JSON at line 1"),
    ("- just\n- a list\n", "definition: the top level must be a mapping"),
    ("a: &x [1]\nb: *x\n", "definition: invalid YAML"),
    ("name: x\ntrigger: {type: manual}\nsteps: []\n", "steps: required, a non-empty list"),
    ("name: x\ntrigger: {type: tag_added}\nsteps: [{id: a, type: enrich}]\n", "trigger.tag: required"),
    ("name: x\ntrigger: {type: manual}\nsteps: [{id: a, type: enrich, with: {providers: x}}]\n",
     "steps[0] (a).with.providers: must be a list of names"),
    ("name: x\ntrigger: {type: manual}\nsteps: [{id: a, type: action, action: tag, with: {tags: '{{ case.x '}}]\n",
     "steps[0] (a).with.tags: malformed template"),
    ("name: x\ntrigger: {type: manual}\nsteps: [{id: a, type: action, action: tag,"
     " with: {tags: '{{ os.environ }}'}}]\n",
     "steps[0] (a).with.tags: unknown variable 'os.environ'"),
    ("name: x\ntrigger: {type: manual}\nsteps: [{id: a, type: action, action: notify, with: {channel: email}}]\n",
     "steps[0] (a).with.text: required"),
])
def test_clear_messages(db, text, message):
    errors = errors_of(text)
    assert any(error.startswith(message) for error in errors), errors


def test_big_and_nested_definitions_are_refused(db):
    assert errors_of("x" * 70_000) == ["definition: larger than 64 KiB"]
    steps = [{"id": f"s{i}", "type": "action", "action": "tag", "with": {"tags": ["x"]}} for i in range(51)]
    definition = {"name": "x", "trigger": {"type": "manual"}, "steps": steps}
    assert "steps: at most 50 steps in total, found 51" in validate(definition)
    deep = {"left": 1, "op": "eq", "right": 1}
    for _ in range(12):
        deep = {"not": deep}
    definition["steps"] = [{"id": "c", "type": "condition", "if": deep, "then": steps[:1]}]
    assert any("nest too deeply" in e for e in validate(definition))


def test_parse_keeps_yaml_scalars_json_safe():
    assert parse("name: x\nwhen: 2024-01-02\n")["when"] == "2024-01-02"


CONTEXT = {"case": {"id": 7, "title": "Beacon", "tags": ["a", "b"], "severity_rank": 3,
                    "observables_by_type": {"ip": ["1.2.3.4", "5.6.7.8"]}},
           "steps": {"enrich": {"output": {"max_score": "85", "malicious": True}}}}


def test_render_keeps_types_and_never_executes_code():
    assert render("{{ case.observables_by_type.ip }}", CONTEXT) == ["1.2.3.4", "5.6.7.8"]
    assert render("#{{ case.id }} {{ case.title }} {{ case.observables_by_type.ip.1 }}", CONTEXT) == "#7 Beacon 5.6.7.8"
    assert render({"x": ["{{ case.missing.deep }}", 3]}, CONTEXT) == {"x": [None, 3]}
    assert render("{{ case.__class__ }} {% load x %}", CONTEXT) == " {% load x %}"


@pytest.mark.parametrize("expression, expected", [
    ({"left": "{{ steps.enrich.output.max_score }}", "op": "gte", "right": 80}, True),
    ({"left": "{{ steps.enrich.output.max_score }}", "op": "lt", "right": "9"}, False),
    ({"left": "{{ case.tags }}", "op": "contains", "right": "b"}, True),
    ({"left": "b", "op": "in", "right": "{{ case.tags }}"}, True),
    ({"left": "{{ case.title }}", "op": "eq", "right": "Beacon"}, True),
    ({"left": "{{ case.id }}", "op": "eq", "right": "7"}, True),
    ({"left": "{{ case.nothing }}", "op": "exists"}, False),
    ({"left": "{{ steps.enrich.output.malicious }}", "op": "truthy"}, True),
    ({"all": [{"left": 1, "op": "eq", "right": 1}, {"not": {"left": "{{ case.nothing }}", "op": "gt", "right": 0}}]},
     True),
    ({"any": [{"left": "x", "op": "ne", "right": "x"}, {"left": "{{ case.severity_rank }}", "op": "lte", "right": 2}]},
     False),
])
def test_conditions(expression, expected):
    assert evaluate(expression, CONTEXT) is expected


@pytest.mark.parametrize("text", [
    "[" * 10_000 + "]" * 10_000,                                   # YAML flow sequences
    "name: x\nsteps: " + "[" * 10_000 + "]" * 10_000,
    "name: x\nsteps: " + "{a: " * 5_000 + "1" + "}" * 5_000,        # flow mappings
    "".join(f"{'  ' * i}- \n" for i in range(200)),                 # block sequences
    '{"name": "x", "steps": ' + "[" * 10_000 + "]" * 10_000 + "}",  # JSON
], ids=["yaml-flow", "yaml-flow-in-steps", "yaml-flow-mappings", "yaml-block", "json"])
def test_deeply_nested_definitions_are_refused_not_a_crash(text):
    """Nesting is bounded like the webhook's JSON (SOAR_MAX_JSON_DEPTH); before, the YAML
    composer or the JSON decoder recursed until RecursionError (a 500 on /validate)."""
    with pytest.raises(DefinitionError) as caught:
        parse(text)
    assert any("nested deeper than" in e for e in caught.value.problems), caught.value.problems


def test_nesting_within_the_limit_still_parses(settings):
    settings.SOAR_MAX_JSON_DEPTH = 32
    assert parse("name: x\nsteps: " + "[" * 30 + "]" * 30)["steps"]
    with pytest.raises(DefinitionError):
        parse("name: x\nsteps: " + "[" * 32 + "]" * 32)


def test_yaml_alias_bombs_are_refused_quickly():
    import time

    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    started = time.monotonic()
    with pytest.raises(DefinitionError) as caught:
        parse("\n".join(lines))
    assert time.monotonic() - started < 1
    assert "aliases" in caught.value.problems[0]


@pytest.mark.parametrize("text", ["name: \x9d", "a: b\n\x07", "\ufffe: x"])
def test_non_printable_characters_are_refused_not_a_crash(text):
    """The YAML reader refuses them when the loader is built, before parsing: that error
    escaped as a 500 on /api/v1/playbooks/validate (found by schemathesis)."""
    with pytest.raises(DefinitionError) as caught:
        parse(text)
    assert caught.value.problems[0].startswith("definition: invalid YAML")
    assert "unacceptable character" in caught.value.problems[0]


def test_definition_errors_are_invalid_input_with_every_problem_under_definition():
    from soar import errors

    with pytest.raises(DefinitionError) as caught:
        parse_and_validate("name: x\nsteps: 1")
    exc = caught.value
    assert isinstance(exc, errors.InvalidInput) and errors.http_status(exc) == 400
    body = exc.body()
    assert body["code"] == "invalid_definition" and body["definition"] == exc.problems and len(exc.problems) > 1
    assert body["detail"] == "; ".join(exc.problems) == str(exc)
