"""The slimmed Tasks panel of the case page: one status form per task (its buttons carry the
target status), one edit form (assignee from one shared datalist, required, notes) and every
action still works; an unchanged assignee is not re-recorded; other teams get a 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.models import CaseEvent, CaseTask
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    w = build_world()
    w.tasks = CaseTask.objects.bulk_create([
        CaseTask(case=w.blue_case, position=i, title=f"task {i}", assignee=w.analyst) for i in range(3)])
    return w


def page(client, case) -> str:
    response = client.get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_one_status_form_per_task_and_one_shared_assignee_list(client, world):
    client.force_login(world.analyst)
    html = page(client, world.blue_case)
    start = html.index('id="tasks"')
    tasks = html[start:html.index("</section>", start)]
    assert tasks.count('<datalist id="task-assignees">') == 1
    assert tasks.count('<option value="mate">') == 1  # the assignee list is not repeated per task
    assert tasks.count('list="task-assignees"') == 3
    assert tasks.count('data-task-step="done"') == 3
    assert tasks.count('name="status" value="done"') == 3
    for task in world.tasks:  # both forms post to the task's own URL
        assert tasks.count(f'action="{reverse("cases:change_task", args=[world.blue_case.pk, task.pk])}"') == 2
    # Per task: the status form and the edit form, plus the "Add a task" form.
    assert tasks.count('<form method="post"') == 3 * 2 + 1


def test_status_button_and_edit_form_change_the_task(client, world):
    client.force_login(world.analyst)
    task = world.tasks[0]
    url = f"/cases/{world.blue_case.pk}/tasks/{task.pk}"
    assert client.post(url, {"status": "done"}).status_code == 302
    task.refresh_from_db()
    assert task.status == "done" and task.completed_by == world.analyst
    # The edit form: hidden required=0 then the ticked checkbox's 1 (the last value wins).
    response = client.post(url, {"assignee": "mate", "required": ["0", "1"], "notes": "pulled EDR"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.assignee, task.required, task.notes) == (world.mate, True, "pulled EDR")
    client.post(url, {"assignee": "", "required": "0", "notes": "pulled EDR"})
    task.refresh_from_db()
    assert task.assignee is None and task.required is False


def test_saving_notes_with_the_same_assignee_records_only_the_notes(client, world):
    client.force_login(world.analyst)
    task = world.tasks[1]
    before = CaseEvent.objects.filter(case=world.blue_case).count()
    client.post(f"/cases/{world.blue_case.pk}/tasks/{task.pk}",
                {"assignee": "analyst", "required": "0", "notes": "only notes"})
    task.refresh_from_db()
    assert task.notes == "only notes" and task.assignee == world.analyst
    events = list(CaseEvent.objects.filter(case=world.blue_case).order_by("-id")[:1])
    assert CaseEvent.objects.filter(case=world.blue_case).count() == before + 1
    assert "assign" not in events[0].message.lower()


def test_unknown_assignee_is_a_field_error_and_changes_nothing(client, world):
    client.force_login(world.analyst)
    task = world.tasks[2]
    response = client.post(f"/cases/{world.blue_case.pk}/tasks/{task.pk}",
                           {"assignee": "nobody", "required": "1", "notes": "lost?"})
    assert response.status_code in (302, 400)
    task.refresh_from_db()
    assert task.assignee == world.analyst and task.notes == "" and task.required is False


def test_another_team_cannot_reach_the_tasks(client, world):
    client.force_login(world.red_analyst)
    task = world.tasks[0]
    assert client.get(f"/cases/{world.blue_case.pk}/").status_code == 404
    assert client.post(f"/cases/{world.blue_case.pk}/tasks/{task.pk}", {"status": "done"}).status_code == 404
    task.refresh_from_db()
    assert task.status == "todo"
