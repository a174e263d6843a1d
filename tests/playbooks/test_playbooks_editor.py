"""The playbook editor: problems placed on their line (playbooks.editor), the validate endpoint
(staff who may edit playbooks; CSRF), and the admin page loading the vendored editor."""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from playbooks.editor import check_definition
from playbooks.models import Playbook
from tests.factories import build_world

pytestmark = pytest.mark.django_db
DEMO = Path(__file__).resolve().parents[2] / "playbooks" / "demo"

BAD = """name: Bad one
trigger:
  type: severity_at_least
steps:
  - id: enrich
    type: enrich
  - id: second
    type: action
    action: no_such_action
  - id: note
    type: action
    action: add_note
    with: {bodyx: 1}
"""


@pytest.fixture
def w():
    world = build_world()
    Group.objects.get_or_create(name="lead")
    return world


def test_a_valid_definition_has_no_problems(w):
    assert check_definition((DEMO / "contain_host.yaml").read_text()) == []


def test_problems_are_placed_on_their_lines(w):
    problems = check_definition(BAD)
    by_line = {}
    for problem in problems:
        by_line.setdefault(problem["line"], []).append(problem["message"])
    assert any("trigger.severity" in m for m in by_line[2])  # the trigger mapping that lacks it
    assert any("steps[1] (second).action" in m for m in by_line[9])  # the action's own line
    assert any("bodyx" in m for m in by_line[13]) and any("with.body: required" in m for m in by_line[13])
    assert all(p["line"] is not None for p in problems)


def test_syntax_errors_carry_their_line(w):
    yaml_problem = check_definition("name: x\ntrigger: {type: manual}\nsteps:\n  - id: a\n   type: enrich\n")
    assert len(yaml_problem) == 1 and yaml_problem[0]["line"] == 5 and "invalid YAML" in yaml_problem[0]["message"]
    json_problem = check_definition('{"name": "x",\n "trigger": {"type": "manual"},\n "steps": [}')
    assert json_problem[0]["line"] == 3 and "invalid JSON" in json_problem[0]["message"]
    assert check_definition("") == [{"line": None, "message": "definition: empty"}]
    aliases = check_definition("a: &x 1\nb: *x\n")
    assert "aliases" in aliases[0]["message"]


def test_json_definitions_get_lines_too(w):
    text = '{"name": "J",\n "trigger": {"type": "manual"},\n "steps": [\n  {"id": "a", "type": "nope"}\n ]}'
    problems = check_definition(text)
    assert problems == [{"line": 4, "message": problems[0]["message"]}] and "steps[0].type" in problems[0]["message"]


def test_validate_endpoint_answers_problems_for_playbook_editors_only(client, w):
    client.force_login(w.admin)
    response = client.post("/playbooks/validate", {"definition": BAD})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False and {p["line"] for p in body["problems"]} >= {2, 9, 13}
    ok = client.post("/playbooks/validate", {"definition": (DEMO / "escalate_manual.yaml").read_text()}).json()
    assert ok == {"valid": True, "problems": []}
    assert client.get("/playbooks/validate").status_code == 405
    client.force_login(w.analyst)  # may not edit playbooks
    assert client.post("/playbooks/validate", {"definition": BAD}).status_code == 403
    w.analyst.user_permissions.add(Permission.objects.get(codename="change_playbook"))
    w.analyst = type(w.analyst).objects.get(pk=w.analyst.pk)
    client.force_login(w.analyst)
    assert client.post("/playbooks/validate", {"definition": BAD}).status_code == 200
    client.logout()
    assert client.post("/playbooks/validate", {"definition": BAD}).status_code == 302


def test_validate_endpoint_needs_csrf(w):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(w.admin)
    assert strict.post("/playbooks/validate", {"definition": BAD}).status_code == 403


def test_the_admin_page_loads_the_vendored_editor(client, w):
    playbook = Playbook.objects.create(name="P", definition_text="name: P\n", definition={}, trigger_type="manual")
    client.force_login(w.admin)
    html = client.get(f"/admin/playbooks/playbook/{playbook.pk}/change/").content.decode()
    for asset in ("vendor/codemirror/codemirror.js", "vendor/codemirror/mode/yaml/yaml.js",
                  "vendor/codemirror/codemirror.css", "js/playbook_editor.js"):
        assert asset in html
    assert 'data-validate-url="/playbooks/validate"' in html
    # The server still refuses an invalid definition on save (the editor only helps).
    response = client.post(f"/admin/playbooks/playbook/{playbook.pk}/change/",
                           {"definition_text": BAD, "enabled": "on", "versions-TOTAL_FORMS": "0",
                            "versions-INITIAL_FORMS": "0"})
    assert response.status_code == 200 and "no_such_action" in response.content.decode()
    assert json.dumps(Playbook.objects.get(pk=playbook.pk).definition) == "{}"
